//! Sessions and events, bookings, approvals and attendance end to end (SPEC 3.2), and the
//! learner app's per-enrollment visibility and e-learning access (SPEC 3.3).

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, grant, ok, person, s, spawn_app};

async fn course(app: &TestApp, course_type: &str) -> Value {
    ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Rust in practice", "course_type": course_type, "published": true }),
        )
        .await)
    .await
}

async fn session(app: &TestApp, course: &Value, body: Value) -> Value {
    let mut full = json!({
        "kind": "session", "title": "Day", "starts_at": "2027-03-01T09:00:00Z",
        "ends_at": "2027-03-01T17:00:00Z",
    });
    full.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/sessions", s(course, "id")),
            full,
        )
        .await)
    .await
}

async fn enroll(app: &TestApp, course: &Value, user: &str) {
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", s(course, "id")),
            json!({ "user": user }),
        )
        .await)
    .await;
}

async fn book(app: &TestApp, session: &Value, user: &str) -> Response {
    app.send(
        Method::POST,
        &format!("/api/v1/sessions/{}/bookings", s(session, "id")),
        json!({ "user": user }),
    )
    .await
}

async fn attend(app: &TestApp, session: &Value, user: &str) -> Response {
    app.send(
        Method::POST,
        &format!("/api/v1/sessions/{}/attendance", s(session, "id")),
        json!({ "user": user }),
    )
    .await
}

#[tokio::test]
async fn instructor_led_completes_when_every_booked_session_is_attended() {
    let app = spawn_app().await;
    let c = course(&app, "instructor_led").await;
    let day1 = session(&app, &c, json!({ "title": "Day 1" })).await;
    let day2 = session(
        &app,
        &c,
        json!({ "title": "Day 2", "starts_at": "2027-03-02T09:00:00Z",
                "ends_at": "2027-03-02T17:00:00Z", "approval_required": true }),
    )
    .await;
    assert_eq!(day2["object"], format!("session:{}", s(&day2, "id")));
    app.create_user("lea", json!({})).await;
    enroll(&app, &c, "lea").await;

    let booked = ok(book(&app, &day1, "lea").await).await;
    assert_eq!(booked["booking"]["status"], "booked");
    assert_eq!(booked["enrollment"]["status"], "enrolled");
    let awaiting = ok(book(&app, &day2, "lea").await).await;
    assert_eq!(awaiting["booking"]["status"], "to_confirm");
    assert_eq!(
        awaiting["enrollment"]["status"], "to_confirm",
        "the enrollment is to confirm while a session booking awaits approval"
    );

    // A learner to confirm cannot attend that session, and nothing is recorded.
    assert_problem(
        attend(&app, &day2, "lea").await,
        422,
        Some("status"),
        "to_confirm",
    )
    .await;
    // The engine agrees: attending that session is vetoed by its booking...
    let check = ok(app
        .send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": "lea", "action": "sessions.attend", "resource": s(&day2, "object") }),
        )
        .await)
    .await;
    assert_eq!(check["allowed"], false, "{check}");
    assert!(check.to_string().contains("booking"), "{check}");
    // ...while the confirmed day 1 may be attended: the booking there decides.
    let check = ok(app
        .send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": "lea", "action": "sessions.attend", "resource": s(&day1, "object") }),
        )
        .await)
    .await;
    assert_eq!(check["allowed"], true, "{check}");

    // The confirmed session can be attended: progress, not completion.
    let first = ok(attend(&app, &day1, "lea").await).await;
    assert_eq!(first["booking"]["status"], "attended");
    assert_eq!(first["enrollment"]["status"], "in_progress");

    let approved = ok(app
        .send(
            Method::POST,
            &format!("/api/v1/sessions/{}/bookings/lea/approve", s(&day2, "id")),
            json!({}),
        )
        .await)
    .await;
    assert_eq!(approved["booking"]["status"], "booked");

    // Attendance through the learning-activity API completes the course.
    let done = ok(app
        .send(
            Method::POST,
            "/api/v1/activity",
            json!({ "user": "lea", "course": s(&c, "id"), "activity": "attended_session",
                    "session": s(&day2, "id") }),
        )
        .await)
    .await;
    assert_eq!(done["status"], "completed");

    let bookings = ok(app
        .get(&format!("/api/v1/sessions/{}/bookings", s(&day1, "id")))
        .await)
    .await;
    assert_eq!(bookings.as_array().unwrap().len(), 1);
    assert_eq!(bookings[0]["status"], "attended");
    let audit = ok(app.get("/api/v1/audit?limit=1000").await).await;
    for action in [
        "session.created",
        "booking.created",
        "booking.approved",
        "booking.attended",
    ] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["action"] == action),
            "{action} is audited"
        );
    }
}

