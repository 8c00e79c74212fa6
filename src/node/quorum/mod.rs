//! The KRaft driver: the Raft core of [`crate::raft`] run for real in a
//! controller process — Kafka's `KafkaRaftClient` and `QuorumController`
//! glue, in miniature.
//!
//! The core decides; this module does what it says, in the order it says:
//!
//! ```text
//!  Vote / BeginQuorumEpoch /      ┐
//!  EndQuorumEpoch / Fetch  ──────▶│  (serve.rs)
//!  (the CONTROLLER listener)      │
//!  a peer's answer ──────────────▶│  (peers.rs)      lock State ─▶ RaftNode::step / timeout /
//!  the timer, the resend backoff ▶│  (every 10 ms)                 resend / append_all
//!  the active controller's append ┘                               │ outputs, in order:
//!                                         PersistQuorumState ─▶ quorum-state (fsync) first
//!                                         Send ─▶ the answer to this request, or a peer's lane
//!                                         ResetTimer ─▶ a deadline (election: + random jitter)
//!                                         HighWatermark ─▶ apply the committed records to the image
//! ```
//!
//! **The image and the active controller.** Every voter applies the
//! metadata records below the high watermark to its *committed* image, in
//! offset order. The leader is the **active controller** only once its own
//! epoch's LeaderChange entry is committed — which commits everything before
//! it, so its committed image is the whole log. From then on it decides
//! against a *pending* image: the committed one plus the records it has
//! appended but not yet seen committed, so two requests in a row see each
//! other's effects. A request's answer waits until its records are committed
//! ([`MetadataQuorum::wait_committed`]); if leadership is lost first, the
//! answer is NOT_CONTROLLER and the pending image is dropped (the records may
//! still commit under the next leader, as in Kafka).
//!
//! **Brokers** fetch `__cluster_metadata` from the leader as observers, but
//! only what is committed: their copy of the log never has to truncate.
//!
//! **Failures.** The metadata log's append and truncate are durable before
//! the core's call returns ([`QuorumLog`]); if one fails, or the quorum-state
//! file cannot be written, this member stops taking part (it answers nothing
//! more and sends nothing more), as Kafka's controller halts on a metadata
//! log write failure; the other voters elect a leader without it.
//!
//! **Snapshots.** After applying committed records, once
//! `metadata.log.max.record.bytes.between.snapshots` bytes were applied
//! since the last one, the committed image is written as a snapshot at the
//! applied offset and the log deletes what lies below it
//! (`MetadataQuorum::maybe_snapshot`). At start the latest snapshot is
//! loaded, then the log after it replayed. A follower behind the leader's
//! log start receives the leader's snapshot (FetchSnapshot, on the FETCH
//! lane) and loads its image when the core says it is installed.
//!
//! Simplifications: brokers are not Raft observers (they fetch committed
//! batches only); the Fetch of a caught-up follower is parked at most its
//! `max_wait_ms`; a snapshot is written by the driver's task while it holds
//! the member's lock (Kafka writes it on a separate thread, from an image
//! it keeps aside), which is fine for spool's small images.

mod peers;
mod serve;
#[cfg(test)]
mod tests;
mod trace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use tokio::sync::watch;

use crate::broker::now_ms;
use crate::metadata::snapshot::encode_snapshot;
use crate::metadata::{ImageError, MetadataImage, MetadataRecord, QuorumLog};
use crate::raft::quorum_state::{self, QuorumStateFile};
use crate::raft::trace::{copy_log, Input, Observed, TraceEvent};
use crate::raft::{
    ElectionState, Epoch, Message, NodeId, Offset, Output, RaftConfig, RaftLog, RaftNode, Role, SnapshotId,
    Timer,
};

pub use peers::Peers;

/// The quorum's timings (`controller.quorum.*`), and whether an election
/// starts with a pre-vote (`spool.quorum.pre.vote`), which decides how many
/// round trips an election takes; and how often a snapshot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumTimeouts {
    /// `controller.quorum.election.timeout.ms`: a candidate's wait, plus up to as much again at random.
    pub election_ms: u64,
    /// `controller.quorum.fetch.timeout.ms`: a follower's wait for its leader.
    pub fetch_ms: u64,
    /// `controller.quorum.retry.backoff.ms`: the pause before a request is sent again.
    pub retry_backoff_ms: u64,
    /// `controller.quorum.request.timeout.ms`: how long a request to a peer may take.
    pub request_ms: u64,
    /// `spool.quorum.pre.vote`: KIP-996's pre-vote ([`RaftConfig::pre_vote`]).
    pub pre_vote: bool,
    /// `metadata.log.max.record.bytes.between.snapshots`: committed record
    /// bytes after which the committed image is snapshotted.
    pub snapshot_record_bytes_max: u64,
    /// `metadata.log.max.snapshot.interval.ms`: the longest a controller
    /// that applied records waits before its next snapshot.
    pub snapshot_interval_ms: u64,
}

