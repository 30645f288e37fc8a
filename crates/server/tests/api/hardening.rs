//! Regressions for the defects found by attacking the demo: each test is named after the rule
//! that was broken and fails on the code before the fix.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, TestApp, assert_problem, feed_token, grant, ok, person, s, scim_deactivate,
    spawn_app,
};

async fn as_user(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Response {
    app.request(method, path, token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn course(app: &TestApp, course_type: &str) -> Value {
    ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Hardening", "course_type": course_type, "published": true }),
        )
        .await)
    .await
}

/// A session of `course` on one day of 2027.
async fn day_session(app: &TestApp, course: &Value) -> Value {
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/sessions", s(course, "id")),
            json!({
                "kind": "session", "title": "Day", "starts_at": "2027-03-01T09:00:00Z",
                "ends_at": "2027-03-01T17:00:00Z",
            }),
        )
        .await)
    .await
}

/// `name`, a Tutor holding the course-tutor responsibility on `course`, with his token.
async fn course_tutor(app: &TestApp, name: &str, course: &Value) -> (Value, String) {
    let (tutor, token) = person(app, name).await;
    grant(app, &tutor, "tutor", "platform").await;
    grant(
        app,
        &tutor,
        "course-tutor",
        &format!("course:{}", s(course, "id")),
    )
    .await;
    (tutor, token)
}

/// A training coordinator (all but system configuration) with her session token.
async fn coordinator(app: &TestApp) -> (Value, String) {
    let (hana, token) = person(app, "hana").await;
    grant(app, &hana, "training-coordinator", "platform").await;
    (hana, token)
}

async fn invitations_on(app: &TestApp) {
    ok(app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({
                "invitation": { "subject": "Welcome", "body": "{username} / {password}" },
                "invite_on_app_access": true,
            }),
        )
        .await)
    .await;
}

#[tokio::test]
async fn switching_app_access_on_with_the_automation_obeys_the_takeover_rule() {
    let app = spawn_app().await;
    invitations_on(&app).await;
    let (_, hana) = coordinator(&app).await;
    let admin = app.admin.id.to_string();

    // The single switch would mail the superadmin fresh login details: refused.
    let r = as_user(
        &app,
        &hana,
        Method::PUT,
        &format!("/api/v1/users/{admin}/app-access"),
        json!({ "on": true }),
    )
    .await;
    assert_problem(r, 403, None, "superadmin").await;

    // So is the bulk set-up from a course's enrollments.
    let c = course(&app, "e_learning").await;
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", s(&c, "id")),
            json!({ "user": "admin" }),
        )
        .await)
    .await;
    let r = as_user(
        &app,
        &hana,
        Method::POST,
        &format!("/api/v1/courses/{}/app-access", s(&c, "id")),
        json!({ "users": ["admin"] }),
    )
    .await;
    assert_problem(r, 403, None, "superadmin").await;

    // Nothing was queued and the administrator's password still works.
    let audit = ok(app.get("/api/v1/audit?limit=500").await).await;
    assert!(
        !audit.to_string().contains("user.app_access_on"),
        "no app access was switched on: {audit}"
    );
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status(), 200);

    // A learner's access is hers to switch on, and sends the invitation.
    let (olaf, _) = person(&app, "olaf").await;
    let r = as_user(
        &app,
        &hana,
        Method::PUT,
        &format!("/api/v1/users/{}/app-access", s(&olaf, "id")),
        json!({ "on": true }),
    )
    .await;
    assert_eq!(ok(r).await["invitation_sent"], true);
}

