//! The store contract: every test runs on SQLite, and again on PostgreSQL when `DATABASE_URL`
//! names a server (a fresh database per test).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use registrar_domain::access::{
    AccessData, AccessModel, Act, Change, EnrollmentStatus, Feature, ObjectId,
};
use registrar_domain::ids::{GroupId, TenantId, TokenId, UserId};
use registrar_domain::lifecycle::{
    Activity, AppAccess, CourseType, EnrollmentPolicy, InvitationTemplate, LifecycleError,
};
use registrar_domain::session::{BookingStatus, SessionKind};
use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Username};
use registrar_domain::user::UserStatus;
use registrar_store::testing::{Kind, TestDatabase, postgres_url};
use registrar_store::*;
use time::macros::date;

/// Declares one async test per backend. The PostgreSQL variant reports itself skipped when no
/// server is configured, so the SQLite run stays self-contained.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Kind::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() {
                if super::postgres_url().is_none() {
                    eprintln!("skipped: DATABASE_URL does not name a PostgreSQL server");
                    return;
                }
                super::$name(super::Kind::Postgres).await
            })*
        }
    };
}

contract!(
    tenants_have_unique_slugs,
    a_tenant_and_its_first_admin_are_created_together_or_not_at_all,
    users_are_created_read_and_listed,
    usernames_and_emails_are_unique_per_tenant,
    updates_change_only_the_patched_fields_and_are_audited,
    nothing_of_one_tenant_is_visible_from_another,
    groups_nest_without_cycles,
    membership_is_idempotent_and_audited,
    line_management_links_users_of_one_tenant,
    tokens_are_found_by_secret_hash_until_they_expire_or_are_revoked,
    the_change_log_is_ordered_and_never_holds_password_hashes,
    a_preset_tenant_starts_with_its_roles_groups_and_policies_in_the_access_log,
    every_write_carries_its_engine_changes,
    an_append_validated_against_an_old_revision_is_refused,
    enrollments_follow_capacity_and_the_approval_policy,
    learning_activity_moves_the_enrollment_and_activates_the_learner,
    statuses_set_by_hand_are_refused_only_where_they_cannot_be_and_write_nothing,
    learning_plans_keep_their_course_order,
    a_bulk_status_change_is_all_or_nothing,
    app_access_settings_and_the_outbox_round_trip,
    an_enrollment_and_its_role_are_written_together_or_not_at_all,
    bookings_move_the_enrollment_and_attendance_completes_it,
    people_are_listed_by_their_effective_status_and_by_name,
    names_sort_without_case_or_accents_and_old_rows_are_keyed_as_the_store_opens,
);

/// Sorting by name folds case and accents (the domain's `Name::sort_key`), byte by byte on both
/// backends; people stored before the key existed get it when the store opens.
async fn names_sort_without_case_or_accents_and_old_rows_are_keyed_as_the_store_opens(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let cli = Actor::cli();
    for (name, display) in [
        ("u1", "zoe Zimmer"),
        ("u2", "Émile Zola"),
        ("u3", "adam Smith"),
        ("u4", "ELODIE Roux"),
        ("u5", "Bea Ann"),
        ("u6", "émile zola"),
        ("u7", "ann lee"),
        ("u8", "Anna"),
    ] {
        let new = NewUser {
            display_name: Name::parse("display name", display).unwrap(),
            ..new_user(name, None)
        };
        f.store.create_user(&cli, t, new).await.unwrap();
    }
    let expected = ["u3", "u7", "u8", "u5", "u4", "u2", "u6", "u1"];
    let by_name = PeopleQuery {
        status: None,
        by_name: true,
    };
    let walk = |store: Arc<dyn Store>| async move {
        let mut seen = Vec::new();
        let mut request = PageRequest::first(3);
        loop {
            let page = store
                .list_people(t, &request, &by_name, date!(2026 - 06 - 15))
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|u| u.username.to_string()));
            match page.next {
                Some(next) => request.after = Some(next),
                None => return seen,
            }
        }
    };
    assert_eq!(walk(f.store.clone()).await, expected);
    // As a database from before migration 0009 would be: no keys.
    let forget = "UPDATE users SET name_key = NULL";
    match kind {
        Kind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&f._db.url).await.unwrap();
            sqlx::query(forget).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Kind::Postgres => {
            let pool = sqlx::PgPool::connect(&f._db.url).await.unwrap();
            sqlx::query(forget).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    let reopened = connect(&f._db.url).await.unwrap();
    assert_eq!(walk(reopened).await, expected);
}

