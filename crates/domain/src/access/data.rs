//! The plain data a tenant's access model is built from, and the changes that move it on.
//!
//! `AccessData` is the whole truth in ordinary collections; [`super::AccessModel`] is the same
//! truth plus the indexes that make checks fast. Both move only through [`Change`], so the server
//! can replay its change log into either and get the same answers.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::Date;

use super::catalog::Feature;
use super::error::AccessError;
use super::grant::{Grant, GrantId, Policy, PolicyId, Principal};
use super::object::{EnrollmentStatus, LearningObject, ObjectId, ObjectKind, ObjectRef};
use super::role::{Role, RoleId, Scope};
use crate::group::would_cycle;
use crate::ids::{GroupId, TenantId, UserId};
use crate::session::BookingStatus;
use crate::user::{EffectiveStatus, User, UserStatus};

/// What decisions need to know about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessUser {
    pub id: UserId,
    pub status: UserStatus,
    pub expires_on: Option<Date>,
    pub superadmin: bool,
}

impl AccessUser {
    pub fn active(id: UserId) -> Self {
        Self {
            id,
            status: UserStatus::Active,
            expires_on: None,
            superadmin: false,
        }
    }

    pub fn effective_status(&self, today: Date) -> EffectiveStatus {
        EffectiveStatus::of(self.status, self.expires_on, today)
    }
}

impl From<&User> for AccessUser {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            status: u.status,
            expires_on: u.expires_on,
            superadmin: u.superadmin,
        }
    }
}

/// What decisions need to know about a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGroup {
    pub id: GroupId,
    pub parent: Option<GroupId>,
    /// Public groups are what a platform coach reaches.
    pub public: bool,
}

/// Tenant-wide settings the engine reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSettings {
    /// The platform role of anyone who holds none at platform scope (Student, User).
    pub default_role: Option<RoleId>,
    /// The role an owner keeps after handing ownership over (Admin).
    pub former_owner_role: Option<RoleId>,
    /// The platform role whoever the HR feed names as someone's manager holds, for as long as
    /// they manage someone through it (seed 001: the people-data feed makes Managers).
    #[serde(default)]
    pub feed_manager_role: Option<RoleId>,
    /// The group a new person joins when nothing else gives them a role (seed 004: every user
    /// holds at least one role, in some group): Learners, in the group-roles preset.
    #[serde(default)]
    pub default_group: Option<GroupId>,
}

/// One change to a tenant's access data. The server turns each row of its change log into one
/// of these; applying the same change twice leaves the same state (removals of absent things
/// and upserts of identical values are no-ops).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    UpsertUser(AccessUser),
    /// Also removes the user's memberships, manager links, enrollments, grants and attachments.
    RemoveUser {
        user: UserId,
    },
    UpsertGroup(AccessGroup),
    /// Also detaches child groups and objects, and drops grants to and at the group.
    RemoveGroup {
        group: GroupId,
    },
    AddMember {
        user: UserId,
        group: GroupId,
    },
    RemoveMember {
        user: UserId,
        group: GroupId,
    },
    AddManager {
        manager: UserId,
        managee: UserId,
        /// The HR feed set the link (rather than an administrator or a file).
        #[serde(default)]
        by_feed: bool,
    },
    RemoveManager {
        manager: UserId,
        managee: UserId,
    },
    UpsertObject(LearningObject),
    /// Also detaches children and drops grants at the object and enrollments in it.
    RemoveObject {
        object: ObjectRef,
    },
    SetEnrollment {
        user: UserId,
        course: ObjectId,
        status: EnrollmentStatus,
    },
    RemoveEnrollment {
        user: UserId,
        course: ObjectId,
    },
    /// A learner's booking on a session or event: one awaiting approval or a place vetoes
    /// attending that session, and a confirmed one lets them attend it even while their
    /// enrollment is `to_confirm` because of another session.
    SetBooking {
        user: UserId,
        session: ObjectRef,
        status: BookingStatus,
    },
    RemoveBooking {
        user: UserId,
        session: ObjectRef,
    },
    UpsertRole(Role),
    /// Also drops the role's grants and policy items.
    RemoveRole {
        role: RoleId,
    },
    UpsertGrant(Grant),
    RemoveGrant {
        grant: GrantId,
    },
    UpsertPolicy(Policy),
    RemovePolicy {
        policy: PolicyId,
    },
    AttachPolicy {
        policy: PolicyId,
        principal: Principal,
    },
    DetachPolicy {
        policy: PolicyId,
        principal: Principal,
    },
    SetFeature {
        feature: Feature,
        on: bool,
    },
    SetSettings(AccessSettings),
}

