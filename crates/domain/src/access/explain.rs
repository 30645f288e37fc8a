//! Decisions and their explanations: structured for the API, readable through `Display`.

use std::fmt;

use serde::Serialize;
use time::Date;

use super::catalog::{Feature, Permission};
use super::model::Origin;
use super::object::{EnrollmentStatus, ObjectRef};
use super::reach::Reach;
use super::role::{RoleCode, RoleId, Scope};
use crate::ids::UserId;

/// The engine's answer. Only the engine makes one (its fields are private), so an allowing
/// decision can vouch for a write: see [`Decision::authorized`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub(crate) allowed: bool,
    pub(crate) explanation: Explanation,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    pub fn explanation(&self) -> &Explanation {
        &self.explanation
    }

    /// The proof a write needs, when this decision allows: it names who was allowed.
    pub fn authorized(&self) -> Option<Authorized> {
        match &self.explanation {
            Explanation::Allowed(a) if self.allowed => Some(Authorized { by: a.user }),
            _ => None,
        }
    }

    /// The person refused, when this decision refuses: whom an audit of the refusal names.
    pub fn refused(&self) -> Option<UserId> {
        match &self.explanation {
            Explanation::Denied(d) if !self.allowed => Some(d.user),
            _ => None,
        }
    }
}

/// Proof that the engine allowed `by` an act: the only way to obtain one is an allowing
/// [`Decision`] or a passed delegation rule (granting, revoking, attaching, detaching, editing
/// a role). The store's writes on behalf of a person take one, so a handler that forgot to ask
/// does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized {
    by: UserId,
}

impl Authorized {
    /// Made by the delegation rules once they pass.
    pub(crate) fn new(by: UserId) -> Self {
        Authorized { by }
    }

    pub fn by(&self) -> UserId {
        self.by
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Explanation {
    Allowed(Allowance),
    Denied(Denial),
}

/// How one object relates to another along an explanation's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// A user is a direct member of a group.
    MemberOf,
    /// An object sits inside another (lesson in course, course in group, group in group).
    Inside,
    /// The first user manages the second.
    Manages,
    /// The user is enrolled in the course.
    EnrolledIn,
    /// The user created the object.
    Created,
    /// The user holds a responsibility (an assigning grant) at the object.
    HoldsRoleAt,
    /// The object is a public group.
    IsPublic,
}

impl Relation {
    fn phrase(self) -> &'static str {
        match self {
            Relation::MemberOf => "is a member of",
            Relation::Inside => "is inside",
            Relation::Manages => "manages",
            Relation::EnrolledIn => "is enrolled in",
            Relation::Created => "created",
            Relation::HoldsRoleAt => "holds a responsibility at",
            Relation::IsPublic => "is public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Link {
    pub from: ObjectRef,
    pub relation: Relation,
    pub to: ObjectRef,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.relation == Relation::IsPublic {
            write!(f, "{} {}", self.from, self.relation.phrase())
        } else {
            write!(f, "{} {} {}", self.from, self.relation.phrase(), self.to)
        }
    }
}

/// The grant (or other source) a decision rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basis {
    pub origin: Origin,
    pub role: RoleId,
    pub role_code: RoleCode,
    pub scope: Scope,
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "role {} at {}", self.role_code, self.scope)?;
        match self.origin {
            Origin::Grant { grant } => write!(f, " (grant {grant})"),
            Origin::GroupGrant { grant, group } => {
                write!(f, " (grant {grant} to group:{group})")
            }
            Origin::Policy { policy, principal } => {
                write!(f, " (policy {policy} attached to {principal})")
            }
            Origin::DefaultRole => f.write_str(" (the tenant's default role)"),
            Origin::FeedManager => f.write_str(" (given by the HR feed to the managers it names)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "via")]
pub enum Via {
    /// Superadmins hold every permission and cannot be restricted.
    Superadmin,
    /// An act on oneself that needs no grant (seeing one's own profile).
    Oneself,
    Grant {
        #[serde(flatten)]
        basis: Basis,
        permission: Permission,
        reach: Reach,
        /// From the object up to what the reach is anchored at.
        chain: Vec<Link>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allowance {
    pub user: UserId,
    pub permission: Permission,
    pub object: ObjectRef,
    #[serde(flatten)]
    pub via: Via,
}

/// Something that denies regardless of grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "veto")]
pub enum Veto {
    Deactivated,
    Expired {
        last_day: Option<Date>,
    },
    FeatureOff {
        feature: Feature,
    },
    Enrollment {
        course: ObjectRef,
        status: EnrollmentStatus,
    },
    Booking {
        session: ObjectRef,
        status: crate::session::BookingStatus,
    },
}

impl fmt::Display for Veto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Veto::Deactivated => f.write_str("the user is deactivated"),
            Veto::Expired { last_day: Some(d) } => write!(f, "the user expired after {d}"),
            Veto::Expired { last_day: None } => f.write_str("the user is expired"),
            Veto::FeatureOff { feature } => write!(f, "the {feature} feature is off"),
            Veto::Enrollment { course, status } => {
                write!(f, "the enrollment in {course} is {status}")
            }
            Veto::Booking { session, status } => {
                write!(f, "the booking on {session} is {status}")
            }
        }
    }
}

/// What is missing between a grant (or the user) and the object. Structured so that a denial
/// costs no string formatting until someone reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "missing")]
pub enum MissingLink {
    /// The object is not inside the grant's scope.
    NotInScope {
        object: ObjectRef,
        scope: Scope,
    },
    /// The object is not inside anything the user is responsible for.
    NotAssigned {
        object: ObjectRef,
    },
    /// Team reach covers people, and the object is not one.
    NotAPerson {
        object: ObjectRef,
    },
    NotInTeam {
        object: ObjectRef,
    },
    /// Not the user, not created by them, not in a course they are enrolled in.
    NotOwn {
        object: ObjectRef,
    },
    /// The grant's role does not include the permission.
    RoleLacksPermission {
        role: RoleCode,
        permission: Permission,
    },
    /// Summary: the user holds the permission, but no grant of it reaches the object.
    NoGrantReaches {
        permission: Permission,
        object: ObjectRef,
    },
    /// Summary: no role the user holds includes the permission.
    NoRoleIncludes {
        permission: Permission,
    },
    /// Summary: a veto decided.
    Vetoed,
}

impl fmt::Display for MissingLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissingLink::NotInScope { object, scope } => match scope {
                Scope::PublicGroups => write!(f, "{object} is not inside a public group"),
                s => write!(f, "{object} is not inside {s}"),
            },
            MissingLink::NotAssigned { object } => {
                write!(
                    f,
                    "{object} is not inside any object the user is responsible for"
                )
            }
            MissingLink::NotAPerson { object } => {
                write!(
                    f,
                    "team reach covers people only, and {object} is a {}",
                    object.kind
                )
            }
            MissingLink::NotInTeam { object } => write!(f, "{object} is not in the user's team"),
            MissingLink::NotOwn { object } => write!(
                f,
                "{object} is not the user, was not created by them and is not in a course they are enrolled in"
            ),
            MissingLink::RoleLacksPermission { role, permission } => {
                write!(f, "role {role} does not include {permission}")
            }
            MissingLink::NoGrantReaches { permission, object } => {
                write!(
                    f,
                    "no grant of {permission} held by the user reaches {object}"
                )
            }
            MissingLink::NoRoleIncludes { permission } => {
                write!(f, "no role held by the user includes {permission}")
            }
            MissingLink::Vetoed => f.write_str("a veto applies"),
        }
    }
}

