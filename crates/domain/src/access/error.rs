//! Everything the access model refuses, each naming the input it refused.

use thiserror::Error;

use super::catalog::{Feature, Permission};
use super::object::{ObjectKind, ObjectRef};
use super::role::{Capability, Scope, ScopeKind};
use crate::ids::{GroupId, UserId};

use super::grant::{GrantId, PolicyId};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessError {
    #[error("unknown permission {0:?}")]
    UnknownPermission(String),
    #[error("unknown reach {0:?} (expected own, assigned, team or tenant)")]
    UnknownReach(String),
    #[error("unknown object kind {0:?}")]
    UnknownObjectKind(String),
    #[error("invalid object reference {input:?}: {reason}")]
    BadObjectRef { input: String, reason: &'static str },
    #[error("unknown enrollment status {0:?}")]
    UnknownEnrollmentStatus(String),
    #[error("invalid role code {0:?}: use 1 to 64 characters of a-z, 0-9, - and _")]
    BadRoleCode(String),

    #[error("unknown user {0}")]
    UnknownUser(UserId),
    #[error("unknown group {0}")]
    UnknownGroup(GroupId),
    #[error("unknown object {0}")]
    UnknownObject(ObjectRef),
    #[error("unknown role {0}")]
    UnknownRole(String),
    #[error("grant {0} not found")]
    UnknownGrant(GrantId),
    #[error("unknown policy {0}")]
    UnknownPolicy(PolicyId),
    #[error("a role with code {0:?} already exists")]
    DuplicateRoleCode(String),
    #[error("{object} is not a session or event: only those are booked")]
    NotASession { object: ObjectRef },
    #[error(
        "{object} cannot be changed as a learning object: users, groups and the tenant have their own changes"
    )]
    NotALearningObject { object: ObjectRef },
    #[error("{child} cannot sit inside {parent}")]
    BadParent { child: ObjectRef, parent: ObjectRef },
    #[error("making group {parent} the parent of group {group} would create a cycle")]
    GroupCycle { group: GroupId, parent: GroupId },

    #[error("permission {permission} does not apply to a {kind} (it applies to {expected})")]
    NotApplicable {
        permission: Permission,
        kind: ObjectKind,
        expected: String,
    },
    #[error("{object} cannot be a scope")]
    NotAScope { object: ObjectRef },
    #[error("role {role:?} cannot be granted at {kind} scope (allowed: {allowed})")]
    ScopeNotAllowed {
        role: String,
        kind: ScopeKind,
        allowed: String,
    },
    #[error(
        "user {user} is not eligible for role {role:?}: it needs one of the platform roles {eligible}"
    )]
    Ineligible {
        role: String,
        user: UserId,
        eligible: String,
    },
    #[error("user {user} cannot hold role {role:?} without role {prerequisite:?}")]
    PrerequisiteMissing {
        role: String,
        prerequisite: String,
        user: UserId,
    },
    #[error("role {role:?} allows at most {max} holder(s) at {scope}, and it has them")]
    TooManyHolders {
        role: String,
        scope: Scope,
        max: u32,
    },
    #[error("role {role:?} needs a published course, and {course} is not published")]
    CourseNotPublished { role: String, course: ObjectRef },
    #[error("role {role:?} needs the {feature} feature, which is off in this tenant")]
    FeatureOff { role: String, feature: Feature },
    #[error("role {role:?} has a holder limit and can only be granted to a user, not to a group")]
    LimitedRoleToGroup { role: String },

    #[error("user {user} cannot grant roles to themselves or to a group they belong to")]
    SelfGrant { user: UserId },
    #[error("user {user} cannot change their own status")]
    SelfStatusChange { user: UserId },
    #[error("role {role:?} is no course level (such as learner, tutor or instructor)")]
    NotACourseLevel { role: String },
    #[error(
        "group {group} carries roles, so joining it is a grant the delegation rule decides for a \
         known person: create the person first, then give them this primary group"
    )]
    NewMemberOfCarryingGroup { group: GroupId },
    #[error("user {user} is expired; move the expiry date to change their status")]
    ExpiredStatusChange { user: UserId },
    #[error(
        "user {user} may not change the status of {target}, who holds what {user} does not: {missing}"
    )]
    OutrankedStatusChange {
        user: UserId,
        target: UserId,
        missing: String,
    },
    #[error(
        "user {user} cannot set the status of their own enrollment: it follows their learning activity"
    )]
    SelfEnrollmentStatus { user: UserId },
    #[error(
        "role {role:?} is in use ({grants} grants, {items} policy items{}) and cannot be deleted",
        if *setting { ", a tenant setting" } else { "" }
    )]
    RoleInUse {
        role: String,
        grants: usize,
        items: usize,
        setting: bool,
    },
    #[error("the owner's grant is handed over, not revoked: hand ownership to someone else first")]
    OwnerGrantRevoke,
    #[error("policy {policy} is not attached to {principal}")]
    NotAttached {
        policy: PolicyId,
        principal: super::grant::Principal,
    },
    #[error("user {user} lacks {permission} on {target}")]
    MissingPermission {
        user: UserId,
        permission: Permission,
        target: String,
    },
    #[error("user {granter} cannot grant role {role:?} at {scope}: they lack {}", join(.missing))]
    Delegation {
        granter: UserId,
        role: String,
        scope: Scope,
        missing: Vec<Capability>,
    },
    #[error("user {managee} is not active and cannot be given a manager")]
    InactiveManagee { managee: UserId },
    #[error("a user cannot manage themselves ({0})")]
    SelfManager(UserId),
    #[error("user {0} is not the tenant owner")]
    NotOwner(UserId),
    #[error("the tenant has no owner role or no role to demote the old owner to")]
    NoOwnerRole,
    #[error(
        "only a superadmin may make someone a superadmin or act on a superadmin's account (user {user})"
    )]
    SuperadminOnly { user: UserId },
    #[error(
        "role {role:?} is the owner role and cannot be the default or former-owner role: a tenant has one owner"
    )]
    OwnerAsSetting { role: String },
}

fn join(missing: &[Capability]) -> String {
    missing
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
