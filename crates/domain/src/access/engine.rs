//! Decisions: `check` with its explanation, and the reverse queries.
//!
//! A check resolves the user and object to slots, looks for vetoes, then scans the user's
//! compiled entries for the permission (a binary search into a short sorted list) and asks of
//! each whether it covers the object: scope first (is the object inside the grant's scope),
//! then reach (tenant, the holder's assigned objects, team or own).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde::Serialize;
use time::Date;

use super::catalog::{Feature, Permission};
use super::error::AccessError;
use super::explain::{
    Allowance, Basis, Decision, Denial, Explanation, Link, MissingLink, Near, Relation, Veto, Via,
};
use super::model::{AccessModel, Entry, NONE, PLATFORM, PUBLIC, Source};
use super::object::{ObjectId, ObjectKind, ObjectRef};
use super::reach::Reach;
use super::role::Scope;
use crate::ids::UserId;

/// One page of a reverse query, in object id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    pub items: Vec<ObjectRef>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<ObjectId>,
}

/// One (permission, reach) a user holds and where it comes from (for the access review).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub permission: Permission,
    pub reach: Reach,
    #[serde(flatten)]
    pub basis: Basis,
}

impl AccessModel {
    fn resolve(
        &self,
        user: UserId,
        permission: Permission,
        object: &ObjectRef,
    ) -> Result<(u32, u32), AccessError> {
        let u = self.user_slot(user).ok_or(AccessError::UnknownUser(user))?;
        check_applies(permission, object.kind)?;
        let o = self
            .obj_slot(object)
            .ok_or(AccessError::UnknownObject(*object))?;
        Ok((u, o))
    }

    /// Whether `user` may do `permission` to `object` on `today`, without the explanation.
    pub fn allows(
        &self,
        user: UserId,
        permission: Permission,
        object: &ObjectRef,
        today: Date,
    ) -> Result<bool, AccessError> {
        let (u, o) = self.resolve(user, permission, object)?;
        Ok(self.allowed(u, permission, o, today))
    }

    /// Decides and explains.
    pub fn check(
        &self,
        user: UserId,
        permission: Permission,
        object: &ObjectRef,
        today: Date,
    ) -> Result<Decision, AccessError> {
        let (u, o) = self.resolve(user, permission, object)?;
        let vetoes = self.vetoes(u, permission, o, today);
        if vetoes.is_empty() {
            if self.users[u as usize].user.superadmin {
                return Ok(allowed(user, permission, *object, Via::Superadmin));
            }
            if let Some(e) = self.covering(u, permission, o) {
                let via = Via::Grant {
                    basis: self.basis(&self.users[u as usize].compiled.sources[e.source as usize]),
                    permission,
                    reach: e.reach,
                    chain: self.chain(u, e, o),
                };
                return Ok(allowed(user, permission, *object, via));
            }
        }
        Ok(Decision {
            allowed: false,
            explanation: Explanation::Denied(self.denial(u, permission, o, vetoes)),
        })
    }

    /// The objects of `kind` that `user` may do `permission` to, in id order, after `after`.
    pub fn objects_for(
        &self,
        user: UserId,
        permission: Permission,
        kind: ObjectKind,
        after: Option<ObjectId>,
        limit: usize,
        today: Date,
    ) -> Result<Page, AccessError> {
        let u = self.user_slot(user).ok_or(AccessError::UnknownUser(user))?;
        check_applies(permission, kind)?;
        let empty = Page {
            items: Vec::new(),
            next: None,
        };
        if limit == 0
            || self.status_veto(u, today).is_some()
            || self.feature_veto(permission, kind).is_some()
        {
            return Ok(empty);
        }
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let slot = &self.users[u as usize];
        let wide = slot.user.superadmin || self.tenant_holders[permission.index()].contains(&u);
        let mut items = Vec::new();
        let mut next = None;
        let mut take = |id: ObjectId, o: u32, items: &mut Vec<ObjectRef>| {
            if !self.allowed(u, permission, o, today) {
                return false;
            }
            if items.len() == limit {
                next = items.last().map(|r: &ObjectRef| r.id);
                return true;
            }
            items.push(ObjectRef::new(kind, id));
            false
        };
        if wide {
            for (id, o) in self.by_kind[kind.index()].range((lower, Bound::Unbounded)) {
                if take(*id, *o, &mut items) {
                    break;
                }
            }
        } else {
            let candidates = self.candidates(u, permission, kind);
            for (id, o) in candidates.range((lower, Bound::Unbounded)) {
                if take(*id, *o, &mut items) {
                    break;
                }
            }
        }
        Ok(Page { items, next })
    }

