//! The in-memory access model of one tenant: [`AccessData`] plus dense indexes.
//!
//! Users and objects get dense `u32` slots. Each user's grants, group grants, policies and
//! default role are compiled once into a sorted list of entries (permission, reach, scope,
//! source), so a check is a couple of hash lookups, a binary search and a walk up a short chain
//! of parents. Structure (which object sits in which) is never compiled into per-user data,
//! so moving a lesson or enrolling a learner costs nothing per user.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::Date;

use super::catalog::{Feature, Permission};
use super::data::{AccessData, AccessGroup, AccessUser, Change};
use super::error::AccessError;
use super::grant::{GrantId, PolicyId, Principal};
use super::object::{EnrollmentStatus, ObjectId, ObjectKind, ObjectRef};
use super::reach::Reach;
use super::role::{Role, RoleId, Scope};
use crate::ids::{GroupId, UserId};
use crate::user::EffectiveStatus;

/// No slot (no parent, no creator).
pub(super) const NONE: u32 = u32::MAX;
/// Entry scope: the whole platform.
pub(super) const PLATFORM: u32 = u32::MAX;
/// Entry scope: every public group.
pub(super) const PUBLIC: u32 = u32::MAX - 1;

/// Where a compiled entry came from, for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// A grant to the user.
    Grant { grant: GrantId },
    /// A grant to a group the user belongs to (directly or through nesting).
    GroupGrant { grant: GrantId, group: GroupId },
    /// An item of a policy attached to the user or to one of their groups.
    Policy {
        policy: PolicyId,
        principal: Principal,
    },
    /// The tenant's default platform role, held because no other platform role is.
    DefaultRole,
    /// The tenant's role for managers the HR feed names, held while one manages someone
    /// through it.
    FeedManager,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Source {
    pub origin: Origin,
    pub role: RoleId,
    pub scope: Scope,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub perm: Permission,
    pub reach: Reach,
    /// Object slot, [`PLATFORM`] or [`PUBLIC`].
    pub scope: u32,
    pub source: u32,
}

/// A user's effective holdings.
#[derive(Debug, Clone, Default)]
pub(super) struct Compiled {
    /// Sorted by permission, then platform-wide before scoped, then widest reach first.
    pub entries: Vec<Entry>,
    pub sources: Vec<Source>,
    /// Scope slots of assigning grants (sorted): the roots of the `assigned` reach.
    pub assigned: Vec<u32>,
    pub assigned_public: bool,
    /// Group slots whose members are this user's team (sorted).
    pub team_groups: Vec<u32>,
    /// Every scope slot of a scoped source (sorted), for reverse queries.
    pub scoped: Vec<u32>,
    pub public_scoped: bool,
    /// Permissions held with tenant reach at platform scope.
    pub tenant_wide: Vec<Permission>,
}

#[derive(Debug, Clone)]
pub(super) struct ObjSlot {
    pub r: ObjectRef,
    pub alive: bool,
    pub parent: u32,
    /// Kept as an id, not a slot, so a creator removed and added back still owns it.
    pub created_by: Option<UserId>,
    pub published: bool,
    pub instructor_led: bool,
    pub public: bool,
    /// For user objects, the user slot.
    pub user: u32,
}

#[derive(Debug, Clone)]
pub(super) struct UserSlot {
    pub id: UserId,
    pub obj: u32,
    pub alive: bool,
    pub user: AccessUser,
    pub direct_groups: BTreeSet<u32>,
    /// Every group the user is in, directly or through nesting (sorted).
    pub groups: Vec<u32>,
    pub managers: BTreeSet<u32>,
    pub managees: BTreeSet<u32>,
    pub compiled: Compiled,
}

