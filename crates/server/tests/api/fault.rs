//! Injected faults: a write that fails halfway leaves nothing behind, and a database that is gone
//! gives clean 5xx answers that leak no internals.

use registrar_domain::tenant::TenantSlug;
use registrar_server::Settings;
use registrar_store::StoreError;
use registrar_store::testing::{Kind, TestDatabase};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, spawn_app, spawn_app_on};

#[tokio::test]
async fn a_write_that_fails_halfway_leaves_nothing_behind() {
    let app = spawn_app_on(TestDatabase::new(Kind::Sqlite).await, Settings::default()).await;
    // From now on every user insert fails inside the database.
    let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON users \
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    let r = app
        .request(Method::POST, "/api/v1/tenants", &app.operator_token)
        .json(&json!({ "slug": "half", "name": "Half", "preset": "levels",
                        "admin": { "username": "admin", "display_name": "A", "password": ADMIN_PASSWORD } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"], "internal error");
    assert!(
        !body.to_string().contains("injected"),
        "internals stay in the log"
    );
    // The tenant was inserted before the administrator failed, and rolled back with it.
    let gone = app
        .store
        .tenant_by_slug(&TenantSlug::parse("half").unwrap())
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
}

#[tokio::test]
async fn a_database_that_is_gone_gives_clean_service_unavailable_answers() {
    let app = spawn_app().await;
    app.store.close().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "ann", "display_name": "Ann" }),
        )
        .await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"], "service unavailable");
}

/// A server on SQLite whose `table` is made unreadable under it (the rest works).
async fn with_broken_table(table: &str) -> crate::helpers::TestApp {
    let app = spawn_app_on(TestDatabase::new(Kind::Sqlite).await, Settings::default()).await;
    let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
    sqlx::query(&format!("ALTER TABLE {table} RENAME TO {table}_gone"))
        .execute(&pool)
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn a_failing_parent_lookup_is_an_outage_not_a_missing_parent() {
    let app = with_broken_table("groups").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/groups",
            json!({ "name": "Lyon", "parent": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(r.status(), 500, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_failing_course_lookup_in_a_plan_is_an_outage_not_a_bad_reference() {
    let app = with_broken_table("courses").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/learning-plans",
            json!({ "title": "Path", "courses": [uuid::Uuid::now_v7().to_string()] }),
        )
        .await;
    assert_eq!(r.status(), 500, "{}", r.text().await.unwrap());
}
