//! A history checker: did the cluster keep every promise it made?
//!
//! A fault test records three things while it produces, consumes and breaks
//! the cluster, then hands them to [`check`]:
//!
//! - every [`Ack`]: a write the cluster acknowledged (with `acks=all`), in the
//!   order each producer sent them, with the offset the acknowledgement gave;
//! - every [`Read`]: a record a consumer was given, in the order the reads
//!   happened (merge readers' reads through one lock to keep it);
//! - the [`Stored`] records of one full read of every partition, from the
//!   start, after the faults are healed: what the cluster kept.
//!
//! It reports, as [`Violation`]s (all of them, not the first):
//!
//! | violation | the promise broken |
//! |---|---|
//! | `Lost` | an acknowledged write is durable |
//! | `Moved` | it stays at the offset its acknowledgement named |
//! | `Duplicated` | each value is stored once (idempotence, KIP-98) |
//! | `OutOfOrder` | one producer's writes to a partition keep their send order |
//! | `ReadThenLost` | a consumer reads only committed records, which are never lost or replaced (the high watermark) |
//!
//! Values must be unique per write (`p0-17`: producer 0's 17th): the checker
//! tells writes apart by value. The checker is pure: no clock, no I/O.

use std::collections::{BTreeMap, HashMap};

/// A write the cluster acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Which producer sent it: send order is checked per producer and partition.
    pub producer: usize,
    pub value: String,
    pub partition: i32,
    /// The offset the acknowledgement named.
    pub offset: i64,
}

/// A record a consumer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// Which consumer read it.
    pub reader: usize,
    pub value: String,
    pub partition: i32,
    pub offset: i64,
}

/// A record of the final full read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub value: String,
    pub partition: i32,
    pub offset: i64,
}

/// What a fault test saw; field order is time order within each list.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub acks: Vec<Ack>,
    pub reads: Vec<Read>,
    pub final_read: Vec<Stored>,
}

/// A broken promise, with what a reader of the failure needs to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// An acknowledged write is not in the final read.
    Lost { value: String, partition: i32, offset: i64 },
    /// An acknowledged write is stored, but not at the (partition, offset)
    /// its acknowledgement named.
    Moved { value: String, acked: (i32, i64), stored: (i32, i64) },
    /// A value is stored more than once, at these (partition, offset)s.
    Duplicated { value: String, at: Vec<(i32, i64)> },
    /// `later` was sent after `earlier` by one producer to one partition, but
    /// is stored before it.
    OutOfOrder { producer: usize, partition: i32, earlier: String, later: String },
    /// A consumer read `read` at (partition, offset); the final read holds
    /// `stored` there (`None`: nothing): the record read was lost or replaced.
    ReadThenLost { reader: usize, partition: i32, offset: i64, read: String, stored: Option<String> },
}

/// Every violation in `history`, in a stable order (by kind, then as found).
pub fn check(history: &History) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut at: HashMap<&str, Vec<(i32, i64)>> = HashMap::new();
    let mut by_position: BTreeMap<(i32, i64), &str> = BTreeMap::new();
    for s in &history.final_read {
        at.entry(&s.value).or_default().push((s.partition, s.offset));
        by_position.insert((s.partition, s.offset), &s.value);
    }
    for ack in &history.acks {
        match at.get(ack.value.as_str()).map(Vec::as_slice) {
            None => violations.push(Violation::Lost {
                value: ack.value.clone(),
                partition: ack.partition,
                offset: ack.offset,
            }),
            Some(&[stored]) if stored != (ack.partition, ack.offset) => violations.push(Violation::Moved {
                value: ack.value.clone(),
                acked: (ack.partition, ack.offset),
                stored,
            }),
            Some(_) => {}
        }
    }
    let mut duplicated: Vec<_> = at.iter().filter(|(_, places)| places.len() > 1).collect();
    duplicated.sort();
    for (value, places) in duplicated {
        violations.push(Violation::Duplicated { value: value.to_string(), at: places.clone() });
    }
    violations.extend(out_of_order(&history.acks, &at));
    for read in &history.reads {
        let stored = by_position.get(&(read.partition, read.offset)).copied();
        if stored != Some(read.value.as_str()) {
            violations.push(Violation::ReadThenLost {
                reader: read.reader,
                partition: read.partition,
                offset: read.offset,
                read: read.value.clone(),
                stored: stored.map(str::to_string),
            });
        }
    }
    violations
}

/// Consecutive acknowledged writes of one producer to one partition whose
/// stored offsets do not increase. A lost or duplicated write is reported as
/// such and skipped here.
fn out_of_order(acks: &[Ack], at: &HashMap<&str, Vec<(i32, i64)>>) -> Vec<Violation> {
    let mut last: BTreeMap<(usize, i32), (&str, i64)> = BTreeMap::new();
    let mut violations = Vec::new();
    for ack in acks {
        let Some(&[(partition, offset)]) = at.get(ack.value.as_str()).map(Vec::as_slice) else {
            continue;
        };
        if partition != ack.partition {
            continue;
        }
        let key = (ack.producer, partition);
        if let Some(&(earlier, earlier_offset)) = last.get(&key) {
            if offset <= earlier_offset {
                violations.push(Violation::OutOfOrder {
                    producer: ack.producer,
                    partition,
                    earlier: earlier.to_string(),
                    later: ack.value.clone(),
                });
            }
        }
        last.insert(key, (&ack.value, offset));
    }
    violations
}