impl Default for QuorumTimeouts {
    fn default() -> Self {
        QuorumTimeouts {
            election_ms: 1_000,
            fetch_ms: 2_000,
            retry_backoff_ms: 20,
            request_ms: 2_000,
            pre_vote: true,
            snapshot_record_bytes_max: crate::config::SNAPSHOT_RECORD_BYTES_MAX_DEFAULT,
            snapshot_interval_ms: crate::config::SNAPSHOT_INTERVAL_MS_DEFAULT,
        }
    }
}

impl QuorumTimeouts {
    /// How long `timer` runs; the election timer with random jitter.
    fn duration(&self, timer: Timer, random: u64) -> Duration {
        Duration::from_millis(match timer {
            Timer::Election => self.election_ms + random % self.election_ms.max(1),
            Timer::Fetch => self.fetch_ms,
            // Kafka's leader resigns after 1.5 fetch timeouts without a majority.
            Timer::CheckQuorum => self.fetch_ms * 3 / 2,
        })
    }
}

/// What the rest of the process may know about the quorum, published after
/// every step (a `watch`, so waiters wake on change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumView {
    pub epoch: Epoch,
    pub leader_id: Option<NodeId>,
    /// This member leads and its image holds the whole log: it may act as the controller.
    pub active: bool,
    /// The committed image is applied up to here (the high watermark).
    pub applied: Offset,
    /// The metadata log's start offset (past 0 once a snapshot let it delete).
    pub log_start: Offset,
    pub log_end: Offset,
    /// This member stopped after a storage failure.
    pub failed: bool,
}

/// A request's records, appended by the active controller, not yet known committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the answer waits until the records are committed"]
pub struct Pending {
    pub epoch: Epoch,
    /// The offset after the records.
    pub end_offset: Offset,
}

/// What a voter last showed the leader, for DescribeQuorum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaSeen {
    pub log_end_offset: Offset,
    pub last_fetch_ms: i64,
    pub last_caught_up_ms: i64,
}

/// The member's state, behind one lock: the core, its log, and the images.
#[derive(Debug)]
struct State {
    node: RaftNode,
    log: QuorumLog,
    /// The timer the core armed last, and when it fires.
    timer: Option<(Timer, Instant)>,
    next_resend: Instant,
    committed: Arc<MetadataImage>,
    applied: Offset,
    /// Bytes of metadata records applied since the last snapshot (or start).
    bytes_since_snapshot: u64,
    /// When the last snapshot was taken (or the member started).
    last_snapshot: Instant,
    /// The active controller's image: the committed one plus what it appended since.
    pending: Option<(Epoch, Arc<MetadataImage>)>,
    /// Fetches seen by this member while leader, by replica (voters and brokers).
    seen: BTreeMap<NodeId, ReplicaSeen>,
    failed: bool,
    random: u64,
    /// The trace file, when `spool.quorum.trace.dir` is set.
    trace: Option<trace::TraceFile>,
}

impl State {
    /// Writes down one call into the core, when tracing (`input` is `None`
    /// when not, so that nothing is cloned for it).
    fn record(&mut self, input: Option<Input>, outputs: Option<&[Output]>) {
        let Some(input) = input else { return };
        let state = Observed::of(&self.node, &self.log);
        let event = TraceEvent::Step { input, outputs: outputs.map(<[Output]>::to_vec), state };
        trace::TraceFile::record(&mut self.trace, event);
    }

    fn tracing(&self) -> bool {
        self.trace.is_some()
    }
}

/// One voter of the metadata quorum.
#[derive(Debug)]
pub struct MetadataQuorum {
    pub id: NodeId,
    pub cluster_id: String,
    /// Every voter's `host:port` (`controller.quorum.voters`).
    pub voters: BTreeMap<NodeId, String>,
    pub timeouts: QuorumTimeouts,
    /// How this voter dials the others: the controller listener's protocol
    /// (TLS, SASL), `BrokerConfig::controller_security`.
    pub peer_security: crate::security::ClientSecurity,
    /// Where the `quorum-state` file lives (the metadata log's directory).
    dir: PathBuf,
    state: Mutex<State>,
    view: watch::Sender<QuorumView>,
    peers: OnceLock<Peers>,
}