/// The people list's status filter and sort run in the database with the domain's rule: past
/// its last day an account is expired, whatever its stored status.
async fn people_are_listed_by_their_effective_status_and_by_name(kind: Kind) {
    use registrar_domain::user::EffectiveStatus as S;
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let cli = Actor::cli();
    let today = date!(2026 - 06 - 15);
    for (name, display, status, expires_on) in [
        ("ann", "Zoe Ann", UserStatus::Activated, None),
        (
            "bob",
            "Yves Bob",
            UserStatus::Deactivated,
            Some(date!(2030 - 01 - 01)),
        ),
        (
            "cid",
            "Xena Cid",
            UserStatus::Activated,
            Some(date!(2026 - 06 - 14)),
        ),
        (
            "dee",
            "Walt Dee",
            UserStatus::Deactivated,
            Some(date!(2020 - 01 - 01)),
        ),
        (
            "eve",
            "Walt Dee",
            UserStatus::Active,
            Some(date!(2026 - 06 - 15)),
        ),
    ] {
        let new = NewUser {
            status,
            expires_on,
            display_name: Name::parse("display name", display).unwrap(),
            ..new_user(name, None)
        };
        f.store.create_user(&cli, t, new).await.unwrap();
    }
    let names = |page: Page<registrar_domain::user::User>| -> Vec<String> {
        page.items.iter().map(|u| u.username.to_string()).collect()
    };
    let all = PageRequest::first(50);
    let only = |status| PeopleQuery {
        status: Some(status),
        by_name: false,
    };
    for (status, expected) in [
        (S::Activated, vec!["ann"]),
        (S::Active, vec!["eve"]),
        (S::Deactivated, vec!["bob"]),
        (S::Expired, vec!["cid", "dee"]),
    ] {
        let got = f
            .store
            .list_people(t, &all, &only(status), today)
            .await
            .unwrap();
        assert_eq!(names(got), expected, "{status:?}");
    }
    // Paged and searched as the plain list is.
    let first = PageRequest::first(1);
    let page = f
        .store
        .list_people(t, &first, &only(S::Expired), today)
        .await
        .unwrap();
    assert_eq!(names(page.clone()), ["cid"]);
    let next = PageRequest {
        after: page.next,
        ..first
    };
    let page = f
        .store
        .list_people(t, &next, &only(S::Expired), today)
        .await
        .unwrap();
    assert_eq!(names(page), ["dee"]);
    let search = PageRequest {
        search: Some("de".into()),
        ..all
    };
    let page = f
        .store
        .list_people(t, &search, &only(S::Expired), today)
        .await
        .unwrap();
    assert_eq!(names(page), ["dee"]);
    // By name, then username (two are Walt Dee), one to a page: everyone once, in order.
    let by_name = PeopleQuery {
        status: None,
        by_name: true,
    };
    let mut seen = Vec::new();
    let mut request = PageRequest::first(1);
    loop {
        let page = f
            .store
            .list_people(t, &request, &by_name, today)
            .await
            .unwrap();
        seen.extend(names(page.clone()));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["dee", "eve", "cid", "bob", "ann"]);
}

struct Fixture {
    store: Arc<dyn Store>,
    _db: TestDatabase,
}

async fn fixture(kind: Kind) -> Fixture {
    let db = TestDatabase::new(kind).await;
    let store = connect(&db.url).await.unwrap();
    Fixture { store, _db: db }
}

async fn tenant(store: &Arc<dyn Store>, slug: &str) -> TenantId {
    store
        .create_tenant(
            &Actor::cli(),
            NewTenant {
                slug: TenantSlug::parse(slug).unwrap(),
                name: Name::parse("name", slug).unwrap(),
                preset: Preset::ClassicLms,
            },
            None,
        )
        .await
        .unwrap()
        .0
        .id
}

/// `user` acting on themselves, as the engine allows anyone to (seeing oneself needs no grant):
/// the store's writes on behalf of a person take the engine's proof.
fn oneself(t: TenantId, user: UserId) -> Actor {
    let decision = AccessModel::new(t)
        .decide(user, &Act::ViewUser(user), date!(2026 - 01 - 01))
        .unwrap();
    Actor::from(decision.authorized().unwrap())
}

fn new_user(username: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: Username::parse(username).unwrap(),
        email: email.map(|e| Email::parse(e).unwrap()),
        display_name: Name::parse("display name", username).unwrap(),
        labels: Labels::default(),
        status: UserStatus::Activated,
        expires_on: None,
        primary_group: None,
        also_joins: Vec::new(),
        superadmin: false,
        password_hash: Some("$argon2id$fake".into()),
    }
}

async fn user(store: &Arc<dyn Store>, t: TenantId, username: &str) -> UserId {
    store
        .create_user(&Actor::cli(), t, new_user(username, None))
        .await
        .unwrap()
        .id
}

async fn group(
    store: &Arc<dyn Store>,
    t: TenantId,
    name: &str,
    parent: Option<GroupId>,
) -> GroupId {
    store
        .create_group(
            &Actor::cli(),
            t,
            NewGroup {
                name: Name::parse("name", name).unwrap(),
                description: String::new(),
                parent,
                public: false,
            },
        )
        .await
        .unwrap()
        .id
}

