//! The decision API end to end, on the classic LMS preset the test tenant is made from.

use registrar_server::{AppState, Application, Settings};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// A course reference nobody created.
fn unknown_course() -> String {
    format!("course:{}", uuid::Uuid::now_v7())
}

async fn ok(r: Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn grant(app: &TestApp, user: &str, role: &str, scope: &str) -> Response {
    app.send(
        Method::POST,
        "/api/v1/grants",
        json!({ "principal": format!("user:{user}"), "role": role, "scope": scope }),
    )
    .await
}

/// Creates a course through the API and returns its `course:<id>` reference.
async fn put_course(app: &TestApp, published: bool) -> String {
    let made = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Course", "published": published }),
        )
        .await)
    .await;
    made["object"].as_str().unwrap().to_owned()
}

async fn check(app: &TestApp, user: &str, action: &str, resource: &str) -> Value {
    ok(app
        .send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": user, "action": action, "resource": resource }),
        )
        .await)
    .await
}

#[tokio::test]
async fn a_tutor_sees_the_course_they_tutor_and_the_answer_says_why() {
    let app = spawn_app().await;
    let tina = app.create_user("tina", json!({})).await;
    let tutored = put_course(&app, true).await;
    let other = put_course(&app, true).await;
    assert_eq!(
        grant(&app, &id(&tina), "tutor", "platform").await.status(),
        201
    );
    assert_eq!(
        grant(&app, &id(&tina), "course-tutor", &tutored)
            .await
            .status(),
        201
    );

    let yes = check(&app, "tina", "courses.view", &tutored).await;
    assert_eq!(yes["allowed"], true);
    assert!(
        yes["summary"].as_str().unwrap().contains("course-tutor"),
        "{yes}"
    );
    assert!(yes["revision"].as_i64().unwrap() > 0);
    let no = check(&app, "tina", "courses.view", &other).await;
    assert_eq!(no["allowed"], false);
    assert_eq!(no["explanation"]["outcome"], "denied");
    let no_create = check(
        &app,
        "tina",
        "courses.create",
        &format!("tenant:{}", app.tenant.id),
    )
    .await;
    assert_eq!(no_create["allowed"], false, "tutors cannot create courses");

    let mine = ok(app
        .get(&format!(
            "/api/v1/users/{}/objects?action=courses.view&kind=course",
            id(&tina)
        ))
        .await)
    .await;
    assert_eq!(mine["items"], json!([tutored]));
    let who = ok(app
        .get(&format!(
            "/api/v1/holders?action=enrollments.approve&resource={tutored}"
        ))
        .await)
    .await;
    assert!(who.as_array().unwrap().contains(&json!(id(&tina))), "{who}");
}