/// One tenant's access model. Cheap to query, updated through [`AccessModel::apply`].
#[derive(Debug, Clone)]
pub struct AccessModel {
    pub(super) data: AccessData,
    pub(super) user_ix: HashMap<UserId, u32>,
    pub(super) users: Vec<UserSlot>,
    pub(super) obj_ix: HashMap<ObjectRef, u32>,
    pub(super) objs: Vec<ObjSlot>,
    /// Live objects of each kind, in id order (for paged reverse queries).
    pub(super) by_kind: Vec<BTreeMap<ObjectId, u32>>,
    pub(super) children: HashMap<u32, BTreeSet<u32>>,
    pub(super) members: HashMap<u32, BTreeSet<u32>>,
    pub(super) created: HashMap<UserId, BTreeSet<u32>>,
    pub(super) enroll: HashMap<(u32, u32), EnrollmentStatus>,
    /// (user slot, session or event slot) -> booking status.
    pub(super) bookings: HashMap<(u32, u32), crate::session::BookingStatus>,
    pub(super) enrolled_in: HashMap<u32, BTreeSet<u32>>,
    pub(super) enrollments_of: HashMap<u32, BTreeSet<u32>>,
    pub(super) grants_of: HashMap<Principal, BTreeSet<GrantId>>,
    pub(super) policies_of: HashMap<Principal, BTreeSet<PolicyId>>,
    pub(super) tenant_holders: Vec<BTreeSet<u32>>,
    pub(super) scope_users: HashMap<u32, BTreeSet<u32>>,
    pub(super) public_scope_users: BTreeSet<u32>,
    pub(super) team_holders: HashMap<u32, BTreeSet<u32>>,
    pub(super) superadmins: BTreeSet<u32>,
    pub(super) social_learning: bool,
    pub(super) learner_app: bool,
    pub(super) elearning: bool,
    /// Role codes that include each permission, sorted (for denial explanations). Roles change
    /// only through a rebuild, so this is computed once per build.
    pub(super) roles_with: Vec<std::sync::Arc<[super::role::RoleCode]>>,
}

impl AccessModel {
    /// Builds the model from plain data in one pass.
    pub fn from_data(data: AccessData) -> Self {
        let mut m = Self {
            data,
            user_ix: HashMap::new(),
            users: Vec::new(),
            obj_ix: HashMap::new(),
            objs: Vec::new(),
            by_kind: vec![BTreeMap::new(); ObjectKind::ALL.len()],
            children: HashMap::new(),
            members: HashMap::new(),
            created: HashMap::new(),
            enroll: HashMap::new(),
            bookings: HashMap::new(),
            enrolled_in: HashMap::new(),
            enrollments_of: HashMap::new(),
            grants_of: HashMap::new(),
            policies_of: HashMap::new(),
            tenant_holders: vec![BTreeSet::new(); Permission::ALL.len()],
            scope_users: HashMap::new(),
            public_scope_users: BTreeSet::new(),
            team_holders: HashMap::new(),
            superadmins: BTreeSet::new(),
            social_learning: false,
            learner_app: false,
            elearning: false,
            roles_with: vec![std::sync::Arc::from(Vec::new()); Permission::ALL.len()],
        };
        m.index_all();
        m
    }

    /// An empty tenant.
    pub fn new(tenant: crate::ids::TenantId) -> Self {
        Self::from_data(AccessData::new(tenant))
    }

    /// The plain data this model answers from.
    pub fn data(&self) -> &AccessData {
        &self.data
    }

    pub fn into_data(self) -> AccessData {
        self.data
    }

    pub fn role(&self, id: RoleId) -> Option<&Role> {
        self.data.roles.get(&id)
    }

    pub fn role_by_code(&self, code: &str) -> Option<&Role> {
        self.data.role_by_code(code)
    }

    pub fn feature(&self, f: Feature) -> bool {
        match f {
            Feature::SocialLearning => self.social_learning,
            Feature::LearnerApp => self.learner_app,
            Feature::ELearning => self.elearning,
        }
    }

