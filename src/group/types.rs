//! The coordinator's inputs and outputs: plain structs the broker fills from
//! (and turns into) kafka-protocol messages. They carry only what the
//! coordinator reads, so a model can build them by hand.

use std::fmt;

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::records::GroupRecord;
use crate::TopicPartition;

/// The caller's handle on a request whose answer may come later (a JoinGroup
/// waits for the rebalance, a follower's SyncGroup for the leader). The
/// coordinator hands it back in a [`ParkedReply`]; it never looks inside.
pub type RequestToken = u64;

/// `generation_id` of a member that is not in any generation (Kafka's `NoGeneration`).
pub const NO_GENERATION: i32 = -1;

/// The broker-side limits of the group coordinator, with Kafka's names and
/// defaults (Kafka's own class for them is `GroupCoordinatorConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupCoordinatorConfig {
    /// `group.min.session.timeout.ms`: shorter sessions are refused.
    pub session_timeout_ms_min: i32,
    /// `group.max.session.timeout.ms`.
    pub session_timeout_ms_max: i32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an
    /// empty group waits for more members, extended as they arrive.
    pub initial_rebalance_delay_ms: i32,
    /// `group.max.size`: members beyond it get GROUP_MAX_SIZE_REACHED.
    pub group_size_max: usize,
    /// `offset.metadata.max.bytes`: longer commit metadata is refused.
    pub offset_metadata_bytes_max: usize,
    /// `offsets.commit.timeout.ms`: how long the broker waits for the ISR to
    /// confirm a group's `__consumer_offsets` append before the request gets
    /// COORDINATOR_NOT_AVAILABLE. The coordinator never waits (it is sans-IO);
    /// its driver reads this, which Kafka also keeps in `GroupCoordinatorConfig`.
    pub offsets_commit_timeout_ms: i32,
    /// How long a new member's first JoinGroup may wait before it is dropped
    /// (Kafka's `NewMemberJoinTimeoutMs`, five minutes, not configurable).
    pub new_member_join_timeout_ms: i32,
}

impl Default for GroupCoordinatorConfig {
    fn default() -> Self {
        GroupCoordinatorConfig {
            session_timeout_ms_min: 6_000,
            session_timeout_ms_max: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            group_size_max: i32::MAX as usize,
            offset_metadata_bytes_max: 4_096,
            offsets_commit_timeout_ms: 5_000,
            new_member_join_timeout_ms: 300_000,
        }
    }
}

/// Why the coordinator refused a request. Each maps to the Kafka error code a
/// client acts on; the doc says what the client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupError {
    /// The group id is empty where one is required: fatal for the client.
    InvalidGroupId,
    /// The group is being deleted: find the coordinator again, rejoin.
    CoordinatorNotAvailable,
    /// The session timeout is outside the broker's bounds: fatal.
    InvalidSessionTimeout,
    /// The protocol type or protocols do not match the group's: fatal.
    InconsistentGroupProtocol,
    /// The member is not (or no longer) in the group: reset the member id, rejoin.
    UnknownMemberId,
    /// KIP-394: rejoin with the member id in this response.
    MemberIdRequired,
    /// The generation is not the group's current one: rejoin.
    IllegalGeneration,
    /// A rebalance is under way: rejoin (the generation is still valid for commits
    /// until it completes).
    RebalanceInProgress,
    /// KIP-345: another member now holds this `group.instance.id`: fatal, shut down.
    FencedInstanceId,
    /// The group has `group.max.size` members.
    GroupMaxSizeReached,
    /// The commit's metadata is longer than `offset.metadata.max.bytes`.
    OffsetMetadataTooLarge,
    /// DeleteGroups, OffsetDelete: the group still has members.
    NonEmptyGroup,
    /// DeleteGroups, OffsetDelete: no such group.
    GroupIdNotFound,
    /// In a cluster: this broker does not lead the group's `__consumer_offsets`
    /// partition (or stopped leading it before a record was replicated): find
    /// the coordinator again.
    NotCoordinator,
    /// In a cluster: this broker just became the group's coordinator and is
    /// still reading its `__consumer_offsets` partition: retry shortly.
    CoordinatorLoadInProgress,
    /// OffsetFetch with `require_stable` (KIP-447): a transactional commit
    /// of this partition waits for its transaction's marker (or a commit for
    /// its store): retry shortly, the offset is about to change.
    UnstableOffsetCommit,
    /// TxnOffsetCommit: the transaction's producer epoch is older than the
    /// one `__consumer_offsets` has seen: a zombie producer, fenced (fatal
    /// for it; its successor carries on).
    InvalidProducerEpoch,
    /// TxnOffsetCommit (KIP-890 part 1): the group's offsets partition is
    /// not in the producer's transaction — no AddOffsetsToTxn, or the
    /// transaction ended while the commit was verified. Nothing was written;
    /// the producer must abort.
    InvalidTxnState,
    /// OffsetDelete (KIP-496): a member of the group subscribes to this
    /// partition's topic, so its offset stays; stop the group's consumers first.
    GroupSubscribedToTopic,
}

