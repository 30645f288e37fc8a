//! A small tenant builder for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use registrar_domain::access::*;
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::tenant::Preset;
use registrar_domain::user::UserStatus;
use time::Date;
use time::macros::date;

pub const TODAY: Date = date!(2026 - 05 - 01);

pub struct World {
    pub model: AccessModel,
    pub tenant: TenantId,
}

impl World {
    pub fn new(preset: Preset) -> Self {
        let tenant = TenantId::new();
        let model = PresetData::for_preset(preset).model(tenant).unwrap();
        Self { model, tenant }
    }

    pub fn apply(&mut self, c: Change) {
        self.model.apply(&c).unwrap();
    }

    pub fn tenant_ref(&self) -> ObjectRef {
        ObjectRef::tenant(self.tenant)
    }

    pub fn user(&mut self) -> UserId {
        let id = UserId::new();
        self.apply(Change::UpsertUser(AccessUser::active(id)));
        id
    }

    pub fn superadmin(&mut self) -> UserId {
        let id = UserId::new();
        let mut u = AccessUser::active(id);
        u.superadmin = true;
        self.apply(Change::UpsertUser(u));
        id
    }

    pub fn set_status(&mut self, id: UserId, status: UserStatus, expires_on: Option<Date>) {
        let mut u = self.model.data().users[&id];
        u.status = status;
        u.expires_on = expires_on;
        self.apply(Change::UpsertUser(u));
    }

    pub fn group(&mut self, parent: Option<GroupId>, public: bool) -> GroupId {
        let id = GroupId::new();
        self.apply(Change::UpsertGroup(AccessGroup { id, parent, public }));
        id
    }

    pub fn member(&mut self, user: UserId, group: GroupId) {
        self.apply(Change::AddMember { user, group });
    }

    pub fn manages(&mut self, manager: UserId, managee: UserId) {
        self.apply(Change::AddManager {
            manager,
            managee,
            by_feed: false,
        });
    }

    pub fn object(&mut self, kind: ObjectKind, parent: Option<ObjectRef>) -> ObjectRef {
        let r = ObjectRef::new(kind, ObjectId::new());
        let mut o = LearningObject::new(r);
        o.parent = parent;
        self.apply(Change::UpsertObject(o));
        r
    }

    pub fn course(&mut self, group: Option<GroupId>) -> ObjectRef {
        self.object(ObjectKind::Course, group.map(ObjectRef::group))
    }

    pub fn course_with(
        &mut self,
        group: Option<GroupId>,
        published: bool,
        instructor_led: bool,
        created_by: Option<UserId>,
    ) -> ObjectRef {
        let r = ObjectRef::new(ObjectKind::Course, ObjectId::new());
        let mut o = LearningObject::new(r);
        o.parent = group.map(ObjectRef::group);
        o.published = published;
        o.instructor_led = instructor_led;
        o.created_by = created_by;
        self.apply(Change::UpsertObject(o));
        r
    }

    pub fn created(&mut self, kind: ObjectKind, by: UserId) -> ObjectRef {
        let r = ObjectRef::new(kind, ObjectId::new());
        let mut o = LearningObject::new(r);
        o.created_by = Some(by);
        self.apply(Change::UpsertObject(o));
        r
    }

    pub fn enroll(&mut self, user: UserId, course: ObjectRef, status: EnrollmentStatus) {
        self.apply(Change::SetEnrollment {
            user,
            course: course.id,
            status,
        });
    }

    pub fn role(&self, code: &str) -> RoleId {
        self.model
            .role_by_code(code)
            .unwrap_or_else(|| panic!("no role {code}"))
            .id
    }

    pub fn grant_to(&mut self, principal: Principal, code: &str, scope: Scope) -> GrantId {
        let g = Grant::new(principal, self.role(code), scope);
        self.apply(Change::UpsertGrant(g));
        g.id
    }

    pub fn grant(&mut self, user: UserId, code: &str, scope: Scope) -> GrantId {
        self.grant_to(Principal::User(user), code, scope)
    }

    pub fn platform(&mut self, user: UserId, code: &str) -> GrantId {
        self.grant(user, code, Scope::Platform)
    }

    /// Validates as `granter` first, then applies; returns the validation error if any.
    pub fn delegate(
        &mut self,
        granter: UserId,
        user: UserId,
        code: &str,
        scope: Scope,
    ) -> Result<GrantId, AccessError> {
        let g = Grant::new(Principal::User(user), self.role(code), scope);
        self.model.validate_grant(granter, &g, TODAY)?;
        self.apply(Change::UpsertGrant(g));
        Ok(g.id)
    }

    pub fn can(&self, user: UserId, p: Permission, o: ObjectRef) -> bool {
        self.model.allows(user, p, &o, TODAY).unwrap()
    }

    pub fn list(&self, user: UserId, p: Permission, kind: ObjectKind) -> Vec<ObjectRef> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .model
                .objects_for(user, p, kind, after, 2, TODAY)
                .unwrap();
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return out,
            }
        }
    }
}

pub fn sorted(mut v: Vec<ObjectRef>) -> Vec<ObjectRef> {
    v.sort();
    v
}

pub fn obj(u: UserId) -> ObjectRef {
    ObjectRef::user(u)
}