    /// Applies one change. On error nothing changes. Changes that reshape many users at once
    /// (removing a user, group, object, role or policy, editing a role or policy, settings)
    /// rebuild the indexes; everything the change log carries often is incremental.
    pub fn apply(&mut self, change: &Change) -> Result<(), AccessError> {
        // Captured before the data moves: an upserted grant may replace one held by others.
        let old_grant = match change {
            Change::UpsertGrant(g) => self.data.grants.get(&g.id).copied(),
            Change::RemoveGrant { grant } => self.data.grants.get(grant).copied(),
            _ => None,
        };
        let old_group = match change {
            Change::UpsertGroup(g) => self.data.groups.get(&g.id).copied(),
            _ => None,
        };
        self.data.apply(change)?;
        match change {
            Change::UpsertUser(u) => {
                let slot = self.ensure_user(u.id);
                self.users[slot as usize].user = *u;
                if u.superadmin {
                    self.superadmins.insert(slot);
                } else {
                    self.superadmins.remove(&slot);
                }
                if !self.users[slot as usize].alive {
                    self.revive_user(slot);
                }
            }
            Change::UpsertGroup(g) => self.upsert_group(*g, old_group),
            Change::AddMember { user, group } | Change::RemoveMember { user, group } => {
                let (u, g) = (self.user_slot(*user), self.group_slot(*group));
                if let (Some(u), Some(g)) = (u, g) {
                    if matches!(change, Change::AddMember { .. }) {
                        self.users[u as usize].direct_groups.insert(g);
                        self.members.entry(g).or_default().insert(u);
                    } else {
                        self.users[u as usize].direct_groups.remove(&g);
                        if let Some(s) = self.members.get_mut(&g) {
                            s.remove(&u);
                        }
                    }
                    self.recompute_groups(u);
                    self.recompile(u);
                }
            }
            Change::AddManager {
                manager, managee, ..
            }
            | Change::RemoveManager { manager, managee } => {
                if let (Some(m), Some(e)) = (self.user_slot(*manager), self.user_slot(*managee)) {
                    if matches!(change, Change::AddManager { .. }) {
                        self.users[e as usize].managers.insert(m);
                        self.users[m as usize].managees.insert(e);
                    } else {
                        self.users[e as usize].managers.remove(&m);
                        self.users[m as usize].managees.remove(&e);
                    }
                    // Managing someone through the feed may give (or take) a role.
                    if self.data.settings.feed_manager_role.is_some() {
                        self.recompile(m);
                    }
                }
            }
            Change::UpsertObject(o) => {
                let slot = self.ensure_obj(o.object);
                self.unlink_parent(slot);
                let parent = o.parent.and_then(|p| self.obj_ix.get(&p).copied());
                let created_by = o.created_by;
                if let Some(old) = self.objs[slot as usize].created_by
                    && let Some(s) = self.created.get_mut(&old)
                {
                    s.remove(&slot);
                }
                let s = &mut self.objs[slot as usize];
                s.parent = parent.unwrap_or(NONE);
                s.created_by = created_by;
                s.published = o.published;
                s.instructor_led = o.instructor_led;
                self.link_parent(slot);
                if let Some(c) = created_by {
                    self.created.entry(c).or_default().insert(slot);
                }
            }
            Change::SetBooking { user, session, .. } | Change::RemoveBooking { user, session } => {
                let s = self.obj_ix.get(session).copied();
                if let (Some(u), Some(s)) = (self.user_slot(*user), s) {
                    match change {
                        Change::SetBooking { status, .. } => {
                            self.bookings.insert((u, s), *status);
                        }
                        _ => {
                            self.bookings.remove(&(u, s));
                        }
                    }
                }
            }
            Change::SetEnrollment { user, course, .. }
            | Change::RemoveEnrollment { user, course } => {
                let c = self
                    .obj_ix
                    .get(&ObjectRef::new(ObjectKind::Course, *course))
                    .copied();
                if let (Some(u), Some(c)) = (self.user_slot(*user), c) {
                    match change {
                        Change::SetEnrollment { status, .. } => {
                            self.enroll.insert((u, c), *status);
                            self.enrolled_in.entry(c).or_default().insert(u);
                            self.enrollments_of.entry(u).or_default().insert(c);
                        }
                        _ => {
                            self.enroll.remove(&(u, c));
                            if let Some(s) = self.enrolled_in.get_mut(&c) {
                                s.remove(&u);
                            }
                            if let Some(s) = self.enrollments_of.get_mut(&u) {
                                s.remove(&c);
                            }
                        }
                    }
                }
            }
            Change::UpsertGrant(g) => {
                let mut affected = BTreeSet::new();
                if let Some(old) = old_grant {
                    self.unindex_grant(old.principal, old.id);
                    self.principal_users(old.principal, &mut affected);
                }
                self.grants_of.entry(g.principal).or_default().insert(g.id);
                self.principal_users(g.principal, &mut affected);
                self.recompile_all(affected);
            }
            Change::RemoveGrant { .. } => {
                if let Some(old) = old_grant {
                    self.unindex_grant(old.principal, old.id);
                    let mut affected = BTreeSet::new();
                    self.principal_users(old.principal, &mut affected);
                    self.recompile_all(affected);
                }
            }
            Change::AttachPolicy { policy, principal }
            | Change::DetachPolicy { policy, principal } => {
                if matches!(change, Change::AttachPolicy { .. }) {
                    self.policies_of
                        .entry(*principal)
                        .or_default()
                        .insert(*policy);
                } else if let Some(s) = self.policies_of.get_mut(principal) {
                    s.remove(policy);
                }
                let mut affected = BTreeSet::new();
                self.principal_users(*principal, &mut affected);
                self.recompile_all(affected);
            }
            Change::SetFeature { feature, on } => match feature {
                Feature::SocialLearning => self.social_learning = *on,
                Feature::LearnerApp => self.learner_app = *on,
                Feature::ELearning => self.elearning = *on,
            },
            Change::RemoveUser { .. }
            | Change::RemoveGroup { .. }
            | Change::RemoveObject { .. }
            | Change::UpsertRole(_)
            | Change::RemoveRole { .. }
            | Change::UpsertPolicy(_)
            | Change::RemovePolicy { .. }
            | Change::SetSettings(_) => self.rebuild(),
        }
        Ok(())
    }