/// A tenant's access data in plain collections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessData {
    pub tenant: TenantId,
    pub settings: AccessSettings,
    pub features: BTreeSet<Feature>,
    pub users: BTreeMap<UserId, AccessUser>,
    pub groups: BTreeMap<GroupId, AccessGroup>,
    /// (user, group): direct memberships.
    pub memberships: BTreeSet<(UserId, GroupId)>,
    /// (manager, managee).
    pub managers: BTreeSet<(UserId, UserId)>,
    /// The links of `managers` the HR feed set.
    #[serde(default)]
    pub feed_managers: BTreeSet<(UserId, UserId)>,
    pub objects: BTreeMap<ObjectRef, LearningObject>,
    /// (user, course) -> status.
    pub enrollments: BTreeMap<(UserId, ObjectId), EnrollmentStatus>,
    /// (user, session or event) -> booking status.
    #[serde(default)]
    pub bookings: BTreeMap<(UserId, ObjectRef), BookingStatus>,
    pub roles: BTreeMap<RoleId, Role>,
    pub grants: BTreeMap<GrantId, Grant>,
    pub policies: BTreeMap<PolicyId, Policy>,
    pub attachments: BTreeSet<(PolicyId, Principal)>,
}

impl AccessData {
    pub fn new(tenant: TenantId) -> Self {
        Self {
            tenant,
            settings: AccessSettings::default(),
            features: BTreeSet::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            memberships: BTreeSet::new(),
            managers: BTreeSet::new(),
            feed_managers: BTreeSet::new(),
            objects: BTreeMap::new(),
            enrollments: BTreeMap::new(),
            bookings: BTreeMap::new(),
            roles: BTreeMap::new(),
            grants: BTreeMap::new(),
            policies: BTreeMap::new(),
            attachments: BTreeSet::new(),
        }
    }

    /// Whether `object` exists in this tenant (users, groups and the tenant itself included).
    pub fn contains(&self, object: &ObjectRef) -> bool {
        match object.kind {
            ObjectKind::Tenant => object.id == ObjectId::from(self.tenant),
            ObjectKind::User => self
                .users
                .contains_key(&UserId::from_uuid(object.id.as_uuid())),
            ObjectKind::Group => self
                .groups
                .contains_key(&GroupId::from_uuid(object.id.as_uuid())),
            _ => self.objects.contains_key(object),
        }
    }

    pub fn role_by_code(&self, code: &str) -> Option<&Role> {
        self.roles.values().find(|r| r.code.as_str() == code)
    }

