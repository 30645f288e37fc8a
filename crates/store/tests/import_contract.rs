//! The import contract (`ImportStore`): every test on SQLite, and again on PostgreSQL when
//! `DATABASE_URL` names a server. Kept apart from `contract.rs` so the import's tests travel
//! with it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use registrar_domain::access::{AccessUser, Change};
use registrar_domain::ids::{TenantId, UserId};
use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Username};
use registrar_domain::user::{User, UserStatus};
use registrar_store::testing::{Kind, TestDatabase, postgres_url};
use registrar_store::*;

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
    an_import_commits_users_managers_and_log_rows_together,
    a_dropped_import_leaves_nothing_behind,
);

async fn setup(kind: Kind) -> (Arc<dyn Store>, TestDatabase, TenantId) {
    let db = TestDatabase::new(kind).await;
    let store = connect(&db.url).await.unwrap();
    let (tenant, _) = store
        .create_tenant(
            &Actor::cli(),
            NewTenant {
                slug: TenantSlug::parse("acme").unwrap(),
                name: Name::parse("name", "Acme").unwrap(),
                preset: Preset::ClassicLms,
            },
            None,
        )
        .await
        .unwrap();
    (store, db, tenant.id)
}

fn user(tenant: TenantId, name: &str) -> User {
    let at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    User {
        id: UserId::new(),
        tenant_id: tenant,
        username: Username::parse(&format!("{name}@acme.example")).unwrap(),
        email: Some(Email::parse(&format!("{name}@acme.example")).unwrap()),
        display_name: Name::parse("display name", name).unwrap(),
        labels: Labels::default(),
        status: UserStatus::Activated,
        expires_on: None,
        primary_group: None,
        superadmin: false,
        created_at: at,
        updated_at: at,
    }
}

async fn an_import_commits_users_managers_and_log_rows_together(kind: Kind) {
    let (store, _db, t) = setup(kind).await;
    let actor = Actor::cli();
    let before = store.tenant_revision(t).await.unwrap();
    let mut s = store.begin_import(t).await.unwrap();
    assert_eq!(s.revision().await.unwrap(), before);
    let ann = user(t, "ann");
    let bob = user(t, "bob");
    s.write(
        &actor,
        vec![
            ImportOp::CreateUser(ann.clone()),
            ImportOp::CreateUser(bob.clone()),
        ],
    )
    .await
    .unwrap();
    // The session sees its own writes, by email or by username.
    let found = s
        .users_by_login(&["ann@acme.example".into(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ann.id);
    let renamed = User {
        display_name: Name::parse("display name", "Ann Ångström").unwrap(),
        ..ann.clone()
    };
    s.write(
        &actor,
        vec![
            ImportOp::UpdateUser {
                before: ann.clone(),
                after: renamed,
            },
            ImportOp::AddManager(ManagerLink {
                manager: ann.id,
                managee: bob.id,
                source: ManagerSource::Explicit,
            }),
        ],
    )
    .await
    .unwrap();
    let summary = LogEntry {
        action: "import.applied",
        entity: "import",
        entity_id: "1".into(),
        before: None,
        after: Some(serde_json::json!({ "rows": 2 })),
        access: vec![],
    };
    s.commit(&actor, summary).await.unwrap();

    let read = store.user(t, ann.id).await.unwrap();
    assert_eq!(read.display_name.as_str(), "Ann Ångström");
    assert_eq!(store.managers_of(t, bob.id).await.unwrap().len(), 1);
    // Each entity has its audit row with its engine change, then the import's own row.
    let changes = store.changes(Some(t), before, 100).await.unwrap();
    let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.created",
            "user.created",
            "user.updated",
            "manager.added",
            "import.applied"
        ]
    );
    let log = store.access_log(before, 100).await.unwrap();
    assert_eq!(log.len(), 4);
    assert!(matches!(&log[2].changes[0], Change::UpsertUser(u) if *u == AccessUser::from(&read)));
    assert!(
        matches!(log[3].changes[0], Change::AddManager { manager, managee, .. } if manager == ann.id && managee == bob.id)
    );
}

async fn a_dropped_import_leaves_nothing_behind(kind: Kind) {
    let (store, _db, t) = setup(kind).await;
    let latest = store.latest_revision().await.unwrap();
    {
        let mut s = store.begin_import(t).await.unwrap();
        s.write(&Actor::cli(), vec![ImportOp::CreateUser(user(t, "ann"))])
            .await
            .unwrap();
    }
    assert_eq!(store.latest_revision().await.unwrap(), latest);
    let page = store.list_users(t, &PageRequest::first(10)).await.unwrap();
    assert!(page.items.is_empty());
    // The write lock was released: an ordinary write goes through.
    let mut s = store.begin_import(t).await.unwrap();
    s.write(&Actor::cli(), vec![ImportOp::CreateUser(user(t, "bob"))])
        .await
        .unwrap();
    s.commit(
        &Actor::cli(),
        LogEntry {
            action: "import.applied",
            entity: "import",
            entity_id: "2".into(),
            before: None,
            after: None,
            access: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(
        store
            .list_users(t, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