    /// Who manages `user` through a group: the holders of a team-making role (a Group Manager)
    /// on a group `user` belongs to, directly or through the groups it nests in, each with that
    /// group, in id order. They are line managers as much as the explicit ones.
    pub fn group_managers(&self, user: UserId) -> Vec<(UserId, crate::ids::GroupId)> {
        let Some(u) = self.user_slot(user) else {
            return vec![];
        };
        let mut out = BTreeSet::new();
        for g in &self.users[u as usize].groups {
            for h in self.team_holders.get(g).into_iter().flatten() {
                if *h != u && self.users[*h as usize].alive {
                    let group =
                        crate::ids::GroupId::from_uuid(self.objs[*g as usize].r.id.as_uuid());
                    out.insert((self.users[*h as usize].id, group));
                }
            }
        }
        out.into_iter().collect()
    }

    /// Every user who may do `permission` to `object`, in id order.
    pub fn holders(
        &self,
        permission: Permission,
        object: &ObjectRef,
        today: Date,
    ) -> Result<Vec<UserId>, AccessError> {
        check_applies(permission, object.kind)?;
        let o = self
            .obj_slot(object)
            .ok_or(AccessError::UnknownObject(*object))?;
        if self.feature_veto(permission, object.kind).is_some() {
            return Ok(Vec::new());
        }
        let mut cand: BTreeSet<u32> = self.superadmins.clone();
        cand.extend(self.tenant_holders[permission.index()].iter().copied());
        if self.in_public(o) {
            cand.extend(self.public_scope_users.iter().copied());
        }
        self.any_ancestor(o, |a| {
            if let Some(s) = self.scope_users.get(&a) {
                cand.extend(s.iter().copied());
            }
            let slot = &self.objs[a as usize];
            if let Some(c) = slot.created_by.and_then(|c| self.user_slot(c)) {
                cand.insert(c);
            }
            if slot.r.kind == ObjectKind::Course
                && let Some(s) = self.enrolled_in.get(&a)
            {
                cand.extend(s.iter().copied());
            }
            if slot.user != NONE {
                cand.insert(slot.user);
                let v = &self.users[slot.user as usize];
                cand.extend(v.managers.iter().copied());
                for g in &v.groups {
                    if let Some(s) = self.team_holders.get(g) {
                        cand.extend(s.iter().copied());
                    }
                }
            }
            false
        });
        let mut out: Vec<UserId> = cand
            .into_iter()
            .filter(|u| self.users[*u as usize].alive && self.allowed(*u, permission, o, today))
            .map(|u| self.users[u as usize].id)
            .collect();
        out.sort();
        Ok(out)
    }

    /// Everything a user holds, with where it comes from (for the access review and the
    /// "explain access" page). Superadmins hold everything and are not listed entry by entry.
    pub fn effective(&self, user: UserId) -> Result<Vec<Holding>, AccessError> {
        let u = self.user_slot(user).ok_or(AccessError::UnknownUser(user))?;
        let c = &self.users[u as usize].compiled;
        Ok(c.entries
            .iter()
            .map(|e| Holding {
                permission: e.perm,
                reach: e.reach,
                basis: self.basis(&c.sources[e.source as usize]),
            })
            .collect())
    }

    /// Whether the user is a superadmin.
    pub fn is_superadmin(&self, user: UserId) -> bool {
        self.user_slot(user)
            .is_some_and(|u| self.users[u as usize].user.superadmin)
    }

    // ----- the decision itself -------------------------------------------------------------