    /// Changes after which the indexes are rebuilt from the data rather than patched.
    fn rebuilds(change: &Change) -> bool {
        matches!(
            change,
            Change::RemoveUser { .. }
                | Change::RemoveGroup { .. }
                | Change::RemoveObject { .. }
                | Change::UpsertRole(_)
                | Change::RemoveRole { .. }
                | Change::UpsertPolicy(_)
                | Change::RemovePolicy { .. }
                | Change::SetSettings(_)
        )
    }

    fn rebuild(&mut self) {
        let tenant = self.data.tenant;
        let data = std::mem::replace(&mut self.data, AccessData::new(tenant));
        *self = Self::from_data(data);
    }

    /// Applies the changes of one write, rebuilding the indexes once per run of changes that
    /// need a rebuild rather than once per change: deleting a course also removes its lessons
    /// and sessions, and each rebuild costs a pass over the tenant. A change that does not
    /// apply is handed to `failed` and skipped; the others still apply.
    pub fn apply_entry(
        &mut self,
        changes: &[Change],
        mut failed: impl FnMut(&Change, AccessError),
    ) {
        let mut stale = false;
        for change in changes {
            if Self::rebuilds(change) {
                match self.data.apply(change) {
                    Ok(()) => stale = true,
                    Err(e) => failed(change, e),
                }
                continue;
            }
            if stale {
                self.rebuild();
                stale = false;
            }
            if let Err(e) = self.apply(change) {
                failed(change, e);
            }
        }
        if stale {
            self.rebuild();
        }
    }

