//! How the idempotence model's states print: one line each, for
//! counterexamples and the explorer.
//!
//! ```text
//! log=[r0 e0s0, r1 e0s1] leader={e0: 0..0@0 1..1@1} producer=e0 next=s2 in-flight=[r1 s1] acked={r0@0} failed=[] network=[resp e0s1 appended@1]
//! ```
//!
//! `leader=` is the real producer table: the epoch and the retained batches as
//! `first..last seq @ first offset`.

use std::fmt;

use super::{Answer, IdempotenceState, Message, PRODUCER_ID};

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Message::Request { epoch, seq, record } => write!(f, "req e{epoch}s{seq} r{record}"),
            Message::Response { epoch, seq, answer } => {
                write!(f, "resp e{epoch}s{seq} ")?;
                match answer {
                    Answer::Appended(offset) => write!(f, "appended@{offset}"),
                    Answer::Duplicate(offset) => write!(f, "duplicate@{offset}"),
                    Answer::Error(45) => write!(f, "OUT_OF_ORDER_SEQUENCE_NUMBER"),
                    Answer::Error(47) => write!(f, "INVALID_PRODUCER_EPOCH"),
                    Answer::Error(code) => write!(f, "error {code}"),
                }
            }
        }
    }
}

fn list<T>(items: impl IntoIterator<Item = T>, show: impl Fn(T) -> String) -> String {
    items.into_iter().map(show).collect::<Vec<_>>().join(", ")
}

impl fmt::Debug for IdempotenceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = list(&self.log, |w| format!("r{} e{}s{}", w.record, w.epoch, w.seq));
        let leader = match self.table.entry(PRODUCER_ID) {
            None => "{}".to_string(),
            Some(e) => format!(
                "{{e{}: {}}}",
                e.producer_epoch,
                list(e.batches(), |b| format!("{}..{}@{}", b.first_seq(), b.last_seq, b.first_offset()))
            ),
        };
        let p = &self.producer;
        write!(
            f,
            "log=[{log}] leader={leader} producer=e{} next=s{} in-flight=[{}] acked={{{}}} failed=[{}] network=[{}]",
            p.epoch,
            p.next_seq,
            list(&p.in_flight, |b| format!("r{} s{}", b.record, b.seq)),
            list(&p.acked, |(r, o)| format!("r{r}@{o}")),
            list(&p.failed, |r| format!("r{r}")),
            list(&self.network, |m| m.to_string()),
        )
    }
}
