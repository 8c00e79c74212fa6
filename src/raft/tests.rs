//! Scenario tests of the KRaft core: elections, pre-vote, fencing,
//! divergence, the high watermark, check-quorum, restarts, observers, and
//! the `quorum-state` file. Each drives real [`RaftNode`]s through a tiny
//! in-memory driver that carries the outputs out in order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::quorum_state::{self, QuorumStateError, QuorumStateFile};
use super::*;

/// One replica as a driver holds it: the core, its log and its disk.
struct Replica {
    node: RaftNode,
    log: MemoryLog,
    disk: ElectionState,
}

/// A quorum on one thread: messages in a FIFO queue, cut replicas drop
/// everything they send or receive.
struct Quorum {
    replicas: BTreeMap<NodeId, Replica>,
    network: VecDeque<(NodeId, NodeId, Message)>,
    cut: BTreeSet<NodeId>,
}

impl Quorum {
    fn new(voters: &[NodeId], observers: &[NodeId]) -> Self {
        let mut quorum = Quorum { replicas: BTreeMap::new(), network: VecDeque::new(), cut: BTreeSet::new() };
        for &id in voters.iter().chain(observers) {
            let log = MemoryLog::default();
            let (node, out) = RaftNode::restart(
                id,
                RaftConfig::new(voters.iter().copied()),
                ElectionState::default(),
                &log,
            );
            quorum.replicas.insert(id, Replica { node, log, disk: ElectionState::default() });
            quorum.apply(id, out);
        }
        quorum
    }

    fn node(&self, id: NodeId) -> &RaftNode {
        &self.replicas[&id].node
    }

    fn log(&self, id: NodeId) -> &[Entry] {
        &self.replicas[&id].log.entries
    }

    /// Carries out `id`'s outputs in order, as a driver does.
    fn apply(&mut self, id: NodeId, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::PersistQuorumState(state) => self.replicas.get_mut(&id).unwrap().disk = state,
                Output::Send { to, message } => self.network.push_back((id, to, message)),
                Output::ResetTimer(_) | Output::HighWatermark(_) | Output::SnapshotInstalled(_) => {}
            }
        }
    }

    fn timeout(&mut self, id: NodeId, timer: Timer) {
        let r = self.replicas.get_mut(&id).unwrap();
        let out = r.node.timeout(&mut r.log, timer);
        self.apply(id, out);
    }

    fn append(&mut self, id: NodeId, data: u8) -> Result<Offset, RaftError> {
        let r = self.replicas.get_mut(&id).unwrap();
        let (offset, out) = r.node.append(&mut r.log, vec![data])?;
        self.apply(id, out);
        Ok(offset)
    }

    /// The request backoff elapsed on `id`.
    fn resend(&mut self, id: NodeId) {
        let r = self.replicas.get_mut(&id).unwrap();
        let out = r.node.resend(&r.log);
        self.apply(id, out);
    }

    /// Delivers up to `messages_max` messages (followers fetch forever).
    fn run(&mut self, messages_max: usize) {
        for _ in 0..messages_max {
            let Some((from, to, message)) = self.network.pop_front() else { return };
            if self.cut.contains(&from) || self.cut.contains(&to) {
                continue;
            }
            let r = self.replicas.get_mut(&to).unwrap();
            let out = r.node.step(&mut r.log, from, message);
            self.apply(to, out);
        }
    }

    /// Replica `id` crashes and restarts from its disk and log.
    fn restart(&mut self, id: NodeId) {
        let r = self.replicas.get_mut(&id).unwrap();
        let (node, out) = RaftNode::restart(id, r.node.config.clone(), r.disk.clone(), &r.log);
        r.node = node;
        self.apply(id, out);
    }

    /// Voter 1 times out and wins epoch 1; observer 4 looks for the leader
    /// (its fetch to the leader's followers is answered with the leader's
    /// id); everyone catches up.
    fn elected() -> Self {
        let mut quorum = Quorum::new(&[1, 2, 3], &[4]);
        quorum.timeout(1, Timer::Election);
        quorum.run(100);
        quorum.resend(4);
        quorum.run(100);
        quorum
    }
}

fn entry(epoch: Epoch, data: u8) -> Entry {
    Entry { epoch, record: Record::Data(vec![data]) }
}

fn leader_change(epoch: Epoch, leader_id: NodeId) -> Entry {
    Entry { epoch, record: Record::LeaderChange { leader_id } }
}

