//! Chapter 8 — handing out producer ids that are never handed out twice, even
//! across restarts.
//!
//! A producer id names one idempotent producer in every partition's producer
//! table and in every snapshot on disk. Give the same id to two producers and
//! the second one's first batches are checked against the first one's
//! sequences: refused as out of order, or — worse — acknowledged as
//! duplicates of batches they are not. An id therefore has to be unique over
//! the cluster's whole life, restarts included, which a counter in memory
//! (or one seeded from the clock) cannot promise.
//!
//! Kafka (KIP-730) has the controller hand out ids in blocks of 1000: it
//! commits a `ProducerIdsRecord` to the metadata log, whose `nextProducerId`
//! is the end of the new block, and only then lets the broker use the ids in
//! it. After a restart, the image replayed from the metadata log knows the end
//! of the last block, and the next block starts there. Ids of a block the
//! broker had not used up before stopping are skipped — cheap, since ids are
//! 63 bits.
//!
//! ```text
//!  InitProducerId ─▶ block [2000, 3000) has ids left? ── yes ─▶ 2417
//!                                        │ no
//!                                        ▼
//!            metadata log: ProducerIdsRecord { nextProducerId: 4000 }   (durable first)
//!                                        ▼
//!                             block [3000, 4000) ─▶ 3000
//! ```
//!
//! In a cluster the broker asks the active controller for a block with
//! `AllocateProducerIds`, as Kafka's brokers do
//! ([`Broker::allocate_producer_id_in_cluster`]). A single node is its own
//! controller: it commits the block to its own metadata log with the
//! controller's [`crate::controller::producer_ids::next_block`], writing
//! broker epoch 0.

use super::{now_ms, Broker, Error};

pub use crate::controller::producer_ids::PRODUCER_ID_BLOCK_SIZE;

/// The block of ids this broker hands out from: `[next, end)`.
#[derive(Debug, Default)]
pub struct ProducerIdBlock {
    next: i64,
    end: i64,
}

impl Broker {
    // ANCHOR: allocate_producer_id
    /// A producer id no producer has had before. Takes a new block from the
    /// metadata log when the current one is used up; an error means that
    /// commit failed and no id can be promised (`COORDINATOR_NOT_AVAILABLE`).
    pub fn allocate_producer_id(&self) -> Result<i64, Error> {
        // Recovered if poisoned: the block is only ever replaced whole or
        // advanced by one, so a panic cannot leave it half-updated.
        let mut block = self.producer_ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if block.next >= block.end {
            let mut metadata = self.metadata_writer();
            let (record, ids) =
                crate::controller::producer_ids::next_block(metadata.image(), self.config.node_id, 0)
                    .map_err(|_| Error::ProducerIdsExhausted)?;
            // Committed (and flushed) before any id of the block is used. A
            // storage failure here takes the log directory offline, as it does
            // for a topic's creation: the metadata log shares the directory.
            if let Err(e) = metadata.commit(&[record], now_ms()) {
                let e = Error::from(e);
                if let Some(log_error) = e.log_error() {
                    self.log_dir.fail(&crate::metadata::METADATA_TOPIC, log_error);
                }
                return Err(e);
            }
            *block = ProducerIdBlock { next: ids.first, end: ids.end };
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
    // ANCHOR_END: allocate_producer_id

    /// A producer id, in a cluster: blocks come from the controller
    /// (AllocateProducerIds), which commits each before handing it over.
    pub async fn allocate_producer_id_in_cluster(&self) -> Result<i64, Error> {
        loop {
            {
                let mut block = self.producer_ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if block.next < block.end {
                    block.next += 1;
                    return Ok(block.next - 1);
                }
            }
            // Not under the lock: two requests may both fetch a block, and the
            // ids of the one not kept are skipped (ids are plentiful).
            let (first, end) =
                self.allocate_producer_id_block().await.map_err(Error::ProducerIdBlockRefused)?;
            let mut block = self.producer_ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if block.next >= block.end {
                *block = ProducerIdBlock { next: first, end };
            }
        }
    }
}