#[tokio::test]
async fn bad_grants_are_refused_naming_the_rule_and_nothing_is_written() {
    let app = spawn_app().await;
    let tina = app.create_user("tina", json!({})).await;
    let tom = app.create_user("tom", json!({})).await;
    let stu = app.create_user("stu", json!({})).await;
    let c = put_course(&app, true).await;
    grant(&app, &id(&tina), "tutor", "platform").await;
    grant(&app, &id(&tom), "tutor", "platform").await;
    assert_eq!(
        grant(&app, &id(&tina), "course-tutor", &c).await.status(),
        201
    );
    let before: Vec<Value> = app
        .get("/api/v1/audit?limit=1000")
        .await
        .json()
        .await
        .unwrap();

    let wrong_scope = grant(&app, &id(&tom), "course-tutor", "platform").await;
    assert_problem(wrong_scope, 422, None, "cannot be granted at platform").await;
    let second_tutor = grant(&app, &id(&tom), "course-tutor", &c).await;
    assert_problem(second_tutor, 422, None, "course-tutor").await;
    let ineligible = grant(&app, &id(&stu), "course-admin", &c).await;
    assert_problem(
        ineligible,
        422,
        None,
        "not eligible for role \"course-admin\"",
    )
    .await;
    let unknown_role = grant(&app, &id(&tom), "wizard", "platform").await;
    assert_problem(unknown_role, 404, None, "\"wizard\"").await;
    let unknown_object = grant(&app, &id(&tom), "course-admin", &unknown_course()).await;
    assert_problem(unknown_object, 404, None, "unknown object course:").await;
    let bad_principal = app
        .send(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": "robot:1", "role": "tutor", "scope": "platform" }),
        )
        .await;
    assert_problem(bad_principal, 422, Some("principal"), "robot:1").await;
    let self_grant = grant(&app, &app.admin.id.to_string(), "tutor", "platform").await;
    assert_eq!(self_grant.status(), 403);

    let after: Vec<Value> = app
        .get("/api/v1/audit?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before, after, "refused grants leave no trace");
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let app = spawn_app().await;
    let coord = app
        .create_user("coord", json!({ "password": "coordinator pass" }))
        .await;
    let tom = app.create_user("tom", json!({})).await;
    assert_eq!(
        grant(&app, &id(&coord), "training-coordinator", "platform")
            .await
            .status(),
        201
    );
    let login = ok(app.login("coord", "coordinator pass").await).await;
    let token = login["token"].as_str().unwrap();
    let as_coord = |role: &str| {
        app.request(Method::POST, "/api/v1/grants", token).json(
            &json!({ "principal": format!("user:{}", id(&tom)), "role": role, "scope": "platform" }),
        )
    };
    let too_much = as_coord("lms-admin").send().await.unwrap();
    assert_problem(too_much, 403, None, "system.configure").await;
    let fine = as_coord("tutor").send().await.unwrap();
    assert_eq!(fine.status(), 201);
    // Nor by editing a role into more than they hold.
    let escalate = app
        .request(Method::PATCH, "/api/v1/roles/tutor", token)
        .json(&json!({ "capabilities": [{ "permission": "system.configure", "reach": "tenant" }] }))
        .send()
        .await
        .unwrap();
    assert_problem(escalate, 403, None, "system.configure").await;
}

#[tokio::test]
async fn check_input_is_validated_and_named() {
    let app = spawn_app().await;
    let c = put_course(&app, false).await;
    let send = |body: Value| app.send(Method::POST, "/api/v1/check", body);
    let r = send(json!({ "user": "admin", "action": "courses.fly", "resource": c })).await;
    assert_problem(r, 422, Some("action"), "courses.fly").await;
    let r =
        send(json!({ "user": "admin", "action": "courses.view", "resource": unknown_course() }))
            .await;
    assert_problem(r, 404, None, "unknown object course:").await;
    let r =
        send(json!({ "user": "admin", "action": "courses.view", "resource": "spaceship:1" })).await;
    assert_problem(r, 422, Some("resource"), "spaceship").await;
    let r = send(json!({ "user": "nobody", "action": "courses.view", "resource": c })).await;
    assert_problem(r, 404, None, "nobody").await;
    let r = send(json!({ "user": "admin", "action": "users.view", "resource": c })).await;
    assert_problem(r, 422, None, "does not apply").await;
    let r = send(json!({ "user": "admin", "action": "courses.view", "resource": c, "at_least_revision": 1_000_000_000 })).await;
    assert_problem(r, 409, Some("at_least_revision"), "1000000000").await;
}

#[tokio::test]
async fn a_batch_answers_in_order_and_names_a_bad_item() {
    let app = spawn_app().await;
    let c = put_course(&app, true).await;
    app.create_user("ann", json!({})).await;
    let batch = ok(app
        .send(
            Method::POST,
            "/api/v1/check/batch",
            json!({ "checks": [
                { "user": "admin", "action": "courses.edit", "resource": c },
                { "user": "ann", "action": "courses.edit", "resource": c },
            ] }),
        )
        .await)
    .await;
    assert_eq!(batch["results"][0]["allowed"], true);
    assert_eq!(batch["results"][1]["allowed"], false);
    let bad = app
        .send(
            Method::POST,
            "/api/v1/check/batch",
            json!({ "checks": [
                { "user": "admin", "action": "courses.edit", "resource": c },
                { "user": "admin", "action": "nope", "resource": c },
            ] }),
        )
        .await;
    assert_problem(bad, 422, Some("checks[1].action"), "checks[1]").await;
}

#[tokio::test]
async fn roles_are_copied_changed_and_deleted_only_when_unused() {
    let app = spawn_app().await;
    let catalog: Vec<Value> = app.get("/api/v1/permissions").await.json().await.unwrap();
    let users_view = catalog.iter().find(|p| p["code"] == "users.view").unwrap();
    assert_eq!(users_view["risk"]["personal_data"], true);

    let copy = ok(app
        .send(
            Method::POST,
            "/api/v1/roles/tutor/copy",
            json!({ "code": "senior-tutor", "name": "Senior Tutor" }),
        )
        .await)
    .await;
    assert_eq!(copy["code"], "senior-tutor");
    let dup = app
        .send(
            Method::POST,
            "/api/v1/roles/tutor/copy",
            json!({ "code": "senior-tutor", "name": "Again" }),
        )
        .await;
    assert_problem(dup, 409, Some("code"), "senior-tutor").await;
    let changed = ok(app
        .send(
            Method::PATCH,
            "/api/v1/roles/senior-tutor",
            json!({ "capabilities": [{ "permission": "courses.view", "reach": "tenant" }] }),
        )
        .await)
    .await;
    assert_eq!(changed["capabilities"].as_array().unwrap().len(), 1);
    let unknown = app
        .send(
            Method::PATCH,
            "/api/v1/roles/senior-tutor",
            json!({ "capabilities": [{ "permission": "courses.fly", "reach": "tenant" }] }),
        )
        .await;
    assert_problem(unknown, 422, None, "courses.fly").await;

    let ann = app.create_user("ann", json!({})).await;
    let g = ok(grant(&app, &id(&ann), "senior-tutor", "platform").await).await;
    let c = put_course(&app, true).await;
    assert_eq!(
        check(&app, "ann", "courses.view", &c).await["allowed"],
        true
    );
    let in_use = app
        .send(Method::DELETE, "/api/v1/roles/senior-tutor", json!(null))
        .await;
    assert_problem(in_use, 409, Some("role"), "1 grants").await;
    let revoke = app
        .send(
            Method::DELETE,
            &format!("/api/v1/grants/{}", id(&g)),
            json!(null),
        )
        .await;
    assert_eq!(revoke.status(), 204);
    assert_eq!(
        check(&app, "ann", "courses.view", &c).await["allowed"],
        false
    );
    let gone = app
        .send(Method::DELETE, "/api/v1/roles/senior-tutor", json!(null))
        .await;
    assert_eq!(gone.status(), 204);
    assert_eq!(app.get("/api/v1/roles/senior-tutor").await.status(), 404);
}

#[tokio::test]
async fn a_second_server_on_the_same_database_converges() {
    let app = spawn_app().await;
    let store = registrar_store::connect(&app.db.url).await.unwrap();
    let second = Application::bind(
        "127.0.0.1:0".parse().unwrap(),
        AppState::new(store, Settings::default()).await.unwrap(),
    )
    .await
    .unwrap();
    let second_url = format!("http://{}", second.local_addr().unwrap());
    tokio::spawn(second.serve(std::future::pending()));

    let ann = app.create_user("ann", json!({})).await;
    let c = put_course(&app, true).await;
    let granted = grant(&app, &id(&ann), "lms-admin", "platform").await;
    let revision: i64 = granted.headers()["x-registrar-revision"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(granted.status(), 201);
    let answer = ok(app
        .client
        .post(format!("{second_url}/api/v1/check"))
        .bearer_auth(&app.token)
        .json(&json!({ "user": "ann", "action": "courses.delete", "resource": c, "at_least_revision": revision }))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert!(answer["revision"].as_i64().unwrap() >= revision);
}

#[tokio::test]
async fn a_students_list_of_users_and_groups_is_cut_by_the_engine_and_policies_widen_it() {
    let app = spawn_app().await;
    let ann = app
        .create_user("ann", json!({ "password": "ann password 1" }))
        .await;
    app.create_user("bob", json!({})).await;
    let login = ok(app.login("ann", "ann password 1").await).await;
    let token = login["token"].as_str().unwrap().to_owned();
    let list = |token: String| {
        let req = app.request(Method::GET, "/api/v1/users", &token);
        async move {
            ok(req.send().await.unwrap()).await["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(list(token.clone()).await, 1);
    let policy = ok(app
        .send(
            Method::POST,
            "/api/v1/policies",
            json!({ "name": "People viewers", "items": [{ "role": "training-coordinator", "scope": "platform" }] }),
        )
        .await)
    .await;
    let attach = app
        .send(
            Method::POST,
            &format!("/api/v1/policies/{}/attachments", id(&policy)),
            json!({ "principal": format!("user:{}", id(&ann)) }),
        )
        .await;
    assert_eq!(attach.status(), 204);
    assert_eq!(list(token).await, 3);
    let policies: Vec<Value> = app.get("/api/v1/policies").await.json().await.unwrap();
    assert_eq!(policies[0]["attached_to"][0], format!("user:{}", id(&ann)));
}

#[tokio::test]
async fn a_check_does_not_reveal_whether_a_username_exists() {
    let app = spawn_app().await;
    app.create_user("ann", json!({ "password": "ann password 1" }))
        .await;
    app.create_user("bob", json!({})).await;
    let c = put_course(&app, true).await;
    let login = ok(app.login("ann", "ann password 1").await).await;
    let token = login["token"].as_str().unwrap();
    let ask = |user: &str| {
        app.request(Method::POST, "/api/v1/check", token)
            .json(&json!({ "user": user, "action": "courses.view", "resource": c }))
            .send()
    };
    let existing: Value = ask("bob").await.unwrap().json().await.unwrap();
    let missing: Value = ask("nobody").await.unwrap().json().await.unwrap();
    assert_eq!(existing["status"], 403);
    assert_eq!(missing["status"], 403);
    assert_eq!(
        existing["detail"].as_str().unwrap().replace("bob", "X"),
        missing["detail"].as_str().unwrap().replace("nobody", "X"),
        "the same answer whether or not the user exists"
    );
    // Ann may always ask about herself; an administrator learns that nobody is nobody.
    let own = ok(ask("ann").await.unwrap()).await;
    assert!(
        own["allowed"].is_boolean(),
        "she gets an answer about herself: {own}"
    );
    let r = app
        .send(
            Method::POST,
            "/api/v1/check",
            json!({ "user": "nobody", "action": "courses.view", "resource": c }),
        )
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn courses_are_not_edited_behind_the_course_api() {
    let app = spawn_app().await;
    let c = put_course(&app, false).await;
    let r = app
        .send(
            Method::PUT,
            "/api/v1/objects",
            json!({ "object": c, "published": true }),
        )
        .await;
    assert_problem(r, 422, Some("object"), "/api/v1/courses").await;
    let event = format!("event:{}", uuid::Uuid::now_v7());
    let made = app
        .send(
            Method::PUT,
            "/api/v1/objects",
            json!({ "object": event, "parent": c }),
        )
        .await;
    assert_eq!(
        made.status(),
        200,
        "other learning objects still go through here"
    );
}

/// A flood of the same refused request writes one audit row (with how many it stands for on
/// the next one), not one row per request, while the metrics count every refusal.
#[tokio::test]
async fn repeated_refusals_are_audited_once_per_window_and_all_counted() {
    let app = spawn_app().await;
    let (_, token) = crate::helpers::person(&app, "mallory").await;
    for _ in 0..20 {
        let r = app
            .request(Method::GET, "/api/v1/audit", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let audit = ok(app.get("/api/v1/audit?limit=1000").await).await;
    let denials: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "access.denied")
        .collect();
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(denials[0]["after"]["repeated_since_last"], 0);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("registrar_access_refusals_total{permission=\"audit.view\"} 20"),
        "{metrics}"
    );
}
