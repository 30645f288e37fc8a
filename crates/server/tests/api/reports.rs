//! Reports, the access review and the audit log's filters, over HTTP: every row cut by the
//! engine for whoever asks.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, grant, ok, s, spawn_app, token_in};

async fn get_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.request(Method::GET, path, token).send().await.unwrap()
}

async fn enroll(app: &TestApp, course: &Value, user: &Value) {
    let path = format!("/api/v1/courses/{}/enrollments", s(course, "id"));
    ok(app
        .send(Method::POST, &path, json!({ "user": s(user, "id") }))
        .await)
    .await;
}

#[tokio::test]
async fn a_managers_report_never_contains_a_person_outside_their_team() {
    let app = spawn_app().await;
    let mia = app.create_user("mia", json!({})).await;
    grant(&app, &mia, "manager", "platform").await;
    let (ann, zed) = (
        app.create_user("ann", json!({})).await,
        app.create_user("zed", json!({})).await,
    );
    let path = format!("/api/v1/users/{}/managers/{}", s(&ann, "id"), s(&mia, "id"));
    ok(app.send(Method::PUT, &path, json!({})).await).await;
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "=HYPERLINK(\"x\")", "published": true }),
        )
        .await)
    .await;
    let other = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Safety", "published": true }),
        )
        .await)
    .await;
    for (c, u) in [
        (&course, &ann),
        (&course, &zed),
        (&other, &ann),
        (&other, &zed),
    ] {
        enroll(&app, c, u).await;
    }
    let mia_t = token_in(&app, app.tenant.id, &mia).await;

    // Rows: Ann's two enrollments, never Zed's.
    let report = ok(get_as(&app, &mia_t, "/api/v1/reports/enrollments").await).await;
    let users: Vec<_> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].clone())
        .collect();
    assert_eq!(users, vec![json!("ann"), json!("ann")], "{report}");
    // The administrator sees all four.
    let all = ok(app.get("/api/v1/reports/enrollments").await).await;
    assert_eq!(all["rows"].as_array().unwrap().len(), 4);
    // Summary by course: one learner per course for the manager.
    let summary = ok(get_as(&app, &mia_t, "/api/v1/reports/summary?by=course").await).await;
    for line in summary["lines"].as_array().unwrap() {
        assert_eq!(line["learners"], 1, "{summary}");
        assert_eq!(line["enrolled"], 1);
    }
    // The CSV download holds the same rows, with formulas neutralised.
    let csv = get_as(&app, &mia_t, "/api/v1/reports/enrollments?format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(!csv.contains("zed"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    // A date range: nothing enrolled before 2000.
    let old = ok(get_as(&app, &mia_t, "/api/v1/reports/enrollments?to=1999-12-31").await).await;
    assert_eq!(old["rows"], json!([]));
    assert_problem(
        get_as(&app, &mia_t, "/api/v1/reports/enrollments?from=yesterday").await,
        422,
        Some("from"),
        "yesterday",
    )
    .await;
    assert_problem(
        get_as(&app, &mia_t, "/api/v1/reports/summary?by=planet").await,
        422,
        Some("by"),
        "planet",
    )
    .await;
}

#[tokio::test]
async fn a_tutor_reports_on_the_courses_they_tutor_and_summaries_go_by_group() {
    let app = spawn_app().await;
    let sales = app.create_group("Sales", None).await;
    let tutor = app.create_user("tom", json!({})).await;
    grant(&app, &tutor, "tutor", "platform").await;
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Rust", "published": true }),
        )
        .await)
    .await;
    let other = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Go", "published": true }),
        )
        .await)
    .await;
    grant(
        &app,
        &tutor,
        "course-tutor",
        &format!("course:{}", s(&course, "id")),
    )
    .await;
    let ann = app
        .create_user("ann", json!({ "primary_group": s(&sales, "id") }))
        .await;
    enroll(&app, &course, &ann).await;
    enroll(&app, &other, &ann).await;
    let tom_t = token_in(&app, app.tenant.id, &tutor).await;
    let report = ok(get_as(&app, &tom_t, "/api/v1/reports/enrollments").await).await;
    let titles: Vec<_> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].clone())
        .collect();
    assert_eq!(titles, vec![json!("Rust")], "{report}");

    // By group (the administrator): Ann counts in Sales.
    let by_group = ok(app.get("/api/v1/reports/summary?by=group").await).await;
    let line = &by_group["lines"][0];
    assert_eq!(line["name"], "Sales");
    assert_eq!(line["enrollments"], 2);
    assert_eq!(line["participation"], 0);
    // Scoped to the group, and drawn as an SVG on the server.
    let path = format!(
        "/api/v1/reports/summary.svg?by=course&group={}",
        s(&sales, "id")
    );
    let chart = app.get(&path).await;
    assert_eq!(chart.headers()["content-type"], "image/svg+xml");
    let svg = chart.text().await.unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("Rust") && svg.contains("completed"),
        "{svg}"
    );
}

