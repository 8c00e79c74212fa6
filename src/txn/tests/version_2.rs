//! KIP-890 part 2 (transaction version 2): every EndTxn bumps the epoch.

use super::*;

// A version 2 commit bumps the epoch with its PrepareCommit record: the
// answer and the markers carry the new epoch, a retry with the old one is
// recognised, and a late AddPartitionsToTxn of the ended transaction (the
// old epoch) is fenced instead of opening a transaction nobody will end.
#[test]
fn a_version_2_commit_bumps_the_epoch() {
    let mut c = coordinator();
    ongoing(&mut c, 10);
    let out = c.end_txn(3, &end_request("tx", PRODUCER_ID, 0, true, 2), 20);
    let prepared = out.appends[0].record.value.clone().expect("a value");
    assert_eq!((prepared.producer_epoch, prepared.client_transaction_version), (1, 2));
    let out = durable(&mut c, out, 21);
    assert_eq!(only_reply(&out), ReplyBody::EndTxn(Ok(ids(PRODUCER_ID, 1))));
    assert_eq!(out.markers[0].producer_epoch, 1);
    let retry = c.end_txn(4, &end_request("tx", PRODUCER_ID, 0, true, 2), 22);
    assert_eq!(only_reply(&retry), ReplyBody::EndTxn(Err(TxnError::ConcurrentTransactions)));

    let complete = c.markers_written(&out.markers[0], 23);
    durable(&mut c, complete, 24);
    let m = &c.transactions()["tx"];
    assert_eq!((m.state, m.producer_epoch, m.last_producer_epoch), (TransactionState::CompleteCommit, 1, 0));
    let retry = c.end_txn(5, &end_request("tx", PRODUCER_ID, 0, true, 2), 25);
    assert_eq!(
        only_reply(&retry),
        ReplyBody::EndTxn(Ok(ids(PRODUCER_ID, 1))),
        "a retry gets the same answer"
    );
    let late = c.add_partitions(6, &add_request("tx", PRODUCER_ID, 0, &parts(&[("a", 0)])), 26);
    assert_eq!(only_reply(&late), ReplyBody::AddPartitionsToTxn(Err(TxnError::ProducerFenced)));
    let next = c.add_partitions(7, &add_request("tx", PRODUCER_ID, 1, &parts(&[("a", 0)])), 27);
    assert_eq!(only_reply(&durable(&mut c, next, 28)), ReplyBody::AddPartitionsToTxn(Ok(())));
}

// When the bump at the end uses up the epochs, the coordinator takes a new
// producer id from the driver with the PrepareCommit record (NextProducerId,
// tagged field 1 of TransactionLogValue v1) and moves to it, at epoch 0, when
// the transaction completes — also after a reload from the v1 records.
#[test]
fn a_version_2_end_at_the_last_epoch_moves_to_the_next_producer_id() {
    let mut c = loaded_at_the_last_epoch(TransactionState::Ongoing, parts(&[("a", 0)]));
    let out = c.end_txn(3, &end_request("tx", 42, i16::MAX - 1, true, 2), 10);
    let prepare = out.appends[0].record.clone();
    assert_eq!(
        prepare.value.as_ref().map(|v| (v.producer_epoch, v.next_producer_id)),
        Some((i16::MAX, PRODUCER_ID))
    );
    let out = durable(&mut c, out, 11);
    assert_eq!(
        only_reply(&out),
        ReplyBody::EndTxn(Ok(ids(PRODUCER_ID, 0))),
        "the ids of the next transaction"
    );

    // A new coordinator reads the PrepareCommit back from its v1 bytes and finishes the job.
    let mut reloaded = coordinator();
    reloaded.start_loading(6);
    let bytes = prepare.value_bytes(1);
    reloaded
        .load_record(
            &TransactionLogRecord::decode(&prepare.key_bytes(), bytes.as_deref()).expect("reads back"),
        )
        .expect("a valid record");
    let markers = reloaded.finish_loading().markers;
    assert_eq!((markers[0].producer_id, markers[0].producer_epoch), (42, i16::MAX));
    let complete = reloaded.markers_written(&markers[0], 12);
    durable(&mut reloaded, complete, 13);
    let m = &reloaded.transactions()["tx"];
    assert_eq!((m.producer_id, m.producer_epoch, m.previous_producer_id), (PRODUCER_ID, 0, 42));
    let retry = reloaded.end_txn(4, &end_request("tx", 42, i16::MAX - 1, true, 2), 14);
    assert_eq!(only_reply(&retry), ReplyBody::EndTxn(Ok(ids(PRODUCER_ID, 0))), "a retry across the overflow");
}