    pub(super) fn allowed(&self, u: u32, p: Permission, o: u32, today: Date) -> bool {
        if self.status_veto(u, today).is_some()
            || self.feature_veto(p, self.objs[o as usize].r.kind).is_some()
        {
            return false;
        }
        let slot = &self.users[u as usize];
        if slot.user.superadmin {
            return true;
        }
        if p.is_learner_access() && self.enrollment_veto(u, p, o).is_some() {
            return false;
        }
        self.covering(u, p, o).is_some()
    }

    fn vetoes(&self, u: u32, p: Permission, o: u32, today: Date) -> Vec<Veto> {
        let mut v = Vec::new();
        v.extend(self.status_veto(u, today));
        v.extend(self.feature_veto(p, self.objs[o as usize].r.kind));
        if p.is_learner_access() && !self.users[u as usize].user.superadmin {
            v.extend(self.enrollment_veto(u, p, o));
        }
        v
    }

    fn status_veto(&self, u: u32, today: Date) -> Option<Veto> {
        use crate::user::EffectiveStatus as S;
        match self.effective_status(u, today) {
            S::Activated | S::Active => None,
            S::Deactivated => Some(Veto::Deactivated),
            S::Expired => Some(Veto::Expired {
                last_day: self.users[u as usize].user.expires_on,
            }),
        }
    }

    fn feature_veto(&self, p: Permission, kind: ObjectKind) -> Option<Veto> {
        let needed = p.feature().or(if kind == ObjectKind::Channel {
            Some(Feature::SocialLearning)
        } else {
            None
        });
        needed
            .filter(|f| !self.feature(*f))
            .map(|feature| Veto::FeatureOff { feature })
    }

    fn enrollment_veto(&self, u: u32, p: Permission, o: u32) -> Option<Veto> {
        use crate::session::BookingStatus as B;
        let c = self.course_of(o)?;
        let status = *self.enroll.get(&(u, c))?;
        // Attending a session is decided by the booking on that session when there is one.
        let booking = match p {
            Permission::SessionsAttend => self.bookings.get(&(u, o)).copied(),
            _ => None,
        };
        let status = match booking {
            Some(b @ (B::ToConfirm | B::Waiting)) => {
                return Some(Veto::Booking {
                    session: self.objs[o as usize].r,
                    status: b,
                });
            }
            Some(b) => crate::session::enrollment_for_attending(status, b),
            None => status,
        };
        let course = &self.objs[c as usize];
        if status.allows(p == Permission::CoursesAccess, course.instructor_led) {
            None
        } else {
            Some(Veto::Enrollment {
                course: course.r,
                status,
            })
        }
    }

    pub(super) fn entries(&self, u: u32, p: Permission) -> &[Entry] {
        let es = &self.users[u as usize].compiled.entries;
        let start = es.partition_point(|e| e.perm < p);
        let end = start + es[start..].partition_point(|e| e.perm == p);
        &es[start..end]
    }

    fn covering(&self, u: u32, p: Permission, o: u32) -> Option<&Entry> {
        self.entries(u, p).iter().find(|e| self.covers(u, e, o))
    }

    pub(super) fn in_scope(&self, scope: u32, o: u32) -> bool {
        match scope {
            PLATFORM => true,
            PUBLIC => self.in_public(o),
            s => self.any_ancestor(o, |a| a == s),
        }
    }

    pub(super) fn in_public(&self, o: u32) -> bool {
        self.any_ancestor(o, |a| {
            let s = &self.objs[a as usize];
            s.public && s.r.kind == ObjectKind::Group
        })
    }

    fn covers(&self, u: u32, e: &Entry, o: u32) -> bool {
        if !self.in_scope(e.scope, o) {
            return false;
        }
        if e.scope != PLATFORM && matches!(e.reach, Reach::Tenant | Reach::Assigned) {
            return true;
        }
        match e.reach {
            Reach::Tenant => true,
            Reach::Assigned => self.in_assigned(u, o),
            Reach::Team => self.in_team(u, o),
            Reach::Own => self.in_own(u, o),
        }
    }