impl MetadataQuorum {
    /// Opens the member from its metadata log and `quorum-state` file, and
    /// starts its peer lanes and timer; writes a trace into `trace_dir` if
    /// given (`spool.quorum.trace.dir`, [`crate::raft::trace`]); dials the
    /// other voters secured as `peer_security` says. Call inside a Tokio runtime.
    // Eight plain inputs, each named at the one call site that passes them all.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        id: NodeId,
        cluster_id: String,
        voters: BTreeMap<NodeId, String>,
        timeouts: QuorumTimeouts,
        dir: PathBuf,
        log: QuorumLog,
        trace_dir: Option<&Path>,
        peer_security: crate::security::ClientSecurity,
    ) -> anyhow::Result<Arc<Self>> {
        let election = match quorum_state::read(&dir)? {
            Some(file) => file.election,
            None => ElectionState::default(),
        };
        let config = RaftConfig {
            fetch_entries_max: 4096,
            pre_vote: timeouts.pre_vote,
            ..RaftConfig::new(voters.keys().copied())
        };
        let mut trace = trace_dir.map(|dir| trace::TraceFile::open(dir, id)).transpose()?;
        let traced_start = trace.is_some().then(|| (config.clone(), election.clone(), copy_log(&log)));
        let (node, out) = RaftNode::restart(id, config, election, &log);
        if let Some((config, election, copied)) = traced_start {
            let state = Observed::of(&node, &log);
            let event = TraceEvent::Start { config, election, log: copied, outputs: out.clone(), state };
            trace::TraceFile::record(&mut trace, event);
        }
        // The latest snapshot first, then the log after it (apply_committed).
        let (snapshot_end, image) = match log.load_latest_snapshot()? {
            Some((snapshot, image)) => {
                tracing::info!(node = id, %snapshot, "loaded the metadata image from a snapshot");
                (snapshot.end_offset, image)
            }
            None => (0, MetadataImage::default()),
        };
        let now = Instant::now();
        let state = State {
            node,
            log,
            timer: None,
            next_resend: now,
            committed: Arc::new(image),
            applied: snapshot_end,
            bytes_since_snapshot: 0,
            last_snapshot: now,
            pending: None,
            seen: BTreeMap::new(),
            failed: false,
            random: (now_ms() as u64) ^ (u64::from(std::process::id()) << 20) ^ (id as u64),
            trace,
        };
        let (view, _) = watch::channel(QuorumView::default());
        let quorum = Arc::new(MetadataQuorum {
            id,
            cluster_id,
            voters,
            timeouts,
            peer_security,
            dir,
            state: Mutex::new(state),
            view,
            peers: OnceLock::new(),
        });
        let _ = quorum.peers.set(Peers::start(&quorum));
        {
            let mut st = quorum.lock();
            quorum.carry_out(&mut st, out, None, false);
        }
        tokio::spawn(Self::run_clock(Arc::downgrade(&quorum)));
        tracing::info!(node = id, voters = ?quorum.voters.keys().collect::<Vec<_>>(), "metadata quorum member started");
        Ok(quorum)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a log writer's: a panic while it was held leaves no
        // half-done change behind it that a later step could trust less than
        // the log itself, so the lock is recovered.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn peers(&self) -> &Peers {
        self.peers.get().expect("peers start with the quorum")
    }

    /// The quorum as this member sees it now.
    pub fn view(&self) -> QuorumView {
        self.view.borrow().clone()
    }

    /// Wakes on every change of the view.
    pub fn subscribe(&self) -> watch::Receiver<QuorumView> {
        self.view.subscribe()
    }

    /// The committed image (everything below the high watermark applied).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.lock().committed.clone()
    }

    /// The timer and the resend backoff, every 10 ms, until the quorum is dropped.
    async fn run_clock(quorum: std::sync::Weak<Self>) {
        let mut every = tokio::time::interval(Duration::from_millis(10));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(quorum) = quorum.upgrade() else { return };
            quorum.on_clock(Instant::now());
        }
    }

    fn on_clock(&self, now: Instant) {
        let mut st = self.lock();
        if st.failed {
            return;
        }
        if let Some((timer, at)) = st.timer {
            if at <= now {
                st.timer = None;
                tracing::debug!(node = self.id, ?timer, role = ?st.node.role, "timer fired");
                let st_ref = &mut *st;
                let out = st_ref.node.timeout(&mut st_ref.log, timer);
                let input = st.tracing().then_some(Input::Timeout(timer));
                st.record(input, Some(&out));
                self.carry_out(&mut st, out, None, false);
            }
        }
        if st.next_resend <= now {
            st.next_resend = now + Duration::from_millis(self.timeouts.retry_backoff_ms.max(50));
            let st_ref = &mut *st;
            let out = st_ref.node.resend(&st_ref.log);
            let input = st.tracing().then_some(Input::Resend);
            st.record(input, Some(&out));
            self.carry_out(&mut st, out, None, true);
        }
    }

    /// A peer's answer to one of this member's requests arrived; a Fetch
    /// answer's batches (from `base_offset`) are staged so that the log
    /// appends them as the leader wrote them.
    pub(crate) fn on_response(
        &self,
        from: NodeId,
        message: Message,
        base_offset: Offset,
        records: bytes::Bytes,
    ) {
        let mut st = self.lock();
        if st.failed {
            return;
        }
        let st_ref = &mut *st;
        if !records.is_empty() {
            st_ref.log.stage_fetched(base_offset, records);
        }
        let input = st_ref.tracing().then(|| Input::Receive { from, message: message.clone() });
        let out = st_ref.node.step(&mut st_ref.log, from, message);
        st.record(input, Some(&out));
        self.carry_out(&mut st, out, None, false);
    }

    /// A request from `from` (a voter): steps it and returns the core's
    /// answer to it, if it made one.
    fn on_request(&self, st: &mut State, from: NodeId, message: Message) -> Option<Message> {
        if st.failed {
            return None;
        }
        let input = st.tracing().then(|| Input::Receive { from, message: message.clone() });
        let out = st.node.step(&mut st.log, from, message);
        st.record(input, Some(&out));
        self.carry_out(st, out, Some(from), false)
    }

    // ANCHOR: carry_out
    /// Does what the core said, in its order: the quorum-state file before
    /// any message that depends on it, then the messages (the one answering
    /// `reply_to`'s request is returned, not sent), the timer, and the
    /// committed records applied to the image. A storage failure stops the
    /// member before anything after it is done.
    fn carry_out(
        &self,
        st: &mut State,
        out: Vec<Output>,
        reply_to: Option<NodeId>,
        resending: bool,
    ) -> Option<Message> {
        if let Some(e) = st.log.failure() {
            return self.fail(st, &format!("metadata log write failed: {e}"));
        }
        let mut reply = None;
        for output in out {
            match output {
                Output::PersistQuorumState(election) => {
                    let voters = self.voters.keys().copied().collect();
                    if let Err(e) = quorum_state::write(&self.dir, &QuorumStateFile::v0(election, voters)) {
                        return self.fail(st, &format!("cannot write quorum-state: {e}"));
                    }
                }
                Output::Send { to, message } => {
                    let answers_request = matches!(
                        message,
                        Message::VoteResponse { .. }
                            | Message::FetchResponse { .. }
                            | Message::FetchSnapshotResponse { .. }
                    );
                    if answers_request && reply_to == Some(to) && reply.is_none() {
                        reply = Some(message);
                    } else if !answers_request {
                        self.peers().send(to, message, resending);
                    }
                }
                Output::ResetTimer(timer) => {
                    st.random = st.random.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let at = Instant::now() + self.timeouts.duration(timer, st.random >> 33);
                    st.timer = Some((timer, at));
                }
                Output::HighWatermark(_) => {}
                Output::SnapshotInstalled(id) => {
                    if let Err(why) = self.load_installed(st, id) {
                        return self.fail(st, &why);
                    }
                }
            }
        }
        if st.timer.is_none() {
            if let Some(timer) = st.node.armed_timer() {
                let at = Instant::now() + self.timeouts.duration(timer, 0);
                st.timer = Some((timer, at));
            }
        }
        self.apply_committed(st);
        self.maybe_snapshot(st);
        self.publish(st);
        reply
    }
    // ANCHOR_END: carry_out

    fn fail(&self, st: &mut State, why: &str) -> Option<Message> {
        tracing::error!(node = self.id, "{why}; this controller stops taking part in the quorum");
        st.failed = true;
        st.pending = None;
        st.timer = None;
        self.publish(st);
        None
    }

    // ANCHOR: apply_committed
    /// Applies the metadata records below the high watermark to the
    /// committed image, and makes the leader active once its LeaderChange
    /// entry is committed (its image then holds the whole log).
    fn apply_committed(&self, st: &mut State) {
        let high_watermark = st.node.high_watermark.min(st.log.end_offset());
        if high_watermark > st.applied {
            let records = match st.log.data_records(st.applied, high_watermark) {
                Ok(records) => records,
                Err(e) => {
                    self.fail(st, &format!("cannot read the metadata log: {e}"));
                    return;
                }
            };
            let mut image = MetadataImage::clone(&st.committed);
            st.bytes_since_snapshot += records.iter().map(|(_, bytes)| bytes.len() as u64).sum::<u64>();
            for (offset, bytes) in records {
                let applied = MetadataRecord::decode(&bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|record| image.apply(&record).map_err(|e| e.to_string()));
                if let Err(e) = applied {
                    // The leader checked it against its pending image before
                    // appending it: a committed record that does not apply is a
                    // bug, logged loudly and skipped, never half applied.
                    tracing::error!(offset, error = %e, "a committed metadata record does not apply");
                }
            }
            st.committed = Arc::new(image);
            st.applied = high_watermark;
        }
        let epoch = st.node.epoch();
        match &st.node.role {
            Role::Leader(progress) if st.applied > progress.epoch_start_offset => {
                if st.pending.as_ref().is_none_or(|(e, _)| *e != epoch) {
                    tracing::info!(node = self.id, epoch, offset = st.applied, "active controller");
                    st.pending = Some((epoch, st.committed.clone()));
                    st.seen.clear();
                }
            }
            _ => {
                if st.pending.take().is_some() {
                    tracing::info!(node = self.id, epoch, "no longer the active controller");
                }
            }
        }
    }
    // ANCHOR_END: apply_committed

    /// A follower installed the leader's snapshot `id`: its committed image
    /// is now the snapshot's, applied up to its end.
    fn load_installed(&self, st: &mut State, id: SnapshotId) -> Result<(), String> {
        if let Some(e) = st.log.failure() {
            return Err(format!("installing snapshot {id} failed: {e}"));
        }
        match st.log.load_latest_snapshot() {
            Ok(Some((loaded, image))) if loaded == id => {
                tracing::info!(node = self.id, snapshot = %id, "installed the leader's snapshot");
                st.committed = Arc::new(image);
                st.applied = id.end_offset;
                st.bytes_since_snapshot = 0;
                st.pending = None;
                Ok(())
            }
            Ok(_) => Err(format!("snapshot {id} is not the latest after installing it")),
            Err(e) => Err(format!("cannot read the installed snapshot {id}: {e}")),
        }
    }

    // ANCHOR: maybe_snapshot
    /// Once `metadata.log.max.record.bytes.between.snapshots` bytes of
    /// records were applied since the last snapshot (or any at all, after
    /// `metadata.log.max.snapshot.interval.ms`), writes the committed
    /// image as a snapshot at the applied offset (committed, so at or below
    /// the high watermark), durably, and only then lets the log delete
    /// what is below it (Kafka's `SnapshotGenerator` and `deleteBeforeSnapshot`).
    fn maybe_snapshot(&self, st: &mut State) {
        let interval = Duration::from_millis(self.timeouts.snapshot_interval_ms);
        let due = st.bytes_since_snapshot >= self.timeouts.snapshot_record_bytes_max
            || (st.bytes_since_snapshot > 0 && st.last_snapshot.elapsed() >= interval);
        if st.failed || !due {
            return;
        }
        let Some(id) = st.node.snapshot_id(&st.log, st.applied) else { return };
        let now = now_ms();
        let bytes = encode_snapshot(id, &st.committed.records(), now, now).to_vec();
        let input = st.tracing().then(|| Input::Snapshot { id, bytes: bytes.clone() });
        st.log.create_snapshot(id, bytes);
        if st.log.latest_snapshot() == Some(id) {
            st.log.delete_before(id.end_offset);
        }
        st.record(input, Some(&[]));
        if let Some(e) = st.log.failure() {
            self.fail(st, &format!("taking snapshot {id} failed: {e}"));
            return;
        }
        st.bytes_since_snapshot = 0;
        st.last_snapshot = Instant::now();
        tracing::info!(node = self.id, snapshot = %id, log_start = st.log.start_offset(), "took a metadata snapshot");
    }
    // ANCHOR_END: maybe_snapshot

    fn publish(&self, st: &State) {
        let view = QuorumView {
            epoch: st.node.epoch(),
            leader_id: if st.failed { None } else { st.node.leader_id() },
            active: st.pending.is_some() && !st.failed,
            applied: st.applied,
            log_start: st.log.start_offset(),
            log_end: st.log.end_offset(),
            failed: st.failed,
        };
        let role = match &st.node.role {
            Role::Unattached => "unattached",
            Role::Prospective { .. } => "prospective",
            Role::Candidate { .. } => "candidate",
            Role::Leader(_) => "leader",
            Role::Follower { .. } => "follower",
            Role::Resigned => "resigned",
        };
        self.view.send_if_modified(|v| {
            if (v.epoch, v.leader_id) != (view.epoch, view.leader_id) {
                tracing::info!(node = self.id, epoch = view.epoch, leader = ?view.leader_id, role, "quorum epoch or leader changed");
            }
            let changed = *v != view;
            *v = view;
            changed
        });
    }

    /// The active controller's writer: the pending image to decide against
    /// and the append of what was decided. `None` unless this member is the
    /// active controller. Holds the member's lock: decide, append, drop.
    pub fn writer(&self) -> Option<QuorumWriter<'_>> {
        let st = self.lock();
        let epoch = st.pending.as_ref().map(|(e, _)| *e)?;
        Some(QuorumWriter { quorum: self, st, epoch })
    }

    /// Waits until `pending`'s records are committed and applied; an error
    /// if this member stops being the active controller of that epoch first.
    pub async fn wait_committed(&self, pending: Pending) -> Result<(), ResponseError> {
        let mut view = self.view.subscribe();
        loop {
            {
                let v = view.borrow_and_update();
                if v.failed {
                    return Err(ResponseError::KafkaStorageError);
                }
                if v.applied >= pending.end_offset && v.epoch == pending.epoch {
                    return Ok(());
                }
                if v.epoch != pending.epoch || !v.active {
                    return Err(ResponseError::NotController);
                }
            }
            if view.changed().await.is_err() {
                return Err(ResponseError::NotController);
            }
        }
    }

    /// Resigns leadership (at shutdown), handing over to the voters most caught up.
    pub fn resign(&self) {
        let mut st = self.lock();
        if st.failed {
            return;
        }
        let mut out = Vec::new();
        st.node.resign(&mut out);
        let input = st.tracing().then_some(Input::Resign);
        st.record(input, Some(&out));
        self.carry_out(&mut st, out, None, false);
    }
}

