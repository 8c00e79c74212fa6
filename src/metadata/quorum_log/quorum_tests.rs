//! The real KRaft core over on-disk logs: a leader change where the new
//! leader serves batches larger than a Fetch's entry limit, and a restart
//! that reads the log back from its files.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::*;
use crate::raft::{ElectionState, Message, Output, RaftConfig, RaftNode, Role};

/// One controller as a driver holds it: the core, its log on disk, its quorum state.
struct Member {
    node: RaftNode,
    log: QuorumLog,
    state: ElectionState,
    dir: tempfile::TempDir,
}

/// Three voters on one thread; messages in a FIFO queue; cut members drop everything.
struct Quorum {
    members: BTreeMap<NodeId, Member>,
    network: VecDeque<(NodeId, NodeId, Message)>,
    cut: BTreeSet<NodeId>,
}

fn config(fetch_entries_max: usize) -> RaftConfig {
    RaftConfig { fetch_entries_max, ..RaftConfig::new([1, 2, 3]) }
}

impl Quorum {
    /// Voter 1 serves up to 8 entries a Fetch, the others 1.
    fn new() -> Self {
        let mut quorum = Quorum { members: BTreeMap::new(), network: VecDeque::new(), cut: BTreeSet::new() };
        for id in [1, 2, 3] {
            let dir = tempfile::tempdir().unwrap();
            let log = QuorumLog::open(dir.path(), vec![1, 2, 3], 0).unwrap();
            let max = if id == 1 { 8 } else { 1 };
            let (node, out) = RaftNode::restart(id, config(max), ElectionState::default(), &log);
            quorum.members.insert(id, Member { node, log, state: ElectionState::default(), dir });
            quorum.apply(id, out);
        }
        quorum
    }

    /// Carries out `id`'s outputs in order; the log must not have failed.
    fn apply(&mut self, id: NodeId, outputs: Vec<Output>) {
        assert!(self.members[&id].log.failure().is_none());
        for output in outputs {
            match output {
                Output::PersistQuorumState(state) => self.members.get_mut(&id).unwrap().state = state,
                Output::Send { to, message } => self.network.push_back((id, to, message)),
                Output::ResetTimer(_) | Output::HighWatermark(_) | Output::SnapshotInstalled(_) => {}
            }
        }
    }

    /// `id`'s armed timer fires.
    fn timeout(&mut self, id: NodeId) {
        let m = self.members.get_mut(&id).unwrap();
        let timer = m.node.armed_timer().unwrap();
        let out = m.node.timeout(&mut m.log, timer);
        self.apply(id, out);
    }

    fn append(&mut self, id: NodeId, data: &[u8]) {
        let m = self.members.get_mut(&id).unwrap();
        let (_, out) = m.node.append(&mut m.log, data.to_vec()).unwrap();
        self.apply(id, out);
    }

    /// Every member's request backoff elapses, then messages flow.
    fn resend_and_run(&mut self) {
        for id in [1, 2, 3] {
            let m = self.members.get_mut(&id).unwrap();
            let out = m.node.resend(&m.log);
            self.apply(id, out);
        }
        while let Some((from, to, message)) = self.network.pop_front() {
            if self.cut.contains(&from) || self.cut.contains(&to) {
                continue;
            }
            let m = self.members.get_mut(&to).unwrap();
            let out = m.node.step(&mut m.log, from, message);
            self.apply(to, out);
        }
    }

    /// `id` restarts: its log reopened from its files, its quorum state as persisted.
    fn restart(&mut self, id: NodeId) {
        let m = self.members.remove(&id).unwrap();
        let config = m.node.config.clone();
        drop(m.log);
        let log = QuorumLog::open(m.dir.path(), vec![1, 2, 3], 0).unwrap();
        let (node, out) = RaftNode::restart(id, config, m.state.clone(), &log);
        self.members.insert(id, Member { node, log, state: m.state, dir: m.dir });
        self.apply(id, out);
    }

    fn entries(&self, id: NodeId) -> Vec<Entry> {
        self.members[&id].log.entries(0, usize::MAX)
    }
}

/// Voter 2 copies four records in one Fetch from leader 1, so they are one
/// batch in its log; 1 is cut off and 2 wins epoch 2. Voter 3, which asks
/// for one entry at a time, is answered with that whole batch (a Fetch
/// answer never splits a batch), and every log ends up the same, on disk
/// and after a restart (KIP-595's fetch, over `__cluster_metadata-0`).
#[test]
fn a_new_leader_serves_whole_batches_past_the_entry_limit() {
    let mut quorum = Quorum::new();
    quorum.timeout(1);
    quorum.resend_and_run();
    assert!(matches!(quorum.members[&1].node.role, Role::Leader(_)));
    quorum.cut.insert(3);
    for data in [b"a", b"b", b"c", b"d"] {
        quorum.append(1, data);
    }
    quorum.resend_and_run();
    assert_eq!(quorum.entries(2), quorum.entries(1));
    assert_eq!(quorum.members[&2].log.log().read_batches(1).unwrap()[0].records_count(), 4);

    quorum.cut = BTreeSet::from([1]);
    quorum.timeout(3); // no longer hears from 1, so it may grant 2's pre-vote
    quorum.timeout(2);
    quorum.resend_and_run();
    quorum.resend_and_run();
    assert!(matches!(quorum.members[&2].node.role, Role::Leader(_)), "{:?}", quorum.members[&2].node.role);
    quorum.append(2, b"e");
    quorum.resend_and_run();
    let leader = quorum.entries(2);
    assert_eq!(leader.len(), 7, "{leader:?}");
    assert_eq!(quorum.entries(3), leader);
    let batch = |id: NodeId| quorum.members[&id].log.log().read_batches(1).unwrap()[0].records_count();
    assert_eq!(batch(3), 4, "3 got the four records in one answer");
    assert_eq!(quorum.members[&2].node.high_watermark, 7);

    quorum.restart(3);
    assert_eq!(quorum.entries(3), leader);
    assert_eq!(quorum.members[&3].log.end_offset_for_epoch(1), (1, 5));
}
