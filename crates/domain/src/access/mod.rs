//! Access: the permission catalog, roles, grants and policies, and the decision engine.
//!
//! Architecture invariant: this is the only place that decides access. Everything here is pure
//! and in memory; the store feeds [`AccessModel::apply`] from its change log and the server asks
//! [`AccessModel::check`].
//!
//! A decision allows when some source the user holds (their own grant, a grant to one of their
//! groups, an item of an attached policy, or the tenant's default role) gives the permission
//! with a reach that covers the object, and no veto applies (deactivated or expired user,
//! tenant feature off, an enrollment status that denies the learner access).
//!
//! How a source covers an object:
//! * at platform scope, by its reach relative to the holder (see [`Reach`]);
//! * at an object scope (a course, group, event, ...), only inside that object; there `tenant`
//!   and `assigned` mean "everything inside the scope", while `team` and `own` keep their
//!   meaning and are further limited to the scope.

mod act;
mod acts;
pub mod catalog;
pub mod data;
mod delegation;
pub mod engine;
pub mod error;
pub mod explain;
pub mod grant;
pub mod model;
pub mod object;
pub mod presets;
pub mod reach;
pub mod review;
pub mod role;
mod stewards;

pub use act::Act;
pub use acts::{CheckAnswer, OnNewPeople};
pub use catalog::{Feature, Permission, Risk};
pub use data::{AccessData, AccessGroup, AccessSettings, AccessUser, Change};
pub use delegation::{CourseLevelChange, UserChange};
pub use engine::{Holding, Page};
pub use error::AccessError;
pub use explain::{
    Allowance, Authorized, Basis, Decision, Denial, Explanation, Link, MissingLink, Near, Relation,
    Veto, Via,
};
pub use grant::{Grant, GrantId, Policy, PolicyId, PolicyItem, Principal};
pub use model::{AccessModel, Origin};
pub use object::{EnrollmentStatus, LearningObject, ObjectId, ObjectKind, ObjectRef};
pub use presets::PresetData;
pub use reach::Reach;
pub use review::{ReviewLine, RiskFlag};
pub use role::{Capability, Constraints, Precondition, Role, RoleCode, RoleId, Scope, ScopeKind};
pub use stewards::GroupStewards;
