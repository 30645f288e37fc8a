//! The rules on changing access: who may grant what to whom, status changes, line management
//! and owner hand-over. Pure functions over the model; the server calls them before it writes.

use std::collections::BTreeSet;

use time::Date;

use super::catalog::Permission;
use super::data::Change;
use super::engine::check_applies;
use super::error::AccessError;
use super::explain::Authorized;
use super::grant::{Grant, Policy, Principal};
use super::model::{AccessModel, PLATFORM};
use super::object::{ObjectKind, ObjectRef};
use super::reach::Reach;
use super::role::{Capability, Precondition, Role, RoleId, Scope};
use crate::ids::UserId;

/// What changing a learner's level in a course does: the levels revoked there and the one
/// granted (none when they held it already).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourseLevelChange {
    pub revoked: Vec<Grant>,
    pub granted: Option<Grant>,
}

/// What a change to a person's account touches, for [`AccessModel::validate_user_change`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChange {
    /// The username or the email changes.
    pub login: bool,
    /// The status changes.
    pub status: bool,
    /// The expiry date moves (or is cleared): whether the account may log in changes, so the
    /// status rule applies; it is also how an expired account is restored.
    pub expiry: bool,
}

impl AccessModel {
    /// Checks that `granter` may make `grant`, and that the grant is well-formed: the role may
    /// be granted at that kind of scope, the holder is eligible and has the prerequisite role,
    /// the holder limit and the precondition on the object hold, the feature is on, nobody grants
    /// to themselves, and the role gives nothing the granter does not hold there.
    pub fn validate_grant(
        &self,
        granter: UserId,
        grant: &Grant,
        today: Date,
    ) -> Result<Authorized, AccessError> {
        let g = self
            .user_slot(granter)
            .ok_or(AccessError::UnknownUser(granter))?;
        let role = self
            .data
            .roles
            .get(&grant.role)
            .ok_or_else(|| AccessError::UnknownRole(grant.role.to_string()))?;
        self.validate_shape(role, grant)?;

        if grant.principal == Principal::User(granter) {
            return Err(AccessError::SelfGrant { user: granter });
        }
        let grantees = self.grantees(grant.principal);
        if let Principal::Group(_) = grant.principal
            && grantees.contains(&g)
        {
            return Err(AccessError::SelfGrant { user: granter });
        }
        if let Some(max) = role.constraints.max_holders {
            if let Principal::Group(_) = grant.principal {
                return Err(AccessError::LimitedRoleToGroup {
                    role: role.code.to_string(),
                });
            }
            let others = self
                .data
                .grants
                .values()
                .filter(|o| {
                    o.role == grant.role
                        && o.scope == grant.scope
                        && o.id != grant.id
                        && o.principal != grant.principal
                })
                .count();
            if others >= max as usize {
                return Err(AccessError::TooManyHolders {
                    role: role.code.to_string(),
                    scope: grant.scope,
                    max,
                });
            }
        }
        for u in &grantees {
            self.check_holder(*u, role)?;
        }
        self.check_delegation(g, granter, role, grant, &grantees, today)?;
        Ok(Authorized::new(granter))
    }