#[tokio::test]
async fn the_access_review_lists_risky_holdings_with_how_and_when_they_were_granted() {
    let app = spawn_app().await;
    let lara = app.create_user("lara", json!({})).await;
    grant(&app, &lara, "lms-admin", "platform").await;
    let review = ok(app.get("/api/v1/access-review").await).await;
    let lines = review.as_array().unwrap();
    let line = lines
        .iter()
        .find(|l| l["username"] == "lara" && l["role"] == "lms-admin")
        .unwrap();
    assert_eq!(line["via"], "direct");
    assert_eq!(line["granted_by"], format!("user:{}", app.admin.id));
    assert!(line["granted_at"].as_str().unwrap().starts_with("20"));
    assert!(
        line["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("privilege"))
    );
    // The superadmin is on it; a plain student (default role, no risk) is not.
    assert!(lines.iter().any(|l| l["superadmin"] == true));
    let student = app.create_user("stu", json!({})).await;
    let review = ok(app.get("/api/v1/access-review?risk=privilege").await).await;
    assert!(
        !review
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["username"] == "stu"),
        "{review}"
    );
    let csv = app
        .get("/api/v1/access-review?format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().next().unwrap().starts_with("user,username"));
    assert!(csv.contains("lara"));
    assert_problem(
        app.get("/api/v1/access-review?risk=spicy").await,
        422,
        Some("risk"),
        "spicy",
    )
    .await;
    let stu_t = token_in(&app, app.tenant.id, &student).await;
    assert_problem(
        get_as(&app, &stu_t, "/api/v1/access-review").await,
        403,
        None,
        "access.review",
    )
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_entity_action_and_time() {
    let app = spawn_app().await;
    let user = app.create_user("ada", json!({})).await;
    app.create_group("Ops", None).await;
    let groups = ok(app.get("/api/v1/audit?entity=group").await).await;
    let actions: Vec<_> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].clone())
        .collect();
    assert!(
        !actions.is_empty()
            && actions
                .iter()
                .all(|a| a.as_str().unwrap().starts_with("group.")),
        "{groups}"
    );
    let created = ok(app
        .get(&format!(
            "/api/v1/audit?action=user.created&entity_id={}",
            s(&user, "id")
        ))
        .await)
    .await;
    assert_eq!(created.as_array().unwrap().len(), 1);
    let mine = ok(app
        .get(&format!(
            "/api/v1/audit?actor=user:{}&order=desc&limit=1",
            app.admin.id
        ))
        .await)
    .await;
    assert_eq!(mine[0]["entity"], "group", "the newest first: {mine}");
    let before = mine[0]["revision"].as_i64().unwrap();
    let older = ok(app
        .get(&format!("/api/v1/audit?before={before}&limit=1"))
        .await)
    .await;
    assert!(older[0]["revision"].as_i64().unwrap() < before);
    let future = ok(app.get("/api/v1/audit?from=2999-01-01").await).await;
    assert_eq!(future, json!([]));
    let today = ok(app
        .get("/api/v1/audit?from=2000-01-01&to=2999-12-31&entity=user")
        .await)
    .await;
    assert!(!today.as_array().unwrap().is_empty());
    assert_problem(
        app.get("/api/v1/audit?from=soon").await,
        422,
        Some("from"),
        "soon",
    )
    .await;
    assert_problem(
        app.get("/api/v1/audit?order=sideways").await,
        422,
        Some("order"),
        "sideways",
    )
    .await;
}