    /// Applies changes in order, stopping at the first error (earlier ones stay applied).
    pub fn apply_all<'a>(
        &mut self,
        changes: impl IntoIterator<Item = &'a Change>,
    ) -> Result<(), AccessError> {
        for c in changes {
            self.apply(c)?;
        }
        Ok(())
    }

    // ----- slots -------------------------------------------------------------------------

    pub(super) fn user_slot(&self, id: UserId) -> Option<u32> {
        self.user_ix
            .get(&id)
            .copied()
            .filter(|s| self.users[*s as usize].alive)
    }

    pub(super) fn group_slot(&self, id: GroupId) -> Option<u32> {
        self.obj_slot(&ObjectRef::group(id))
    }

    pub(super) fn obj_slot(&self, r: &ObjectRef) -> Option<u32> {
        self.obj_ix
            .get(r)
            .copied()
            .filter(|s| self.objs[*s as usize].alive)
    }

    fn ensure_obj(&mut self, r: ObjectRef) -> u32 {
        let slot = match self.obj_ix.get(&r) {
            Some(s) => *s,
            None => {
                let s = self.objs.len() as u32;
                self.objs.push(ObjSlot {
                    r,
                    alive: false,
                    parent: NONE,
                    created_by: None,
                    published: false,
                    instructor_led: false,
                    public: false,
                    user: NONE,
                });
                self.obj_ix.insert(r, s);
                s
            }
        };
        if !self.objs[slot as usize].alive {
            self.objs[slot as usize].alive = true;
            self.by_kind[r.kind.index()].insert(r.id, slot);
        }
        slot
    }

    fn ensure_user(&mut self, id: UserId) -> u32 {
        if let Some(s) = self.user_ix.get(&id) {
            return *s;
        }
        let obj = self.ensure_obj(ObjectRef::user(id));
        let slot = self.users.len() as u32;
        self.objs[obj as usize].user = slot;
        self.users.push(UserSlot {
            id,
            obj,
            alive: false,
            user: AccessUser::active(id),
            direct_groups: BTreeSet::new(),
            groups: Vec::new(),
            managers: BTreeSet::new(),
            managees: BTreeSet::new(),
            compiled: Compiled::default(),
        });
        self.user_ix.insert(id, slot);
        slot
    }

    fn revive_user(&mut self, slot: u32) {
        self.users[slot as usize].alive = true;
        let obj = self.users[slot as usize].obj;
        self.ensure_obj(self.objs[obj as usize].r);
        self.recompute_groups(slot);
        self.recompile(slot);
    }

    fn unlink_parent(&mut self, slot: u32) {
        let p = self.objs[slot as usize].parent;
        if p != NONE
            && let Some(s) = self.children.get_mut(&p)
        {
            s.remove(&slot);
        }
    }

    fn link_parent(&mut self, slot: u32) {
        let p = self.objs[slot as usize].parent;
        if p != NONE {
            self.children.entry(p).or_default().insert(slot);
        }
    }

    fn upsert_group(&mut self, g: AccessGroup, old: Option<AccessGroup>) {
        let slot = self.ensure_obj(ObjectRef::group(g.id));
        self.objs[slot as usize].public = g.public;
        if old.map(|o| o.parent) == Some(g.parent) {
            return;
        }
        self.unlink_parent(slot);
        self.objs[slot as usize].parent = g.parent.and_then(|p| self.group_slot(p)).unwrap_or(NONE);
        self.link_parent(slot);
        // Everyone inside the moved subtree now sits in different groups.
        let mut affected = BTreeSet::new();
        self.subtree_users(slot, &mut affected);
        for u in &affected {
            self.recompute_groups(*u);
        }
        self.recompile_all(affected);
    }

    fn unindex_grant(&mut self, principal: Principal, id: GrantId) {
        if let Some(s) = self.grants_of.get_mut(&principal) {
            s.remove(&id);
        }
    }

    /// The live users a principal stands for.
    fn principal_users(&self, p: Principal, out: &mut BTreeSet<u32>) {
        match p {
            Principal::User(u) => out.extend(self.user_slot(u)),
            Principal::Group(g) => {
                if let Some(g) = self.group_slot(g) {
                    self.subtree_users(g, out);
                }
            }
        }
    }

    /// Who belongs to `group`, directly or through a group nested in it: the people a list or
    /// a report cut by that group covers.
    pub fn group_members(&self, group: GroupId) -> BTreeSet<UserId> {
        let mut slots = BTreeSet::new();
        if let Some(g) = self.group_slot(group) {
            self.subtree_users(g, &mut slots);
        }
        slots
            .into_iter()
            .map(|u| self.users[u as usize].id)
            .collect()
    }

    /// Every group `user` is in, directly or through nesting.
    pub fn groups_of(&self, user: UserId) -> Vec<GroupId> {
        self.user_slot(user).map_or_else(Vec::new, |u| {
            self.users[u as usize]
                .groups
                .iter()
                .map(|g| GroupId::from_uuid(self.objs[*g as usize].r.id.as_uuid()))
                .collect()
        })
    }

    /// Members of a group and of every group nested in it.
    pub(super) fn subtree_users(&self, group: u32, out: &mut BTreeSet<u32>) {
        let mut stack = vec![group];
        let mut seen = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if !seen.insert(g) {
                continue;
            }
            if let Some(ms) = self.members.get(&g) {
                out.extend(ms.iter().copied().filter(|u| self.users[*u as usize].alive));
            }
            if let Some(cs) = self.children.get(&g) {
                stack.extend(
                    cs.iter()
                        .copied()
                        .filter(|c| self.objs[*c as usize].r.kind == ObjectKind::Group),
                );
            }
        }
    }

    fn recompute_groups(&mut self, u: u32) {
        let mut all = BTreeSet::new();
        for &g in &self.users[u as usize].direct_groups {
            let mut cur = g;
            // INVARIANT: group parents never form a cycle (AccessData::validate refuses one),
            // so this walk ends; `insert` returning false also stops it defensively.
            while cur != NONE && all.insert(cur) {
                cur = self.objs[cur as usize].parent;
            }
        }
        self.users[u as usize].groups = all.into_iter().collect();
    }

    // ----- compilation -----------------------------------------------------------------

    fn recompile_all(&mut self, users: BTreeSet<u32>) {
        for u in users {
            self.recompile(u);
        }
    }

    pub(super) fn recompile(&mut self, u: u32) {
        let old = std::mem::take(&mut self.users[u as usize].compiled);
        self.unregister(u, &old);
        if !self.users[u as usize].alive {
            return;
        }
        let new = self.compile(u);
        self.register(u, &new);
        self.users[u as usize].compiled = new;
    }

    fn unregister(&mut self, u: u32, c: &Compiled) {
        for p in &c.tenant_wide {
            self.tenant_holders[p.index()].remove(&u);
        }
        for s in &c.scoped {
            if let Some(set) = self.scope_users.get_mut(s) {
                set.remove(&u);
            }
        }
        if c.public_scoped {
            self.public_scope_users.remove(&u);
        }
        for g in &c.team_groups {
            if let Some(set) = self.team_holders.get_mut(g) {
                set.remove(&u);
            }
        }
    }

    fn register(&mut self, u: u32, c: &Compiled) {
        for p in &c.tenant_wide {
            self.tenant_holders[p.index()].insert(u);
        }
        for s in &c.scoped {
            self.scope_users.entry(*s).or_default().insert(u);
        }
        if c.public_scoped {
            self.public_scope_users.insert(u);
        }
        for g in &c.team_groups {
            self.team_holders.entry(*g).or_default().insert(u);
        }
    }

    /// The sources (grant, group grant, policy item, default role) a user holds.
    pub(super) fn sources_of(&self, u: u32) -> Vec<Source> {
        let slot = &self.users[u as usize];
        let mut principals = vec![Principal::User(slot.id)];
        principals.extend(
            slot.groups.iter().map(|g| {
                Principal::Group(GroupId::from_uuid(self.objs[*g as usize].r.id.as_uuid()))
            }),
        );
        let mut sources = Vec::new();
        for p in principals {
            for gid in self.grants_of.get(&p).into_iter().flatten() {
                if let Some(g) = self.data.grants.get(gid) {
                    let origin = match p {
                        Principal::User(_) => Origin::Grant { grant: *gid },
                        Principal::Group(group) => Origin::GroupGrant { grant: *gid, group },
                    };
                    sources.push(Source {
                        origin,
                        role: g.role,
                        scope: g.scope,
                    });
                }
            }
            for pid in self.policies_of.get(&p).into_iter().flatten() {
                if let Some(policy) = self.data.policies.get(pid) {
                    for item in &policy.items {
                        sources.push(Source {
                            origin: Origin::Policy {
                                policy: *pid,
                                principal: p,
                            },
                            role: item.role,
                            scope: item.scope,
                        });
                    }
                }
            }
        }
        if let Some(r) = self.data.settings.feed_manager_role
            && self.manages_through_feed(slot.id)
        {
            sources.push(Source {
                origin: Origin::FeedManager,
                role: r,
                scope: Scope::Platform,
            });
        }
        let has_level = sources.iter().any(|s| {
            s.scope == Scope::Platform && self.data.roles.get(&s.role).is_some_and(|r| r.level)
        });
        if !has_level && let Some(d) = self.data.settings.default_role {
            sources.push(Source {
                origin: Origin::DefaultRole,
                role: d,
                scope: Scope::Platform,
            });
        }
        sources.sort();
        sources.dedup();
        sources
    }

    /// Whether the HR feed names `user` as someone's manager.
    fn manages_through_feed(&self, user: UserId) -> bool {
        self.data
            .feed_managers
            .range((user, UserId::from_uuid(uuid::Uuid::nil()))..)
            .next()
            .is_some_and(|(m, _)| *m == user)
    }

    fn scope_slot(&self, scope: &Scope) -> Option<u32> {
        match scope {
            Scope::Platform => Some(PLATFORM),
            Scope::PublicGroups => Some(PUBLIC),
            Scope::Object(o) => self.obj_slot(o),
        }
    }

    fn compile(&self, u: u32) -> Compiled {
        let sources = self.sources_of(u);
        let mut c = Compiled::default();
        let mut assigned = BTreeSet::new();
        let mut team = BTreeSet::new();
        let mut scoped = BTreeSet::new();
        let mut tenant_wide = BTreeSet::new();
        for (i, s) in sources.iter().enumerate() {
            let (Some(role), Some(scope)) =
                (self.data.roles.get(&s.role), self.scope_slot(&s.scope))
            else {
                continue;
            };
            for cap in &role.capabilities {
                c.entries.push(Entry {
                    perm: cap.permission,
                    reach: cap.reach,
                    scope,
                    source: i as u32,
                });
                if scope == PLATFORM && cap.reach == Reach::Tenant {
                    tenant_wide.insert(cap.permission);
                }
            }
            match scope {
                PLATFORM => {}
                PUBLIC => {
                    c.public_scoped = true;
                    c.assigned_public |= role.assigns;
                }
                s => {
                    scoped.insert(s);
                    if role.assigns {
                        assigned.insert(s);
                    }
                    if role.makes_team && self.objs[s as usize].r.kind == ObjectKind::Group {
                        team.insert(s);
                    }
                }
            }
        }
        // Platform before scoped, then widest reach first: the first entry that covers an
        // object is the simplest explanation of why it is allowed.
        c.entries.sort_by_key(|e| {
            (
                e.perm,
                e.scope != PLATFORM,
                std::cmp::Reverse(e.reach == Reach::Tenant),
                e.source,
            )
        });
        c.sources = sources;
        c.assigned = assigned.into_iter().collect();
        c.team_groups = team.into_iter().collect();
        c.scoped = scoped.into_iter().collect();
        c.tenant_wide = tenant_wide.into_iter().collect();
        c
    }

    // ----- bulk build ------------------------------------------------------------------

    fn index_all(&mut self) {
        self.social_learning = self.data.features.contains(&Feature::SocialLearning);
        self.learner_app = self.data.features.contains(&Feature::LearnerApp);
        self.elearning = self.data.features.contains(&Feature::ELearning);
        let mut roles_with = vec![BTreeSet::new(); Permission::ALL.len()];
        for role in self.data.roles.values() {
            for cap in &role.capabilities {
                roles_with[cap.permission.index()].insert(role.code.clone());
            }
        }
        self.roles_with = roles_with
            .into_iter()
            .map(|codes| codes.into_iter().collect::<Vec<_>>().into())
            .collect();
        let tenant = ObjectRef::tenant(self.data.tenant);
        self.ensure_obj(tenant);
        let groups: Vec<AccessGroup> = self.data.groups.values().copied().collect();
        for g in &groups {
            let s = self.ensure_obj(ObjectRef::group(g.id));
            self.objs[s as usize].public = g.public;
        }
        for g in &groups {
            if let (Some(s), Some(p)) = (
                self.group_slot(g.id),
                g.parent.and_then(|p| self.group_slot(p)),
            ) {
                self.objs[s as usize].parent = p;
                self.link_parent(s);
            }
        }
        let users: Vec<AccessUser> = self.data.users.values().copied().collect();
        for u in &users {
            let s = self.ensure_user(u.id);
            let slot = &mut self.users[s as usize];
            slot.user = *u;
            slot.alive = true;
            if u.superadmin {
                self.superadmins.insert(s);
            }
        }
        let objects: Vec<_> = self.data.objects.values().cloned().collect();
        for o in &objects {
            self.ensure_obj(o.object);
        }
        for o in &objects {
            let Some(s) = self.obj_slot(&o.object) else {
                continue;
            };
            let parent = o.parent.and_then(|p| self.obj_slot(&p)).unwrap_or(NONE);
            let slot = &mut self.objs[s as usize];
            slot.parent = parent;
            slot.created_by = o.created_by;
            slot.published = o.published;
            slot.instructor_led = o.instructor_led;
            self.link_parent(s);
            if let Some(c) = o.created_by {
                self.created.entry(c).or_default().insert(s);
            }
        }
        let memberships: Vec<(UserId, GroupId)> = self.data.memberships.iter().copied().collect();
        for (u, g) in memberships {
            if let (Some(u), Some(g)) = (self.user_slot(u), self.group_slot(g)) {
                self.users[u as usize].direct_groups.insert(g);
                self.members.entry(g).or_default().insert(u);
            }
        }
        let managers: Vec<(UserId, UserId)> = self.data.managers.iter().copied().collect();
        for (m, e) in managers {
            if let (Some(m), Some(e)) = (self.user_slot(m), self.user_slot(e)) {
                self.users[e as usize].managers.insert(m);
                self.users[m as usize].managees.insert(e);
            }
        }
        let enrollments: Vec<_> = self
            .data
            .enrollments
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        for ((u, c), status) in enrollments {
            let c = self.obj_slot(&ObjectRef::new(ObjectKind::Course, c));
            if let (Some(u), Some(c)) = (self.user_slot(u), c) {
                self.enroll.insert((u, c), status);
                self.enrolled_in.entry(c).or_default().insert(u);
                self.enrollments_of.entry(u).or_default().insert(c);
            }
        }
        let bookings: Vec<_> = self.data.bookings.iter().map(|(k, v)| (*k, *v)).collect();
        for ((u, session), status) in bookings {
            if let (Some(u), Some(s)) = (self.user_slot(u), self.obj_slot(&session)) {
                self.bookings.insert((u, s), status);
            }
        }
        let grants: Vec<_> = self
            .data
            .grants
            .values()
            .map(|g| (g.principal, g.id))
            .collect();
        for (p, id) in grants {
            self.grants_of.entry(p).or_default().insert(id);
        }
        let attachments: Vec<_> = self.data.attachments.iter().copied().collect();
        for (policy, p) in attachments {
            self.policies_of.entry(p).or_default().insert(policy);
        }
        for u in 0..self.users.len() as u32 {
            self.recompute_groups(u);
            self.recompile(u);
        }
    }

    // ----- structure queries used by the engine ------------------------------------------

    /// Calls `f` on the object and everything it sits inside (for a user: every group they are
    /// in), stopping early when `f` returns true. Returns whether it did.
    #[inline]
    pub(super) fn any_ancestor(&self, o: u32, mut f: impl FnMut(u32) -> bool) -> bool {
        if f(o) {
            return true;
        }
        let slot = &self.objs[o as usize];
        if slot.user != NONE {
            return self.users[slot.user as usize].groups.iter().any(|g| f(*g));
        }
        let mut cur = slot.parent;
        // INVARIANT: parent links follow ObjectKind::parent_kinds (a DAG of kinds) until groups,
        // whose parents are acyclic; the walk terminates. The bound is a second guard.
        let mut steps = 0;
        while cur != NONE && steps < 1024 {
            if f(cur) {
                return true;
            }
            cur = self.objs[cur as usize].parent;
            steps += 1;
        }
        false
    }

    /// The course an object belongs to (itself, or the course a lesson, event or session sits
    /// in), if any.
    pub(super) fn course_of(&self, o: u32) -> Option<u32> {
        let mut found = None;
        self.any_ancestor(o, |a| {
            if self.objs[a as usize].r.kind == ObjectKind::Course {
                found = Some(a);
                true
            } else {
                false
            }
        });
        found
    }

    pub(super) fn effective_status(&self, u: u32, today: Date) -> EffectiveStatus {
        self.users[u as usize].user.effective_status(today)
    }
}