    pub(super) fn in_assigned(&self, u: u32, o: u32) -> bool {
        let c = &self.users[u as usize].compiled;
        (!c.assigned.is_empty() && self.any_ancestor(o, |a| c.assigned.binary_search(&a).is_ok()))
            || (c.assigned_public && self.in_public(o))
    }

    fn in_team(&self, u: u32, o: u32) -> bool {
        let v = self.objs[o as usize].user;
        if v == NONE {
            return false;
        }
        let v = &self.users[v as usize];
        let tg = &self.users[u as usize].compiled.team_groups;
        v.managers.contains(&u) || v.groups.iter().any(|g| tg.binary_search(g).is_ok())
    }

    fn in_own(&self, u: u32, o: u32) -> bool {
        let me = &self.users[u as usize];
        self.any_ancestor(o, |a| self.own_anchor(me.obj, me.id, u, a).is_some())
    }

    /// How `a` belongs to the user, if it does.
    fn own_anchor(&self, me_obj: u32, me: UserId, u: u32, a: u32) -> Option<Relation> {
        let s = &self.objs[a as usize];
        if a == me_obj {
            Some(Relation::MemberOf) // the user themselves; no link is drawn for it
        } else if s.created_by == Some(me) {
            Some(Relation::Created)
        } else if s.r.kind == ObjectKind::Course && self.enroll.contains_key(&(u, a)) {
            Some(Relation::EnrolledIn)
        } else {
            None
        }
    }

    /// Whether the user may do `p` on everything inside `o` through a scope rather than
    /// through a relation to themselves: tenant reach, a grant at `o` or above it, or `o` being
    /// inside an object they are responsible for. This is what delegation compares against.
    pub(super) fn through_scope(&self, u: u32, p: Permission, o: u32) -> bool {
        self.entries(u, p).iter().any(|e| match (e.scope, e.reach) {
            (PLATFORM, Reach::Tenant) => true,
            (PLATFORM, Reach::Assigned) => self.in_assigned(u, o),
            (PLATFORM, _) => false,
            (s, Reach::Tenant | Reach::Assigned) => self.in_scope(s, o),
            _ => false,
        })
    }

    // ----- reverse queries ---------------------------------------------------------------

