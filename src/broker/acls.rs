//! CreateAcls (30), DescribeAcls (29) and DeleteAcls (31) on the broker
//! (chapter 11): the wire's byte codes parsed and validated as Kafka's
//! `AclControlManager` and `AclApis` do, the decision left to
//! [`crate::controller::acls`], the answers built per creation or filter.
//!
//! ```text
//!  no authorizer configured ─▶ SECURITY_DISABLED (54), as Kafka answers
//!  CreateAcls / DeleteAcls  ─▶ standalone: decide and commit here
//!                              in a cluster: forwarded to the active controller
//!  DescribeAcls             ─▶ answered from this broker's image, grouped by resource
//! ```
//!
//! Validation: a creation needs a resource type (not ANY or UNKNOWN), a
//! LITERAL or PREFIXED pattern, a non-empty name (`kafka-cluster` for the
//! cluster), a principal `Type:name`, an operation and a permission that are
//! not ANY or UNKNOWN; a filter may say ANY (and MATCH for the pattern) but
//! not UNKNOWN. Anything else is INVALID_REQUEST (42). Simplification:
//! DelegationToken and User resources are refused the same way.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{DeleteAclsFilterResult, DeleteAclsMatchingAcl};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest,
    DescribeAclsResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::forward::forward_deadline;
use super::{now_ms, Broker};
use crate::controller::acls::{create_acls, delete_acls, AclError};
use crate::security::acl::{AclFilter, PatternFilter, CODE_ANY, CODE_MATCH};
use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};

/// How long a forwarded ACL change looks for the controller (the requests carry no timeout).
const FORWARD_TIMEOUT_MS: i32 = 30_000;

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A byte code that must name a value (not ANY, not UNKNOWN).
fn value<T>(code: i8, what: &str, of: fn(i8) -> Option<T>) -> Result<T, AclError> {
    of(code).ok_or_else(|| AclError::invalid(format!("Invalid {what} {code}")))
}

/// A filter's byte code: ANY is `None`.
fn any_or<T>(code: i8, what: &str, of: fn(i8) -> Option<T>) -> Result<Option<T>, AclError> {
    if code == CODE_ANY {
        return Ok(None);
    }
    value(code, what, of).map(Some)
}

// ANCHOR: parse_creation
/// One creation, as an ACL to store, or why not.
pub fn parse_creation(c: &AclCreation) -> Result<Acl, AclError> {
    let resource_type = value(c.resource_type, "resourceType", ResourceType::from_code)?;
    let pattern_type = value(c.resource_pattern_type, "patternType", PatternType::from_code)?;
    let operation = value(c.operation, "operation", Operation::from_code)?;
    let permission = value(c.permission_type, "permissionType", Permission::from_code)?;
    let name = c.resource_name.to_string();
    if name.is_empty() {
        return Err(AclError::invalid("Resource name should not be empty"));
    }
    if resource_type == ResourceType::Cluster && name != ResourcePattern::cluster().name {
        return Err(AclError::invalid("The only valid name for the CLUSTER resource is kafka-cluster"));
    }
    let principal = c.principal.to_string();
    if !principal.split_once(':').is_some_and(|(kind, who)| !kind.is_empty() && !who.is_empty()) {
        return Err(AclError::invalid(format!(
            "Could not parse principal from `{principal}`: not Type:name"
        )));
    }
    let pattern = ResourcePattern { resource_type, name, pattern_type };
    Ok(Acl { pattern, principal, host: c.host.to_string(), operation, permission })
}
// ANCHOR_END: parse_creation

/// A DescribeAcls or DeleteAcls filter, from its seven fields.
#[allow(clippy::too_many_arguments)] // the wire's seven fields, named as Kafka names them
pub fn parse_filter(
    resource_type: i8,
    name: Option<&StrBytes>,
    pattern_type: i8,
    principal: Option<&StrBytes>,
    host: Option<&StrBytes>,
    operation: i8,
    permission: i8,
) -> Result<AclFilter, AclError> {
    let pattern_type = match pattern_type {
        CODE_ANY => PatternFilter::Any,
        CODE_MATCH => PatternFilter::Match,
        code => PatternFilter::Exactly(value(code, "patternType", PatternType::from_code)?),
    };
    Ok(AclFilter {
        resource_type: any_or(resource_type, "resourceType", ResourceType::from_code)?,
        name: name.map(|s| s.to_string()),
        pattern_type,
        principal: principal.map(|s| s.to_string()),
        host: host.map(|s| s.to_string()),
        operation: any_or(operation, "operation", Operation::from_code)?,
        permission: any_or(permission, "permissionType", Permission::from_code)?,
    })
}

