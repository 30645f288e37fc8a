//! Fixtures shared by the fuzz targets: sample SCIM resources as the feed renders them, and a
//! small tenant for the engine.

use registrar_domain::access::presets::PresetData;
use registrar_domain::access::{
    AccessGroup, AccessModel, AccessUser, Change, LearningObject, ObjectId, ObjectKind, ObjectRef,
};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::tenant::Preset;
use registrar_domain::user::UserStatus;
use serde_json::{Value, json};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// What the feed knows of the sample user besides their JSON: the values its store lookups
/// compare (the username and kept email as stored, the external id as sent).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub username: &'static str,
    pub email: &'static str,
    pub external_id: &'static str,
    pub display_name: &'static str,
    pub json: Value,
}

/// A user as `scim::users::render` shows one: two addresses (the primary one is the email
/// Registrar keeps), a name, groups (read-only) and an enterprise manager.
pub fn scim_user() -> UserRecord {
    UserRecord {
        username: "ann.lee",
        email: "ann@example.com",
        external_id: "E-1",
        display_name: "Ann Lee",
        json: json!({
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "id": "0190c0de-0000-7000-8000-000000000001",
            "userName": "ann.lee",
            "externalId": "E-1",
            "displayName": "Ann Lee",
            "active": true,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [
                {"value": "ann@example.com", "type": "work", "primary": true},
                {"value": "ann.lee@home.example", "type": "home"}
            ],
            "groups": [{
                "value": "0190c0de-0000-7000-8000-0000000000a1",
                "display": "Sales",
                "$ref": "https://r.example/scim/v2/Groups/0190c0de-0000-7000-8000-0000000000a1"
            }],
            "meta": {
                "resourceType": "User",
                "created": "2026-01-02T03:04:05.006Z",
                "lastModified": "2026-11-23T10:00:00.000Z",
                "location": "https://r.example/scim/v2/Users/0190c0de-0000-7000-8000-000000000001",
                "version": "W/\"3\""
            },
            ENTERPRISE_USER: {"manager": {
                "value": "0190c0de-0000-7000-8000-000000000002",
                "$ref": "https://r.example/scim/v2/Users/0190c0de-0000-7000-8000-000000000002"
            }}
        }),
    }
}

/// A group as `scim::groups` shows one.
#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub name: &'static str,
    pub external_id: &'static str,
    pub json: Value,
}

pub fn scim_group() -> GroupRecord {
    GroupRecord {
        name: "Sales Team",
        external_id: "G-7",
        json: json!({
            "schemas": [CORE_GROUP],
            "id": "0190c0de-0000-7000-8000-0000000000a1",
            "externalId": "G-7",
            "displayName": "Sales Team",
            "members": [
                {"value": "0190c0de-0000-7000-8000-000000000001",
                 "$ref": "https://r.example/scim/v2/Users/0190c0de-0000-7000-8000-000000000001",
                 "display": "Ann Lee"},
                {"value": "0190c0de-0000-7000-8000-000000000003"}
            ],
            "meta": {
                "resourceType": "Group",
                "created": "2026-01-02T03:04:05.006Z",
                "lastModified": "2026-01-02T03:04:05.006Z",
                "location": "https://r.example/scim/v2/Groups/0190c0de-0000-7000-8000-0000000000a1",
                "version": "W/\"1\""
            }
        }),
    }
}

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0190c0de_0000_7000_8000_000000000000 | n)
}

/// A small tenant with fixed ids, so seeds can name its objects.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub tenant: TenantId,
    /// A superadmin (the importer, the caller of checks).
    pub admin: UserId,
    /// An ordinary member of `group`.
    pub learner: UserId,
    /// A deactivated user.
    pub gone: UserId,
    pub group: GroupId,
    pub course: ObjectRef,
    pub session: ObjectRef,
    pub model: AccessModel,
}

/// `user:…01` admin, `…02` learner, `…03` deactivated; `group:…a1`; `course:…c1` in the group,
/// `session:…d1` in the course; the tenant is `…f0`. Built from `preset`'s roles.
pub fn tenant(preset: Preset) -> Tenant {
    let tenant = TenantId::from_uuid(id(0xf0));
    let (admin, learner, gone) = (
        UserId::from_uuid(id(1)),
        UserId::from_uuid(id(2)),
        UserId::from_uuid(id(3)),
    );
    let group = GroupId::from_uuid(id(0xa1));
    let course = ObjectRef::new(ObjectKind::Course, ObjectId::from_uuid(id(0xc1)));
    let session = ObjectRef::new(ObjectKind::Session, ObjectId::from_uuid(id(0xd1)));
    let mut model = PresetData::for_preset(preset)
        .model(tenant)
        .expect("the preset applies");
    let mut changes = vec![
        Change::UpsertUser(AccessUser {
            superadmin: true,
            ..AccessUser::active(admin)
        }),
        Change::UpsertUser(AccessUser::active(learner)),
        Change::UpsertUser(AccessUser {
            status: UserStatus::Deactivated,
            ..AccessUser::active(gone)
        }),
        Change::UpsertGroup(AccessGroup {
            id: group,
            parent: None,
            public: true,
        }),
        Change::AddMember {
            user: learner,
            group,
        },
        Change::AddManager {
            manager: admin,
            managee: learner,
            by_feed: false,
        },
    ];
    changes.push(Change::UpsertObject(LearningObject {
        parent: Some(ObjectRef::group(group)),
        published: true,
        instructor_led: true,
        ..LearningObject::new(course)
    }));
    changes.push(Change::UpsertObject(LearningObject {
        parent: Some(course),
        ..LearningObject::new(session)
    }));
    for c in &changes {
        model.apply(c).expect("the fixture applies");
    }
    Tenant {
        tenant,
        admin,
        learner,
        gone,
        group,
        course,
        session,
        model,
    }
}