async fn tenants_have_unique_slugs(kind: Kind) {
    let f = fixture(kind).await;
    let id = tenant(&f.store, "acme").await;
    let again = f
        .store
        .create_tenant(
            &Actor::cli(),
            NewTenant {
                slug: TenantSlug::parse("acme").unwrap(),
                name: Name::parse("name", "Other").unwrap(),
                preset: Preset::Levels,
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::Conflict { field: "slug", value } if value == "acme"),
        "{again:?}"
    );
    let by_slug = f
        .store
        .tenant_by_slug(&TenantSlug::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(by_slug.id, id);
    assert_eq!(f.store.tenant(id).await.unwrap(), by_slug);
    tenant(&f.store, "beta").await;
    let page = f.store.list_tenants(&PageRequest::first(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let rest = f
        .store
        .list_tenants(&PageRequest {
            after: page.next.clone(),
            limit: 10,
            search: None,
        })
        .await
        .unwrap();
    assert_eq!(rest.items[0].slug.as_str(), "beta");
    assert_eq!(rest.next, None);
}

async fn users_are_created_read_and_listed(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let mut labels = BTreeMap::new();
    labels.insert("department".to_owned(), "Sales".to_owned());
    let created = f
        .store
        .create_user(
            &Actor::cli(),
            t,
            NewUser {
                labels: Labels::parse(labels).unwrap(),
                expires_on: Some(date!(2030 - 12 - 31)),
                ..new_user("ann", Some("Ann@Example.com"))
            },
        )
        .await
        .unwrap();
    let read = f.store.user(t, created.id).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.email.unwrap().as_str(), "ann@example.com");
    assert_eq!(read.expires_on, Some(date!(2030 - 12 - 31)));
    for name in ["bob", "carla", "dmitri", "eve"] {
        user(&f.store, t, name).await;
    }
    let mut seen = vec![];
    let mut after = None;
    loop {
        let page = f
            .store
            .list_users(
                t,
                &PageRequest {
                    after,
                    limit: 2,
                    search: None,
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|u| u.username.to_string()));
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["ann", "bob", "carla", "dmitri", "eve"]);
    let found = f
        .store
        .list_users(
            t,
            &PageRequest {
                after: None,
                limit: 10,
                search: Some("EXAMPLE.com".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let none = f
        .store
        .list_users(
            t,
            &PageRequest {
                after: None,
                limit: 10,
                search: Some("%".into()),
            },
        )
        .await
        .unwrap();
    assert!(none.items.is_empty(), "a % in a search is literal");
}

async fn usernames_and_emails_are_unique_per_tenant(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let other = tenant(&f.store, "other").await;
    f.store
        .create_user(&Actor::cli(), t, new_user("ann", Some("ann@example.com")))
        .await
        .unwrap();
    let dup_name = f
        .store
        .create_user(&Actor::cli(), t, new_user("ann", Some("x@example.com")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &dup_name,
            StoreError::Conflict {
                field: "username",
                ..
            }
        ),
        "{dup_name:?}"
    );
    let dup_email = f
        .store
        .create_user(&Actor::cli(), t, new_user("ann2", Some("ann@example.com")))
        .await
        .unwrap_err();
    assert!(
        matches!(&dup_email, StoreError::Conflict { field: "email", .. }),
        "{dup_email:?}"
    );
    // Another tenant may use both.
    f.store
        .create_user(
            &Actor::cli(),
            other,
            new_user("ann", Some("ann@example.com")),
        )
        .await
        .unwrap();
    // Users without email do not collide.
    user(&f.store, t, "nomail1").await;
    user(&f.store, t, "nomail2").await;
}

async fn updates_change_only_the_patched_fields_and_are_audited(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let g = group(&f.store, t, "Sales", None).await;
    let u = user(&f.store, t, "ann").await;
    let before = f.store.latest_revision().await.unwrap();
    let updated = f
        .store
        .update_user(
            &Actor::cli(),
            t,
            u,
            UserPatch {
                email: Some(Some(Email::parse("ann@new.io").unwrap())),
                primary_group: Some(Some(g)),
                status: Some(UserStatus::Deactivated),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.username.as_str(), "ann");
    assert_eq!(updated.primary_group, Some(g));
    assert_eq!(updated.status, UserStatus::Deactivated);
    assert_eq!(f.store.user(t, u).await.unwrap(), updated);
    let log = f.store.changes(Some(t), before, 10).await.unwrap();
    assert_eq!(log.len(), 2, "the update, and joining the primary group");
    assert_eq!(log[1].action, "group.member_added");
    assert_eq!(log[0].action, "user.updated");
    assert_eq!(log[0].before.as_ref().unwrap()["status"], "activated");
    assert_eq!(log[0].after.as_ref().unwrap()["status"], "deactivated");
    // A no-op patch writes nothing.
    f.store
        .update_user(&Actor::cli(), t, u, UserPatch::default())
        .await
        .unwrap();
    assert_eq!(f.store.changes(Some(t), before, 10).await.unwrap().len(), 2);
    // A missing primary group is named.
    let missing = f
        .store
        .update_user(
            &Actor::cli(),
            t,
            u,
            UserPatch {
                primary_group: Some(Some(GroupId::new())),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &missing,
            StoreError::MissingReference {
                field: "primary_group",
                ..
            }
        ),
        "{missing:?}"
    );
}

async fn nothing_of_one_tenant_is_visible_from_another(kind: Kind) {
    let f = fixture(kind).await;
    let a = tenant(&f.store, "alpha").await;
    let b = tenant(&f.store, "beta").await;
    let ua = user(&f.store, a, "ann").await;
    let ga = group(&f.store, a, "Alpha group", None).await;
    let ub = user(&f.store, b, "bob").await;
    assert!(matches!(
        f.store.user(b, ua).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        f.store.group(b, ga).await,
        Err(StoreError::NotFound { .. })
    ));
    let listed = f
        .store
        .list_users(b, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, ub);
    // No cross-tenant links, whichever way they are attempted.
    assert!(f.store.add_member(&Actor::cli(), b, ga, ub).await.is_err());
    assert!(f.store.add_member(&Actor::cli(), a, ga, ub).await.is_err());
    let cross = f
        .store
        .update_user(
            &Actor::cli(),
            b,
            ub,
            UserPatch {
                primary_group: Some(Some(ga)),
                ..UserPatch::default()
            },
        )
        .await;
    assert!(
        cross.is_err(),
        "a primary group of another tenant is refused"
    );
    let link = ManagerLink {
        manager: ua,
        managee: ub,
        source: ManagerSource::Explicit,
    };
    assert!(f.store.add_manager(&Actor::cli(), b, link).await.is_err());
    assert!(
        f.store
            .changes(Some(b), 0, 100)
            .await
            .unwrap()
            .iter()
            .all(|c| c.tenant == Some(b))
    );
}

async fn groups_nest_without_cycles(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let root = group(&f.store, t, "Company", None).await;
    let mid = group(&f.store, t, "Sales", Some(root)).await;
    let leaf = group(&f.store, t, "Sales North", Some(mid)).await;
    let cycle = f
        .store
        .update_group(
            &Actor::cli(),
            t,
            root,
            GroupPatch {
                parent: Some(Some(leaf)),
                ..GroupPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&cycle, StoreError::Rule(m) if m.contains("ancestor")),
        "{cycle:?}"
    );
    let missing = f
        .store
        .create_group(
            &Actor::cli(),
            t,
            NewGroup {
                name: Name::parse("name", "Orphan").unwrap(),
                description: String::new(),
                parent: Some(GroupId::new()),
                public: false,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &missing,
            StoreError::MissingReference {
                field: "parent",
                ..
            }
        ),
        "{missing:?}"
    );
    let moved = f
        .store
        .update_group(
            &Actor::cli(),
            t,
            leaf,
            GroupPatch {
                parent: Some(Some(root)),
                description: Some("moved".into()),
                ..GroupPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.parent, Some(root));
    assert_eq!(f.store.group(t, leaf).await.unwrap(), moved);
    let all = f
        .store
        .list_groups(t, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
}

async fn membership_is_idempotent_and_audited(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let g = group(&f.store, t, "Sales", None).await;
    let ann = user(&f.store, t, "ann").await;
    let bob = user(&f.store, t, "bob").await;
    assert!(f.store.add_member(&Actor::cli(), t, g, ann).await.unwrap());
    assert!(!f.store.add_member(&Actor::cli(), t, g, ann).await.unwrap());
    assert!(f.store.add_member(&Actor::cli(), t, g, bob).await.unwrap());
    let members = f
        .store
        .group_members(t, g, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(members.items[0].id, ann);
    assert!(members.next.is_some());
    assert_eq!(f.store.user_groups(t, bob).await.unwrap()[0].id, g);
    assert!(
        f.store
            .remove_member(&Actor::cli(), t, g, bob)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .remove_member(&Actor::cli(), t, g, bob)
            .await
            .unwrap()
    );
    let actions: Vec<String> = f
        .store
        .changes(Some(t), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.action)
        .filter(|a| a.starts_with("group.member"))
        .collect();
    assert_eq!(
        actions,
        [
            "group.member_added",
            "group.member_added",
            "group.member_removed"
        ]
    );
    let unknown = f
        .store
        .add_member(&Actor::cli(), t, g, UserId::new())
        .await
        .unwrap_err();
    assert!(matches!(
        unknown,
        StoreError::NotFound { entity: "user", .. }
    ));
}

async fn line_management_links_users_of_one_tenant(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let boss = user(&f.store, t, "boss").await;
    let ann = user(&f.store, t, "ann").await;
    let bob = user(&f.store, t, "bob").await;
    for managee in [ann, bob] {
        let link = ManagerLink {
            manager: boss,
            managee,
            source: ManagerSource::Feed,
        };
        assert!(f.store.add_manager(&Actor::cli(), t, link).await.unwrap());
    }
    assert_eq!(f.store.managees_of(t, boss).await.unwrap().len(), 2);
    let of_ann = f.store.managers_of(t, ann).await.unwrap();
    assert_eq!(of_ann[0].manager, boss);
    assert_eq!(of_ann[0].source, ManagerSource::Feed);
    let own = ManagerLink {
        manager: ann,
        managee: ann,
        source: ManagerSource::Explicit,
    };
    assert!(matches!(
        f.store.add_manager(&Actor::cli(), t, own).await,
        Err(StoreError::Rule(_))
    ));
    assert!(
        f.store
            .remove_manager(&Actor::cli(), t, boss, ann)
            .await
            .unwrap()
    );
    assert_eq!(f.store.managees_of(t, boss).await.unwrap().len(), 1);
}

async fn tokens_are_found_by_secret_hash_until_they_expire_or_are_revoked(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let other = tenant(&f.store, "other").await;
    let u = user(&f.store, t, "ann").await;
    let token = |hash: &str, expires_at| NewToken {
        id: TokenId::new(),
        tenant: Some(t),
        user: Some(u),
        kind: TokenKind::Api,
        name: "hr feed".into(),
        secret_hash: hash.into(),
        csrf_hash: None,
        expires_at,
    };
    let live = f
        .store
        .create_token(&Actor::cli(), token("h1", None))
        .await
        .unwrap();
    let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    f.store
        .create_token(&Actor::cli(), token("h2", Some(past)))
        .await
        .unwrap();
    assert_eq!(
        f.store
            .token_by_secret_hash("h1")
            .await
            .unwrap()
            .unwrap()
            .id,
        live.id
    );
    assert_eq!(f.store.token_by_secret_hash("h2").await.unwrap(), None);
    assert_eq!(f.store.token_by_secret_hash("nope").await.unwrap(), None);
    assert_eq!(f.store.list_api_tokens(t).await.unwrap().len(), 2);
    let foreign = f
        .store
        .revoke_token(&Actor::cli(), Some(other), live.id)
        .await;
    assert!(matches!(foreign, Err(StoreError::NotFound { .. })));
    f.store
        .revoke_token(&Actor::cli(), Some(t), live.id)
        .await
        .unwrap();
    assert_eq!(f.store.token_by_secret_hash("h1").await.unwrap(), None);
}

async fn the_change_log_is_ordered_and_never_holds_password_hashes(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let u = user(&f.store, t, "ann").await;
    f.store
        .set_password_hash(&oneself(t, u), t, u, "$argon2id$secret".into())
        .await
        .unwrap();
    assert_eq!(
        f.store.password_hash(t, u).await.unwrap().as_deref(),
        Some("$argon2id$secret")
    );
    let log = f.store.changes(Some(t), 0, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        ["tenant.created", "user.created", "user.password_set"]
    );
    assert!(log.windows(2).all(|w| w[0].revision < w[1].revision));
    assert_eq!(log[2].actor, format!("user:{u}"));
    let text = format!("{log:?}");
    assert!(
        !text.contains("argon2"),
        "password hashes stay out of the audit log"
    );
    assert_eq!(f.store.latest_revision().await.unwrap(), log[2].revision);
}

async fn a_tenant_and_its_first_admin_are_created_together_or_not_at_all(kind: Kind) {
    let f = fixture(kind).await;
    let new = |slug: &str| NewTenant {
        slug: TenantSlug::parse(slug).unwrap(),
        name: Name::parse("name", slug).unwrap(),
        preset: Preset::GroupRoles,
    };
    let admin = NewUser {
        also_joins: Vec::new(),
        superadmin: true,
        ..new_user("admin", Some("admin@acme.io"))
    };
    let (t, created) = f
        .store
        .create_tenant(&Actor::cli(), new("acme"), Some(admin.clone()))
        .await
        .unwrap();
    let created = created.unwrap();
    assert!(created.superadmin);
    assert_eq!(f.store.user(t.id, created.id).await.unwrap(), created);
    // The admin's insert fails (its primary group does not exist): the tenant is not kept either.
    let broken = NewUser {
        primary_group: Some(GroupId::new()),
        ..admin
    };
    let err = f
        .store
        .create_tenant(&Actor::cli(), new("broken"), Some(broken))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MissingReference { .. }),
        "{err:?}"
    );
    let gone = f
        .store
        .tenant_by_slug(&TenantSlug::parse("broken").unwrap())
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
}

async fn replay(store: &Arc<dyn Store>, tenant: TenantId) -> AccessData {
    let mut data = AccessData::new(tenant);
    for entry in store.access_log(0, 100_000).await.unwrap() {
        if entry.tenant == tenant {
            for change in &entry.changes {
                data.apply(change).unwrap();
            }
        }
    }
    data
}

async fn a_preset_tenant_starts_with_its_roles_groups_and_policies_in_the_access_log(kind: Kind) {
    let f = fixture(kind).await;
    let (tenant, _) = f
        .store
        .create_tenant(
            &Actor::cli(),
            NewTenant {
                slug: TenantSlug::parse("mg").unwrap(),
                name: Name::parse("name", "MG").unwrap(),
                preset: Preset::ManagementGroups,
            },
            None,
        )
        .await
        .unwrap();
    let data = replay(&f.store, tenant.id).await;
    assert!(!data.roles.is_empty() && !data.policies.is_empty() && !data.attachments.is_empty());
    // The preset's groups are ordinary group rows as well.
    let groups = f
        .store
        .list_groups(tenant.id, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(groups.items.len(), data.groups.len());
    assert!(groups.items.iter().all(|g| data.groups.contains_key(&g.id)));
}

async fn every_write_carries_its_engine_changes(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let g = group(&f.store, t, "Sales", None).await;
    let boss = user(&f.store, t, "boss").await;
    let ann = user(&f.store, t, "ann").await;
    f.store.add_member(&Actor::cli(), t, g, ann).await.unwrap();
    let link = ManagerLink {
        manager: boss,
        managee: ann,
        source: ManagerSource::Feed,
    };
    f.store.add_manager(&Actor::cli(), t, link).await.unwrap();
    f.store
        .update_user(
            &Actor::cli(),
            t,
            ann,
            UserPatch {
                status: Some(UserStatus::Deactivated),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    let data = replay(&f.store, t).await;
    assert!(data.memberships.contains(&(ann, g)));
    assert!(data.managers.contains(&(boss, ann)));
    assert_eq!(data.users[&ann].status, UserStatus::Deactivated);
    f.store
        .remove_member(&Actor::cli(), t, g, ann)
        .await
        .unwrap();
    f.store
        .remove_manager(&Actor::cli(), t, boss, ann)
        .await
        .unwrap();
    let data = replay(&f.store, t).await;
    assert!(data.memberships.is_empty() && data.managers.is_empty());
}

async fn an_append_validated_against_an_old_revision_is_refused(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let entry = |on| LogEntry {
        action: "feature.set",
        entity: "tenant",
        entity_id: t.to_string(),
        before: None,
        after: Some(serde_json::json!({ "on": on })),
        access: vec![Change::SetFeature {
            feature: Feature::SocialLearning,
            on,
        }],
    };
    let seen = f.store.tenant_revision(t).await.unwrap();
    let written = f
        .store
        .append(&Actor::cli(), t, Some(seen), vec![entry(true)])
        .await
        .unwrap();
    assert!(written > seen);
    let stale = f
        .store
        .append(&Actor::cli(), t, Some(seen), vec![entry(false)])
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::Stale { expected, actual } if expected == seen && actual == written)
    );
    assert!(
        replay(&f.store, t)
            .await
            .features
            .contains(&Feature::SocialLearning)
    );
    let audit = f.store.changes(Some(t), seen, 10).await.unwrap();
    assert_eq!(audit.len(), 1, "the refused append wrote nothing");
    assert_eq!(audit[0].action, "feature.set");
}

async fn course(
    store: &Arc<dyn Store>,
    t: TenantId,
    course_type: CourseType,
    capacity: Option<u32>,
    policy: EnrollmentPolicy,
) -> ObjectId {
    store
        .create_course(
            &Actor::cli(),
            t,
            NewCourse {
                title: Name::parse("title", "Selling Basics").unwrap(),
                course_type,
                published: true,
                capacity,
                policy,
                group: None,
                created_by: None,
                creator_roles: vec![],
            },
        )
        .await
        .unwrap()
        .id
}

async fn enrollments_follow_capacity_and_the_approval_policy(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let (ann, bob) = (
        user(&f.store, t, "ann").await,
        user(&f.store, t, "bob").await,
    );
    let c = course(
        &f.store,
        t,
        CourseType::ELearning,
        Some(1),
        EnrollmentPolicy::Open,
    )
    .await;
    let first = f.store.enroll(&Actor::cli(), t, c, ann).await.unwrap();
    assert_eq!(first.status, EnrollmentStatus::Enrolled);
    let second = f.store.enroll(&Actor::cli(), t, c, bob).await.unwrap();
    assert_eq!(
        second.status,
        EnrollmentStatus::Waiting,
        "the course is full"
    );
    let again = f.store.enroll(&Actor::cli(), t, c, ann).await.unwrap_err();
    assert!(
        matches!(&again, StoreError::Conflict { field: "user", .. }),
        "{again:?}"
    );
    let full = f
        .store
        .approve_enrollment(&Actor::cli(), t, c, bob)
        .await
        .unwrap_err();
    assert!(
        matches!(
            full,
            StoreError::Lifecycle(LifecycleError::Full { capacity: 1 })
        ),
        "{full:?}"
    );
    f.store
        .update_course(
            &Actor::cli(),
            t,
            c,
            CoursePatch {
                capacity: Some(Some(2)),
                ..CoursePatch::default()
            },
        )
        .await
        .unwrap();
    let approved = f
        .store
        .approve_enrollment(&Actor::cli(), t, c, bob)
        .await
        .unwrap();
    assert_eq!(approved.status, EnrollmentStatus::Enrolled);
    let gated = course(
        &f.store,
        t,
        CourseType::ELearning,
        None,
        EnrollmentPolicy::ApprovalRequired,
    )
    .await;
    assert_eq!(
        f.store
            .enroll(&Actor::cli(), t, gated, ann)
            .await
            .unwrap()
            .status,
        EnrollmentStatus::Waiting
    );
    let page = f
        .store
        .course_enrollments(t, c, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(f.store.user_enrollments(t, ann).await.unwrap().len(), 2);
    // The engine sees the statuses.
    let data = replay(&f.store, t).await;
    assert_eq!(data.enrollments[&(bob, c)], EnrollmentStatus::Enrolled);
}

async fn learning_activity_moves_the_enrollment_and_activates_the_learner(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let ann = user(&f.store, t, "ann").await;
    let c = course(
        &f.store,
        t,
        CourseType::ELearning,
        None,
        EnrollmentPolicy::Open,
    )
    .await;
    let m1 = f
        .store
        .add_material(&Actor::cli(), t, c, Name::parse("title", "One").unwrap())
        .await
        .unwrap();
    let m2 = f
        .store
        .add_material(&Actor::cli(), t, c, Name::parse("title", "Two").unwrap())
        .await
        .unwrap();
    assert_eq!(
        f.store.materials(t, c).await.unwrap(),
        vec![m1.clone(), m2.clone()]
    );
    f.store.enroll(&Actor::cli(), t, c, ann).await.unwrap();
    let opened = f
        .store
        .record_activity(&oneself(t, ann), t, c, ann, Activity::OpenedCourse, None)
        .await
        .unwrap();
    assert_eq!(opened.status, EnrollmentStatus::InProgress);
    assert_eq!(
        f.store.user(t, ann).await.unwrap().status,
        UserStatus::Active
    );
    for _ in 0..2 {
        let one = f
            .store
            .record_activity(
                &oneself(t, ann),
                t,
                c,
                ann,
                Activity::CompletedMaterial,
                Some(m1.id),
            )
            .await
            .unwrap();
        assert_eq!(
            one.status,
            EnrollmentStatus::InProgress,
            "completing one material twice counts once"
        );
    }
    let done = f
        .store
        .record_activity(
            &oneself(t, ann),
            t,
            c,
            ann,
            Activity::CompletedMaterial,
            Some(m2.id),
        )
        .await
        .unwrap();
    assert_eq!(done.status, EnrollmentStatus::Completed);
    let unknown = f
        .store
        .record_activity(
            &oneself(t, ann),
            t,
            c,
            ann,
            Activity::CompletedMaterial,
            Some(ObjectId::from_uuid(uuid::Uuid::now_v7())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            unknown,
            StoreError::MissingReference {
                field: "material",
                ..
            }
        ),
        "{unknown:?}"
    );
    let data = replay(&f.store, t).await;
    assert_eq!(data.enrollments[&(ann, c)], EnrollmentStatus::Completed);
    assert_eq!(data.users[&ann].status, UserStatus::Active);
}

async fn statuses_set_by_hand_are_refused_only_where_they_cannot_be_and_write_nothing(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let ann = user(&f.store, t, "ann").await;
    let ilt = course(
        &f.store,
        t,
        CourseType::InstructorLed,
        None,
        EnrollmentPolicy::Open,
    )
    .await;
    f.store.enroll(&Actor::cli(), t, ilt, ann).await.unwrap();
    let before = f.store.latest_revision().await.unwrap();
    let over = f
        .store
        .set_enrollment_status(&Actor::cli(), t, ilt, ann, EnrollmentStatus::Overbooked)
        .await
        .unwrap_err();
    assert!(
        over.to_string().contains("e-learning courses only"),
        "{over}"
    );
    f.store
        .set_enrollment_status(&Actor::cli(), t, ilt, ann, EnrollmentStatus::Completed)
        .await
        .unwrap();
    // By hand any status may be set at any time (seed 002), even back from completed.
    let back = f
        .store
        .set_enrollment_status(&Actor::cli(), t, ilt, ann, EnrollmentStatus::Waiting)
        .await
        .unwrap();
    assert_eq!(back.status, EnrollmentStatus::Waiting);
    f.store
        .set_enrollment_status(&Actor::cli(), t, ilt, ann, EnrollmentStatus::Suspended)
        .await
        .unwrap();
    let no_access = f
        .store
        .record_activity(&oneself(t, ann), t, ilt, ann, Activity::OpenedCourse, None)
        .await
        .unwrap_err();
    assert!(matches!(
        no_access,
        StoreError::Lifecycle(LifecycleError::NoAccess { .. })
    ));
    let log = f.store.changes(Some(t), before, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "enrollment.status_set",
            "enrollment.status_set",
            "enrollment.status_set"
        ],
        "refusals write nothing"
    );
}

async fn learning_plans_keep_their_course_order(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let a = course(
        &f.store,
        t,
        CourseType::ELearning,
        None,
        EnrollmentPolicy::Open,
    )
    .await;
    let b = course(
        &f.store,
        t,
        CourseType::InstructorLed,
        None,
        EnrollmentPolicy::Open,
    )
    .await;
    let plan = f
        .store
        .create_plan(
            &Actor::cli(),
            t,
            Name::parse("title", "Onboarding").unwrap(),
            vec![b, a],
        )
        .await
        .unwrap();
    assert_eq!(f.store.plan(t, plan.id).await.unwrap().courses, vec![b, a]);
    let missing = ObjectId::from_uuid(uuid::Uuid::now_v7());
    let err = f
        .store
        .create_plan(
            &Actor::cli(),
            t,
            Name::parse("title", "Broken").unwrap(),
            vec![a, missing],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::MissingReference {
                field: "courses",
                ..
            }
        ),
        "{err:?}"
    );
    let other = tenant(&f.store, "other").await;
    assert!(matches!(
        f.store.plan(other, plan.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn a_bulk_status_change_is_all_or_nothing(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let (ann, bob) = (
        user(&f.store, t, "ann").await,
        user(&f.store, t, "bob").await,
    );
    let err = f
        .store
        .set_statuses(
            &Actor::cli(),
            t,
            &[ann, UserId::new(), bob],
            UserStatus::Deactivated,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { entity: "user", .. }),
        "{err:?}"
    );
    assert_eq!(
        f.store.user(t, ann).await.unwrap().status,
        UserStatus::Activated
    );
    let done = f
        .store
        .set_statuses(&Actor::cli(), t, &[ann, bob], UserStatus::Deactivated)
        .await
        .unwrap();
    assert!(done.iter().all(|u| u.status == UserStatus::Deactivated));
    assert_eq!(
        replay(&f.store, t).await.users[&bob].status,
        UserStatus::Deactivated
    );
}

async fn app_access_settings_and_the_outbox_round_trip(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let other = tenant(&f.store, "other").await;
    let ann = f
        .store
        .create_user(&Actor::cli(), t, new_user("ann", Some("ann@acme.example")))
        .await
        .unwrap()
        .id;
    assert_eq!(
        f.store.tenant_settings(t).await.unwrap(),
        TenantSettings::default()
    );
    let settings = TenantSettings {
        invitation: Some(InvitationTemplate::parse("Hi", "{username} {password}").unwrap()),
        invite_on_app_access: true,
        default_access_days: Some(90),
    };
    f.store
        .set_tenant_settings(&Actor::cli(), t, settings.clone())
        .await
        .unwrap();
    assert_eq!(f.store.tenant_settings(t).await.unwrap(), settings);
    assert_eq!(
        f.store.tenant_settings(other).await.unwrap(),
        TenantSettings::default()
    );

    let until = time::macros::date!(2030 - 06 - 30);
    let invitation = Invitation {
        password_hash: "$argon2id$new".into(),
        mail: NewMail {
            recipient: Email::parse("ann@acme.example").unwrap(),
            subject: "Hi".into(),
            body: "ann secret-pass".into(),
        },
    };
    f.store
        .enable_app_access(
            &Actor::cli(),
            t,
            vec![AppAccessGrant {
                user: ann,
                access: AppAccess {
                    until: Some(until),
                    elearning: true,
                },
                invitation: Some(invitation),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        f.store.app_access(t, ann).await.unwrap(),
        Some(AppAccess {
            until: Some(until),
            elearning: true
        })
    );
    assert_eq!(
        f.store.app_access(other, ann).await.unwrap(),
        None,
        "tenant-scoped"
    );
    assert_eq!(
        f.store.password_hash(t, ann).await.unwrap().as_deref(),
        Some("$argon2id$new")
    );
    let pending = f.store.pending_mail(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].body, "ann secret-pass");
    f.store.mark_mail_sent(&pending[0].id).await.unwrap();
    assert!(f.store.pending_mail(10).await.unwrap().is_empty());
    let audit = format!("{:?}", f.store.changes(Some(t), 0, 100).await.unwrap());
    assert!(
        !audit.contains("secret-pass"),
        "login details stay out of the audit log"
    );
    assert!(
        f.store
            .disable_app_access(&Actor::cli(), t, ann)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .disable_app_access(&Actor::cli(), t, ann)
            .await
            .unwrap()
    );
    assert_eq!(f.store.app_access(t, ann).await.unwrap(), None);
}

async fn an_enrollment_and_its_role_are_written_together_or_not_at_all(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let ann = user(&f.store, t, "ann").await;
    let c = course(
        &f.store,
        t,
        CourseType::ELearning,
        None,
        EnrollmentPolicy::Open,
    )
    .await;
    let role = replay(&f.store, t)
        .await
        .role_by_code("course-tutor")
        .unwrap()
        .id;
    let grant = registrar_domain::access::Grant::new(
        registrar_domain::access::Principal::User(ann),
        role,
        registrar_domain::access::Scope::Object(registrar_domain::access::ObjectRef::new(
            registrar_domain::access::ObjectKind::Course,
            c,
        )),
    );
    let entry = || LogEntry {
        action: "grant.created",
        entity: "grant",
        entity_id: grant.id.to_string(),
        before: None,
        after: None,
        access: vec![Change::UpsertGrant(grant)],
    };
    let seen = f.store.tenant_revision(t).await.unwrap();
    let stale = f
        .store
        .enroll_with_role(&Actor::cli(), t, c, ann, seen - 1, entry())
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Stale { .. }), "{stale:?}");
    assert!(matches!(
        f.store.enrollment(t, c, ann).await,
        Err(StoreError::NotFound { .. })
    ));
    f.store
        .enroll_with_role(&Actor::cli(), t, c, ann, seen, entry())
        .await
        .unwrap();
    let data = replay(&f.store, t).await;
    assert!(data.grants.contains_key(&grant.id));
    assert_eq!(data.enrollments[&(ann, c)], EnrollmentStatus::Enrolled);
}

async fn bookings_move_the_enrollment_and_attendance_completes_it(kind: Kind) {
    let f = fixture(kind).await;
    let t = tenant(&f.store, "acme").await;
    let other = tenant(&f.store, "other").await;
    let ann = user(&f.store, t, "ann").await;
    let c = course(
        &f.store,
        t,
        CourseType::InstructorLed,
        None,
        EnrollmentPolicy::Open,
    )
    .await;
    let day = |d: u8, approval_required: bool| NewSession {
        course: c,
        kind: SessionKind::Session,
        title: Name::parse("title", "Day").unwrap(),
        starts_at: date!(2027 - 03 - 01)
            .with_hms(d, 0, 0)
            .unwrap()
            .assume_utc(),
        ends_at: date!(2027 - 03 - 01)
            .with_hms(d + 1, 0, 0)
            .unwrap()
            .assume_utc(),
        capacity: Some(5),
        approval_required,
    };
    let one = f
        .store
        .create_session(&Actor::cli(), t, day(9, false))
        .await
        .unwrap();
    let two = f
        .store
        .create_session(&Actor::cli(), t, day(13, true))
        .await
        .unwrap();
    assert_eq!(
        f.store.course_sessions(t, c).await.unwrap(),
        vec![one.clone(), two.clone()]
    );
    assert!(matches!(
        f.store.session(other, one.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        matches!(
            f.store.book(&Actor::cli(), t, one.id, ann, vec![]).await,
            Err(StoreError::Rule(_))
        ),
        "booking needs an enrollment"
    );
    f.store.enroll(&Actor::cli(), t, c, ann).await.unwrap();
    let booked = f
        .store
        .book(&Actor::cli(), t, one.id, ann, vec![])
        .await
        .unwrap();
    assert_eq!(booked.booking.status, BookingStatus::Booked);
    let awaiting = f
        .store
        .book(&Actor::cli(), t, two.id, ann, vec![])
        .await
        .unwrap();
    assert_eq!(awaiting.booking.status, BookingStatus::ToConfirm);
    assert_eq!(awaiting.enrollment.status, EnrollmentStatus::ToConfirm);
    let refused = f
        .store
        .record_attendance(&Actor::cli(), t, two.id, ann)
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Lifecycle(LifecycleError::CannotAttend { .. }))
    ));
    assert_eq!(
        f.store.bookings(t, two.id).await.unwrap()[0].status,
        BookingStatus::ToConfirm,
        "a refused attendance writes nothing"
    );
    let approved = f
        .store
        .approve_booking(&Actor::cli(), t, two.id, ann)
        .await
        .unwrap();
    assert_eq!(approved.enrollment.status, EnrollmentStatus::Enrolled);
    f.store
        .record_attendance(&Actor::cli(), t, one.id, ann)
        .await
        .unwrap();
    let done = f
        .store
        .record_attendance(&Actor::cli(), t, two.id, ann)
        .await
        .unwrap();
    assert_eq!(done.booking.status, BookingStatus::Attended);
    assert_eq!(done.enrollment.status, EnrollmentStatus::Completed);
    assert_eq!(
        f.store.user(t, ann).await.unwrap().status,
        UserStatus::Active
    );
    // The engine hears of every enrollment move and of the sessions as learning objects.
    let log = f.store.access_log(0, 10_000).await.unwrap();
    let engine: Vec<&Change> = log.iter().flat_map(|e| e.changes.iter()).collect();
    assert!(
        engine
            .iter()
            .any(|c| matches!(c, Change::UpsertObject(o) if o.object == one.object()))
    );
    assert!(engine.iter().any(|c| matches!(
        c,
        Change::SetEnrollment {
            status: EnrollmentStatus::Completed,
            ..
        }
    )));
}