#[tokio::test]
async fn a_course_tutor_may_not_delete_a_lesson_of_the_course_he_tutors() {
    let app = spawn_app().await;
    let c = course(&app, "e_learning").await;
    let materials = format!("/api/v1/courses/{}/materials", s(&c, "id"));
    let lesson = ok(app
        .send(Method::POST, &materials, json!({ "title": "Slides" }))
        .await)
    .await;
    let (_, token) = course_tutor(&app, "terry", &c).await;

    let one = format!("{materials}/{}", s(&lesson, "id"));
    let r = as_user(&app, &token, Method::DELETE, &one, json!(null)).await;
    assert_problem(r, 403, None, "lessons.delete").await;
    // Nor create one.
    let r = as_user(
        &app,
        &token,
        Method::POST,
        &materials,
        json!({ "title": "More" }),
    )
    .await;
    assert_problem(r, 403, None, "lessons.create").await;

    let r = app.send(Method::DELETE, &one, json!(null)).await;
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn identities_are_folded_before_they_are_validated_so_what_is_stored_parses() {
    let app = spawn_app().await;
    // "İ" lower-cases to "i" and a combining dot: refused, never stored.
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "İnes", "display_name": "İnes" }),
        )
        .await;
    assert_problem(r, 422, Some("username"), "letters").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "ines", "display_name": "Ines", "email": "ines@İstanbul.example" }),
        )
        .await;
    assert_problem(r, 422, Some("email"), "domain").await;
    let r = app
        .request(Method::POST, "/api/v1/imports?format=users", &app.token)
        .header("content-type", "text/csv")
        .body("username,display_name\nines,Ines\nİnes,Ines\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let report: Value = r.json().await.unwrap();
    assert!(report.to_string().contains("line 3"), "{report}");

    // Other letters fold and read back; the tenant stays readable everywhere.
    app.create_user("Ärger", json!({ "email": "ÄRGER@Bücher.example" }))
        .await;
    let users = ok(app.get("/api/v1/users").await).await;
    assert!(users.to_string().contains("ärger"), "{users}");
    ok(app.get("/api/v1/exports/users").await).await;
}

#[tokio::test]
async fn numbers_from_the_api_are_bounded_and_date_arithmetic_never_panics() {
    let app = spawn_app().await;
    invitations_on(&app).await;
    let r = app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({ "default_access_days": 3_000_000u32 }),
        )
        .await;
    assert_problem(r, 422, Some("default_access_days"), "36500").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Huge", "capacity": 4_000_000_000u32 }),
        )
        .await;
    assert_problem(r, 422, Some("capacity"), "at most").await;

    // The largest length allowed still makes a date.
    ok(app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({
                "invitation": { "subject": "Welcome", "body": "{username} / {password}" },
                "default_access_days": 36_500,
            }),
        )
        .await)
    .await;
    let c = course(&app, "e_learning").await;
    let (olaf, _) = person(&app, "olaf").await;
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", s(&c, "id")),
            json!({ "user": s(&olaf, "id") }),
        )
        .await)
    .await;
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/app-access", s(&c, "id")),
            json!({ "users": ["olaf"] }),
        )
        .await)
    .await;
}

#[tokio::test]
async fn a_session_beyond_the_calendar_in_utc_is_refused_and_the_course_stays_readable() {
    let app = spawn_app().await;
    let c = course(&app, "instructor_led").await;
    let sessions = format!("/api/v1/courses/{}/sessions", s(&c, "id"));
    let r = app
        .send(
            Method::POST,
            &sessions,
            json!({
                "kind": "session", "title": "Far", "starts_at": "9999-12-31T20:00:00-05:00",
                "ends_at": "9999-12-31T23:00:00-05:00",
            }),
        )
        .await;
    assert_problem(r, 422, Some("starts_at"), "years").await;
    // An offset is kept as the instant it names, in UTC.
    let day = ok(app
        .send(
            Method::POST,
            &sessions,
            json!({
                "kind": "session", "title": "Day", "starts_at": "2027-03-01T09:00:00+02:00",
                "ends_at": "2027-03-01T17:00:00+02:00",
            }),
        )
        .await)
    .await;
    assert_eq!(day["starts_at"], "2027-03-01T07:00:00Z");
    let list = ok(app.get(&sessions).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// The answer to `probe(name)` with the name blanked out, and its status.
async fn answer(r: Response, name: &str) -> (u16, String) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, text.replace(name, "NAME"))
}