    /// Validates giving `roles` (each at its scope) to `user`, a person being created who so
    /// holds nothing yet, as `validate_grant` would once they exist: the shape of each grant,
    /// the role's eligibility and prerequisite among the roles given together, its holder
    /// limit, and the delegation rule for `granter`. All or nothing: the first refusal names
    /// its position in `roles`.
    pub fn validate_grants_to_new(
        &self,
        granter: UserId,
        user: UserId,
        roles: &[(RoleId, Scope)],
        today: Date,
    ) -> Result<Authorized, (usize, AccessError)> {
        let g = self
            .user_slot(granter)
            .ok_or((0, AccessError::UnknownUser(granter)))?;
        let given = roles;
        for (i, (role, scope)) in roles.iter().enumerate() {
            let refuse = |e| (i, e);
            let grant = &Grant::new(Principal::User(user), *role, *scope);
            let role = self
                .data
                .roles
                .get(&grant.role)
                .ok_or_else(|| refuse(AccessError::UnknownRole(grant.role.to_string())))?;
            self.validate_shape_of(role, grant, false).map_err(refuse)?;
            let c = &role.constraints;
            if !c.eligible.is_empty()
                && !given
                    .iter()
                    .any(|(r, s)| *s == Scope::Platform && c.eligible.contains(r))
            {
                return Err(refuse(AccessError::Ineligible {
                    role: role.code.to_string(),
                    user,
                    eligible: self.codes(&c.eligible),
                }));
            }
            if let Some(pre) = c.prerequisite
                && !given.iter().any(|(r, _)| *r == pre)
            {
                return Err(refuse(AccessError::PrerequisiteMissing {
                    role: role.code.to_string(),
                    prerequisite: self.codes(&[pre]),
                    user,
                }));
            }
            if let Some(max) = c.max_holders {
                let holders = self
                    .data
                    .grants
                    .values()
                    .filter(|o| o.role == grant.role && o.scope == grant.scope)
                    .count();
                if holders >= max as usize {
                    return Err(refuse(AccessError::TooManyHolders {
                        role: role.code.to_string(),
                        scope: grant.scope,
                        max,
                    }));
                }
            }
            self.check_delegation(g, granter, role, grant, &BTreeSet::new(), today)
                .map_err(refuse)?;
        }
        Ok(Authorized::new(granter))
    }

    /// The group a person being created joins so that they hold a role (seed 004: every user
    /// holds at least one, in some group): the tenant's default group, when neither `roles`
    /// nor any of the groups in `joining` gives them one.
    pub fn default_group_for_new(
        &self,
        roles: &[(RoleId, Scope)],
        joining: &[crate::ids::GroupId],
    ) -> Option<crate::ids::GroupId> {
        let group = self.data.settings.default_group?;
        let given = !roles.is_empty()
            || joining
                .iter()
                .any(|g| *g == group || !self.carried_by_group(*g).is_empty());
        (!given).then_some(group)
    }

    /// Validates attaching `policy` to `principal`: every item as if it were a grant.
    pub fn validate_attachment(
        &self,
        granter: UserId,
        policy: &Policy,
        principal: Principal,
        today: Date,
    ) -> Result<Authorized, AccessError> {
        for item in &policy.items {
            let g = Grant {
                id: super::grant::GrantId::new(),
                principal,
                role: item.role,
                scope: item.scope,
            };
            self.validate_grant(granter, &g, today)?;
        }
        Ok(Authorized::new(granter))
    }

    /// Scope kind, scope object, principal, feature and precondition: what makes a grant
    /// meaningful regardless of who makes it.
    fn validate_shape(&self, role: &Role, grant: &Grant) -> Result<(), AccessError> {
        self.validate_shape_of(role, grant, true)
    }

