//! A token of one tenant sees and changes nothing of another, not even a count.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn a_token_of_one_tenant_sees_and_changes_nothing_of_another() {
    let app = spawn_app().await;
    // Tenant A (acme) has people and a group.
    let ann = app
        .create_user("ann", json!({ "email": "ann@acme.example" }))
        .await;
    let group_a = app.create_group("Acme Sales", None).await;
    let (ann_id, group_a_id) = (ann["id"].as_str().unwrap(), group_a["id"].as_str().unwrap());

    // Tenant B is created by an operator, with its own administrator.
    let created = app
        .request(Method::POST, "/api/v1/tenants", &app.operator_token)
        .json(&json!({ "slug": "beta", "name": "Beta", "preset": "group-roles",
                        "admin": { "username": "admin", "display_name": "B admin", "password": ADMIN_PASSWORD } }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let login: Value = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&json!({ "tenant": "beta", "username": "admin", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b = login["token"].as_str().unwrap();
    let b_admin = login["user"]["id"].as_str().unwrap();
    let group_b: Value = app
        .request(Method::POST, "/api/v1/groups", b)
        .json(&json!({ "name": "Beta group" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let group_b_id = group_b["id"].as_str().unwrap();

    let status = |method: Method, path: String, body: Value| {
        let req = app.request(method, &path, b).json(&body);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status(Method::GET, format!("/api/v1/users/{ann_id}"), json!(null)).await,
        404
    );
    assert_eq!(
        status(
            Method::PATCH,
            format!("/api/v1/users/{ann_id}"),
            json!({ "display_name": "pwned" })
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::GET,
            format!("/api/v1/users/{ann_id}/groups"),
            json!(null)
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::GET,
            format!("/api/v1/groups/{group_a_id}"),
            json!(null)
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::GET,
            format!("/api/v1/groups/{group_a_id}/members"),
            json!(null)
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::PUT,
            format!("/api/v1/groups/{group_b_id}/members/{ann_id}"),
            json!(null)
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::PUT,
            format!("/api/v1/groups/{group_a_id}/members/{b_admin}"),
            json!(null)
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::PUT,
            format!("/api/v1/users/{b_admin}/managers/{ann_id}"),
            json!(null)
        )
        .await,
        404
    );
    assert_eq!(
        status(
            Method::PATCH,
            format!("/api/v1/users/{b_admin}"),
            json!({ "primary_group": group_a_id })
        )
        .await,
        422
    );

    // Lists, searches and the audit log of B hold B's rows only.
    let users: Value = app
        .request(Method::GET, "/api/v1/users?q=ann", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["items"].as_array().unwrap().len(), 0);
    let all: Value = app
        .request(Method::GET, "/api/v1/users", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let audit = app
        .request(Method::GET, "/api/v1/audit?limit=1000", b)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!audit.contains(ann_id) && !audit.contains(group_a_id) && !audit.contains("acme"));
    let tenant: Value = app
        .request(Method::GET, "/api/v1/tenant", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["slug"], "beta");

    // A's own view is untouched.
    let ann_again: Value = app
        .get(&format!("/api/v1/users/{ann_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ann_again["display_name"], "ann");
}

#[tokio::test]
async fn operators_manage_tenants_and_see_nothing_inside_them() {
    let app = spawn_app().await;
    let users = app
        .request(Method::GET, "/api/v1/users", &app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 403);
    let tenants = app
        .request(Method::GET, "/api/v1/tenants", &app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tenants.status(),
        403,
        "a tenant's token cannot list tenants"
    );
    let listed: Value = app
        .request(Method::GET, "/api/v1/tenants", &app.operator_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["slug"], "acme");
    let dup = app
        .request(Method::POST, "/api/v1/tenants", &app.operator_token)
        .json(&json!({ "slug": "acme", "name": "Again", "preset": "levels" }))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    let bad_preset = app
        .request(Method::POST, "/api/v1/tenants", &app.operator_token)
        .json(&json!({ "slug": "new", "name": "New", "preset": "moodle" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_preset.status(), 422);
}