#[test]
fn a_timed_out_voter_wins_with_pre_votes_then_votes_and_commits_its_leader_change() {
    // KIP-996 then KIP-595: pre-votes leave the epoch alone, the real election
    // bumps it once, and the new leader's LeaderChange entry is committed.
    let quorum = Quorum::elected();
    assert!(matches!(quorum.node(1).role, Role::Leader(_)), "{:?}", quorum.node(1).role);
    for id in [1, 2, 3, 4] {
        assert_eq!(quorum.node(id).epoch(), 1, "node {id}");
        assert_eq!(quorum.node(id).leader_id(), Some(1), "node {id}");
        assert_eq!(quorum.log(id), [leader_change(1, 1)], "node {id}");
        assert_eq!(quorum.node(id).high_watermark, 1, "node {id}");
    }
    assert_eq!(quorum.replicas[&1].disk, ElectionState { epoch: 1, leader_id: Some(1), voted_id: Some(1) });
}

#[test]
fn a_granted_vote_is_persisted_before_it_is_sent() {
    // The quorum-state file holds the vote before the candidate can count it (KIP-595).
    let log = MemoryLog::default();
    let (mut voter, _) = RaftNode::restart(2, RaftConfig::new([1, 2, 3]), ElectionState::default(), &log);
    let request = Message::VoteRequest { epoch: 1, last_epoch: 0, end_offset: 0, pre_vote: false };
    let out = voter.step(&mut log.clone(), 1, request);
    let voted = ElectionState { epoch: 1, leader_id: None, voted_id: Some(1) };
    let persist = out.iter().position(|o| *o == Output::PersistQuorumState(voted.clone()));
    let send = out
        .iter()
        .position(|o| matches!(o, Output::Send { message: Message::VoteResponse { granted: true, .. }, .. }));
    assert!(persist.unwrap() < send.unwrap(), "{out:?}");
}

#[test]
fn a_pre_vote_is_refused_while_the_leader_is_heard_from() {
    // KIP-996: a voter whose fetch timer fired cannot disturb a quorum whose
    // other voters still fetch from the leader; when its election timer
    // fires with no majority, it follows the leader again.
    let mut quorum = Quorum::elected();
    quorum.timeout(3, Timer::Fetch);
    assert!(matches!(quorum.node(3).role, Role::Prospective { .. }));
    quorum.run(100);
    assert_eq!(quorum.node(3).epoch(), 1);
    quorum.timeout(3, Timer::Election);
    quorum.run(100);
    assert_eq!(quorum.node(3).leader_id(), Some(1));
    assert!(matches!(quorum.node(1).role, Role::Leader(_)));
}

#[test]
fn stale_epochs_are_fenced_and_newer_ones_unknown() {
    // Every request carries an epoch: an older one gets FENCED_LEADER_EPOCH
    // with the current leader, a newer one UNKNOWN_LEADER_EPOCH.
    let mut quorum = Quorum::elected();
    let r = quorum.replicas.get_mut(&1).unwrap();
    let stale = Message::FetchRequest { epoch: 0, fetch_offset: 0, last_fetched_epoch: 0 };
    let out = r.node.step(&mut r.log, 2, stale);
    let fenced = Message::FetchResponse {
        epoch: 1,
        leader_id: Some(1),
        result: FetchResult::Error(RaftError::FencedLeaderEpoch),
    };
    assert_eq!(out, [Output::Send { to: 2, message: fenced }]);
    let newer = Message::FetchRequest { epoch: 2, fetch_offset: 0, last_fetched_epoch: 0 };
    let out = r.node.step(&mut r.log, 2, newer);
    assert!(matches!(
        &out[..],
        [Output::Send {
            message: Message::FetchResponse { result: FetchResult::Error(RaftError::UnknownLeaderEpoch), .. },
            ..
        }]
    ));
    let vote = Message::VoteRequest { epoch: 0, last_epoch: 9, end_offset: 9, pre_vote: false };
    let out = r.node.step(&mut r.log, 2, vote);
    assert!(matches!(
        &out[..],
        [Output::Send {
            message: Message::VoteResponse {
                granted: false,
                epoch: 1,
                error: Some(RaftError::FencedLeaderEpoch),
                ..
            },
            ..
        }]
    ));
    assert_eq!(RaftError::FencedLeaderEpoch.code(), 74);
}