#[tokio::test]
async fn a_caller_who_cannot_see_everyone_gets_one_answer_for_missing_and_hidden_people() {
    let app = spawn_app().await;
    let (ann, _) = person(&app, "ann").await;
    let (_, learner) = person(&app, "lena").await;
    let c = course(&app, "instructor_led").await;
    let course = s(&c, "id");
    let session = day_session(&app, &c).await;
    let ann_id = s(&ann, "id");
    let ghost_id = uuid::Uuid::now_v7().to_string();

    type Probe = (Method, String, Value);
    let probes = |who: &str| -> Vec<Probe> {
        vec![
            (
                Method::POST,
                "/api/v1/users/status".into(),
                json!({ "users": [who], "status": "deactivated" }),
            ),
            (
                Method::POST,
                format!("/api/v1/courses/{course}/enrollments"),
                json!({ "user": who }),
            ),
            (
                Method::PATCH,
                format!("/api/v1/courses/{course}/enrollments/{who}"),
                json!({ "status": "completed" }),
            ),
            (
                Method::POST,
                format!("/api/v1/sessions/{}/bookings", s(&session, "id")),
                json!({ "user": who }),
            ),
            (
                Method::POST,
                "/api/v1/activity".into(),
                json!({ "user": who, "course": course, "activity": "opened_course" }),
            ),
            (
                Method::POST,
                "/api/v1/check".into(),
                json!({ "user": who, "action": "courses.view", "resource": format!("course:{course}") }),
            ),
        ]
    };
    for (existing, missing) in [("ann", "zed"), (ann_id.as_str(), ghost_id.as_str())] {
        for ((m, p1, b1), (_, p2, b2)) in probes(existing).into_iter().zip(probes(missing)) {
            let a = answer(as_user(&app, &learner, m.clone(), &p1, b1).await, existing).await;
            let b = answer(as_user(&app, &learner, m.clone(), &p2, b2).await, missing).await;
            assert_eq!(a, b, "{m} {p1}");
            assert_eq!(a.0, 403, "{m} {p1}: {}", a.1);
        }
    }
    for (path_existing, path_missing) in [
        (
            format!("/api/v1/users/{ann_id}"),
            format!("/api/v1/users/{ghost_id}"),
        ),
        (
            format!("/api/v1/users/{ann_id}/managers"),
            format!("/api/v1/users/{ghost_id}/managers"),
        ),
    ] {
        let a = answer(
            as_user(&app, &learner, Method::GET, &path_existing, json!(null)).await,
            &ann_id,
        )
        .await;
        let b = answer(
            as_user(&app, &learner, Method::GET, &path_missing, json!(null)).await,
            &ghost_id,
        )
        .await;
        assert_eq!(a, b, "{path_existing}");
    }
    // Someone who sees everyone is told plainly.
    let r = app.get(&format!("/api/v1/users/{ghost_id}")).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn every_answer_carries_strict_headers_and_the_feed_is_never_cached() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/api/v1/users",
        "/scim/v2/Users",
        "/api/openapi.json",
    ] {
        let r = app.get(path).await;
        let h = r.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(!h.contains_key("strict-transport-security"), "{path}");
    }
    let r = app.get("/scim/v2/Users").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn hsts_is_sent_when_the_deployment_asks_for_it() {
    let app = crate::helpers::spawn_app_on(
        registrar_store::testing::TestDatabase::default_kind().await,
        registrar_server::Settings {
            hsts: true,
            ..Default::default()
        },
    )
    .await;
    let r = app.get("/healthz").await;
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
}