impl GroupError {
    /// Kafka's error, for the response's `error_code`.
    pub fn response_error(self) -> ResponseError {
        match self {
            GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
            GroupError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
            GroupError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
            GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
            GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
            GroupError::MemberIdRequired => ResponseError::MemberIdRequired,
            GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
            GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
            GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
            GroupError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached,
            GroupError::OffsetMetadataTooLarge => ResponseError::OffsetMetadataTooLarge,
            GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
            GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound,
            GroupError::NotCoordinator => ResponseError::NotCoordinator,
            GroupError::CoordinatorLoadInProgress => ResponseError::CoordinatorLoadInProgress,
            GroupError::UnstableOffsetCommit => ResponseError::UnstableOffsetCommit,
            GroupError::InvalidProducerEpoch => ResponseError::InvalidProducerEpoch,
            GroupError::InvalidTxnState => ResponseError::InvalidTxnState,
            GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
        }
    }

    /// The wire code (`0` is reserved for no error).
    pub fn code(self) -> i16 {
        self.response_error().code()
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.response_error())
    }
}

impl std::error::Error for GroupError {}

/// A protocol (for consumers: an assignor such as `range` or
/// `cooperative-sticky`) a member supports, with its metadata for it (for
/// consumers: the subscription, and under KIP-429 the partitions it owns).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol {
    pub name: String,
    pub metadata: Vec<u8>,
}

/// JoinGroup, all versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinGroupRequest {
    pub group_id: String,
    /// Empty on a member's first join.
    pub member_id: String,
    /// KIP-345 `group.instance.id`: set for static members.
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    /// `max.poll.interval.ms` for consumers: how long a rebalance waits for it.
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// In the member's order of preference.
    pub protocols: Vec<Protocol>,
    /// JoinGroup v4+ (KIP-394): a member without an id first gets one back with
    /// MEMBER_ID_REQUIRED, and joins for real with it.
    pub require_known_member_id: bool,
    /// The random part of a new member id (`client_id-uuid`), chosen by the
    /// caller so the coordinator stays deterministic: the broker passes
    /// `Uuid::new_v4()`, a model a counter.
    pub new_member_uuid: Uuid,
}

/// One member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member's metadata for the chosen protocol.
    pub metadata: Vec<u8>,
}

/// JoinGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinGroupResponse {
    pub error: Option<GroupError>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// The leader's member id (empty if none).
    pub leader: String,
    /// The member's id: new on a first join, else the one it sent.
    pub member_id: String,
    /// Every member, for the leader only; empty for followers.
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    pub(crate) fn error(member_id: &str, error: GroupError) -> Self {
        JoinGroupResponse {
            error: Some(error),
            generation_id: NO_GENERATION,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id: member_id.to_string(),
            members: vec![],
        }
    }
}

/// SyncGroup, all versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v5+: checked against the group's.
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// From the leader only: member id → its assignment (opaque bytes).
    pub assignments: Vec<(String, Vec<u8>)>,
}

/// SyncGroup's answer: this member's part of the leader's assignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncGroupResponse {
    pub error: Option<GroupError>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Vec<u8>,
}

impl SyncGroupResponse {
    pub(crate) fn error(error: GroupError) -> Self {
        SyncGroupResponse { error: Some(error), protocol_type: None, protocol_name: None, assignment: vec![] }
    }
}

/// Heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One member leaving (LeaveGroup v3+ carries a batch of them; v0–v2 one
/// member id). An admin removes a static member by its instance id alone,
/// with an empty member id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeavingMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// LeaveGroup's answer: a top-level error, or one error per member.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaveGroupResponse {
    pub error: Option<GroupError>,
    pub members: Vec<(LeavingMember, Option<GroupError>)>,
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetCommitPartition {
    pub partition: TopicPartition,
    pub offset: i64,
    /// -1 if unknown.
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// OffsetCommit (v1+; a `generation_id` of -1 with an empty member id is a
/// consumer that manages its partitions itself and only stores offsets here).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub partitions: Vec<OffsetCommitPartition>,
}