#[tokio::test]
async fn a_full_session_books_waiting_and_approval_needs_a_place() {
    let app = spawn_app().await;
    let c = course(&app, "instructor_led").await;
    let day = session(&app, &c, json!({ "capacity": 1 })).await;
    for name in ["ann", "bob"] {
        app.create_user(name, json!({})).await;
        enroll(&app, &c, name).await;
    }
    assert_eq!(
        ok(book(&app, &day, "ann").await).await["booking"]["status"],
        "booked"
    );
    assert_eq!(
        ok(book(&app, &day, "bob").await).await["booking"]["status"],
        "waiting"
    );
    assert_problem(
        book(&app, &day, "bob").await,
        409,
        Some("user"),
        "already booked",
    )
    .await;
    assert_problem(
        attend(&app, &day, "bob").await,
        422,
        Some("status"),
        "waiting",
    )
    .await;
    let approve = format!("/api/v1/sessions/{}/bookings/bob/approve", s(&day, "id"));
    assert_problem(
        app.send(Method::POST, &approve, json!({})).await,
        409,
        Some("capacity"),
        "full",
    )
    .await;
    ok(app
        .send(
            Method::PATCH,
            &format!("/api/v1/sessions/{}", s(&day, "id")),
            json!({ "capacity": 2 }),
        )
        .await)
    .await;
    let approved = ok(app.send(Method::POST, &approve, json!({})).await).await;
    assert_eq!(approved["booking"]["status"], "booked");

    // Only enrolled learners with access book.
    app.create_user("cleo", json!({})).await;
    assert_problem(book(&app, &day, "cleo").await, 422, None, "not enrolled").await;
}

