//! Courses, enrollments and learning activity end to end (SPEC 3.1, 3.2), on the classic preset.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, grant, ok, person, s, spawn_app};

async fn course(app: &TestApp, body: Value) -> Value {
    ok(app.send(Method::POST, "/api/v1/courses", body).await).await
}

async fn enroll(app: &TestApp, course: &Value, user: &str) -> Response {
    app.send(
        Method::POST,
        &format!("/api/v1/courses/{}/enrollments", s(course, "id")),
        json!({ "user": user }),
    )
    .await
}

#[tokio::test]
async fn approvals_come_from_holders_of_the_approve_permission_only() {
    let app = spawn_app().await;
    let c = course(
        &app,
        json!({ "title": "Selling", "published": true, "policy": "approval_required" }),
    )
    .await;
    let (tina, tina_token) = person(&app, "tina").await;
    let (pete, pete_token) = person(&app, "pete").await;
    app.create_user("lea", json!({})).await;
    for (who, responsibility) in [(&tina, "course-tutor"), (&pete, "course-admin")] {
        grant(&app, who, "tutor", "platform").await;
        grant(&app, who, responsibility, &s(&c, "object")).await;
    }
    let waiting = ok(enroll(&app, &c, "lea").await).await;
    assert_eq!(waiting["status"], "waiting", "the course asks for approval");
    let approve = format!("/api/v1/courses/{}/enrollments/lea/approve", s(&c, "id"));

    let refused = app
        .request(Method::POST, &approve, &pete_token)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, None, "enrollments.approve").await;
    let audit: Vec<Value> = app
        .get("/api/v1/audit?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let denial = audit
        .iter()
        .find(|c| c["action"] == "access.denied")
        .unwrap();
    assert_eq!(denial["actor"], format!("user:{}", s(&pete, "id")));
    assert_eq!(denial["after"]["permission"], "enrollments.approve");

    // Nor by editing the status by hand: that is an approval too.
    let by_hand = app
        .request(
            Method::PATCH,
            &format!("/api/v1/courses/{}/enrollments/lea", s(&c, "id")),
            &pete_token,
        )
        .json(&json!({ "status": "enrolled" }))
        .send()
        .await
        .unwrap();
    assert_problem(by_hand, 403, None, "enrollments.approve").await;
    let approved = ok(app
        .request(Method::POST, &approve, &tina_token)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(approved["status"], "enrolled");
}

#[tokio::test]
async fn capacity_sends_new_enrollments_to_waiting_and_a_full_course_refuses_approval() {
    let app = spawn_app().await;
    let c = course(&app, json!({ "title": "Small", "capacity": 1 })).await;
    for name in ["ann", "bob"] {
        app.create_user(name, json!({})).await;
    }
    assert_eq!(
        ok(enroll(&app, &c, "ann").await).await["status"],
        "enrolled"
    );
    assert_eq!(ok(enroll(&app, &c, "bob").await).await["status"], "waiting");
    assert_problem(
        enroll(&app, &c, "ann").await,
        409,
        Some("user"),
        "already enrolled",
    )
    .await;
    let full = app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments/bob/approve", s(&c, "id")),
            json!(null),
        )
        .await;
    assert_problem(full, 409, Some("capacity"), "the course is full").await;
}

#[tokio::test]
async fn statuses_set_by_hand_name_the_rule_when_refused_and_change_nothing() {
    let app = spawn_app().await;
    let ilt = course(
        &app,
        json!({ "title": "Workshop", "course_type": "instructor_led" }),
    )
    .await;
    app.create_user("ann", json!({})).await;
    ok(enroll(&app, &ilt, "ann").await).await;
    let path = format!("/api/v1/courses/{}/enrollments/ann", s(&ilt, "id"));
    let over = app
        .send(Method::PATCH, &path, json!({ "status": "overbooked" }))
        .await;
    assert_problem(over, 422, Some("status"), "e-learning courses only").await;
    ok(app
        .send(Method::PATCH, &path, json!({ "status": "completed" }))
        .await)
    .await;
    let unknown = app
        .send(Method::PATCH, &path, json!({ "status": "graduated" }))
        .await;
    assert_problem(unknown, 422, Some("status"), "graduated").await;
    let listed = ok(app
        .get(&format!("/api/v1/courses/{}/enrollments", s(&ilt, "id")))
        .await)
    .await;
    assert_eq!(
        listed["items"][0]["status"], "completed",
        "refusals changed nothing"
    );
    // By hand, any other status at any time (seed 002), even back from completed.
    let back = ok(app
        .send(Method::PATCH, &path, json!({ "status": "waiting" }))
        .await)
    .await;
    assert_eq!(back["status"], "waiting");
}