/// A leader of epoch 3 whose log is [LC1, a, LC3], and a follower of it
/// whose log is `follower_log`.
fn leader_and_follower(
    follower_log: Vec<Entry>,
    config: RaftConfig,
) -> (RaftNode, MemoryLog, RaftNode, MemoryLog) {
    let leader_log = MemoryLog {
        entries: vec![leader_change(1, 1), entry(1, b'a'), leader_change(3, 1)],
        ..MemoryLog::default()
    };
    let progress = LeaderProgress {
        epoch_start_offset: 2,
        end_offsets: BTreeMap::from([(1, 3)]),
        fetched: BTreeSet::new(),
    };
    let leader = RaftNode {
        id: 1,
        config: config.clone(),
        election: ElectionState { epoch: 3, leader_id: Some(1), voted_id: Some(1) },
        role: Role::Leader(progress),
        high_watermark: 0,
    };
    let follower_log = MemoryLog { entries: follower_log, ..MemoryLog::default() };
    let election = ElectionState { epoch: 3, leader_id: Some(1), voted_id: None };
    let (follower, _) = RaftNode::restart(2, config, election, &follower_log);
    (leader, leader_log, follower, follower_log)
}

/// Carries one fetch from `follower` to `leader` and its answer back; returns the answer.
fn fetch_once(
    leader: &mut RaftNode,
    leader_log: &mut MemoryLog,
    follower: &mut RaftNode,
    follower_log: &mut MemoryLog,
) -> FetchResult {
    let request = Message::FetchRequest {
        epoch: follower.epoch(),
        fetch_offset: follower_log.end_offset(),
        last_fetched_epoch: follower_log.last_epoch(),
    };
    let out = leader.step(leader_log, follower.id, request);
    let Some(Output::Send { message, .. }) = out.into_iter().find(|o| matches!(o, Output::Send { .. }))
    else {
        panic!("no answer")
    };
    let Message::FetchResponse { result, .. } = &message else { panic!("{message:?}") };
    let result = result.clone();
    follower.step(follower_log, leader.id, message);
    result
}

#[test]
fn a_diverging_follower_truncates_to_where_its_epoch_ends_on_the_leader() {
    // KIP-595's DivergingEpoch: the follower wrote epoch 2 entries the leader
    // of epoch 3 never had; the leader answers "your epoch 2 is my epoch 1,
    // which ends at 2", and the follower cuts there and fetches the rest.
    let follower_entries = vec![leader_change(1, 1), entry(1, b'a'), leader_change(2, 2), entry(2, b'b')];
    let (mut leader, mut leader_log, mut follower, mut follower_log) =
        leader_and_follower(follower_entries, RaftConfig::new([1, 2, 3]));
    let answer = fetch_once(&mut leader, &mut leader_log, &mut follower, &mut follower_log);
    assert_eq!(answer, FetchResult::Diverging { fetch_offset: 4, epoch: 1, end_offset: 2 });
    assert_eq!(follower_log.entries, leader_log.entries[..2]);
    assert_eq!(leader.high_watermark, 0, "a diverging fetch is not progress");
    fetch_once(&mut leader, &mut leader_log, &mut follower, &mut follower_log);
    assert_eq!(follower_log, leader_log);
}

#[test]
fn the_high_watermark_waits_for_an_entry_of_the_leaders_epoch() {
    // Raft §5.4.2 (figure 8): a majority holding epoch 1's entries does not
    // commit them for the leader of epoch 3; a majority holding its
    // LeaderChange entry does. With the switch off, the leader commits early.
    let behind = vec![leader_change(1, 1), entry(1, b'a')];
    let (mut leader, mut leader_log, mut follower, mut follower_log) =
        leader_and_follower(behind.clone(), RaftConfig::new([1, 2, 3]));
    fetch_once(&mut leader, &mut leader_log, &mut follower, &mut follower_log);
    assert_eq!(leader.high_watermark, 0, "offset 2 reached by a majority, but it is epoch 1's");
    fetch_once(&mut leader, &mut leader_log, &mut follower, &mut follower_log);
    assert_eq!(leader.high_watermark, 3);

    let figure_8 = RaftConfig { commit_needs_current_epoch: false, ..RaftConfig::new([1, 2, 3]) };
    let (mut leader, mut leader_log, mut follower, mut follower_log) = leader_and_follower(behind, figure_8);
    fetch_once(&mut leader, &mut leader_log, &mut follower, &mut follower_log);
    assert_eq!(leader.high_watermark, 2, "the planted bug commits epoch 1's entries by counting");
}

