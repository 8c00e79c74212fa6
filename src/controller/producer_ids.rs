//! AllocateProducerIds (KIP-730): producer ids handed to brokers in blocks,
//! each block a ProducerIdsRecord committed before any id in it is used, so
//! no id is handed out twice, restarts included (chapter 8 tells the story,
//! [`crate::broker::producer_ids`]).

use super::{check_broker_epoch, Controller, ControllerResult, Error};
use crate::metadata::{MetadataImage, MetadataRecord};

/// Ids per block: Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`.
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// A block of ids: `[first, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdsBlock {
    pub first: i64,
    pub end: i64,
}

// ANCHOR: next_block
/// The next block after the image's last one, and the record that hands it
/// to `broker_id`. No epoch check: the single-node broker, its own
/// controller, calls this directly.
pub fn next_block(
    image: &MetadataImage,
    broker_id: i32,
    broker_epoch: i64,
) -> Result<(MetadataRecord, ProducerIdsBlock), Error> {
    let first = image.next_producer_id();
    let end = first.checked_add(PRODUCER_ID_BLOCK_SIZE).ok_or(Error::ProducerIdsExhausted)?;
    let record = MetadataRecord::ProducerIds { broker_id, broker_epoch, next_producer_id: end };
    Ok((record, ProducerIdsBlock { first, end }))
}
// ANCHOR_END: next_block

impl Controller {
    /// AllocateProducerIds from a registered broker.
    pub fn allocate_producer_ids(
        &self,
        image: &MetadataImage,
        broker_id: i32,
        broker_epoch: i64,
    ) -> Result<ControllerResult<ProducerIdsBlock>, Error> {
        check_broker_epoch(image, broker_id, broker_epoch)?;
        let (record, block) = next_block(image, broker_id, broker_epoch)?;
        Ok(ControllerResult { records: vec![record], answer: block })
    }
}
