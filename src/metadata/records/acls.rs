//! The ACL records (chapter 11): AccessControlEntryRecord (api key 18) and
//! RemoveAccessControlEntryRecord (19), version 0 of each, flexible, no
//! tagged fields of their own. Kafka's StandardAuthorizer keeps exactly these.
//!
//! ```text
//!  AccessControlEntryRecord v0:  Id uuid, ResourceType int8, ResourceName string,
//!                                PatternType int8, Principal string, Host string,
//!                                Operation int8, PermissionType int8
//!  RemoveAccessControlEntryRecord v0:  Id uuid
//! ```
//!
//! A byte that is not a value a stored ACL can hold (ANY, MATCH, UNKNOWN, or
//! a DelegationToken/User resource spool does not keep) is a decode error.

use uuid::Uuid;

use super::codec::{Reader, Writer};
use super::DecodeError;
use crate::security::{Acl, Operation, PatternType, Permission, ResourcePattern, ResourceType};

/// AccessControlEntryRecord's api key.
pub const ACCESS_CONTROL_ENTRY: u32 = 18;
/// RemoveAccessControlEntryRecord's api key.
pub const REMOVE_ACCESS_CONTROL_ENTRY: u32 = 19;

pub(super) fn encode_acl(w: &mut Writer, id: &Uuid, acl: &Acl) {
    w.uuid(id);
    w.i8(acl.pattern.resource_type.code());
    w.string(Some(&acl.pattern.name));
    w.i8(acl.pattern.pattern_type.code());
    w.string(Some(&acl.principal));
    w.string(Some(&acl.host));
    w.i8(acl.operation.code());
    w.i8(acl.permission.code());
}

pub(super) fn decode_acl(r: &mut Reader) -> Result<(Uuid, Acl), DecodeError> {
    fn code<T>(r: &mut Reader, field: &'static str, of: fn(i8) -> Option<T>) -> Result<T, DecodeError> {
        let value = r.i8()?;
        of(value).ok_or(DecodeError::InvalidValue { field, value })
    }
    let id = r.uuid()?;
    let resource_type = code(r, "resourceType", ResourceType::from_code)?;
    let name = r.string("resourceName")?;
    let pattern_type = code(r, "patternType", PatternType::from_code)?;
    let principal = r.string("principal")?;
    let host = r.string("host")?;
    let operation = code(r, "operation", Operation::from_code)?;
    let permission = code(r, "permissionType", Permission::from_code)?;
    let pattern = ResourcePattern { resource_type, name, pattern_type };
    Ok((id, Acl { pattern, principal, host, operation, permission }))
}
