//! The rules of the reference platforms (`shared/seeds/`) that Registrar got wrong or could not
//! express, each named after the rule and driven over HTTP.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, ok, s, spawn_app};

async fn import(app: &TestApp, query: &str, body: &str) -> Response {
    app.request(
        Method::POST,
        &format!("/api/v1/imports?{query}"),
        &app.token,
    )
    .header("content-type", "text/csv")
    .body(body.to_owned())
    .send()
    .await
    .unwrap()
}

async fn patch_user(app: &TestApp, id: &str, body: Value) -> Response {
    app.send(Method::PATCH, &format!("/api/v1/users/{id}"), body)
        .await
}

#[tokio::test]
async fn an_expired_account_is_restored_by_moving_its_expiry_date_to_the_status_it_had() {
    let app = spawn_app().await;
    let carl = app
        .create_user("carl", json!({ "expires_on": "2020-01-31" }))
        .await;
    assert_eq!(carl["status"], "expired");
    let carl = s(&carl, "id");
    // Its status waits behind the date: setting it alone is refused, saying what to do.
    assert_problem(
        patch_user(&app, &carl, json!({ "status": "deactivated" })).await,
        403,
        None,
        "move the expiry date",
    )
    .await;
    // Moving the date restores the status it had (activated), activating nobody.
    let restored = ok(patch_user(&app, &carl, json!({ "expires_on": "2099-12-31" })).await).await;
    assert_eq!(restored["status"], "activated");
    assert_eq!(restored["expires_on"], "2099-12-31");

    // A deactivated person stays deactivated when their date is cleared.
    let dora = app
        .create_user(
            "dora",
            json!({ "status": "deactivated", "expires_on": "2020-01-31" }),
        )
        .await;
    assert_eq!(dora["status"], "expired");
    let cleared = ok(patch_user(&app, &s(&dora, "id"), json!({ "expires_on": null })).await).await;
    assert_eq!(cleared["status"], "deactivated");
    assert_eq!(cleared["expires_on"], Value::Null);

    // The date and the status together: the date restores, then the status is set.
    let eve = app
        .create_user("eve", json!({ "expires_on": "2020-01-31" }))
        .await;
    let both = ok(patch_user(
        &app,
        &s(&eve, "id"),
        json!({ "expires_on": "2099-01-01", "status": "deactivated" }),
    )
    .await)
    .await;
    assert_eq!(both["status"], "deactivated");
}

#[tokio::test]
async fn an_import_restores_an_expired_account_by_its_expiry_date_and_names_the_status_column() {
    let app = spawn_app().await;
    app.create_user(
        "fay",
        json!({ "email": "fay@acme.example", "expires_on": "2020-01-31" }),
    )
    .await;
    app.create_user(
        "gus",
        json!({ "email": "gus@acme.example", "expires_on": "2020-01-31" }),
    )
    .await;
    // A status for an expired person without a new date: refused, on the status column.
    let r = import(
        &app,
        "format=users",
        "email,display_name,status\ngus@acme.example,gus,deactivated\n",
    )
    .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["line"], 2, "{body}");
    assert_eq!(body["errors"][0]["column"], "status", "{body}");
    assert!(
        body["errors"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("move the expiry date"),
        "{body}"
    );
    // A new date restores.
    let report = ok(import(
        &app,
        "format=users",
        "email,display_name,expires_on\nfay@acme.example,fay,2099-12-31\n",
    )
    .await)
    .await;
    assert_eq!(report["updated"], 1, "{report}");
    let users = ok(app.get("/api/v1/users").await).await;
    let fay = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "fay")
        .unwrap();
    assert_eq!(fay["status"], "activated", "{users}");
    assert_eq!(fay["expires_on"], "2099-12-31");
}
