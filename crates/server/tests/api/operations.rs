use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok_with_the_database_backend() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], app.store.backend());
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    app.get(&format!("/api/v1/users/{}", app.admin.id)).await;
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"registrar_http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains(&app.admin.id.to_string()),
        "ids never become label values"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/groups/{id}/members/{user_id}",
        "/api/v1/tenants",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/check",
        "/api/v1/check/batch",
        "/api/v1/roles/{role}",
        "/api/v1/grants",
        "/api/v1/holders",
        "/api/v1/imports",
        "/api/v1/imports/jobs/{id}",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in ["Problem", "ImportReport", "JobOut", "JobState"] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema} is documented"
        );
    }
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_with_its_actor() {
    let app = spawn_app().await;
    let user = app.create_user("ann", serde_json::json!({})).await;
    let log: Vec<Value> = app.get("/api/v1/audit").await.json().await.unwrap();
    let created = log
        .iter()
        .find(|c| c["action"] == "user.created" && c["entity_id"] == user["id"])
        .unwrap();
    assert_eq!(created["actor"], format!("user:{}", app.admin.id));
    assert_eq!(created["after"]["username"], "ann");
    let last = log.last().unwrap()["revision"].as_i64().unwrap();
    let later: Vec<Value> = app
        .get(&format!("/api/v1/audit?after={last}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(later.is_empty());
}