#[tokio::test]
async fn event_administrators_approve_event_bookings_and_course_administrators_may_not() {
    let app = spawn_app().await;
    let c = course(&app, "e_learning").await;
    let event = session(
        &app,
        &c,
        json!({ "kind": "event", "title": "Onboarding Day", "approval_required": true }),
    )
    .await;
    assert_eq!(event["object"], format!("event:{}", s(&event, "id")));
    let (ivan, ivan_token) = person(&app, "ivan").await;
    let (pete, pete_token) = person(&app, "pete").await;
    grant(&app, &ivan, "tutor", "platform").await;
    grant(&app, &ivan, "event-admin", &s(&event, "object")).await;
    grant(&app, &pete, "tutor", "platform").await;
    grant(&app, &pete, "course-admin", &s(&c, "object")).await;
    app.create_user("lea", json!({})).await;
    enroll(&app, &c, "lea").await;
    assert_eq!(
        ok(book(&app, &event, "lea").await).await["booking"]["status"],
        "to_confirm"
    );

    let detail = ok(app
        .get(&format!("/api/v1/sessions/{}", s(&event, "id")))
        .await)
    .await;
    let approvers: Vec<&str> = detail["approvers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(approvers.contains(&s(&ivan, "id").as_str()), "{detail}");
    assert!(!approvers.contains(&s(&pete, "id").as_str()), "{detail}");

    let approve = format!("/api/v1/sessions/{}/bookings/lea/approve", s(&event, "id"));
    let refused = app
        .request(Method::POST, &approve, &pete_token)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, None, "enrollments.approve").await;
    let approved = ok(app
        .request(Method::POST, &approve, &ivan_token)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(approved["booking"]["status"], "booked");
    // An event of an e-learning course records attendance; the course completes by material.
    let attended = ok(app
        .request(
            Method::POST,
            &format!("/api/v1/sessions/{}/attendance", s(&event, "id")),
            &ivan_token,
        )
        .json(&json!({ "user": "lea" }))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(attended["booking"]["status"], "attended");
    assert_eq!(attended["enrollment"]["status"], "enrolled");
}

#[tokio::test]
async fn sessions_belong_to_instructor_led_courses_and_end_after_they_start() {
    let app = spawn_app().await;
    let c = course(&app, "e_learning").await;
    let path = format!("/api/v1/courses/{}/sessions", s(&c, "id"));
    let body = json!({ "kind": "session", "title": "Day", "starts_at": "2027-03-01T09:00:00Z",
                       "ends_at": "2027-03-01T17:00:00Z" });
    assert_problem(
        app.send(Method::POST, &path, body).await,
        422,
        Some("kind"),
        "instructor-led",
    )
    .await;
    let backwards = json!({ "kind": "event", "title": "Day", "starts_at": "2027-03-01T09:00:00Z",
                            "ends_at": "2027-03-01T08:00:00Z" });
    assert_problem(
        app.send(Method::POST, &path, backwards).await,
        422,
        Some("ends_at"),
        "end after it starts",
    )
    .await;
    let garbled = json!({ "kind": "event", "title": "Day", "starts_at": "tomorrow",
                          "ends_at": "2027-03-01T08:00:00Z" });
    assert_problem(
        app.send(Method::POST, &path, garbled).await,
        422,
        Some("starts_at"),
        "tomorrow",
    )
    .await;
    let listed = ok(app.get(&path).await).await;
    assert_eq!(listed, json!([]), "nothing was created");
}

#[tokio::test]
async fn the_learner_app_shows_only_enrollments_switched_on_for_it() {
    let app = spawn_app().await;
    let a = course(&app, "e_learning").await;
    let b = course(&app, "e_learning").await;
    let (lea, lea_token) = person(&app, "lea").await;
    enroll(&app, &a, "lea").await;
    enroll(&app, &b, "lea").await;
    let mine = |token: String| {
        let app = &app;
        async move {
            app.request(Method::GET, "/api/v1/app/courses", &token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        mine(lea_token.clone()).await,
        403,
        None,
        "app access is off",
    )
    .await;
    ok(app
        .send(
            Method::PUT,
            &format!("/api/v1/users/{}/app-access", s(&lea, "id")),
            json!({ "on": true }),
        )
        .await)
    .await;
    assert_eq!(
        ok(mine(lea_token.clone()).await)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let hidden = ok(app
        .send(
            Method::PATCH,
            &format!("/api/v1/courses/{}/enrollments/lea", s(&b, "id")),
            json!({ "show_in_app": false }),
        )
        .await)
    .await;
    assert_eq!(hidden["show_in_app"], false);
    let shown = ok(mine(lea_token.clone()).await).await;
    assert_eq!(shown.as_array().unwrap().len(), 1);
    assert_eq!(shown[0]["course"], a["id"]);
    // A course the learner may not open (here: suspended) is left out too.
    ok(app
        .send(
            Method::PATCH,
            &format!("/api/v1/courses/{}/enrollments/lea", s(&a, "id")),
            json!({ "status": "suspended" }),
        )
        .await)
    .await;
    assert_eq!(ok(mine(lea_token).await).await, json!([]));
}

#[tokio::test]
async fn e_learning_access_is_given_only_where_the_integration_is_on() {
    let app = spawn_app().await;
    let c = course(&app, "e_learning").await;
    let (lea, _) = person(&app, "lea").await;
    enroll(&app, &c, "lea").await;
    ok(app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({ "invitation": { "subject": "Welcome", "body": "{username} / {password}" },
                    "default_access_days": 30 }),
        )
        .await)
    .await;
    let bulk = format!("/api/v1/courses/{}/app-access", s(&c, "id"));
    assert_problem(
        app.send(
            Method::POST,
            &bulk,
            json!({ "users": ["lea"], "elearning": true }),
        )
        .await,
        409,
        Some("elearning"),
        "integration is off",
    )
    .await;
    let single = format!("/api/v1/users/{}/app-access", s(&lea, "id"));
    assert_problem(
        app.send(
            Method::PUT,
            &single,
            json!({ "on": true, "elearning": true }),
        )
        .await,
        409,
        Some("elearning"),
        "integration is off",
    )
    .await;
    ok(app
        .send(
            Method::PUT,
            "/api/v1/features/elearning",
            json!({ "on": true }),
        )
        .await)
    .await;
    ok(app
        .send(
            Method::POST,
            &bulk,
            json!({ "users": ["lea"], "elearning": true }),
        )
        .await)
    .await;
    let audit = ok(app.get("/api/v1/audit?limit=1000").await).await;
    let on = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "user.app_access_on")
        .unwrap();
    assert_eq!(on["after"]["elearning"], true);
    let expected = (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    assert_eq!(
        on["after"]["until"], expected,
        "the tenant's default length"
    );
}

#[tokio::test]
async fn deleting_takes_the_dependent_rows_and_the_engines_knowledge_with_it() {
    let app = spawn_app().await;
    let c = course(&app, "instructor_led").await;
    let material = ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/materials", s(&c, "id")),
            json!({ "title": "Slides" }),
        )
        .await)
    .await;
    let day = session(&app, &c, json!({ "approval_required": true })).await;
    let (tina, tina_token) = person(&app, "tina").await;
    grant(&app, &tina, "tutor", "platform").await;
    grant(&app, &tina, "course-tutor", &s(&c, "object")).await;
    for name in ["lea", "max"] {
        app.create_user(name, json!({})).await;
        enroll(&app, &c, name).await;
    }
    assert_eq!(
        ok(book(&app, &day, "lea").await).await["enrollment"]["status"],
        "to_confirm"
    );
    let plan = ok(app
        .send(
            Method::POST,
            "/api/v1/learning-plans",
            json!({ "title": "Path", "courses": [s(&c, "id")] }),
        )
        .await)
    .await;

    // A session goes with its bookings; the enrollment waiting on it moves back.
    assert_eq!(
        app.send(
            Method::DELETE,
            &format!("/api/v1/sessions/{}", s(&day, "id")),
            json!(null)
        )
        .await
        .status(),
        204
    );
    let lea = ok(app
        .get(&format!(
            "/api/v1/courses/{}/enrollments?limit=10",
            s(&c, "id")
        ))
        .await)
    .await;
    assert!(
        lea["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "enrolled"),
        "{lea}"
    );
    // Unenrolling and removing a material.
    let course_path = format!("/api/v1/courses/{}", s(&c, "id"));
    assert_eq!(
        app.send(
            Method::DELETE,
            &format!("{course_path}/enrollments/max"),
            json!(null)
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        app.send(
            Method::DELETE,
            &format!("{course_path}/materials/{}", s(&material, "id")),
            json!(null)
        )
        .await
        .status(),
        204
    );
    let materials = ok(app.get(&format!("{course_path}/materials")).await).await;
    assert_eq!(materials, json!([]));

    // A course tutor may not delete the course (a data-loss permission); an administrator may.
    let refused = app
        .request(Method::DELETE, &course_path, &tina_token)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, None, "courses.delete").await;
    assert_eq!(
        app.send(Method::DELETE, &course_path, json!(null))
            .await
            .status(),
        204
    );
    assert_eq!(app.get(&course_path).await.status(), 404);
    let grants = ok(app.get("/api/v1/grants").await).await;
    assert!(
        !grants.to_string().contains(&s(&c, "object")),
        "grants held at the course went with it: {grants}"
    );
    let kept = ok(app
        .get(&format!("/api/v1/learning-plans/{}", s(&plan, "id")))
        .await)
    .await;
    assert_eq!(kept["courses"], json!([]), "the plan no longer lists it");
    let plan_path = format!("/api/v1/learning-plans/{}", s(&plan, "id"));
    assert_eq!(
        app.send(Method::DELETE, &plan_path, json!(null))
            .await
            .status(),
        204
    );
    assert_eq!(app.get(&plan_path).await.status(), 404);
    let audit = ok(app.get("/api/v1/audit?limit=1000").await).await;
    for action in [
        "course.deleted",
        "session.deleted",
        "material.deleted",
        "enrollment.deleted",
        "learning_plan.deleted",
    ] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["action"] == action),
            "{action} is audited"
        );
    }
}

