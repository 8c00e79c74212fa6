//! How the KRaft model's states and actions print in counterexamples: one
//! line per replica, then the network and the history, so a trace reads
//! like the figures of chapter 7. `Debug` stays the whole structure (the
//! explorer's view).

use std::fmt;

use spool::raft::{Entry, Message, Record, Role};

use super::{Action, KraftState, Replica};

/// ```text
/// 1 Leader{ends 1:1, fetched -}           e1 vote 1  log [L1]         hw 0
/// 2 Candidate{2}                          e1 vote 2  log []           hw 0
/// 3 down                                  disk e1 vote -  log []
/// network: 1→2 BeginQuorumEpoch(e1), 2→1 Vote(e1 log e0 end 0)
/// history: leaders e1:1; committed []
/// ```
///
/// A log entry is its record's kind and its epoch: `L` a LeaderChange, `D`
/// a data record. `vote -` is no vote; `disk …` follows a replica whose
/// `quorum-state` file holds something else than its memory (a crash cut a
/// write short); a crashed replica shows only its disk.
impl fmt::Display for KraftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, replica) in self.replicas.iter().enumerate() {
            writeln!(f, "{} {}", i + 1, self::replica(replica))?;
        }
        let links: Vec<String> =
            self.network.iter().map(|((from, to), m)| format!("{from}→{to} {}", message(m))).collect();
        writeln!(f, "network: {}", if links.is_empty() { "-".to_string() } else { links.join(", ") })?;
        let leaders: Vec<String> = self.leaders.iter().map(|(e, id)| format!("e{e}:{id}")).collect();
        let committed: Vec<Entry> = self.committed.iter().map(|(entry, _)| entry.clone()).collect();
        write!(f, "history: leaders {}; committed {}", list(&leaders), log(&committed))?;
        for ((id, epoch), timeouts) in &self.stale_leaders {
            write!(f, "; {id} stale in e{epoch} for {timeouts} fetch timeout(s)")?;
        }
        if self.stale_read {
            write!(f, "; a stale read was served")?;
        }
        if let Some(stable) = &self.stable {
            let elected = if stable.elected { "a leader is elected" } else { "no leader yet" };
            write!(f, "\nstable: {elected}")?;
        }
        Ok(())
    }
}

fn replica(replica: &Replica) -> String {
    let election = |e: &spool::raft::ElectionState| {
        let vote = e.voted_id.map_or("-".to_string(), |v| v.to_string());
        format!("e{} vote {vote}", e.epoch)
    };
    let Some(node) = &replica.node else {
        return format!("{:<37} disk {}  log {}", "down", election(&replica.disk), log(&replica.log.entries));
    };
    let role = match &node.role {
        Role::Unattached => "Unattached".to_string(),
        Role::Prospective { granted, timed_out_on: None } => {
            format!("Prospective{{{}}}", ids(granted.iter()))
        }
        Role::Prospective { granted, timed_out_on: Some(leader) } => {
            format!("Prospective{{{}}} (left {leader})", ids(granted.iter()))
        }
        Role::Candidate { granted } => format!("Candidate{{{}}}", ids(granted.iter())),
        Role::Follower { leader_id, fetching_snapshot: None } => format!("Follower of {leader_id}"),
        Role::Follower { leader_id, fetching_snapshot: Some((id, position)) } => {
            format!("Follower of {leader_id} (snapshot {id} at byte {position})")
        }
        Role::Resigned => "Resigned".to_string(),
        Role::Leader(progress) => {
            let ends: Vec<String> = progress.end_offsets.iter().map(|(v, o)| format!("{v}:{o}")).collect();
            format!("Leader{{ends {}, fetched {}}}", ends.join(" "), ids(progress.fetched.iter()))
        }
    };
    let disk = if replica.disk == node.election {
        String::new()
    } else {
        format!("  disk {}", election(&replica.disk))
    };
    format!(
        "{role:<37} {}  log {:<12} hw {}{disk}",
        election(&node.election),
        log(&replica.log.entries),
        node.high_watermark
    )
}

fn log(entries: &[Entry]) -> String {
    let entries: Vec<String> = entries
        .iter()
        .map(|e| match e.record {
            Record::LeaderChange { .. } => format!("L{}", e.epoch),
            Record::Data(_) => format!("D{}", e.epoch),
        })
        .collect();
    format!("[{}]", entries.join(" "))
}

fn ids<'a>(ids: impl Iterator<Item = &'a i32>) -> String {
    let ids: Vec<String> = ids.map(|id| id.to_string()).collect();
    if ids.is_empty() {
        "-".to_string()
    } else {
        ids.join(",")
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(" ")
    }
}

/// A request as the trace shows it: the RPC, then the fields it is decided on.
pub(super) fn message(message: &Message) -> String {
    match message {
        Message::VoteRequest { epoch, last_epoch, end_offset, pre_vote } => {
            let kind = if *pre_vote { "PreVote" } else { "Vote" };
            format!("{kind}(e{epoch} log e{last_epoch} end {end_offset})")
        }
        Message::BeginQuorumEpoch { epoch } => format!("BeginQuorumEpoch(e{epoch})"),
        Message::EndQuorumEpoch { epoch, preferred_successors } => {
            format!("EndQuorumEpoch(e{epoch} successors {})", ids(preferred_successors.iter()))
        }
        Message::FetchRequest { epoch, fetch_offset, last_fetched_epoch } => {
            format!("Fetch(e{epoch} offset {fetch_offset} last e{last_fetched_epoch})")
        }
        // Responses never wait on a link: the requester steps on them at once.
        response => format!("{response:?}"),
    }
}

/// An action as the trace shows it.
pub(super) fn action(action: &Action) -> String {
    match action {
        Action::Snapshot(id) => format!("Snapshot {id}"),
        Action::Settle => "Settle (the faults are over)".to_string(),
        Action::Deliver(e) => format!("Deliver {}→{} {}", e.from, e.to, message(&e.message)),
        Action::DeliverCrash(e) => format!("DeliverCrash {}→{} {}", e.from, e.to, message(&e.message)),
        other => format!("{other:?}"),
    }
}
