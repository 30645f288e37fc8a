//! Grants and policies: who holds which role where.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::role::{RoleId, Scope};
use crate::ids::{GroupId, UserId};

crate::ids::uuid_id!(
    /// One grant of a role to a principal at a scope.
    GrantId,
    "grant id"
);
crate::ids::uuid_id!(
    /// A named bundle of (role, scope) pairs.
    PolicyId,
    "policy id"
);

/// Who a grant or policy is given to. A group principal gives it to every member of the group
/// and of the groups nested in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Principal {
    User(UserId),
    Group(GroupId),
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(u) => write!(f, "user:{u}"),
            Principal::Group(g) => write!(f, "group:{g}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub principal: Principal,
    pub role: RoleId,
    pub scope: Scope,
}

impl Grant {
    pub fn new(principal: Principal, role: RoleId, scope: Scope) -> Self {
        Self {
            id: GrantId::new(),
            principal,
            role,
            scope,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyItem {
    pub role: RoleId,
    pub scope: Scope,
}

/// A named bundle of (role, scope) pairs. Attaching it to a group is the "add a person to this
/// group and they get that access" pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub id: PolicyId,
    pub name: String,
    pub items: Vec<PolicyItem>,
}