fn describe_filter(r: &DescribeAclsRequest) -> Result<AclFilter, AclError> {
    let name = r.resource_name_filter.as_ref();
    let (principal, host) = (r.principal_filter.as_ref(), r.host_filter.as_ref());
    parse_filter(
        r.resource_type_filter,
        name,
        r.pattern_type_filter,
        principal,
        host,
        r.operation,
        r.permission_type,
    )
}

fn delete_filters(r: &DeleteAclsRequest) -> Vec<Result<AclFilter, AclError>> {
    (r.filters.iter())
        .map(|f| {
            let name = f.resource_name_filter.as_ref();
            let (principal, host) = (f.principal_filter.as_ref(), f.host_filter.as_ref());
            parse_filter(
                f.resource_type_filter,
                name,
                f.pattern_type_filter,
                principal,
                host,
                f.operation,
                f.permission_type,
            )
        })
        .collect()
}

fn creation_result(answer: Result<(), AclError>) -> AclCreationResult {
    match answer {
        Ok(()) => AclCreationResult::default(),
        Err(e) => AclCreationResult::default()
            .with_error_code(e.code.code())
            .with_error_message(Some(str(&e.message))),
    }
}

fn filter_result(answer: Result<Vec<Acl>, AclError>) -> DeleteAclsFilterResult {
    match answer {
        Ok(acls) => DeleteAclsFilterResult::default().with_matching_acls(
            (acls.iter())
                .map(|acl| {
                    DeleteAclsMatchingAcl::default()
                        .with_resource_type(acl.pattern.resource_type.code())
                        .with_resource_name(str(&acl.pattern.name))
                        .with_pattern_type(acl.pattern.pattern_type.code())
                        .with_principal(str(&acl.principal))
                        .with_host(str(&acl.host))
                        .with_operation(acl.operation.code())
                        .with_permission_type(acl.permission.code())
                })
                .collect(),
        ),
        Err(e) => DeleteAclsFilterResult::default()
            .with_error_code(e.code.code())
            .with_error_message(Some(str(&e.message))),
    }
}

/// Every creation refused with one error (no authorizer, no controller).
fn refuse_creations(request: &CreateAclsRequest, code: ResponseError, message: &str) -> CreateAclsResponse {
    let refused = || creation_result(Err(AclError { code, message: message.to_string() }));
    CreateAclsResponse::default().with_results(request.creations.iter().map(|_| refused()).collect())
}

fn refuse_filters(request: &DeleteAclsRequest, code: ResponseError, message: &str) -> DeleteAclsResponse {
    let refused = || filter_result(Err(AclError { code, message: message.to_string() }));
    DeleteAclsResponse::default().with_filter_results(request.filters.iter().map(|_| refused()).collect())
}

const NO_AUTHORIZER: &str = "No Authorizer is configured.";

/// CreateAcls as the active controller decides it.
pub fn decide_create(
    image: &crate::metadata::MetadataImage,
    request: &CreateAclsRequest,
) -> crate::controller::ControllerResult<CreateAclsResponse> {
    let creations = request.creations.iter().map(parse_creation).collect();
    let decided = create_acls(image, creations, Uuid::new_v4);
    let response =
        CreateAclsResponse::default().with_results(decided.answer.into_iter().map(creation_result).collect());
    crate::controller::ControllerResult { records: decided.records, answer: response }
}

/// DeleteAcls as the active controller decides it.
pub fn decide_delete(
    image: &crate::metadata::MetadataImage,
    request: &DeleteAclsRequest,
) -> crate::controller::ControllerResult<DeleteAclsResponse> {
    let decided = delete_acls(image, delete_filters(request));
    let response = DeleteAclsResponse::default()
        .with_filter_results(decided.answer.into_iter().map(filter_result).collect());
    crate::controller::ControllerResult { records: decided.records, answer: response }
}

