//! Bad input of every kind gets a problem body that says what and where.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn malformed_json_is_a_bad_request_with_line_and_column() {
    let app = spawn_app().await;
    let r = app
        .request(Method::POST, "/api/v1/users", &app.token)
        .header("content-type", "application/json")
        .body("{\"username\": \"ann\",\n \"display_name\": }")
        .send()
        .await
        .unwrap();
    assert_problem(r, 400, None, "line 2 column").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported() {
    let app = spawn_app().await;
    let r = app
        .request(Method::POST, "/api/v1/users", &app.token)
        .header("content-type", "text/plain")
        .body("username=ann")
        .send()
        .await
        .unwrap();
    assert_problem(r, 415, None, "application/json").await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read_whole() {
    let app = spawn_app().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "ann", "display_name": huge }),
        )
        .await;
    assert_problem(r, 413, None, "larger than").await;
}

#[tokio::test]
async fn a_malformed_id_in_the_path_is_named() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/users/not-a-uuid").await;
    assert_problem(r, 400, None, "invalid user id \"not-a-uuid\"").await;
}

#[tokio::test]
async fn unknown_endpoints_are_problems_too() {
    let app = spawn_app().await;
    assert_problem(
        app.get("/api/v1/nope").await,
        404,
        None,
        "no such API endpoint",
    )
    .await;
}

#[tokio::test]
async fn a_bad_query_string_is_named() {
    let app = spawn_app().await;
    assert_problem(
        app.get("/api/v1/users?limit=many").await,
        400,
        None,
        "limit",
    )
    .await;
}