/// A grant that holds the permission (or reaches the object) but did not allow this check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Near {
    #[serde(flatten)]
    pub basis: Basis,
    /// The reach it holds the permission with, if it holds it at all.
    pub reach: Option<Reach>,
    /// What is missing between this grant and the object.
    #[serde(flatten)]
    pub missing: MissingLink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    pub user: UserId,
    pub permission: Permission,
    pub object: ObjectRef,
    pub vetoes: Vec<Veto>,
    pub closest: Vec<Near>,
    /// The missing link, summed up.
    pub missing: MissingLink,
    /// Roles in the tenant that include the permission at all, to say what would be needed.
    #[serde(serialize_with = "codes")]
    pub roles_with_permission: std::sync::Arc<[RoleCode]>,
}

fn codes<S: serde::Serializer>(
    codes: &std::sync::Arc<[RoleCode]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(codes.iter())
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.explanation.fmt(f)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Explanation::Allowed(a) => {
                write!(
                    f,
                    "allowed: user {} may {} {}",
                    a.user, a.permission, a.object
                )?;
                match &a.via {
                    Via::Superadmin => f.write_str(" as a superadmin"),
                    Via::Oneself => f.write_str(" on themselves"),
                    Via::Grant {
                        basis,
                        reach,
                        chain,
                        ..
                    } => {
                        write!(f, " through {basis} with reach {reach}")?;
                        for (i, l) in chain.iter().enumerate() {
                            f.write_str(if i == 0 { ": " } else { ", " })?;
                            l.fmt(f)?;
                        }
                        Ok(())
                    }
                }
            }
            Explanation::Denied(d) => {
                write!(
                    f,
                    "denied: user {} may not {} {}",
                    d.user, d.permission, d.object
                )?;
                if !d.vetoes.is_empty() {
                    f.write_str(" because ")?;
                    for (i, v) in d.vetoes.iter().enumerate() {
                        if i > 0 {
                            f.write_str(" and ")?;
                        }
                        v.fmt(f)?;
                    }
                    return Ok(());
                }
                write!(f, ": {}", d.missing)?;
                for n in &d.closest {
                    write!(f, "; closest: {}", n.basis)?;
                    if let Some(r) = n.reach {
                        write!(f, " with reach {r}")?;
                    }
                    write!(f, ", but {}", n.missing)?;
                }
                if !d.roles_with_permission.is_empty() {
                    let codes: Vec<&str> =
                        d.roles_with_permission.iter().map(|c| c.as_str()).collect();
                    write!(f, "; roles that include it: {}", codes.join(", "))?;
                }
                Ok(())
            }
        }
    }
}