/// Refuses every entry of a create or delete whose commit failed.
pub fn create_not_committed(
    request: &CreateAclsRequest,
    code: ResponseError,
    message: &str,
) -> CreateAclsResponse {
    refuse_creations(request, code, message)
}

pub fn delete_not_committed(
    request: &DeleteAclsRequest,
    code: ResponseError,
    message: &str,
) -> DeleteAclsResponse {
    refuse_filters(request, code, message)
}

// ANCHOR: describe_acls
/// The ACLs a filter matches in `acls`, grouped by resource pattern.
pub fn describe(acls: &crate::security::AclSet, request: &DescribeAclsRequest) -> DescribeAclsResponse {
    let filter = match describe_filter(request) {
        Ok(filter) => filter,
        Err(e) => {
            return DescribeAclsResponse::default()
                .with_error_code(e.code.code())
                .with_error_message(Some(str(&e.message)))
        }
    };
    let mut by_pattern: std::collections::BTreeMap<&ResourcePattern, Vec<AclDescription>> =
        Default::default();
    for (_, acl) in acls.iter().filter(|(_, acl)| filter.matches(acl)) {
        by_pattern.entry(&acl.pattern).or_default().push(
            AclDescription::default()
                .with_principal(str(&acl.principal))
                .with_host(str(&acl.host))
                .with_operation(acl.operation.code())
                .with_permission_type(acl.permission.code()),
        );
    }
    let resources = (by_pattern.into_iter())
        .map(|(pattern, acls)| {
            DescribeAclsResource::default()
                .with_resource_type(pattern.resource_type.code())
                .with_resource_name(str(&pattern.name))
                .with_pattern_type(pattern.pattern_type.code())
                .with_acls(acls)
        })
        .collect();
    DescribeAclsResponse::default().with_resources(resources)
}
// ANCHOR_END: describe_acls

impl Broker {
    /// DescribeAcls: from this broker's image, as every Kafka broker answers
    /// it from its own authorizer.
    pub fn describe_acls(&self, request: DescribeAclsRequest) -> DescribeAclsResponse {
        if self.config.authorizer.is_none() {
            let code = ResponseError::SecurityDisabled.code();
            return DescribeAclsResponse::default()
                .with_error_code(code)
                .with_error_message(Some(str(NO_AUTHORIZER)));
        }
        describe(self.metadata_image().acls(), &request)
    }

    /// CreateAcls: forwarded in a cluster, decided and committed here alone.
    pub async fn create_acls(&self, request: CreateAclsRequest) -> CreateAclsResponse {
        if self.config.authorizer.is_none() {
            return refuse_creations(&request, ResponseError::SecurityDisabled, NO_AUTHORIZER);
        }
        if let Some(link) = self.controller_link() {
            let timeout = forward_deadline(&link, FORWARD_TIMEOUT_MS);
            return match link.send_within(&request, timeout).await {
                Ok(response) => response,
                Err(e) => refuse_creations(&request, ResponseError::RequestTimedOut, &e.to_string()),
            };
        }
        let mut metadata = self.metadata_writer();
        let decided = decide_create(metadata.image(), &request);
        match metadata.commit(&decided.records, now_ms()) {
            Ok(()) => decided.answer,
            Err(e) => {
                let e = self.metadata_failed(e.into());
                refuse_creations(&request, e.code, &e.message)
            }
        }
    }

    /// DeleteAcls: forwarded in a cluster, decided and committed here alone.
    pub async fn delete_acls(&self, request: DeleteAclsRequest) -> DeleteAclsResponse {
        if self.config.authorizer.is_none() {
            return refuse_filters(&request, ResponseError::SecurityDisabled, NO_AUTHORIZER);
        }
        if let Some(link) = self.controller_link() {
            let timeout = forward_deadline(&link, FORWARD_TIMEOUT_MS);
            return match link.send_within(&request, timeout).await {
                Ok(response) => response,
                Err(e) => refuse_filters(&request, ResponseError::RequestTimedOut, &e.to_string()),
            };
        }
        let mut metadata = self.metadata_writer();
        let decided = decide_delete(metadata.image(), &request);
        match metadata.commit(&decided.records, now_ms()) {
            Ok(()) => decided.answer,
            Err(e) => {
                let e = self.metadata_failed(e.into());
                refuse_filters(&request, e.code, &e.message)
            }
        }
    }
}
