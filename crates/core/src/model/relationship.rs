//! Typed edges between assets.

use serde::Serialize;

use crate::enums::word_enum;
use crate::model::AssetId;
use crate::time::Timestamp;

word_enum! {
    /// How one asset relates to another (spec §2).
    pub enum RelationKind {
        /// `from` runs on `to` (a container on a node, a VM on a host).
        RunsOn = "runs_on",
        /// `from` needs `to` to work.
        DependsOn = "depends_on",
        /// `from` contains `to` (a VPC contains a subnet).
        Contains = "contains",
        /// `from` is managed by `to` (a live resource by its Terraform address).
        ManagedBy = "managed_by",
    }
}

/// One edge: `from` —kind→ `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Relationship {
    /// The asset the edge starts from.
    pub from: AssetId,
    /// The relation.
    pub kind: RelationKind,
    /// The asset the edge points to.
    pub to: AssetId,
    /// When the edge was recorded.
    pub created_at: Timestamp,
}

impl Relationship {
    /// A stable id for the edge, used as the entity id of its events.
    pub fn id(&self) -> String {
        format!("{}:{}:{}", self.from, self.kind, self.to)
    }
}