/// The active controller's hold on the quorum (see [`MetadataQuorum::writer`]).
pub struct QuorumWriter<'a> {
    quorum: &'a MetadataQuorum,
    st: MutexGuard<'a, State>,
    epoch: Epoch,
}

/// Why the active controller could not append.
#[derive(Debug)]
pub enum AppendError {
    /// The image refused a record: nothing was appended.
    Image(ImageError),
    /// No longer the leader, or the member failed.
    NotController,
    Storage,
}

impl QuorumWriter<'_> {
    /// The image to decide against: everything committed and appended so far.
    pub fn image(&self) -> &Arc<MetadataImage> {
        &self.st.pending.as_ref().expect("a writer exists only while active").1
    }

    /// The leader epoch this controller is active in.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The offset the next record will get (a broker epoch is its registration's offset).
    pub fn end_offset(&self) -> Offset {
        self.st.log.end_offset()
    }

    /// Appends `records` as one batch, after checking they apply to the
    /// pending image; the answer that depends on them waits for
    /// [`MetadataQuorum::wait_committed`].
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<Pending, AppendError> {
        if records.is_empty() {
            return Ok(Pending { epoch: self.epoch, end_offset: self.st.log.end_offset() });
        }
        let mut trial = MetadataImage::clone(self.image());
        for record in records {
            trial.apply(record).map_err(AppendError::Image)?;
        }
        let st = &mut *self.st;
        let data: Vec<Vec<u8>> = records.iter().map(MetadataRecord::encode).collect();
        let input = st.tracing().then(|| Input::Append(data.clone()));
        let appended = st.node.append_all(&mut st.log, data);
        st.record(input, appended.as_ref().ok().map(|(_, out)| out.as_slice()));
        let (_, out) = appended.map_err(|_| AppendError::NotController)?;
        let end_offset = st.log.end_offset();
        st.pending = Some((self.epoch, Arc::new(trial)));
        self.quorum.carry_out(st, out, None, false);
        if st.failed {
            return Err(AppendError::Storage);
        }
        Ok(Pending { epoch: self.epoch, end_offset })
    }
}