    /// As [`Self::validate_shape`]; `existing` says whether the principal must exist already
    /// (not for a person being created).
    fn validate_shape_of(
        &self,
        role: &Role,
        grant: &Grant,
        existing: bool,
    ) -> Result<(), AccessError> {
        let kind = grant.scope.kind()?;
        if !role.scopes.contains(&kind) {
            return Err(AccessError::ScopeNotAllowed {
                role: role.code.to_string(),
                kind,
                allowed: role
                    .scopes
                    .iter()
                    .map(|k| k.code())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        self.data.check_scope(&grant.scope)?;
        match grant.principal {
            Principal::User(u) if existing && self.user_slot(u).is_none() => {
                return Err(AccessError::UnknownUser(u));
            }
            Principal::Group(gr) if self.group_slot(gr).is_none() => {
                return Err(AccessError::UnknownGroup(gr));
            }
            _ => {}
        }
        if let Some(f) = role.feature
            && !self.feature(f)
        {
            return Err(AccessError::FeatureOff {
                role: role.code.to_string(),
                feature: f,
            });
        }
        if let Some(Precondition::CoursePublished) = role.constraints.precondition {
            let published = grant.scope.object().and_then(|o| {
                (o.kind == ObjectKind::Course)
                    .then(|| self.data.objects.get(&o).is_some_and(|c| c.published))
            });
            if published != Some(true) {
                return Err(AccessError::CourseNotPublished {
                    role: role.code.to_string(),
                    course: grant
                        .scope
                        .object()
                        .unwrap_or(ObjectRef::tenant(self.data.tenant)),
                });
            }
        }
        Ok(())
    }

    /// The live users a principal stands for now.
    fn grantees(&self, p: Principal) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        match p {
            Principal::User(u) => out.extend(self.user_slot(u)),
            Principal::Group(g) => {
                if let Some(g) = self.group_slot(g) {
                    self.subtree_users(g, &mut out);
                }
            }
        }
        out
    }

    /// Eligibility and prerequisite for one would-be holder.
    fn check_holder(&self, u: u32, role: &Role) -> Result<(), AccessError> {
        let sources = &self.users[u as usize].compiled.sources;
        let user = self.users[u as usize].id;
        let c = &role.constraints;
        if !c.eligible.is_empty()
            && !sources
                .iter()
                .any(|s| s.scope == Scope::Platform && c.eligible.contains(&s.role))
        {
            return Err(AccessError::Ineligible {
                role: role.code.to_string(),
                user,
                eligible: self.codes(&c.eligible),
            });
        }
        if let Some(pre) = c.prerequisite
            && !sources.iter().any(|s| s.role == pre)
        {
            return Err(AccessError::PrerequisiteMissing {
                role: role.code.to_string(),
                prerequisite: self.codes(&[pre]),
                user,
            });
        }
        Ok(())
    }

    fn codes(&self, roles: &[RoleId]) -> String {
        roles
            .iter()
            .map(|r| {
                self.data
                    .roles
                    .get(r)
                    .map_or_else(|| r.to_string(), |r| r.code.to_string())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks that `editor` may make `after` out of `before` (or create it): every capability the
    /// edit adds must be one the editor holds at platform scope with a reach that covers it, or
    /// editing roles would be a way around the delegation rule. Superadmins and the owner are
    /// exempt.
    pub fn validate_role_edit(
        &self,
        editor: UserId,
        before: Option<&Role>,
        after: &Role,
    ) -> Result<Authorized, AccessError> {
        if self.is_exempt(editor) {
            return Ok(Authorized::new(editor));
        }
        let held = self.effective(editor)?;
        let missing: Vec<Capability> = after
            .capabilities
            .iter()
            .filter(|c| before.is_none_or(|b| !b.capabilities.contains(c)))
            .filter(|c| {
                !held.iter().any(|h| {
                    h.basis.scope == Scope::Platform
                        && h.permission == c.permission
                        && h.reach.covers(c.reach)
                })
            })
            .copied()
            .collect();
        if missing.is_empty() {
            Ok(Authorized::new(editor))
        } else {
            Err(AccessError::Delegation {
                granter: editor,
                role: after.code.to_string(),
                scope: Scope::Platform,
                missing,
            })
        }
    }

    /// Adding someone to a group hands them every grant and policy the group, and each group it
    /// nests in, carries: a grant in all but name. So the adder must hold what those give there
    /// (the delegation rule), and nobody adds themselves to a group that carries any. Superadmins
    /// and the owner are exempt. Groups that carry nothing are free to join.
    pub fn validate_membership(
        &self,
        actor: UserId,
        user: UserId,
        group: crate::ids::GroupId,
        today: Date,
    ) -> Result<(), AccessError> {
        let carried = self.carried_by_group(group);
        if carried.is_empty() {
            return Ok(());
        }
        self.validate_carried(actor, user, carried, today)
    }

    /// Giving a person who does not exist yet `group` as their primary group (a membership):
    /// free where the group carries nothing, or for a superadmin or the owner; otherwise the
    /// delegation rule needs to know the person, so they are created first.
    pub fn validate_membership_of_new(
        &self,
        actor: UserId,
        group: crate::ids::GroupId,
    ) -> Result<(), AccessError> {
        if self.carried_by_group(group).is_empty() || self.is_exempt(actor) {
            return Ok(());
        }
        Err(AccessError::NewMemberOfCarryingGroup { group })
    }

    /// The (role, scope) pairs that joining `group` hands over: its grants and policies and
    /// those of every group it nests in.
    fn carried_by_group(&self, group: crate::ids::GroupId) -> Vec<(RoleId, Scope)> {
        let mut chain = BTreeSet::new();
        let mut cursor = Some(group);
        while let Some(g) = cursor {
            if !chain.insert(g) {
                break;
            }
            cursor = self.data.groups.get(&g).and_then(|g| g.parent);
        }
        let carried_by = |p: &Principal| matches!(p, Principal::Group(g) if chain.contains(g));
        let mut carried: Vec<(RoleId, Scope)> = self
            .data
            .grants
            .values()
            .filter(|g| carried_by(&g.principal))
            .map(|g| (g.role, g.scope))
            .collect();
        for (policy, principal) in &self.data.attachments {
            if carried_by(principal)
                && let Some(p) = self.data.policies.get(policy)
            {
                carried.extend(p.items.iter().map(|i| (i.role, i.scope)));
            }
        }
        carried
    }

    fn validate_carried(
        &self,
        actor: UserId,
        user: UserId,
        carried: Vec<(RoleId, Scope)>,
        today: Date,
    ) -> Result<(), AccessError> {
        let a = self
            .user_slot(actor)
            .ok_or(AccessError::UnknownUser(actor))?;
        if self.exempt(a) {
            return Ok(());
        }
        if actor == user {
            return Err(AccessError::SelfGrant { user: actor });
        }
        let u = self.user_slot(user).ok_or(AccessError::UnknownUser(user))?;
        let grantees: BTreeSet<u32> = [u].into();
        for (role_id, scope) in carried {
            let role = self
                .data
                .roles
                .get(&role_id)
                .ok_or_else(|| AccessError::UnknownRole(role_id.to_string()))?;
            let grant = Grant {
                id: super::grant::GrantId::new(),
                principal: Principal::User(user),
                role: role_id,
                scope,
            };
            self.check_delegation(a, actor, role, &grant, &grantees, today)?;
        }
        Ok(())
    }

    /// Nesting `group` under `new_parent` makes every member of `group` and of the groups inside
    /// it a member of the new parent's chain: checked like adding each of them there.
    pub fn validate_nesting(
        &self,
        actor: UserId,
        group: crate::ids::GroupId,
        new_parent: crate::ids::GroupId,
        today: Date,
    ) -> Result<(), AccessError> {
        let inside = |mut g: crate::ids::GroupId| {
            let mut seen = BTreeSet::new();
            loop {
                if g == group {
                    return true;
                }
                if !seen.insert(g) {
                    return false;
                }
                match self.data.groups.get(&g).and_then(|x| x.parent) {
                    Some(p) => g = p,
                    None => return false,
                }
            }
        };
        let moved: BTreeSet<UserId> = self
            .data
            .memberships
            .iter()
            .filter(|(_, g)| inside(*g))
            .map(|(u, _)| *u)
            .collect();
        for user in moved {
            self.validate_membership(actor, user, new_parent, today)?;
        }
        Ok(())
    }

    /// Superadmin is unlimited, so it is guarded like the delegation rule guards roles: only a
    /// superadmin may create one, mint a token acting as one, or change a superadmin's account
    /// (password, login, status). `target` is `None` when creating a user.
    pub fn validate_superadmin_reach(
        &self,
        actor: UserId,
        target: Option<UserId>,
        makes_superadmin: bool,
    ) -> Result<(), AccessError> {
        let target_is_exempt = target.is_some_and(|t| self.is_exempt(t));
        if (makes_superadmin && !self.is_superadmin(actor))
            || (target_is_exempt && !self.is_exempt(actor))
        {
            return Err(AccessError::SuperadminOnly { user: actor });
        }
        Ok(())
    }

    /// Resetting someone's password, changing their login or minting a token that acts as them
    /// hands the actor everything the target holds. So it is allowed only to someone who could
    /// grant all of it to the target (the delegation rule, source by source), or to a superadmin
    /// or the owner; superadmin and owner accounts only to those. Acting on oneself is fine.
    pub fn validate_takeover(
        &self,
        actor: UserId,
        target: UserId,
        today: Date,
    ) -> Result<(), AccessError> {
        if actor == target {
            return Ok(());
        }
        let a = self
            .user_slot(actor)
            .ok_or(AccessError::UnknownUser(actor))?;
        if self.exempt(a) {
            return Ok(());
        }
        let t = self
            .user_slot(target)
            .ok_or(AccessError::UnknownUser(target))?;
        if self.exempt(t) {
            return Err(AccessError::SuperadminOnly { user: actor });
        }
        let grantees: BTreeSet<u32> = [t].into();
        let mut seen = BTreeSet::new();
        for held in self.effective(target)? {
            if !seen.insert((held.basis.role, held.basis.scope)) {
                continue;
            }
            let role = self
                .data
                .roles
                .get(&held.basis.role)
                .ok_or_else(|| AccessError::UnknownRole(held.basis.role.to_string()))?;
            let grant = Grant {
                id: super::grant::GrantId::new(),
                principal: Principal::User(target),
                role: held.basis.role,
                scope: held.basis.scope,
            };
            self.check_delegation(a, actor, role, &grant, &grantees, today)?;
        }
        Ok(())
    }

    /// Superadmins and the owner may grant anything.
    pub fn is_exempt(&self, user: UserId) -> bool {
        self.user_slot(user).is_some_and(|u| self.exempt(u))
    }

    fn exempt(&self, u: u32) -> bool {
        let slot = &self.users[u as usize];
        slot.user.superadmin
            || slot.compiled.sources.iter().any(|s| {
                s.scope == Scope::Platform && self.data.roles.get(&s.role).is_some_and(|r| r.owner)
            })
    }

    fn check_delegation(
        &self,
        g: u32,
        granter: UserId,
        role: &Role,
        grant: &Grant,
        grantees: &BTreeSet<u32>,
        today: Date,
    ) -> Result<(), AccessError> {
        if self.status_blocks(g, today) {
            return Err(AccessError::MissingPermission {
                user: granter,
                permission: Permission::RolesAssign,
                target: format!("{} (the granter cannot log in)", grant.scope),
            });
        }
        if self.exempt(g) {
            return Ok(());
        }
        // The right to grant at all, at this scope.
        let assign_target = match grant.scope {
            Scope::Object(o) => o,
            Scope::Platform | Scope::PublicGroups => ObjectRef::tenant(self.data.tenant),
        };
        let may_assign = check_applies(Permission::RolesAssign, assign_target.kind).is_ok()
            && self
                .obj_slot(&assign_target)
                .is_some_and(|o| self.allowed(g, Permission::RolesAssign, o, today));
        if !may_assign {
            return Err(AccessError::MissingPermission {
                user: granter,
                permission: Permission::RolesAssign,
                target: assign_target.to_string(),
            });
        }
        // Everything the role gives must be covered by what the granter holds there.
        let mut missing = BTreeSet::new();
        for cap in &role.capabilities {
            if !self.covers_capability(g, *cap, grant.scope, grantees) {
                missing.insert(*cap);
            }
        }
        // A responsibility extends the holder's platform-wide `assigned` permissions to the
        // scope: the granter must hold those there too.
        if role.assigns && grant.scope != Scope::Platform {
            for u in grantees {
                for e in &self.users[*u as usize].compiled.entries {
                    if e.scope == PLATFORM
                        && e.reach == Reach::Assigned
                        && !self.holds_at(g, e.perm, grant.scope)
                    {
                        missing.insert(Capability::new(e.perm, Reach::Assigned));
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AccessError::Delegation {
                granter,
                role: role.code.to_string(),
                scope: grant.scope,
                missing: missing.into_iter().collect(),
            })
        }
    }

    fn status_blocks(&self, u: u32, today: Date) -> bool {
        !self.effective_status(u, today).may_log_in()
    }

    /// Whether `user` may do `permission` to every object of the tenant (a superadmin, or the
    /// permission with tenant reach at platform scope). Answers that could reveal what exists
    /// (an unknown username, say) are given only to such users.
    pub fn reaches_everything(&self, user: UserId, permission: Permission) -> bool {
        self.user_slot(user).is_some_and(|u| {
            self.users[u as usize].user.superadmin || self.tenant_wide(u, permission)
        })
    }

    fn tenant_wide(&self, g: u32, p: Permission) -> bool {
        self.entries(g, p)
            .iter()
            .any(|e| e.scope == PLATFORM && e.reach == Reach::Tenant)
    }

    /// Whether the granter may do `p` on everything inside `scope` through a scope.
    fn holds_at(&self, g: u32, p: Permission, scope: Scope) -> bool {
        match scope {
            Scope::Platform | Scope::PublicGroups => self.tenant_wide(g, p),
            Scope::Object(o) => self
                .obj_slot(&o)
                .is_some_and(|o| self.through_scope(g, p, o)),
        }
    }

    fn covers_capability(
        &self,
        g: u32,
        cap: Capability,
        scope: Scope,
        grantees: &BTreeSet<u32>,
    ) -> bool {
        match scope {
            Scope::Platform => {
                let lattice = self
                    .entries(g, cap.permission)
                    .iter()
                    .any(|e| e.scope == PLATFORM && e.reach.covers(cap.reach));
                if !lattice {
                    return false;
                }
                if cap.reach != Reach::Assigned || self.tenant_wide(g, cap.permission) {
                    return true;
                }
                // Platform-wide `assigned` reaches the grantee's responsibilities at once: the
                // granter must hold the permission on each of them.
                grantees.iter().all(|u| {
                    let c = &self.users[*u as usize].compiled;
                    !c.assigned_public
                        && c.assigned
                            .iter()
                            .all(|a| self.through_scope(g, cap.permission, *a))
                })
            }
            Scope::PublicGroups | Scope::Object(_) => self.holds_at(g, cap.permission, scope),
        }
    }

    /// Checks that `actor` may set `target`'s status: not their own, not an expired account
    /// (its expiry date decides), and only with `users.status` on the target.
    pub fn validate_status_change(
        &self,
        actor: UserId,
        target: UserId,
        today: Date,
    ) -> Result<(), AccessError> {
        self.status_rule(actor, target, false, today)
    }

    /// The status rule, for a change that moves the expiry date (`moves_expiry`) or not. An
    /// expired account keeps the status it had; moving its date restores that status (nobody
    /// is activated by it), so that is the one change an expired account takes.
    fn status_rule(
        &self,
        actor: UserId,
        target: UserId,
        moves_expiry: bool,
        today: Date,
    ) -> Result<(), AccessError> {
        if actor == target {
            return Err(AccessError::SelfStatusChange { user: actor });
        }
        let t = self
            .user_slot(target)
            .ok_or(AccessError::UnknownUser(target))?;
        if !moves_expiry && self.effective_status(t, today) == crate::user::EffectiveStatus::Expired
        {
            return Err(AccessError::ExpiredStatusChange { user: target });
        }
        let obj = ObjectRef::user(target);
        if !self.allows(actor, Permission::UsersStatus, &obj, today)? {
            return Err(AccessError::MissingPermission {
                user: actor,
                permission: Permission::UsersStatus,
                target: obj.to_string(),
            });
        }
        self.validate_not_outranked(actor, target)
    }

    /// Deactivating someone (or moving their expiry) locks them out, so nobody may do it to a
    /// person who holds a power over access or the tenant (a permission flagged privilege or
    /// configuration) that they do not hold themselves: a training coordinator may not lock out
    /// the LMS administrator whose system configuration she lacks, while anyone with the status
    /// right may lock out a learner. Superadmins and the owner are exempt.
    fn validate_not_outranked(&self, actor: UserId, target: UserId) -> Result<(), AccessError> {
        if self.is_exempt(actor) {
            return Ok(());
        }
        if self.is_exempt(target) {
            return Err(AccessError::SuperadminOnly { user: actor });
        }
        let held: BTreeSet<Permission> = self
            .effective(actor)?
            .iter()
            .map(|h| h.permission)
            .collect();
        let missing: BTreeSet<Permission> = self
            .effective(target)?
            .iter()
            .map(|h| h.permission)
            .filter(|p| (p.risk().privilege || p.risk().config) && !held.contains(p))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(AccessError::OutrankedStatusChange {
            user: actor,
            target,
            missing: missing
                .iter()
                .map(|p| p.code())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The one rule on changing a person's account, asked alike by the JSON API, SCIM and the
    /// CSV import (each asks `users.edit` on the person first): a new login (username or
    /// email) is a way into the account, so it needs the takeover rule; anything else on a
    /// superadmin's or the owner's account needs one of them; a status or expiry change needs
    /// the status rule.
    pub fn validate_user_change(
        &self,
        actor: UserId,
        target: UserId,
        change: UserChange,
        today: Date,
    ) -> Result<Authorized, AccessError> {
        if change.login {
            self.validate_takeover(actor, target, today)?;
        } else {
            self.validate_superadmin_reach(actor, Some(target), false)?;
        }
        if change.status || change.expiry {
            self.status_rule(actor, target, change.expiry, today)?;
        }
        Ok(Authorized::new(actor))
    }

    /// The roles `creator` receives at `object` for creating it: every role given to creators
    /// that may be granted at that kind of object and that they are eligible for (the author of
    /// a new course in the group-roles preset). The engine's gift, not the creator's grant, so
    /// the delegation rule does not apply; the object is new, so no holder limit is reached.
    pub fn creator_roles(&self, creator: UserId, kind: ObjectKind) -> Vec<RoleId> {
        let Some(u) = self.user_slot(creator) else {
            return vec![];
        };
        let Some(scope_kind) = super::role::ScopeKind::of_object(kind) else {
            return vec![];
        };
        self.data
            .roles
            .values()
            .filter(|r| r.constraints.to_creator && r.scopes.contains(&scope_kind))
            .filter(|r| r.feature.is_none_or(|f| self.feature(f)))
            .filter(|r| self.check_holder(u, r).is_ok())
            .map(|r| r.id)
            .collect()
    }

    /// Changing `learner`'s level in `course` to `role` (seed 002: the level is changed on an
    /// existing enrollment): the level they held there is revoked and the new one granted, each
    /// decided as revoking and granting are. Nothing changes when they hold it already.
    pub fn change_course_level(
        &self,
        actor: UserId,
        learner: UserId,
        course: ObjectRef,
        role: RoleId,
        today: Date,
    ) -> Result<(CourseLevelChange, Authorized), AccessError> {
        let r = self
            .data
            .roles
            .get(&role)
            .ok_or_else(|| AccessError::UnknownRole(role.to_string()))?;
        if !r.constraints.course_level {
            return Err(AccessError::NotACourseLevel {
                role: r.code.to_string(),
            });
        }
        let scope = Scope::Object(course);
        let held: Vec<Grant> = self
            .data
            .grants
            .values()
            .filter(|g| g.principal == Principal::User(learner) && g.scope == scope)
            .filter(|g| {
                self.data
                    .roles
                    .get(&g.role)
                    .is_some_and(|r| r.constraints.course_level)
            })
            .copied()
            .collect();
        let new = Grant::new(Principal::User(learner), role, scope);
        let by = self.validate_grant(actor, &new, today)?;
        let mut change = CourseLevelChange::default();
        for old in held.iter().filter(|g| g.role != role) {
            self.validate_revoke(actor, old.id, today)?;
            change.revoked.push(*old);
        }
        if !held.iter().any(|g| g.role == role) {
            change.granted = Some(new);
        }
        Ok((change, by))
    }

    /// Revoking a grant takes away what it gave: it needs `roles.assign` where the grant
    /// applies, asked alike by hand and by the leaver policy. The owner's grant is handed over,
    /// never revoked, whoever asks.
    pub fn validate_revoke(
        &self,
        actor: UserId,
        grant: super::grant::GrantId,
        today: Date,
    ) -> Result<(Grant, Authorized), AccessError> {
        let g = *self
            .data
            .grants
            .get(&grant)
            .ok_or(AccessError::UnknownGrant(grant))?;
        if self.data.roles.get(&g.role).is_some_and(|r| r.owner) {
            return Err(AccessError::OwnerGrantRevoke);
        }
        self.require_assign(actor, g.scope, today)?;
        Ok((g, Authorized::new(actor)))
    }

    /// Detaching a policy takes away every grant it gives, so it is allowed to whoever could
    /// revoke each of them (`roles.assign` where each item applies), by hand and by the leaver
    /// policy alike.
    pub fn validate_detachment(
        &self,
        actor: UserId,
        policy: super::grant::PolicyId,
        principal: Principal,
        today: Date,
    ) -> Result<Authorized, AccessError> {
        if !self.data.attachments.contains(&(policy, principal)) {
            return Err(AccessError::NotAttached { policy, principal });
        }
        let p = self
            .data
            .policies
            .get(&policy)
            .ok_or(AccessError::UnknownPolicy(policy))?;
        for item in &p.items {
            self.require_assign(actor, item.scope, today)?;
        }
        Ok(Authorized::new(actor))
    }

    /// `roles.assign` where a grant at `scope` applies.
    fn require_assign(&self, actor: UserId, scope: Scope, today: Date) -> Result<(), AccessError> {
        let at = scope
            .object()
            .unwrap_or(ObjectRef::tenant(self.data.tenant));
        if self.allows(actor, Permission::RolesAssign, &at, today)? {
            Ok(())
        } else {
            Err(AccessError::MissingPermission {
                user: actor,
                permission: Permission::RolesAssign,
                target: at.to_string(),
            })
        }
    }

    /// A role may be deleted only while nothing rests on it: no grant, no policy item, no
    /// tenant setting (default or former-owner role), and it is not the owner role.
    pub fn validate_role_deletion(&self, role: RoleId) -> Result<(), AccessError> {
        let r = self
            .data
            .roles
            .get(&role)
            .ok_or_else(|| AccessError::UnknownRole(role.to_string()))?;
        let grants = self.data.grants.values().filter(|g| g.role == role).count();
        let items = self
            .data
            .policies
            .values()
            .flat_map(|p| &p.items)
            .filter(|i| i.role == role)
            .count();
        let setting = self.data.settings.default_role == Some(role)
            || self.data.settings.former_owner_role == Some(role)
            || r.owner;
        if grants > 0 || items > 0 || setting {
            return Err(AccessError::RoleInUse {
                role: r.code.to_string(),
                grants,
                items,
                setting,
            });
        }
        Ok(())
    }

    /// An enrollment's status is set by hand only on someone else's enrollment: one's own
    /// follows one's learning activity (a learner never certifies themselves, whatever rights
    /// they hold on the course).
    pub fn validate_enrollment_status_change(
        &self,
        actor: UserId,
        learner: UserId,
    ) -> Result<(), AccessError> {
        if actor == learner {
            return Err(AccessError::SelfEnrollmentStatus { user: actor });
        }
        Ok(())
    }

    /// Checks a new line-management link: not oneself, and only active accounts are managed.
    pub fn validate_manager(
        &self,
        manager: UserId,
        managee: UserId,
        today: Date,
    ) -> Result<(), AccessError> {
        if manager == managee {
            return Err(AccessError::SelfManager(manager));
        }
        self.user_slot(manager)
            .ok_or(AccessError::UnknownUser(manager))?;
        let e = self
            .user_slot(managee)
            .ok_or(AccessError::UnknownUser(managee))?;
        if self.status_blocks(e, today) {
            return Err(AccessError::InactiveManagee { managee });
        }
        Ok(())
    }

    /// The changes that hand ownership from `from` to `to`: the owner grant moves, and the old
    /// owner keeps the tenant's former-owner role (Admin) at platform scope. Only the owner hands
    /// it over: the proof names them.
    pub fn hand_over_ownership(
        &self,
        from: UserId,
        to: UserId,
        today: Date,
    ) -> Result<(Vec<Change>, Authorized), AccessError> {
        let owner_role = self
            .data
            .roles
            .values()
            .find(|r| r.owner)
            .ok_or(AccessError::NoOwnerRole)?;
        let demote_to = self
            .data
            .settings
            .former_owner_role
            .ok_or(AccessError::NoOwnerRole)?;
        let old = self
            .data
            .grants
            .values()
            .find(|g| {
                g.role == owner_role.id
                    && g.principal == Principal::User(from)
                    && g.scope == Scope::Platform
            })
            .ok_or(AccessError::NotOwner(from))?;
        if from == to {
            return Err(AccessError::SelfGrant { user: from });
        }
        let t = self.user_slot(to).ok_or(AccessError::UnknownUser(to))?;
        if self.status_blocks(t, today) {
            return Err(AccessError::InactiveManagee { managee: to });
        }
        let changes = vec![
            Change::RemoveGrant { grant: old.id },
            Change::UpsertGrant(Grant::new(
                Principal::User(to),
                owner_role.id,
                Scope::Platform,
            )),
            Change::UpsertGrant(Grant::new(
                Principal::User(from),
                demote_to,
                Scope::Platform,
            )),
        ];
        Ok((changes, Authorized::new(from)))
    }
}
