//! CreateAcls, DescribeAcls and DeleteAcls from the client side (chapter
//! 11), as kafka-acls.sh's admin client sends them: to the controller (a
//! KRaft broker forwards them), each ACL or filter in Kafka's codes.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;

use super::{Client, ClientError};
use crate::security::acl::{AclFilter, PatternFilter, CODE_ANY, CODE_MATCH};
use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn pattern_filter_code(p: PatternFilter) -> i8 {
    match p {
        PatternFilter::Any => CODE_ANY,
        PatternFilter::Match => CODE_MATCH,
        PatternFilter::Exactly(t) => t.code(),
    }
}

/// An ACL of an answer, or a protocol error naming what was not understood.
fn acl_of(
    resource: (i8, &str, i8),
    principal: &str,
    host: &str,
    operation: i8,
    permission: i8,
) -> Result<Acl, ClientError> {
    let unknown = |what: &str, code: i8| ClientError::Protocol(format!("unknown ACL {what} code {code}"));
    let (kind, name, pattern) = resource;
    Ok(Acl {
        pattern: ResourcePattern::new(
            ResourceType::from_code(kind).ok_or_else(|| unknown("resource type", kind))?,
            name,
            PatternType::from_code(pattern).ok_or_else(|| unknown("pattern type", pattern))?,
        ),
        principal: principal.to_string(),
        host: host.to_string(),
        operation: Operation::from_code(operation).ok_or_else(|| unknown("operation", operation))?,
        permission: Permission::from_code(permission).ok_or_else(|| unknown("permission", permission))?,
    })
}

impl Client {
    /// CreateAcls: every ACL, or the first refusal.
    pub async fn create_acls(&mut self, acls: &[Acl]) -> Result<(), ClientError> {
        let creations = (acls.iter())
            .map(|a| {
                AclCreation::default()
                    .with_resource_type(a.pattern.resource_type.code())
                    .with_resource_name(s(&a.pattern.name))
                    .with_resource_pattern_type(a.pattern.pattern_type.code())
                    .with_principal(s(&a.principal))
                    .with_host(s(&a.host))
                    .with_operation(a.operation.code())
                    .with_permission_type(a.permission.code())
            })
            .collect();
        let request = CreateAclsRequest::default().with_creations(creations);
        let response = self.controller_connection().await?.send(&request).await?;
        for r in response.results {
            let message = r.error_message.map(|m| m.to_string());
            ClientError::check(r.error_code, message, || "create ACLs".to_string())?;
        }
        Ok(())
    }

    /// DescribeAcls: the ACLs `filter` finds.
    pub async fn describe_acls(&mut self, filter: &AclFilter) -> Result<Vec<Acl>, ClientError> {
        let request = DescribeAclsRequest::default()
            .with_resource_type_filter(filter.resource_type.map_or(CODE_ANY, |t| t.code()))
            .with_resource_name_filter(filter.name.as_deref().map(s))
            .with_pattern_type_filter(pattern_filter_code(filter.pattern_type))
            .with_principal_filter(filter.principal.as_deref().map(s))
            .with_host_filter(filter.host.as_deref().map(s))
            .with_operation(filter.operation.map_or(CODE_ANY, |o| o.code()))
            .with_permission_type(filter.permission.map_or(CODE_ANY, |p| p.code()));
        let response = self.controller_connection().await?.send(&request).await?;
        let message = response.error_message.map(|m| m.to_string());
        ClientError::check(response.error_code, message, || "describe ACLs".to_string())?;
        let mut acls = Vec::new();
        for resource in response.resources {
            let r = (resource.resource_type, resource.resource_name.as_str(), resource.pattern_type);
            for a in resource.acls {
                acls.push(acl_of(r, &a.principal, &a.host, a.operation, a.permission_type)?);
            }
        }
        Ok(acls)
    }

    /// DeleteAcls: the ACLs each filter deleted, all together.
    pub async fn delete_acls(&mut self, filters: &[AclFilter]) -> Result<Vec<Acl>, ClientError> {
        let filters = (filters.iter())
            .map(|f| {
                DeleteAclsFilter::default()
                    .with_resource_type_filter(f.resource_type.map_or(CODE_ANY, |t| t.code()))
                    .with_resource_name_filter(f.name.as_deref().map(s))
                    .with_pattern_type_filter(pattern_filter_code(f.pattern_type))
                    .with_principal_filter(f.principal.as_deref().map(s))
                    .with_host_filter(f.host.as_deref().map(s))
                    .with_operation(f.operation.map_or(CODE_ANY, |o| o.code()))
                    .with_permission_type(f.permission.map_or(CODE_ANY, |p| p.code()))
            })
            .collect();
        let request = DeleteAclsRequest::default().with_filters(filters);
        let response = self.controller_connection().await?.send(&request).await?;
        let mut deleted = Vec::new();
        for result in response.filter_results {
            let message = result.error_message.map(|m| m.to_string());
            ClientError::check(result.error_code, message, || "delete ACLs".to_string())?;
            for m in result.matching_acls {
                let r = (m.resource_type, m.resource_name.as_str(), m.pattern_type);
                deleted.push(acl_of(r, &m.principal, &m.host, m.operation, m.permission_type)?);
            }
        }
        Ok(deleted)
    }
}