#[tokio::test]
async fn cancelling_the_booking_awaiting_approval_gives_the_enrollment_back() {
    let app = spawn_app().await;
    let c = course(&app, "instructor_led").await;
    let day = session(&app, &c, json!({ "approval_required": true })).await;
    app.create_user("lea", json!({})).await;
    enroll(&app, &c, "lea").await;
    assert_eq!(
        ok(book(&app, &day, "lea").await).await["enrollment"]["status"],
        "to_confirm"
    );
    let path = format!("/api/v1/sessions/{}/bookings/lea", s(&day, "id"));
    let (_, stranger) = person(&app, "stranger").await;
    let refused = app
        .request(Method::DELETE, &path, &stranger)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, None, "enrollments.manage").await;
    let cancelled = ok(app.send(Method::DELETE, &path, json!(null)).await).await;
    assert_eq!(
        cancelled["booking"]["status"], "to_confirm",
        "the booking as it was"
    );
    assert_eq!(cancelled["enrollment"]["status"], "enrolled");
    let bookings = ok(app
        .get(&format!("/api/v1/sessions/{}/bookings", s(&day, "id")))
        .await)
    .await;
    assert_eq!(bookings, json!([]));
    // The engine forgot the booking: the enrollment decides again.
    let check = ok(app
        .send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": "lea", "action": "sessions.attend", "resource": s(&day, "object") }),
        )
        .await)
    .await;
    assert_eq!(check["allowed"], true, "{check}");
    assert_problem(
        app.send(Method::DELETE, &path, json!(null)).await,
        422,
        None,
        "not booked",
    )
    .await;
}