#[test]
fn a_leader_without_fetches_from_a_majority_resigns_at_check_quorum() {
    // KAFKA-15489: a leader cut off from its voters stops leading after a
    // fetch timeout, and tells them so with EndQuorumEpoch.
    let mut quorum = Quorum::elected();
    quorum.timeout(1, Timer::CheckQuorum);
    assert!(matches!(quorum.node(1).role, Role::Leader(_)), "both followers fetched");
    quorum.cut.insert(1);
    quorum.timeout(1, Timer::CheckQuorum);
    assert_eq!(quorum.node(1).role, Role::Resigned);
    assert!(quorum
        .network
        .iter()
        .any(|(from, _, m)| *from == 1 && matches!(m, Message::EndQuorumEpoch { .. })));
    assert_eq!(quorum.append(1, b'x'), Err(RaftError::NotLeaderOrFollower));
}

#[test]
fn end_quorum_epoch_hands_leadership_to_a_successor() {
    // Graceful resignation: the followers do not wait for their fetch timeout.
    let mut quorum = Quorum::elected();
    let r = quorum.replicas.get_mut(&1).unwrap();
    let mut out = Vec::new();
    r.node.resign(&mut out);
    quorum.apply(1, out);
    quorum.run(200);
    let leaders: Vec<NodeId> =
        [1, 2, 3].into_iter().filter(|&id| matches!(quorum.node(id).role, Role::Leader(_))).collect();
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    assert_ne!(leaders[0], 1);
    assert_eq!(quorum.node(leaders[0]).epoch(), 2);
}

#[test]
fn a_restarted_voter_remembers_its_vote() {
    // One vote per epoch, across restarts: the vote comes back from the
    // quorum-state file, so a second candidate in the same epoch is refused
    // while the first is granted again.
    let mut quorum = Quorum::new(&[1, 2, 3], &[]);
    let r = quorum.replicas.get_mut(&3).unwrap();
    let ask = |epoch| Message::VoteRequest { epoch, last_epoch: 0, end_offset: 0, pre_vote: false };
    let out = r.node.step(&mut r.log, 1, ask(1));
    quorum.apply(3, out);
    quorum.restart(3);
    assert_eq!(quorum.node(3).election.voted_id, Some(1));
    let r = quorum.replicas.get_mut(&3).unwrap();
    let granted = |out: &[Output]| {
        out.iter()
            .any(|o| matches!(o, Output::Send { message: Message::VoteResponse { granted: true, .. }, .. }))
    };
    assert!(!granted(&r.node.step(&mut r.log, 2, ask(1))), "a second vote in epoch 1");
    assert!(granted(&r.node.step(&mut r.log, 1, ask(1))), "the same vote again");
}

#[test]
fn a_vote_for_a_log_behind_ours_is_refused() {
    // Raft §5.4.1: a candidate whose last epoch is older, or the same and shorter, loses our vote.
    let log = MemoryLog { entries: vec![leader_change(1, 1), entry(1, b'a')], ..MemoryLog::default() };
    let (mut voter, _) = RaftNode::restart(
        2,
        RaftConfig::new([1, 2, 3]),
        ElectionState { epoch: 1, leader_id: None, voted_id: None },
        &log,
    );
    let granted = |out: Vec<Output>| {
        out.iter()
            .any(|o| matches!(o, Output::Send { message: Message::VoteResponse { granted: true, .. }, .. }))
    };
    let shorter = Message::VoteRequest { epoch: 2, last_epoch: 1, end_offset: 1, pre_vote: false };
    assert!(!granted(voter.step(&mut log.clone(), 3, shorter)));
    let newer_epoch = Message::VoteRequest { epoch: 2, last_epoch: 2, end_offset: 1, pre_vote: false };
    assert!(granted(voter.step(&mut log.clone(), 3, newer_epoch)));
}

#[test]
fn observers_replicate_but_never_vote_or_count() {
    // Brokers are observers: they find the leader and fetch its log, but a
    // leader never counts them toward the high watermark and voters never
    // answer their Vote requests.
    let mut quorum = Quorum::elected();
    assert_eq!(quorum.node(4).leader_id(), Some(1));
    quorum.cut.extend([2, 3]);
    quorum.append(1, b'x').unwrap();
    quorum.resend(4); // the fetch backoff after a caught-up answer
    quorum.run(20);
    assert_eq!(quorum.log(4), quorum.log(1), "the observer fetched the record");
    assert_eq!(quorum.node(1).high_watermark, 1, "the observer's fetch did not commit it");
    let r = quorum.replicas.get_mut(&1).unwrap();
    let vote = Message::VoteRequest { epoch: 2, last_epoch: 9, end_offset: 9, pre_vote: false };
    let out = r.node.step(&mut r.log, 4, vote);
    assert!(matches!(
        &out[..],
        [Output::Send {
            message: Message::VoteResponse {
                granted: false,
                error: Some(RaftError::InconsistentVoterSet),
                ..
            },
            ..
        }]
    ));
    assert_eq!(quorum.node(4).armed_timer(), Some(Timer::Fetch));
    quorum.timeout(4, Timer::Fetch);
    assert_eq!(quorum.node(4).role, Role::Unattached, "an observer never stands for election");
    assert_eq!(quorum.node(4).armed_timer(), None);
}

