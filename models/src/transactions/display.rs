//! How the transactions model's states print in counterexamples: the
//! coordinator and its state log, each partition's log with its LSO, the
//! producers and the network, so a trace reads like chapter 9's figures.
//! `Debug` stays the whole structure (the explorer's view).

use std::fmt;

use spool::txn::records::TransactionLogRecord;

use super::{Entry, Partition, Producer, TransactionsState, OUTPUT};

/// ```text
/// coordinator e0: Ongoing p1e0 {out-0}; in flight [PrepareCommit]; log [Empty e0, Ongoing e0]
/// markers: COMMIT p1e0 to {offsets}
/// out-0    [P0:p1e0 COMMIT:p1e0]  LSO 2
/// offsets  [P0:p1e0]              LSO 0  aborted -
/// producer 0: EndTxn p1e0 (waiting)   producer 1: Init
/// network: P0→out-0 p1e0
/// ```
impl fmt::Display for TransactionsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let txn = match self.coordinator.transactions().values().next() {
            None => "-".to_string(),
            Some(m) => {
                let parts: Vec<String> = m.partitions.iter().map(|tp| tp.to_string()).collect();
                format!("{} p{}e{} {{{}}}", m.state, m.producer_id, m.producer_epoch, parts.join(", "))
            }
        };
        let appending: Vec<String> = self.appending.values().map(record).collect();
        let log: Vec<String> = self.state_log.iter().map(record).collect();
        let clock = if self.now_ms > 0 { format!(" at {} ms", self.now_ms) } else { String::new() };
        writeln!(
            f,
            "coordinator e{}{clock}: {txn}; in flight [{}]; log [{}]",
            self.coordinator_epoch,
            appending.join(", "),
            log.join(", ")
        )?;
        for w in &self.markers {
            let to: Vec<&str> = w.remaining.iter().map(|&p| name(p)).collect();
            let kind = if w.commit { "COMMIT" } else { "ABORT" };
            writeln!(f, "markers: {kind} p{}e{} to {{{}}}", w.producer_id, w.producer_epoch, to.join(", "))?;
        }
        for (i, p) in self.partitions.iter().enumerate() {
            writeln!(f, "{:<8} {}", name(i as u8), partition(p))?;
        }
        let producers: Vec<String> = self
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("producer {i}: {}", producer(p)))
            .collect();
        writeln!(f, "{}", producers.join("   "))?;
        let network: Vec<String> = self
            .network
            .iter()
            .map(|r| format!("P{}→{} p{}e{}", r.producer, name(r.partition), r.producer_id, r.producer_epoch))
            .collect();
        write!(f, "network: {}", if network.is_empty() { "-".to_string() } else { network.join(", ") })?;
        if self.zombie_appended {
            write!(f, "\nhistory: a fenced producer's batch was appended")?;
        }
        Ok(())
    }
}

fn name(partition: u8) -> &'static str {
    if partition == OUTPUT {
        "out-0"
    } else {
        "offsets"
    }
}

fn record(r: &TransactionLogRecord) -> String {
    match &r.value {
        None => "tombstone".to_string(),
        Some(v) => format!("{} e{}", v.state, v.producer_epoch),
    }
}

fn partition(p: &Partition) -> String {
    let entries: Vec<String> = p
        .log
        .iter()
        .map(|e| match *e {
            Entry::Data { producer, producer_id, producer_epoch } => {
                format!("P{producer}:p{producer_id}e{producer_epoch}")
            }
            Entry::Marker { producer_id, producer_epoch, commit } => {
                let kind = if commit { "COMMIT" } else { "ABORT" };
                format!("{kind}:p{producer_id}e{producer_epoch}")
            }
        })
        .collect();
    let aborted: Vec<String> = p
        .aborted
        .iter()
        .map(|t| format!("p{} {}..={}", t.producer_id, t.first_offset, t.last_offset))
        .collect();
    format!(
        "{:<28} LSO {}  aborted {}",
        format!("[{}]", entries.join(" ")),
        p.last_stable_offset(),
        if aborted.is_empty() { "-".to_string() } else { aborted.join(", ") }
    )
}

fn producer(p: &Producer) -> String {
    let mut s = format!("{:?}", p.step);
    if let Some(ids) = p.ids {
        s += &format!(" p{}e{}", ids.producer_id, ids.producer_epoch);
    }
    if p.waiting {
        s += " (waiting)";
    }
    if !p.unanswered.is_empty() {
        let names: Vec<&str> = p.unanswered.iter().map(|&q| name(q)).collect();
        s += &format!(" awaits {}", names.join(","));
    }
    if p.abortable {
        s += " abortable";
    }
    s
}