    fn check_principal(&self, p: Principal) -> Result<(), AccessError> {
        match p {
            Principal::User(u) if !self.users.contains_key(&u) => Err(AccessError::UnknownUser(u)),
            Principal::Group(g) if !self.groups.contains_key(&g) => {
                Err(AccessError::UnknownGroup(g))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn check_scope(&self, scope: &Scope) -> Result<(), AccessError> {
        scope.kind()?;
        match scope {
            Scope::Object(o) if !self.contains(o) => Err(AccessError::UnknownObject(*o)),
            _ => Ok(()),
        }
    }

    /// Validates `change` against the current data without applying it. Only referential
    /// integrity is checked here; the rules on who may grant what live in
    /// [`super::delegation`], because the change log records decisions already taken.
    pub fn validate(&self, change: &Change) -> Result<(), AccessError> {
        match change {
            Change::UpsertUser(_)
            | Change::RemoveUser { .. }
            | Change::RemoveGroup { .. }
            | Change::RemoveMember { .. }
            | Change::RemoveManager { .. }
            | Change::RemoveObject { .. }
            | Change::RemoveEnrollment { .. }
            | Change::RemoveBooking { .. }
            | Change::RemoveRole { .. }
            | Change::RemoveGrant { .. }
            | Change::RemovePolicy { .. }
            | Change::DetachPolicy { .. }
            | Change::SetFeature { .. } => Ok(()),
            Change::UpsertGroup(g) => match g.parent {
                None => Ok(()),
                Some(p) if !self.groups.contains_key(&p) => Err(AccessError::UnknownGroup(p)),
                Some(p) => {
                    if would_cycle(g.id, p, |x| self.groups.get(&x).and_then(|gr| gr.parent)) {
                        Err(AccessError::GroupCycle {
                            group: g.id,
                            parent: p,
                        })
                    } else {
                        Ok(())
                    }
                }
            },
            Change::AddMember { user, group } => {
                self.check_principal(Principal::User(*user))?;
                self.check_principal(Principal::Group(*group))
            }
            Change::AddManager {
                manager, managee, ..
            } => {
                if manager == managee {
                    return Err(AccessError::SelfManager(*manager));
                }
                self.check_principal(Principal::User(*manager))?;
                self.check_principal(Principal::User(*managee))
            }
            Change::UpsertObject(o) => {
                if matches!(
                    o.object.kind,
                    ObjectKind::User | ObjectKind::Group | ObjectKind::Tenant
                ) {
                    return Err(AccessError::NotALearningObject { object: o.object });
                }
                if let Some(parent) = o.parent {
                    if !o.object.kind.parent_kinds().contains(&parent.kind) {
                        return Err(AccessError::BadParent {
                            child: o.object,
                            parent,
                        });
                    }
                    if !self.contains(&parent) {
                        return Err(AccessError::UnknownObject(parent));
                    }
                }
                Ok(())
            }
            Change::SetBooking { user, session, .. } => {
                self.check_principal(Principal::User(*user))?;
                if !matches!(session.kind, ObjectKind::Session | ObjectKind::Event) {
                    return Err(AccessError::NotASession { object: *session });
                }
                if self.objects.contains_key(session) {
                    Ok(())
                } else {
                    Err(AccessError::UnknownObject(*session))
                }
            }
            Change::SetEnrollment { user, course, .. } => {
                self.check_principal(Principal::User(*user))?;
                let c = ObjectRef::new(ObjectKind::Course, *course);
                if self.objects.contains_key(&c) {
                    Ok(())
                } else {
                    Err(AccessError::UnknownObject(c))
                }
            }
            Change::UpsertRole(r) => match self.role_by_code(r.code.as_str()) {
                Some(other) if other.id != r.id => {
                    Err(AccessError::DuplicateRoleCode(r.code.to_string()))
                }
                _ => Ok(()),
            },
            Change::UpsertGrant(g) => {
                if !self.roles.contains_key(&g.role) {
                    return Err(AccessError::UnknownRole(g.role.to_string()));
                }
                self.check_principal(g.principal)?;
                self.check_scope(&g.scope)
            }
            Change::UpsertPolicy(p) => {
                for item in &p.items {
                    if !self.roles.contains_key(&item.role) {
                        return Err(AccessError::UnknownRole(item.role.to_string()));
                    }
                    self.check_scope(&item.scope)?;
                }
                Ok(())
            }
            Change::AttachPolicy { policy, principal } => {
                if !self.policies.contains_key(policy) {
                    return Err(AccessError::UnknownPolicy(*policy));
                }
                self.check_principal(*principal)
            }
            Change::SetSettings(s) => {
                if let Some(g) = s.default_group
                    && !self.groups.contains_key(&g)
                {
                    return Err(AccessError::UnknownGroup(g));
                }
                for r in [s.default_role, s.former_owner_role, s.feed_manager_role]
                    .into_iter()
                    .flatten()
                {
                    match self.roles.get(&r) {
                        None => return Err(AccessError::UnknownRole(r.to_string())),
                        // Everyone without a level would become an owner: exempt from the
                        // delegation rule, and one grant away from losing it again.
                        Some(role) if role.owner => {
                            return Err(AccessError::OwnerAsSetting {
                                role: role.code.to_string(),
                            });
                        }
                        Some(_) => {}
                    }
                }
                Ok(())
            }
        }
    }

    /// Applies `change`, or leaves the data untouched and says why not.
    pub fn apply(&mut self, change: &Change) -> Result<(), AccessError> {
        self.validate(change)?;
        match change {
            Change::UpsertUser(u) => {
                self.users.insert(u.id, *u);
            }
            Change::RemoveUser { user } => {
                let user = *user;
                self.users.remove(&user);
                self.memberships.retain(|(u, _)| *u != user);
                self.managers.retain(|(m, e)| *m != user && *e != user);
                self.feed_managers.retain(|(m, e)| *m != user && *e != user);
                self.enrollments.retain(|(u, _), _| *u != user);
                self.bookings.retain(|(u, _), _| *u != user);
                self.grants
                    .retain(|_, g| g.principal != Principal::User(user));
                self.attachments
                    .retain(|(_, p)| *p != Principal::User(user));
                self.drop_scope(ObjectRef::user(user));
            }
            Change::UpsertGroup(g) => {
                self.groups.insert(g.id, *g);
            }
            Change::RemoveGroup { group } => {
                let group = *group;
                if self.groups.remove(&group).is_none() {
                    return Ok(());
                }
                self.memberships.retain(|(_, g)| *g != group);
                if self.settings.default_group == Some(group) {
                    self.settings.default_group = None;
                }
                for g in self.groups.values_mut() {
                    if g.parent == Some(group) {
                        g.parent = None;
                    }
                }
                self.grants
                    .retain(|_, g| g.principal != Principal::Group(group));
                self.attachments
                    .retain(|(_, p)| *p != Principal::Group(group));
                self.drop_scope(ObjectRef::group(group));
            }
            Change::AddMember { user, group } => {
                self.memberships.insert((*user, *group));
            }
            Change::RemoveMember { user, group } => {
                self.memberships.remove(&(*user, *group));
            }
            Change::AddManager {
                manager,
                managee,
                by_feed,
            } => {
                self.managers.insert((*manager, *managee));
                if *by_feed {
                    self.feed_managers.insert((*manager, *managee));
                } else {
                    self.feed_managers.remove(&(*manager, *managee));
                }
            }
            Change::RemoveManager { manager, managee } => {
                self.managers.remove(&(*manager, *managee));
                self.feed_managers.remove(&(*manager, *managee));
            }
            Change::UpsertObject(o) => {
                self.objects.insert(o.object, o.clone());
            }
            Change::RemoveObject { object } => {
                if matches!(
                    object.kind,
                    ObjectKind::User | ObjectKind::Group | ObjectKind::Tenant
                ) {
                    return Err(AccessError::NotALearningObject { object: *object });
                }
                if self.objects.remove(object).is_none() {
                    return Ok(());
                }
                if object.kind == ObjectKind::Course {
                    self.enrollments.retain(|(_, c), _| *c != object.id);
                }
                self.bookings.retain(|(_, s), _| s != object);
                self.drop_scope(*object);
            }
            Change::SetEnrollment {
                user,
                course,
                status,
            } => {
                self.enrollments.insert((*user, *course), *status);
            }
            Change::SetBooking {
                user,
                session,
                status,
            } => {
                self.bookings.insert((*user, *session), *status);
            }
            Change::RemoveBooking { user, session } => {
                self.bookings.remove(&(*user, *session));
            }
            Change::RemoveEnrollment { user, course } => {
                self.enrollments.remove(&(*user, *course));
            }
            Change::UpsertRole(r) => {
                self.roles.insert(r.id, r.clone());
            }
            Change::RemoveRole { role } => {
                let role = *role;
                self.roles.remove(&role);
                self.grants.retain(|_, g| g.role != role);
                for p in self.policies.values_mut() {
                    p.items.retain(|i| i.role != role);
                }
                if self.settings.default_role == Some(role) {
                    self.settings.default_role = None;
                }
                if self.settings.former_owner_role == Some(role) {
                    self.settings.former_owner_role = None;
                }
            }
            Change::UpsertGrant(g) => {
                self.grants.insert(g.id, *g);
            }
            Change::RemoveGrant { grant } => {
                self.grants.remove(grant);
            }
            Change::UpsertPolicy(p) => {
                self.policies.insert(p.id, p.clone());
            }
            Change::RemovePolicy { policy } => {
                self.policies.remove(policy);
                self.attachments.retain(|(p, _)| p != policy);
            }
            Change::AttachPolicy { policy, principal } => {
                self.attachments.insert((*policy, *principal));
            }
            Change::DetachPolicy { policy, principal } => {
                self.attachments.remove(&(*policy, *principal));
            }
            Change::SetFeature { feature, on } => {
                if *on {
                    self.features.insert(*feature);
                } else {
                    self.features.remove(feature);
                }
            }
            Change::SetSettings(s) => self.settings = *s,
        }
        Ok(())
    }

    /// Drops everything that points at a removed object: grants and policy items scoped at it,
    /// and the parent link of objects inside it.
    fn drop_scope(&mut self, object: ObjectRef) {
        let scope = Scope::Object(object);
        self.grants.retain(|_, g| g.scope != scope);
        for p in self.policies.values_mut() {
            p.items.retain(|i| i.scope != scope);
        }
        for o in self.objects.values_mut() {
            if o.parent == Some(object) {
                o.parent = None;
            }
        }
    }
}