#[tokio::test]
async fn an_upload_in_flight_leaves_no_file_with_its_data_in_the_temporary_directory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tmp = std::env::temp_dir().join(format!("registrar-spool-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&tmp).unwrap();
    // Each test runs in a process of its own: the server's spool goes where this says.
    point_temporary_files_at(&tmp);
    // Older versions left named files behind; only new ones count.
    let spool_files = || -> std::collections::BTreeSet<std::path::PathBuf> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("registrar-import-")
            })
            .map(|e| e.path())
            .collect()
    };
    let before = spool_files();
    let app = spawn_app().await;
    let body = format!(
        "username,display_name\n{}",
        (0..2000)
            .map(|i| format!("u{i},User {i}\n"))
            .collect::<String>()
    );
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/imports?format=users&dry_run=true HTTP/1.1\r\nhost: {addr}\r\n\
         authorization: Bearer {}\r\ncontent-type: text/csv\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        app.token,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    stream.write_all(&body.as_bytes()[..half]).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(
        left.is_empty(),
        "spool files in {}: {left:?}",
        tmp.display()
    );
    let named: Vec<_> = spool_files().difference(&before).cloned().collect();
    assert!(named.is_empty(), "named spool files: {named:?}");
    stream.write_all(&body.as_bytes()[half..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(std::fs::read_dir(&tmp).unwrap().next().is_none());
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Points this test process's anonymous temporary files at `dir`. (`std::env::set_var` is
/// unsafe in edition 2024 and the workspace forbids unsafe code; `tempfile` has its own knob.)
fn point_temporary_files_at(dir: &std::path::Path) {
    tempfile::env::override_temp_dir(dir).unwrap();
}

#[tokio::test]
async fn nobody_locks_out_someone_who_holds_more_than_they_do() {
    let app = spawn_app().await;
    let (_, hana) = coordinator(&app).await;
    let (root, _) = person(&app, "root").await;
    grant(&app, &root, "lms-admin", "platform").await;
    let (olaf, _) = person(&app, "olaf").await;

    let r = as_user(
        &app,
        &hana,
        Method::PATCH,
        &format!("/api/v1/users/{}", s(&root, "id")),
        json!({ "status": "deactivated" }),
    )
    .await;
    assert_problem(r, 403, None, "system.configure").await;
    let r = as_user(
        &app,
        &hana,
        Method::POST,
        "/api/v1/users/status",
        json!({ "users": ["root"], "status": "deactivated" }),
    )
    .await;
    assert_problem(r, 403, None, "system.configure").await;

    // Over SCIM, with an API token acting as her.
    let hana_user = ok(as_user(&app, &hana, Method::GET, "/api/v1/me", json!(null)).await).await;
    let r = scim_deactivate(&app, &feed_token(&app, &hana_user).await, &root).await;
    assert_eq!(r.status(), 403, "{}", r.text().await.unwrap());

    // A learner she outranks is hers to deactivate.
    let r = as_user(
        &app,
        &hana,
        Method::PATCH,
        &format!("/api/v1/users/{}", s(&olaf, "id")),
        json!({ "status": "deactivated" }),
    )
    .await;
    ok(r).await;
}

#[tokio::test]
async fn nobody_sets_the_status_of_their_own_enrollment_by_hand() {
    let app = spawn_app().await;
    let c = course(&app, "e_learning").await;
    let (cara, token) = person(&app, "cara").await;
    grant(&app, &cara, "tutor", "platform").await;
    grant(
        &app,
        &cara,
        "course-admin",
        &format!("course:{}", s(&c, "id")),
    )
    .await;
    let (olaf, _) = person(&app, "olaf").await;
    for who in ["cara", "olaf"] {
        ok(app
            .send(
                Method::POST,
                &format!("/api/v1/courses/{}/enrollments", s(&c, "id")),
                json!({ "user": who }),
            )
            .await)
        .await;
    }
    let own = format!(
        "/api/v1/courses/{}/enrollments/{}",
        s(&c, "id"),
        s(&cara, "id")
    );
    for status in ["suspended", "completed"] {
        let r = as_user(
            &app,
            &token,
            Method::PATCH,
            &own,
            json!({ "status": status }),
        )
        .await;
        assert_problem(r, 403, None, "their own enrollment").await;
    }
    // Someone else's, in her course, she may.
    let other = format!(
        "/api/v1/courses/{}/enrollments/{}",
        s(&c, "id"),
        s(&olaf, "id")
    );
    ok(as_user(
        &app,
        &token,
        Method::PATCH,
        &other,
        json!({ "status": "suspended" }),
    )
    .await)
    .await;
}

#[tokio::test]
async fn a_course_tutor_enrols_and_books_people_he_cannot_see_and_still_cannot_see_them() {
    let app = spawn_app().await;
    let c = course(&app, "instructor_led").await;
    let session = day_session(&app, &c).await;
    let (_, token) = course_tutor(&app, "terry", &c).await;
    let (olaf, _) = person(&app, "olaf").await;

    // Seed 001: a course tutor books users and deploys the course to them.
    let r = as_user(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/courses/{}/enrollments", s(&c, "id")),
        json!({ "user": "olaf" }),
    )
    .await;
    assert_eq!(r.status(), 201);
    let r = as_user(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/sessions/{}/bookings", s(&session, "id")),
        json!({ "user": "olaf" }),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    // The responsibility is over the course, not the person: his profile stays hidden.
    let r = as_user(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/users/{}", s(&olaf, "id")),
        json!(null),
    )
    .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_scim_feed_refuses_browser_sessions() {
    let app = spawn_app().await;
    let login = ok(app.login("admin", ADMIN_PASSWORD).await).await;
    let r = app
        .request(Method::GET, "/scim/v2/Users", &s(&login, "token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("API token"),
        "{body}"
    );
    // The API token of the same person is accepted.
    assert_eq!(app.get("/scim/v2/Users").await.status(), 200);
}

async fn import(app: &TestApp, token: &str, format: &str, csv: &str) -> (u16, Value) {
    let r = app
        .request(
            Method::POST,
            &format!("/api/v1/imports?format={format}&dry_run=true"),
            token,
        )
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_csv_import_gives_a_new_login_only_under_the_takeover_rule() {
    let app = spawn_app().await;
    let (_, hana) = coordinator(&app).await;
    // Accounts without an email: giving them one gives them a login.
    let root = app.create_user("root", json!({})).await;
    grant(&app, &root, "lms-admin", "platform").await;
    app.create_user("olaf", json!({})).await;
    let (status, report) = import(
        &app,
        &hana,
        "users",
        "username,email\nroot,mine@acme.example\n",
    )
    .await;
    // A dry run answers 200 with the rows it would refuse.
    assert_eq!(
        (status, report["refused"].as_u64()),
        (200, Some(1)),
        "{report}"
    );
    let error = &report["errors"][0];
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_str()),
        (Some(2), Some("email")),
        "{report}"
    );
    // Her own learners' logins are hers to give.
    let (status, report) = import(
        &app,
        &hana,
        "users",
        "username,email\nolaf,olaf@acme.example\n",
    )
    .await;
    assert_eq!(
        (status, report["refused"].as_u64()),
        (200, Some(0)),
        "{report}"
    );
    assert_eq!(report["updated"], 1, "{report}");
}

#[tokio::test]
async fn an_import_tells_a_caller_who_cannot_see_everyone_nothing_about_who_exists() {
    let app = spawn_app().await;
    person(&app, "ann").await;
    let (_, learner) = person(&app, "lena").await;
    for format in ["users", "status"] {
        let csv = |who: &str| match format {
            "users" => format!("username,display_name\n{who},Someone\n"),
            _ => format!("username,status\n{who},deactivated\n"),
        };
        let existing = import(&app, &learner, format, &csv("ann")).await;
        let missing = import(&app, &learner, format, &csv("zed")).await;
        assert_eq!(existing.0, missing.0, "{format}");
        assert_eq!(
            existing.1["errors"].to_string().replace("ann", "NAME"),
            missing.1["errors"].to_string().replace("zed", "NAME"),
            "{format}"
        );
    }
}