    /// Objects of `kind` some non-tenant entry of the user might cover; filtered by the caller.
    fn candidates(&self, u: u32, p: Permission, kind: ObjectKind) -> BTreeMap<ObjectId, u32> {
        let slot = &self.users[u as usize];
        let c = &slot.compiled;
        let mut roots = BTreeSet::new();
        let mut people = BTreeSet::new();
        let mut public = false;
        for e in self.entries(u, p) {
            match (e.scope, e.reach) {
                (PUBLIC, _) => public = true,
                (PLATFORM, Reach::Assigned) => {
                    roots.extend(c.assigned.iter().copied());
                    public |= c.assigned_public;
                }
                (PLATFORM, Reach::Team) => {
                    people.extend(slot.managees.iter().copied());
                    for g in &c.team_groups {
                        self.subtree_users(*g, &mut people);
                    }
                }
                (PLATFORM, Reach::Own) => {
                    roots.insert(slot.obj);
                    if let Some(s) = self.created.get(&slot.id) {
                        roots.extend(s.iter().copied());
                    }
                    if let Some(s) = self.enrollments_of.get(&u) {
                        roots.extend(s.iter().copied());
                    }
                }
                (PLATFORM, Reach::Tenant) => {}
                (s, _) => {
                    roots.insert(s);
                }
            }
        }
        if public {
            for g in self.by_kind[ObjectKind::Group.index()].values() {
                if self.objs[*g as usize].public {
                    roots.insert(*g);
                }
            }
        }
        let mut out = BTreeMap::new();
        if kind == ObjectKind::User {
            for v in people {
                let o = self.users[v as usize].obj;
                out.insert(self.objs[o as usize].r.id, o);
            }
        }
        let mut seen = BTreeSet::new();
        let mut stack: Vec<u32> = roots.into_iter().collect();
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            let s = &self.objs[x as usize];
            if !s.alive {
                continue;
            }
            if s.r.kind == kind {
                out.insert(s.r.id, x);
            }
            if let Some(cs) = self.children.get(&x) {
                stack.extend(cs.iter().copied());
            }
            if s.r.kind == ObjectKind::Group
                && kind == ObjectKind::User
                && let Some(ms) = self.members.get(&x)
            {
                stack.extend(ms.iter().map(|m| self.users[*m as usize].obj));
            }
        }
        out
    }

    // ----- explanations ------------------------------------------------------------------

    pub(super) fn basis(&self, s: &Source) -> Basis {
        let code = self
            .data
            .roles
            .get(&s.role)
            .map(|r| r.code.clone())
            .unwrap_or_else(super::role::RoleCode::deleted);
        Basis {
            origin: s.origin,
            role: s.role,
            role_code: code,
            scope: s.scope,
        }
    }

    /// The links from `o` up to `target` (which must be `o` or above it).
    fn path(&self, o: u32, target: u32) -> Vec<Link> {
        let mut links = Vec::new();
        if o == target {
            return links;
        }
        let slot = &self.objs[o as usize];
        let mut cur = if slot.user != NONE {
            // Through the direct group whose ancestry holds the target.
            let v = &self.users[slot.user as usize];
            let Some(d) = v
                .direct_groups
                .iter()
                .copied()
                .find(|d| self.any_ancestor(*d, |a| a == target))
            else {
                return links;
            };
            links.push(Link {
                from: slot.r,
                relation: Relation::MemberOf,
                to: self.objs[d as usize].r,
            });
            d
        } else {
            o
        };
        let mut steps = 0;
        while cur != target && cur != NONE && steps < 1024 {
            let parent = self.objs[cur as usize].parent;
            if parent == NONE {
                break;
            }
            links.push(Link {
                from: self.objs[cur as usize].r,
                relation: Relation::Inside,
                to: self.objs[parent as usize].r,
            });
            cur = parent;
            steps += 1;
        }
        links
    }

    fn first_ancestor(&self, o: u32, mut pred: impl FnMut(u32) -> bool) -> Option<u32> {
        let mut found = None;
        self.any_ancestor(o, |a| {
            if pred(a) {
                found = Some(a);
                true
            } else {
                false
            }
        });
        found
    }

    fn public_anchor(&self, o: u32) -> Vec<Link> {
        match self.first_ancestor(o, |a| {
            let s = &self.objs[a as usize];
            s.public && s.r.kind == ObjectKind::Group
        }) {
            Some(g) => {
                let mut l = self.path(o, g);
                let r = self.objs[g as usize].r;
                l.push(Link {
                    from: r,
                    relation: Relation::IsPublic,
                    to: r,
                });
                l
            }
            None => Vec::new(),
        }
    }

    fn chain(&self, u: u32, e: &Entry, o: u32) -> Vec<Link> {
        let me = &self.users[u as usize];
        let me_ref = self.objs[me.obj as usize].r;
        let mut links = match e.scope {
            PLATFORM => Vec::new(),
            PUBLIC => self.public_anchor(o),
            s => self.path(o, s),
        };
        if e.scope != PLATFORM && matches!(e.reach, Reach::Tenant | Reach::Assigned) {
            return links;
        }
        match e.reach {
            Reach::Tenant => {}
            Reach::Assigned => {
                let c = &me.compiled;
                if let Some(a) = self.first_ancestor(o, |a| c.assigned.binary_search(&a).is_ok()) {
                    links.extend(self.path(o, a));
                    links.push(Link {
                        from: me_ref,
                        relation: Relation::HoldsRoleAt,
                        to: self.objs[a as usize].r,
                    });
                } else {
                    links.extend(self.public_anchor(o));
                }
            }
            Reach::Team => {
                let o_ref = self.objs[o as usize].r;
                let v = self.objs[o as usize].user;
                if v != NONE && self.users[v as usize].managers.contains(&u) {
                    links.push(Link {
                        from: me_ref,
                        relation: Relation::Manages,
                        to: o_ref,
                    });
                } else if v != NONE {
                    let tg = &me.compiled.team_groups;
                    if let Some(g) = self.users[v as usize]
                        .groups
                        .iter()
                        .copied()
                        .find(|g| tg.binary_search(g).is_ok())
                    {
                        links.extend(self.path(o, g));
                        links.push(Link {
                            from: me_ref,
                            relation: Relation::HoldsRoleAt,
                            to: self.objs[g as usize].r,
                        });
                    }
                }
            }
            Reach::Own => {
                if let Some(a) =
                    self.first_ancestor(o, |a| self.own_anchor(me.obj, me.id, u, a).is_some())
                    && a != me.obj
                {
                    links.extend(self.path(o, a));
                    if let Some(rel) = self.own_anchor(me.obj, me.id, u, a) {
                        links.push(Link {
                            from: me_ref,
                            relation: rel,
                            to: self.objs[a as usize].r,
                        });
                    }
                }
            }
        }
        links
    }

    fn miss(&self, e: &Entry, o: u32) -> MissingLink {
        let object = self.objs[o as usize].r;
        if !self.in_scope(e.scope, o) {
            let scope = match e.scope {
                PUBLIC => Scope::PublicGroups,
                s => Scope::Object(self.objs[s as usize].r),
            };
            return MissingLink::NotInScope { object, scope };
        }
        // In scope, so the reach is what failed (tenant reach never fails).
        match e.reach {
            Reach::Tenant | Reach::Assigned => MissingLink::NotAssigned { object },
            Reach::Team if object.kind != ObjectKind::User => MissingLink::NotAPerson { object },
            Reach::Team => MissingLink::NotInTeam { object },
            Reach::Own => MissingLink::NotOwn { object },
        }
    }

    fn denial(&self, u: u32, p: Permission, o: u32, vetoes: Vec<Veto>) -> Denial {
        let slot = &self.users[u as usize];
        let o_ref = self.objs[o as usize].r;
        let mut closest = Vec::new();
        let entries = self.entries(u, p);
        let missing = if !vetoes.is_empty() {
            MissingLink::Vetoed
        } else if !entries.is_empty() {
            let mut seen = [u32::MAX; 3];
            for e in entries {
                if closest.len() == 3 {
                    break;
                }
                if !seen.contains(&e.source) {
                    seen[closest.len()] = e.source;
                    closest.push(Near {
                        basis: self.basis(&slot.compiled.sources[e.source as usize]),
                        reach: Some(e.reach),
                        missing: self.miss(e, o),
                    });
                }
            }
            MissingLink::NoGrantReaches {
                permission: p,
                object: o_ref,
            }
        } else {
            // The grants whose scope holds the object: they reach it, just not with `p`.
            for s in &slot.compiled.sources {
                if closest.len() == 3 {
                    break;
                }
                let inside = match s.scope {
                    Scope::Platform => true,
                    Scope::PublicGroups => self.in_public(o),
                    Scope::Object(r) => self.obj_slot(&r).is_some_and(|x| self.in_scope(x, o)),
                };
                if inside {
                    let basis = self.basis(s);
                    let missing = MissingLink::RoleLacksPermission {
                        role: basis.role_code.clone(),
                        permission: p,
                    };
                    closest.push(Near {
                        basis,
                        reach: None,
                        missing,
                    });
                }
            }
            MissingLink::NoRoleIncludes { permission: p }
        };
        Denial {
            user: slot.id,
            permission: p,
            object: o_ref,
            vetoes,
            closest,
            missing,
            roles_with_permission: self.roles_with[p.index()].clone(),
        }
    }
}

fn allowed(user: UserId, permission: Permission, object: ObjectRef, via: Via) -> Decision {
    Decision {
        allowed: true,
        explanation: Explanation::Allowed(Allowance {
            user,
            permission,
            object,
            via,
        }),
    }
}

pub(super) fn check_applies(permission: Permission, kind: ObjectKind) -> Result<(), AccessError> {
    if permission.applies(kind) {
        Ok(())
    } else {
        Err(AccessError::NotApplicable {
            permission,
            kind,
            expected: permission
                .applies_to()
                .iter()
                .map(|k| k.code())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}
