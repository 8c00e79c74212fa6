//! CreateAcls and DeleteAcls as the controller decides them (chapter 11):
//! pure functions from the image and the request's (already parsed) ACLs or
//! filters to the records to commit and the answers (Kafka's `AclControlManager`).
//!
//! ```text
//!  create: an ACL the image (or this request) already holds ─▶ answered OK, no record
//!          a new one ─▶ AccessControlEntryRecord under a fresh id
//!  delete: every ACL a filter matches ─▶ RemoveAccessControlEntryRecord (once per id),
//!          and the filter's answer lists them
//! ```
//!
//! A request's bad entry was refused while parsing ([`crate::broker::acls`]);
//! it arrives here as an `Err` and is answered as it is, deciding nothing.

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::ControllerResult;
use crate::metadata::{MetadataImage, MetadataRecord};
use crate::security::acl::AclFilter;
use crate::security::Acl;

/// Why one ACL creation or one filter was refused: a Kafka error code and a
/// message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclError {
    pub code: ResponseError,
    pub message: String,
}

impl AclError {
    pub fn invalid(message: impl Into<String>) -> Self {
        AclError { code: ResponseError::InvalidRequest, message: message.into() }
    }
}

// ANCHOR: create_acls
/// The records that add each new ACL, and one answer per creation.
pub fn create_acls(
    image: &MetadataImage,
    creations: Vec<Result<Acl, AclError>>,
    mut new_id: impl FnMut() -> Uuid,
) -> ControllerResult<Vec<Result<(), AclError>>> {
    let mut records = Vec::new();
    let mut added: Vec<Acl> = Vec::new();
    let answer = (creations.into_iter())
        .map(|creation| {
            let acl = creation?;
            if image.acls().find(&acl).is_none() && !added.contains(&acl) {
                records.push(MetadataRecord::AccessControlEntry { id: new_id(), acl: acl.clone() });
                added.push(acl);
            }
            Ok(())
        })
        .collect();
    ControllerResult { records, answer }
}
// ANCHOR_END: create_acls

/// The records that remove every ACL a filter matches, and per filter the
/// ACLs it matched (what DeleteAcls answers).
pub fn delete_acls(
    image: &MetadataImage,
    filters: Vec<Result<AclFilter, AclError>>,
) -> ControllerResult<Vec<Result<Vec<Acl>, AclError>>> {
    let mut removed: Vec<Uuid> = Vec::new();
    let answer = (filters.into_iter())
        .map(|filter| {
            let filter = filter?;
            let matched: Vec<(Uuid, Acl)> = (image.acls().iter())
                .filter(|(_, acl)| filter.matches(acl))
                .map(|(id, acl)| (*id, acl.clone()))
                .collect();
            removed.extend(
                matched.iter().map(|(id, _)| *id).filter(|id| !removed.contains(id)).collect::<Vec<_>>(),
            );
            Ok(matched.into_iter().map(|(_, acl)| acl).collect())
        })
        .collect();
    let records = removed.into_iter().map(|id| MetadataRecord::RemoveAccessControlEntry { id }).collect();
    ControllerResult { records, answer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::acl::PatternFilter;
    use crate::security::{Operation, PatternType, Permission, ResourcePattern, ResourceType};

    fn read(topic: &str, pattern: PatternType) -> Acl {
        Acl {
            pattern: ResourcePattern::new(ResourceType::Topic, topic, pattern),
            principal: "User:a".into(),
            host: "*".into(),
            operation: Operation::Read,
            permission: Permission::Allow,
        }
    }

    fn counter() -> impl FnMut() -> Uuid {
        let mut n = 0;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    fn applied(records: &[MetadataRecord]) -> MetadataImage {
        let mut image = MetadataImage::default();
        records.iter().for_each(|r| image.apply(r).unwrap());
        image
    }

    /// Creating an ACL twice (in one request, or again later) keeps one:
    /// Kafka answers success and writes no second record.
    #[test]
    fn create_is_idempotent() {
        let image = MetadataImage::default();
        let acl = read("t", PatternType::Literal);
        let first = create_acls(&image, vec![Ok(acl.clone()), Ok(acl.clone())], counter());
        assert_eq!(first.records.len(), 1);
        assert_eq!(first.answer, vec![Ok(()), Ok(())]);
        let image = applied(&first.records);
        let again = create_acls(&image, vec![Ok(acl), Err(AclError::invalid("bad"))], counter());
        assert!(again.records.is_empty());
        assert_eq!(again.answer[1], Err(AclError::invalid("bad")));
    }

    /// DeleteAcls with a MATCH filter for topic `orders` removes the LITERAL
    /// `orders` and the PREFIXED `ord` ACLs but not the LITERAL `ord`, and
    /// answers them per filter; two filters matching one ACL remove it once.
    #[test]
    fn delete_with_match_filter() {
        let acls = [
            read("orders", PatternType::Literal),
            read("ord", PatternType::Prefixed),
            read("ord", PatternType::Literal),
        ];
        let image = applied(
            &create_acls(&MetadataImage::default(), acls.iter().cloned().map(Ok).collect(), counter())
                .records,
        );
        let filter = AclFilter {
            resource_type: Some(ResourceType::Topic),
            name: Some("orders".into()),
            pattern_type: PatternFilter::Match,
            principal: None,
            host: None,
            operation: None,
            permission: None,
        };
        let deleted = delete_acls(&image, vec![Ok(filter.clone()), Ok(filter)]);
        assert_eq!(deleted.records.len(), 2);
        assert_eq!(deleted.answer[0], Ok(vec![acls[0].clone(), acls[1].clone()]));
        let mut image = image;
        deleted.records.iter().for_each(|r| image.apply(r).unwrap());
        assert_eq!(image.acls().iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(), vec![acls[2].clone()]);
    }
}