// ANCHOR: quorum_state_golden
#[test]
fn quorum_state_version_0_matches_kafkas_bytes() {
    // FileQuorumStateStore with a static voter set writes data_version 0,
    // fields in QuorumStateData's order, one line without a newline.
    let golden = r#"{"clusterId":"","leaderId":1,"leaderEpoch":2,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}"#;
    let state = QuorumStateFile::v0(
        ElectionState { epoch: 2, leader_id: Some(1), voted_id: None },
        BTreeSet::from([1, 2, 3]),
    );
    assert_eq!(quorum_state::encode(&state), golden);
    assert_eq!(quorum_state::decode(golden).unwrap(), state);
}
// ANCHOR_END: quorum_state_golden

#[test]
fn quorum_state_version_1_reads_and_round_trips() {
    // KIP-853's data_version 1, as in FileQuorumStateStore's documentation.
    let golden = r#"{"leaderId":-1,"leaderEpoch":2,"votedId":1,"votedDirectoryId":"J8aAPcfLQt2bqs1JT_rMgQ","data_version":1}"#;
    let state = quorum_state::decode(golden).unwrap();
    assert_eq!(state.election, ElectionState { epoch: 2, leader_id: None, voted_id: Some(1) });
    assert_eq!(state.voted_directory_id, "J8aAPcfLQt2bqs1JT_rMgQ");
    assert_eq!(quorum_state::encode(&state), golden);
}

#[test]
fn quorum_state_is_written_atomically_and_bad_files_are_refused() {
    // The file is replaced whole (tmp, fsync, rename); a missing file is a
    // fresh replica; a wrong data_version or broken JSON is a clear error.
    let dir = tempfile::tempdir().unwrap();
    assert!(quorum_state::read(dir.path()).unwrap().is_none());
    let state = QuorumStateFile::v0(
        ElectionState { epoch: 7, leader_id: None, voted_id: Some(3) },
        BTreeSet::from([1, 2, 3]),
    );
    quorum_state::write(dir.path(), &state).unwrap();
    assert_eq!(quorum_state::read(dir.path()).unwrap(), Some(state));
    assert!(!dir.path().join("quorum-state.tmp").exists());
    let v2 = r#"{"leaderId":-1,"leaderEpoch":2,"votedId":1,"data_version":2}"#;
    assert!(matches!(quorum_state::decode(v2), Err(QuorumStateError::UnsupportedVersion(2))));
    assert!(matches!(quorum_state::decode("{\"leaderId\":"), Err(QuorumStateError::Malformed { .. })));
    let no_version = r#"{"leaderId":-1,"leaderEpoch":2,"votedId":1}"#;
    assert!(matches!(
        quorum_state::decode(no_version),
        Err(QuorumStateError::Malformed { field: "data_version" })
    ));
}

// ANCHOR: prospective_regression
/// The leader dies; its two followers time out one after the other. The
/// first asks the second for a pre-vote, and the second — still following
/// the dead leader — refuses, naming it. The first must not go back to
/// following the leader it just timed out on: if it did, each follower
/// would undo its election every time the other started one, and the
/// quorum would never elect again (seen on a real 3-controller cluster).
#[test]
fn a_prospective_does_not_go_back_to_the_leader_it_timed_out_on() {
    let mut quorum = Quorum::elected();
    quorum.cut.insert(1);
    quorum.timeout(2, Timer::Fetch);
    quorum.run(100);
    assert!(
        matches!(quorum.node(2).role, Role::Prospective { .. }),
        "2 went back to following the dead leader: {:?}",
        quorum.node(2).role
    );
    quorum.timeout(3, Timer::Fetch);
    quorum.run(100);
    let leaders: Vec<NodeId> =
        [2, 3].into_iter().filter(|&id| matches!(quorum.node(id).role, Role::Leader(_))).collect();
    assert_eq!(leaders.len(), 1, "2: {:?}, 3: {:?}", quorum.node(2).role, quorum.node(3).role);
}
// ANCHOR_END: prospective_regression

mod bad_fetch;
mod snapshot;
