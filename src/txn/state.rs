//! The states of one transactional id, and which state may follow which.
//!
//! ```text
//!            AddPartitions / AddOffsets            EndTxn(commit)
//!   Empty ─────────────────────────▶ Ongoing ───────────────────▶ PrepareCommit
//!     ▲ ▲                            │  ▲  │                           │ markers written
//!     │ │ InitProducerId             │  └──┘ more partitions           ▼
//!     │ └────────────── CompleteCommit / CompleteAbort ◀──────── CompleteCommit
//!     │                                    ▲
//!     │                            EndTxn(abort), timeout,
//!     │                            a new InitProducerId (fence)
//!     │                   Ongoing ─────▶ [PrepareEpochFence] ─▶ PrepareAbort ─▶ CompleteAbort
//!     │
//!     └─ Empty / CompleteCommit / CompleteAbort ──(idle for transactional.id.expiration.ms)──▶ Dead
//! ```
//!
//! The state is what the transaction's record in `__transaction_state` says;
//! its `int8` id below is Kafka's (`TransactionState.fromId`).

use std::fmt;

/// Where a transactional id's current transaction stands (Kafka's `TransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionState {
    /// No transaction open: a producer id and epoch are assigned, nothing else.
    Empty,
    /// A transaction is open; its partitions are recorded.
    Ongoing,
    /// The decision to commit is durable; markers are being written.
    PrepareCommit,
    /// The decision to abort is durable; markers are being written.
    PrepareAbort,
    /// Every partition has its COMMIT marker.
    CompleteCommit,
    /// Every partition has its ABORT marker.
    CompleteAbort,
    /// The id was idle past `transactional.id.expiration.ms`; its tombstone is being written.
    Dead,
    /// The epoch is being bumped to fence a producer whose transaction must be
    /// aborted (a timeout, or a new producer's InitProducerId). Never written
    /// on its own: the abort that follows is (see `coordinator`).
    PrepareEpochFence,
}

use TransactionState::*;

// ANCHOR: transitions
impl TransactionState {
    /// The states a transaction may be in just before entering `self`
    /// (Kafka's `validPreviousStates`). Every transition the coordinator
    /// prepares is checked against this table.
    pub fn valid_previous_states(self) -> &'static [TransactionState] {
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteCommit, CompleteAbort],
            PrepareEpochFence => &[Ongoing],
        }
    }

    /// Whether a transaction in `self` may move to `next`.
    pub fn can_transition_to(self, next: TransactionState) -> bool {
        next.valid_previous_states().contains(&self)
    }

    /// Whether an idle transactional id in this state may expire: only when no
    /// transaction is open, so expiry never loses a decision.
    pub fn is_expiration_allowed(self) -> bool {
        matches!(self, Empty | CompleteCommit | CompleteAbort)
    }
}
// ANCHOR_END: transitions

impl TransactionState {
    /// Every state, in id order.
    pub const ALL: [TransactionState; 8] =
        [Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence];

    /// The `TransactionStatus` byte of a `__transaction_state` record.
    pub fn id(self) -> i8 {
        match self {
            Empty => 0,
            Ongoing => 1,
            PrepareCommit => 2,
            PrepareAbort => 3,
            CompleteCommit => 4,
            CompleteAbort => 5,
            Dead => 6,
            PrepareEpochFence => 7,
        }
    }

    /// The state with this id, if any.
    pub fn from_id(id: i8) -> Option<TransactionState> {
        TransactionState::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The name DescribeTransactions and `kafka-transactions.sh` print.
    pub fn name(self) -> &'static str {
        match self {
            Empty => "Empty",
            Ongoing => "Ongoing",
            PrepareCommit => "PrepareCommit",
            PrepareAbort => "PrepareAbort",
            CompleteCommit => "CompleteCommit",
            CompleteAbort => "CompleteAbort",
            Dead => "Dead",
            PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// A transaction is open and its markers are not all written.
    pub fn is_open(self) -> bool {
        matches!(self, Ongoing | PrepareCommit | PrepareAbort | PrepareEpochFence)
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Kafka's state ids are what the records carry: each id maps back to its
    // state, and no other byte names a state.
    #[test]
    fn ids_round_trip() {
        for state in TransactionState::ALL {
            assert_eq!(TransactionState::from_id(state.id()), Some(state));
        }
        assert_eq!(TransactionState::from_id(8), None);
        assert_eq!(TransactionState::from_id(-1), None);
    }

    // The two-phase commit's point of no return: a prepared decision can only
    // complete, never turn into the other one (TransactionMetadata.scala).
    #[test]
    fn prepared_decisions_only_complete() {
        let after =
            |s: TransactionState| TransactionState::ALL.into_iter().filter(move |n| s.can_transition_to(*n));
        assert_eq!(after(PrepareCommit).collect::<Vec<_>>(), [CompleteCommit]);
        assert_eq!(after(PrepareAbort).collect::<Vec<_>>(), [CompleteAbort]);
        assert_eq!(after(PrepareEpochFence).collect::<Vec<_>>(), [PrepareAbort]);
        assert_eq!(after(Dead).count(), 0);
    }
}