/// TxnOffsetCommit (KIP-98): a transactional producer's consumer offsets,
/// written inside its transaction and committed or aborted with it. v3+
/// (KIP-447) carries the consumer's generation and member id so that a
/// zombie is fenced as on OffsetCommit; older versions send -1 and "".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxnOffsetCommitRequest {
    pub group_id: String,
    /// The transaction's producer: its marker on the group's
    /// `__consumer_offsets` partition decides the offsets' fate.
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub partitions: Vec<OffsetCommitPartition>,
}

/// One partition of an OffsetFetch answer. `offset` is -1 when nothing was
/// committed, or when `error` says the answer is not stable yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FetchedOffset {
    pub partition: TopicPartition,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    /// UNSTABLE_OFFSET_COMMIT under `require_stable` (KIP-447), else `None`.
    pub error: Option<GroupError>,
}

impl FetchedOffset {
    /// Nothing committed for `partition`.
    pub fn none(partition: TopicPartition) -> Self {
        FetchedOffset { partition, offset: -1, leader_epoch: -1, metadata: String::new(), error: None }
    }
}

/// The coordinator's view of a group's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupState {
    /// No members (perhaps committed offsets).
    Empty,
    /// Waiting for members to (re)join before the next generation.
    PreparingRebalance,
    /// The generation is formed; waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// Deleted (or never existed).
    Dead,
}

impl GroupState {
    /// The name ListGroups and DescribeGroups report.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// ListGroups: one group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// DescribeGroups: one member.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The member's metadata and assignment, only for a Stable group (as Kafka).
    pub metadata: Vec<u8>,
    pub assignment: Vec<u8>,
}

/// DescribeGroups: one group. A group that does not exist is `Dead`, no error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DescribedGroup {
    pub group_id: String,
    pub state: GroupState,
    pub protocol_type: String,
    /// The chosen protocol, only for a Stable group.
    pub protocol: String,
    pub members: Vec<DescribedMember>,
}

/// A delayed (or immediate) answer to a JoinGroup or SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response {
    Join(JoinGroupResponse),
    Sync(SyncGroupResponse),
}

/// An answer for the JoinGroup or SyncGroup the caller tagged with `token`
/// and parked: the driver hands `response` to the request still waiting
/// under that token (the broker's own reply to a request is another thing,
/// `broker::Reply`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParkedReply {
    pub token: RequestToken,
    pub response: Response,
}

// ANCHOR: output
/// What one input produced. The driver must append `records` to
/// `__consumer_offsets` (the group's partition, [`super::partition_for`])
/// *before* sending `replies`: a SyncGroup answer or an OffsetCommit
/// acknowledgement promises that the generation or offset is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Answers to JoinGroup and SyncGroup requests, this one's or earlier parked ones.
    pub replies: Vec<ParkedReply>,
    /// Records to persist, in order.
    pub records: Vec<GroupRecord>,
    /// The token under which the coordinator holds what `records` carry as
    /// pending (an OffsetCommit's offsets, the leader's assignment): the
    /// driver reports whether they were stored with
    /// [`super::GroupCoordinator::store_completed`], and sends that call's
    /// replies after this output's.
    pub store: Option<RequestToken>,
    /// A TxnOffsetCommit's producer id and epoch: the driver appends
    /// `records` as one *transactional* batch of that producer (chapter 9),
    /// so the transaction's marker on the partition commits or aborts them.
    pub transactional: Option<(i64, i16)>,
}
// ANCHOR_END: output

impl Output {
    pub(crate) fn join(&mut self, token: RequestToken, response: JoinGroupResponse) {
        self.replies.push(ParkedReply { token, response: Response::Join(response) });
    }

    pub(crate) fn sync(&mut self, token: RequestToken, response: SyncGroupResponse) {
        self.replies.push(ParkedReply { token, response: Response::Sync(response) });
    }

    /// The answer to `token`, if this output holds one.
    pub fn reply(&self, token: RequestToken) -> Option<&Response> {
        self.replies.iter().find(|r| r.token == token).map(|r| &r.response)
    }
}
