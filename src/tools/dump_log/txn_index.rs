//! The aborted-transaction index (`<offset>.txnindex`, chapter 9) prints one
//! line per aborted transaction, as Kafka's `DumpLogSegments.dumpTxnIndex`:
//!
//! ```text
//! version: 0 producerId: 1000 firstOffset: 0 lastOffset: 3 lastStableOffset: 1
//! ```

use std::fmt::Write as _;
use std::path::Path;

use super::Dump;
use crate::log::txn_index::{TransactionIndex, ABORTED_TXN_SIZE, ABORTED_TXN_VERSION};

pub(super) fn dump_txn_index(dump: &mut Dump, path: &Path, base: i64, data: &[u8]) {
    let Some(index) = TransactionIndex::parse(base, data) else {
        dump.errors.push(format!(
            "{}: corrupt transaction index: {} bytes is not a whole number of {ABORTED_TXN_SIZE}-byte \
             version-{ABORTED_TXN_VERSION} entries whose markers increase from offset {base}",
            path.display(),
            data.len()
        ));
        return;
    };
    for txn in index.entries() {
        let _ = writeln!(
            dump.output,
            "version: {ABORTED_TXN_VERSION} producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
            txn.producer_id, txn.first_offset, txn.last_offset, txn.last_stable_offset
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::txn_index::AbortedTxn;

    /// Each entry prints as Kafka's tool prints it; a torn file is an error.
    #[test]
    fn entries_print_as_kafka_does() {
        let txn = |pid, first, last, lso| AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: lso,
        };
        let data = [txn(1000, 0, 3, 1).encode(), txn(1001, 1, 5, 6).encode()].concat();
        let mut dump = Dump::default();
        dump_txn_index(&mut dump, Path::new("00000000000000000000.txnindex"), 0, &data);
        assert_eq!(
            dump.output,
            "version: 0 producerId: 1000 firstOffset: 0 lastOffset: 3 lastStableOffset: 1\n\
             version: 0 producerId: 1001 firstOffset: 1 lastOffset: 5 lastStableOffset: 6\n"
        );
        assert!(dump.errors.is_empty());
        let mut torn = Dump::default();
        dump_txn_index(&mut torn, Path::new("00000000000000000000.txnindex"), 0, &data[..40]);
        assert_eq!(torn.errors.len(), 1, "{:?}", torn.errors);
    }
}
