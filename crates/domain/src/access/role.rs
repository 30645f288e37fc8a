//! Roles: named sets of (permission, reach), with where they may be granted and who may hold them.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::catalog::{Feature, Permission};
use super::error::AccessError;
use super::object::{ObjectKind, ObjectRef};
use super::reach::Reach;

crate::ids::uuid_id!(
    /// A role inside one tenant.
    RoleId,
    "role id"
);

/// A role's short code, unique per tenant (`course-tutor`, `lms-admin`). The human name is free
/// text; the code is what CSV imports and the API use. Shared, so explanations copy it cheaply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleCode(std::sync::Arc<str>);

impl RoleCode {
    pub fn parse(input: &str) -> Result<Self, AccessError> {
        let s = input.trim();
        let ok = (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(AccessError::BadRoleCode(input.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A code written in this crate (presets). Invalid ones are caught by the preset tests.
    pub(crate) fn from_static(code: &'static str) -> Self {
        debug_assert!(Self::parse(code).is_ok(), "bad preset role code {code}");
        Self(code.into())
    }

    /// Stands in for a role that no longer exists, in explanations of stale sources.
    pub(crate) fn deleted() -> Self {
        Self("deleted".into())
    }
}

impl TryFrom<String> for RoleCode {
    type Error = AccessError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RoleCode> for String {
    fn from(c: RoleCode) -> Self {
        c.0.to_string()
    }
}

impl fmt::Display for RoleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of scope a role can be granted at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Platform,
    /// Every public group at once (a platform coach).
    PublicGroups,
    Group,
    Course,
    Event,
    Session,
    Channel,
    /// One person (a power user's assigned users).
    User,
}

impl ScopeKind {
    pub fn code(self) -> &'static str {
        match self {
            ScopeKind::Platform => "platform",
            ScopeKind::PublicGroups => "public_groups",
            ScopeKind::Group => "group",
            ScopeKind::Course => "course",
            ScopeKind::Event => "event",
            ScopeKind::Session => "session",
            ScopeKind::Channel => "channel",
            ScopeKind::User => "user",
        }
    }

    /// The scope kind an object of `kind` is, if objects of that kind can be scopes at all.
    pub fn of_object(kind: ObjectKind) -> Option<ScopeKind> {
        match kind {
            ObjectKind::Group => Some(ScopeKind::Group),
            ObjectKind::Course => Some(ScopeKind::Course),
            ObjectKind::Event => Some(ScopeKind::Event),
            ObjectKind::Session => Some(ScopeKind::Session),
            ObjectKind::Channel => Some(ScopeKind::Channel),
            ObjectKind::User => Some(ScopeKind::User),
            _ => None,
        }
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "object")]
pub enum Scope {
    /// The whole tenant; reach is then relative to the holder.
    Platform,
    /// Every group marked public, and everything inside them.
    PublicGroups,
    /// One object and everything inside it.
    Object(ObjectRef),
}

impl Scope {
    /// The kind of this scope; `Err` names an object that cannot be a scope.
    pub fn kind(&self) -> Result<ScopeKind, AccessError> {
        match self {
            Scope::Platform => Ok(ScopeKind::Platform),
            Scope::PublicGroups => Ok(ScopeKind::PublicGroups),
            Scope::Object(o) => {
                ScopeKind::of_object(o.kind).ok_or(AccessError::NotAScope { object: *o })
            }
        }
    }

    pub fn object(&self) -> Option<ObjectRef> {
        match self {
            Scope::Object(o) => Some(*o),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Platform => f.write_str("platform"),
            Scope::PublicGroups => f.write_str("all public groups"),
            Scope::Object(o) => o.fmt(f),
        }
    }
}

/// A condition on the scope object that must hold when the role is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precondition {
    /// The scope is a course that is published (no longer a draft).
    CoursePublished,
}

/// Who may hold a role and how many may hold it at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraints {
    /// If not empty, the holder must hold one of these platform roles (at platform scope,
    /// including the tenant's default role).
    #[serde(default)]
    pub eligible: Vec<RoleId>,
    /// The holder must already hold this role somewhere (co-author needs author).
    #[serde(default)]
    pub prerequisite: Option<RoleId>,
    /// At most this many grants of the role at one scope (one course tutor per course).
    #[serde(default)]
    pub max_holders: Option<u32>,
    #[serde(default)]
    pub precondition: Option<Precondition>,
    /// Given, at the new object, to whoever creates an object where it may be granted and is
    /// eligible for it (the author of a new course); afterwards it moves by grant and revoke like
    /// any other.
    #[serde(default)]
    pub to_creator: bool,
    /// One of the levels a person has in a course (seed 002's learner, tutor and instructor):
    /// one at a time, given with the enrollment and changed on it.
    #[serde(default)]
    pub course_level: bool,
}

/// One (permission, reach) pair of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Capability {
    pub permission: Permission,
    pub reach: Reach,
}

impl Capability {
    pub fn new(permission: Permission, reach: Reach) -> Self {
        Self { permission, reach }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.permission, self.reach)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub code: RoleCode,
    pub name: String,
    /// A platform role or level: what a person *is* in the tenant (Student, Manager, Power
    /// User). A user holding none at platform scope gets the tenant's default role.
    pub level: bool,
    pub capabilities: BTreeSet<Capability>,
    pub scopes: BTreeSet<ScopeKind>,
    #[serde(default)]
    pub constraints: Constraints,
    /// Holding this role at a scope makes that scope an assigned object of the holder, reached
    /// by their platform-wide `assigned` permissions (responsibilities, power-user assignment).
    /// Learner-like roles leave it off: being enrolled somewhere is not being put in charge.
    #[serde(default)]
    pub assigns: bool,
    /// Holding this role on a group makes the group's members the holder's team (group manager,
    /// group administrator).
    #[serde(default)]
    pub makes_team: bool,
    /// The tenant owner: exempt from the delegation rule, one per tenant, handed over rather
    /// than revoked.
    #[serde(default)]
    pub owner: bool,
    /// The role exists only while this tenant feature is on.
    #[serde(default)]
    pub feature: Option<Feature>,
}

impl Role {
    pub fn new(code: &str, name: &str) -> Result<Self, AccessError> {
        Ok(Self {
            id: RoleId::new(),
            code: RoleCode::parse(code)?,
            name: name.to_owned(),
            level: false,
            capabilities: BTreeSet::new(),
            scopes: BTreeSet::new(),
            constraints: Constraints::default(),
            assigns: false,
            makes_team: false,
            owner: false,
            feature: None,
        })
    }

    pub fn grants(&self, permission: Permission) -> impl Iterator<Item = Reach> + '_ {
        self.capabilities
            .iter()
            .filter(move |c| c.permission == permission)
            .map(|c| c.reach)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_codes_are_identifiers() {
        assert!(RoleCode::parse("course-tutor").is_ok());
        assert_eq!(
            RoleCode::parse("Course Tutor").err().map(|e| e.to_string()),
            Some(
                "invalid role code \"Course Tutor\": use 1 to 64 characters of a-z, 0-9, - and _"
                    .to_owned()
            )
        );
    }

    #[test]
    fn only_some_kinds_are_scopes() {
        let lesson = ObjectRef::new(ObjectKind::Lesson, super::super::object::ObjectId::new());
        assert!(Scope::Object(lesson).kind().is_err());
        assert_eq!(Scope::Platform.kind().ok(), Some(ScopeKind::Platform));
    }
}