#[tokio::test]
async fn learning_activity_completes_a_course_activates_the_learner_and_moves_the_plan() {
    let app = spawn_app().await;
    let first = course(&app, json!({ "title": "First", "published": true })).await;
    let second = course(&app, json!({ "title": "Second", "published": true })).await;
    let mut materials = vec![];
    for title in ["Intro", "Practice"] {
        let m = app
            .send(
                Method::POST,
                &format!("/api/v1/courses/{}/materials", s(&first, "id")),
                json!({ "title": title }),
            )
            .await;
        materials.push(ok(m).await);
    }
    let plan = ok(app
        .send(
            Method::POST,
            "/api/v1/learning-plans",
            json!({ "title": "Onboarding", "courses": [s(&first, "id"), s(&second, "id")] }),
        )
        .await)
    .await;
    let (ann, token) = person(&app, "ann").await;
    assert_eq!(ann["status"], "activated");
    ok(enroll(&app, &first, "ann").await).await;
    ok(enroll(&app, &second, "ann").await).await;
    let plan_status = |token: String| {
        let req = app.request(
            Method::GET,
            &format!("/api/v1/learning-plans/{}/status", s(&plan, "id")),
            &token,
        );
        async move {
            ok(req.send().await.unwrap()).await["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(plan_status(token.clone()).await, "not_started");

    let report = |body: Value| {
        app.request(Method::POST, "/api/v1/activity", &token)
            .json(&body)
            .send()
    };
    let opened = ok(
        report(json!({ "course": s(&first, "id"), "activity": "opened_course" }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(opened["status"], "in_progress");
    let me = ok(app
        .request(Method::GET, "/api/v1/me", &token)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(
        me["status"], "active",
        "the first learning activity makes the learner active"
    );
    assert_eq!(plan_status(token.clone()).await, "in_progress");
    let mut last = Value::Null;
    for m in &materials {
        last = ok(report(json!({ "course": s(&first, "id"), "activity": "completed_material", "material": s(m, "id") }))
            .await
            .unwrap())
        .await;
    }
    assert_eq!(last["status"], "completed");
    assert_eq!(
        plan_status(token.clone()).await,
        "in_progress",
        "one completed, another still enrolled"
    );
    ok(app
        .send(
            Method::PATCH,
            &format!("/api/v1/courses/{}/enrollments/ann", s(&second, "id")),
            json!({ "status": "suspended" }),
        )
        .await)
    .await;
    assert_eq!(
        plan_status(token.clone()).await,
        "completed",
        "completed or blocked everywhere"
    );
    let bad = report(json!({ "course": s(&first, "id"), "activity": "danced" }))
        .await
        .unwrap();
    assert_problem(bad, 422, Some("activity"), "danced").await;
}

#[tokio::test]
async fn a_suspended_learner_is_refused_course_access_by_the_engine() {
    let app = spawn_app().await;
    let c = course(&app, json!({ "title": "Selling", "published": true })).await;
    let (_, token) = person(&app, "ann").await;
    ok(enroll(&app, &c, "ann").await).await;
    let check = || {
        app.send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": "ann", "action": "courses.access", "resource": s(&c, "object") }),
        )
    };
    assert_eq!(ok(check().await).await["allowed"], true);
    ok(app
        .send(
            Method::PATCH,
            &format!("/api/v1/courses/{}/enrollments/ann", s(&c, "id")),
            json!({ "status": "suspended" }),
        )
        .await)
    .await;
    let denied = ok(check().await).await;
    assert_eq!(denied["allowed"], false);
    assert!(
        denied["summary"].as_str().unwrap().contains("suspended"),
        "{denied}"
    );
    let opened = app
        .request(Method::POST, "/api/v1/activity", &token)
        .json(&json!({ "course": s(&c, "id"), "activity": "opened_course" }))
        .send()
        .await
        .unwrap();
    assert_problem(opened, 403, None, "suspended").await;
}

#[tokio::test]
async fn a_manager_enrolls_team_members_and_nobody_else() {
    let app = spawn_app().await;
    let c = course(&app, json!({ "title": "Selling", "published": true })).await;
    let (nina, token) = person(&app, "nina").await;
    let olaf = app.create_user("olaf", json!({})).await;
    app.create_user("stranger", json!({})).await;
    grant(&app, &nina, "manager", "platform").await;
    ok(app
        .send(
            Method::PUT,
            &format!(
                "/api/v1/users/{}/managers/{}",
                s(&olaf, "id"),
                s(&nina, "id")
            ),
            json!(null),
        )
        .await)
    .await;
    let path = format!("/api/v1/courses/{}/enrollments", s(&c, "id"));
    let as_nina = |user: &str| {
        app.request(Method::POST, &path, &token)
            .json(&json!({ "user": user }))
            .send()
    };
    assert_eq!(as_nina("olaf").await.unwrap().status(), 201);
    assert_eq!(as_nina("stranger").await.unwrap().status(), 403);
}

#[tokio::test]
async fn an_enrollment_brings_its_course_role_in_the_same_transaction() {
    let app = spawn_app().await;
    let c = course(&app, json!({ "title": "Selling", "published": true })).await;
    let (tina, _) = person(&app, "tina").await;
    let path = format!("/api/v1/courses/{}/enrollments", s(&c, "id"));
    let with_role = json!({ "user": "tina", "role": "course-tutor" });
    // A course tutor must hold a tutor level first: refused, and no enrollment is left behind.
    let refused = app.send(Method::POST, &path, with_role.clone()).await;
    assert_problem(refused, 422, None, "not eligible").await;
    let listed = ok(app.get(&path).await).await;
    assert_eq!(listed["items"], json!([]), "nothing half-applied");
    let unknown = app
        .send(
            Method::POST,
            &path,
            json!({ "user": "tina", "role": "wizard" }),
        )
        .await;
    assert_problem(unknown, 404, None, "wizard").await;

    grant(&app, &tina, "tutor", "platform").await;
    let enrolled = ok(app.send(Method::POST, &path, with_role).await).await;
    assert_eq!(enrolled["status"], "enrolled");
    let answer = ok(app
        .send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": "tina", "action": "enrollments.approve", "resource": s(&c, "object") }),
        )
        .await)
    .await;
    assert_eq!(answer["allowed"], true, "the role came with the enrollment");
}
