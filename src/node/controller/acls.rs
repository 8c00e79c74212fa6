//! CreateAcls and DeleteAcls on the active controller (chapter 11): decided
//! by [`crate::controller::acls`] against the image, committed as
//! AccessControlEntryRecords and RemoveAccessControlEntryRecords before the
//! answer; every broker's authorizer sees them when it applies them.

use kafka_protocol::messages::{
    CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
};

use super::ControllerNode;
use crate::broker::acls::{create_not_committed, decide_create, decide_delete, delete_not_committed};

impl ControllerNode {
    pub(super) async fn create_acls(&self, request: CreateAclsRequest) -> CreateAclsResponse {
        let decided = self.begin().and_then(|(_active, mut writer)| {
            let image = writer.image().clone();
            self.commit(&mut writer, decide_create(&image, &request))
        });
        match self.settle(decided).await {
            Ok(response) => response,
            Err(code) => create_not_committed(&request, code, super::admin::not_committed(code)),
        }
    }

    pub(super) async fn delete_acls(&self, request: DeleteAclsRequest) -> DeleteAclsResponse {
        let decided = self.begin().and_then(|(_active, mut writer)| {
            let image = writer.image().clone();
            self.commit(&mut writer, decide_delete(&image, &request))
        });
        match self.settle(decided).await {
            Ok(response) => response,
            Err(code) => delete_not_committed(&request, code, super::admin::not_committed(code)),
        }
    }
}
