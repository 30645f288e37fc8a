//! The rules of the reference platforms (`shared/seeds/`) that Registrar got wrong or could not
//! express, each named after the rule and driven over HTTP.

use registrar_server::mail::{Mailbox, Transport};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_problem, group_roles_tenant, ok, person, s, spawn_app, token_in,
};

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

#[tokio::test]
async fn learner_app_access_can_always_be_viewed_per_learner() {
    let app = spawn_app().await;
    let (ann, ann_token) = person(&app, "ann").await;
    let (_, bob_token) = person(&app, "bob").await;
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Selling", "published": true }),
        )
        .await)
    .await;
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", s(&course, "id")),
            json!({ "user": "ann" }),
        )
        .await)
    .await;
    let path = format!("/api/v1/users/{}/app-access", s(&ann, "id"));
    // The learner reads their own.
    let off = ok(app
        .request(Method::GET, &path, &ann_token)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(off["on"], false);
    assert_eq!(off["usable"], false);
    assert_eq!(off["invitation"], Value::Null);
    assert_eq!(off["courses"][0]["title"], "Selling");
    assert_eq!(off["courses"][0]["show_in_app"], true);

    ok(app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({ "invitation": { "subject": "Welcome", "body": "{username} / {password}" },
                    "invite_on_app_access": true }),
        )
        .await)
    .await;
    ok(app
        .send(
            Method::PUT,
            &path,
            json!({ "on": true, "until": "2099-12-31" }),
        )
        .await)
    .await;
    ok(app
        .send(
            Method::PATCH,
            &format!("/api/v1/courses/{}/enrollments/ann", s(&course, "id")),
            json!({ "show_in_app": false }),
        )
        .await)
    .await;
    let on = ok(app.get(&path).await).await;
    assert_eq!(on["on"], true);
    assert_eq!(on["usable"], true);
    assert_eq!(on["until"], "2099-12-31");
    assert_eq!(on["elearning"], false);
    assert!(on["invitation"]["queued_at"].is_string(), "{on}");
    assert_eq!(
        on["invitation"]["delivered_at"],
        Value::Null,
        "still in the outbox"
    );
    assert_eq!(on["courses"][0]["show_in_app"], false);

    let mailbox = std::env::temp_dir().join(format!("registrar-mailbox-{}.jsonl", s(&ann, "id")));
    let transport = Transport::Mailbox(Mailbox::new(&mailbox));
    assert_eq!(transport.drain(app.store.as_ref()).await.unwrap(), 1);
    let delivered = ok(app.get(&path).await).await;
    assert!(
        delivered["invitation"]["delivered_at"].is_string(),
        "{delivered}"
    );
    // Someone who does not see ann learns nothing, not even that she exists.
    let r = app
        .request(Method::GET, &path, &bob_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn learners_read_their_own_results_and_nobody_elses() {
    let app = spawn_app().await;
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Selling", "published": true }),
        )
        .await)
    .await;
    let other = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Another", "published": true }),
        )
        .await)
    .await;
    let mut materials = vec![];
    for title in ["Intro", "Practice"] {
        materials.push(
            ok(app
                .send(
                    Method::POST,
                    &format!("/api/v1/courses/{}/materials", s(&course, "id")),
                    json!({ "title": title }),
                )
                .await)
            .await,
        );
    }
    let (ann, ann_token) = person(&app, "ann").await;
    let (bob, bob_token) = person(&app, "bob").await;
    for c in [&course, &other] {
        ok(app
            .send(
                Method::POST,
                &format!("/api/v1/courses/{}/enrollments", s(c, "id")),
                json!({ "user": "ann" }),
            )
            .await)
        .await;
    }
    ok(app
        .request(Method::POST, "/api/v1/activity", &ann_token)
        .json(
            &json!({ "course": s(&course, "id"), "activity": "completed_material",
                       "material": s(&materials[0], "id") }),
        )
        .send()
        .await
        .unwrap())
    .await;
    let path = format!("/api/v1/users/{}/results", s(&ann, "id"));
    let mine = ok(app
        .request(Method::GET, &path, &ann_token)
        .send()
        .await
        .unwrap())
    .await;
    let rows = mine.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{mine}");
    assert_eq!(rows[0]["title"], "Another");
    assert_eq!(rows[0]["status"], "enrolled");
    assert_eq!(rows[1]["title"], "Selling");
    assert_eq!(rows[1]["status"], "in_progress");
    assert_eq!(rows[1]["materials"], 2);
    assert_eq!(rows[1]["materials_completed"], 1);
    assert_eq!(rows[1]["completed"], false);
    // Another learner may not read them; the administrator may.
    let r = app
        .request(Method::GET, &path, &bob_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(ok(app.get(&path).await).await.as_array().unwrap().len(), 2);
    let empty = ok(app
        .request(
            Method::GET,
            &format!("/api/v1/users/{}/results", s(&bob, "id")),
            &bob_token,
        )
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(empty, json!([]));
}

#[tokio::test]
async fn the_legal_representative_is_a_tenant_setting_read_with_billing_view_not_a_role() {
    let app = spawn_app().await;
    let path = "/api/v1/tenant/legal-representative";
    assert_problem(app.get(path).await, 404, None, "no legal representative").await;
    assert_problem(
        app.send(Method::PUT, path, json!({ "name": "  " })).await,
        422,
        Some("name"),
        "empty",
    )
    .await;
    let set = ok(app
        .send(
            Method::PUT,
            path,
            json!({ "name": "Acme Training Ltd", "address": "1 Main Street, Springfield" }),
        )
        .await)
    .await;
    assert_eq!(set["name"], "Acme Training Ltd");
    assert_eq!(ok(app.get(path).await).await, set);
    // A bookkeeper holding only billing.view reads it and may not change it; a learner does
    // not read it.
    ok(app
        .send(
            Method::POST,
            "/api/v1/roles",
            json!({ "code": "bookkeeper", "name": "Bookkeeper", "level": true,
                    "capabilities": [{ "permission": "billing.view", "reach": "tenant" }],
                    "scopes": ["platform"] }),
        )
        .await)
    .await;
    let (keeper, keeper_token) = person(&app, "keeper").await;
    crate::helpers::grant(&app, &keeper, "bookkeeper", "platform").await;
    let read = ok(app
        .request(Method::GET, path, &keeper_token)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(read["address"], "1 Main Street, Springfield");
    let change = app
        .request(Method::PUT, path, &keeper_token)
        .json(&json!({ "name": "Someone Else" }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 403);
    let (_, learner_token) = person(&app, "lena").await;
    let r = app
        .request(Method::GET, path, &learner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // It is no role: the catalog of roles does not know it.
    let roles = ok(app.get("/api/v1/roles").await).await.to_string();
    assert!(!roles.to_lowercase().contains("legal"), "{roles}");
    assert_eq!(
        app.send(Method::DELETE, path, json!(null)).await.status(),
        204
    );
    assert_eq!(app.get(path).await.status(), 404);
    let audit = ok(app.get("/api/v1/audit?limit=1000").await)
        .await
        .to_string();
    assert!(audit.contains("tenant.legal_representative_set"));
}

#[tokio::test]
async fn the_creator_of_a_course_is_its_author_and_hands_authorship_to_another_author() {
    let app = spawn_app().await;
    let (tenant, admin) = group_roles_tenant(&app).await;
    let as_admin = |method: Method, path: &str, body: Value| {
        app.request(method, path, &admin).json(&body).send()
    };
    let guild = ok(
        as_admin(Method::POST, "/api/v1/groups", json!({ "name": "Guild" }))
            .await
            .unwrap(),
    )
    .await;
    let mut people = vec![];
    for name in ["aria", "ben", "lena"] {
        let user = ok(as_admin(
            Method::POST,
            "/api/v1/users",
            json!({ "username": name, "display_name": name }),
        )
        .await
        .unwrap())
        .await;
        let role = if name == "lena" { "learner" } else { "author" };
        ok(as_admin(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": format!("user:{}", s(&user, "id")), "role": role,
                    "scope": format!("group:{}", s(&guild, "id")) }),
        )
        .await
        .unwrap())
        .await;
        people.push(user);
    }
    let (aria, ben, lena) = (&people[0], &people[1], &people[2]);
    let aria_token = token_in(&app, tenant, aria).await;
    let ben_token = token_in(&app, tenant, ben).await;
    let rename = |token: &str, course: &str, title: &str| {
        app.request(Method::PATCH, &format!("/api/v1/courses/{course}"), token)
            .json(&json!({ "title": title }))
            .send()
    };

    // Creating the course makes Aria its Course Author: she renames it, Ben may not.
    let course = ok(app
        .request(Method::POST, "/api/v1/courses", &aria_token)
        .json(&json!({ "title": "Intro", "group": s(&guild, "id") }))
        .send()
        .await
        .unwrap())
    .await;
    let id = s(&course, "id");
    ok(rename(&aria_token, &id, "Intro to Rust").await.unwrap()).await;
    assert_eq!(
        rename(&ben_token, &id, "Mine now").await.unwrap().status(),
        403
    );
    let grants = ok(as_admin(
        Method::GET,
        &format!("/api/v1/grants?principal=user:{}", s(aria, "id")),
        json!(null),
    )
    .await
    .unwrap())
    .await;
    let authorship = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["scope"]["object"] == format!("course:{id}"))
        .cloned()
        .unwrap_or_else(|| panic!("no course-author grant for the creator: {grants}"));

    // Authorship is one per course and goes only to an Author: a learner cannot take it, and
    // Ben can once Aria's is revoked.
    let hand_to = |user: &Value| {
        as_admin(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": format!("user:{}", s(user, "id")), "role": "course-author",
                    "scope": format!("course:{id}") }),
        )
    };
    assert_eq!(
        hand_to(ben).await.unwrap().status(),
        422,
        "one author per course"
    );
    ok(as_admin(
        Method::DELETE,
        &format!("/api/v1/grants/{}", s(&authorship, "id")),
        json!(null),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(
        hand_to(lena).await.unwrap().status(),
        422,
        "the author must be an Author"
    );
    ok(hand_to(ben).await.unwrap()).await;
    ok(rename(&ben_token, &id, "Rust, by Ben").await.unwrap()).await;
    assert_eq!(
        rename(&aria_token, &id, "Back").await.unwrap().status(),
        403
    );
}

#[tokio::test]
async fn a_primary_group_is_a_membership_and_its_group_manager_is_a_line_manager() {
    let app = spawn_app().await;
    let sales = app.create_group("Sales", None).await;
    let (mia, mia_token) = person(&app, "mia").await;
    crate::helpers::grant(&app, &mia, "manager", "platform").await;
    crate::helpers::grant(
        &app,
        &mia,
        "group-manager",
        &format!("group:{}", s(&sales, "id")),
    )
    .await;
    let sam = app
        .create_user("sam", json!({ "primary_group": s(&sales, "id") }))
        .await;
    let sam_id = s(&sam, "id");
    // The primary group is a membership...
    let members = ok(app
        .get(&format!("/api/v1/groups/{}/members", s(&sales, "id")))
        .await)
    .await;
    assert!(members.to_string().contains("\"sam\""), "{members}");
    // ...so the group manager sees Sam and is listed as his line manager.
    let seen = app
        .request(Method::GET, &format!("/api/v1/users/{sam_id}"), &mia_token)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);
    let managers = ok(app.get(&format!("/api/v1/users/{sam_id}/managers")).await).await;
    assert_eq!(managers[0]["manager"], s(&mia, "id"), "{managers}");
    assert_eq!(managers[0]["source"], "group");
    assert_eq!(managers[0]["group"], s(&sales, "id"));

    // Moving someone's primary group into Sales later does the same.
    let tom = app.create_user("tom", json!({})).await;
    let tom_id = s(&tom, "id");
    let hidden = app
        .request(Method::GET, &format!("/api/v1/users/{tom_id}"), &mia_token)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 403);
    ok(patch_user(&app, &tom_id, json!({ "primary_group": s(&sales, "id") })).await).await;
    let seen = app
        .request(Method::GET, &format!("/api/v1/users/{tom_id}"), &mia_token)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);

    // Giving a primary group is adding a member: someone who may edit people but not the
    // group's members may not.
    ok(app
        .send(
            Method::POST,
            "/api/v1/roles",
            json!({ "code": "editor", "name": "Editor", "level": true,
                    "capabilities": [{ "permission": "users.edit", "reach": "tenant" },
                                     { "permission": "users.view", "reach": "tenant" }],
                    "scopes": ["platform"] }),
        )
        .await)
    .await;
    let (ed, ed_token) = person(&app, "ed").await;
    crate::helpers::grant(&app, &ed, "editor", "platform").await;
    let uma = app.create_user("uma", json!({})).await;
    let r = app
        .request(
            Method::PATCH,
            &format!("/api/v1/users/{}", s(&uma, "id")),
            &ed_token,
        )
        .json(&json!({ "primary_group": s(&sales, "id") }))
        .send()
        .await
        .unwrap();
    assert_problem(r, 403, None, "groups.members").await;
}

#[tokio::test]
async fn choosing_someones_managees_makes_them_a_manager_who_monitors_those_learners() {
    let app = spawn_app().await;
    let (tenant, admin) = group_roles_tenant(&app).await;
    let make = |name: &'static str| {
        app.request(Method::POST, "/api/v1/users", &admin)
            .json(&json!({ "username": name, "display_name": name }))
            .send()
    };
    let max = ok(make("max").await.unwrap()).await;
    let lena = ok(make("lena").await.unwrap()).await;
    let max_token = token_in(&app, tenant, &max).await;
    let results = format!("/api/v1/users/{}/results", s(&lena, "id"));
    let read = |path: String| app.request(Method::GET, &path, &max_token).send();
    assert_eq!(read(results.clone()).await.unwrap().status(), 403);
    // Selecting Lena as Max's managee is all it takes.
    let link = app
        .request(
            Method::PUT,
            &format!(
                "/api/v1/users/{}/managers/{}",
                s(&lena, "id"),
                s(&max, "id")
            ),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 204);
    assert_eq!(read(results).await.unwrap().status(), 200);
    let profile = read(format!("/api/v1/users/{}", s(&lena, "id")))
        .await
        .unwrap();
    assert_eq!(profile.status(), 200);
    // The explanation names the reason: the tenant's default role, reaching Max's team.
    let check = ok(app
        .request(Method::POST, "/api/v1/check", &admin)
        .json(&json!({ "user": "max", "action": "enrollments.view",
                       "resource": format!("user:{}", s(&lena, "id")) }))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(check["allowed"], true, "{check}");
    assert!(
        check["summary"].as_str().unwrap().contains("member"),
        "{check}"
    );
}

#[tokio::test]
async fn a_platform_coach_sees_the_members_of_public_groups_only() {
    let app = spawn_app().await;
    let (tenant, admin) = group_roles_tenant(&app).await;
    let call = |method: Method, path: String, body: Value| {
        app.request(method, &path, &admin).json(&body).send()
    };
    let open = ok(call(
        Method::POST,
        "/api/v1/groups".into(),
        json!({ "name": "Open", "public": true }),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(open["public"], true);
    let closed = ok(call(
        Method::POST,
        "/api/v1/groups".into(),
        json!({ "name": "Closed" }),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(closed["public"], false, "groups are private by default");
    let mut people = vec![];
    for (name, group) in [("pia", &open), ("quinn", &closed), ("paul", &closed)] {
        let user = ok(call(
            Method::POST,
            "/api/v1/users".into(),
            json!({ "username": name, "display_name": name }),
        )
        .await
        .unwrap())
        .await;
        let put = call(
            Method::PUT,
            format!(
                "/api/v1/groups/{}/members/{}",
                s(group, "id"),
                s(&user, "id")
            ),
            json!(null),
        )
        .await
        .unwrap();
        assert!(put.status().is_success(), "{}", put.status());
        people.push(user);
    }
    let (pia, quinn, paul) = (&people[0], &people[1], &people[2]);
    ok(call(
        Method::POST,
        "/api/v1/grants".into(),
        json!({ "principal": format!("user:{}", s(paul, "id")), "role": "coach",
                "scope": "public_groups" }),
    )
    .await
    .unwrap())
    .await;
    let paul_token = token_in(&app, tenant, paul).await;
    let sees = |user: &Value| {
        app.request(
            Method::GET,
            &format!("/api/v1/users/{}", s(user, "id")),
            &paul_token,
        )
        .send()
    };
    assert_eq!(sees(pia).await.unwrap().status(), 200);
    assert_eq!(sees(quinn).await.unwrap().status(), 403);
    // Making a group public is a group setting its administrators change.
    let now_public = ok(call(
        Method::PATCH,
        format!("/api/v1/groups/{}", s(&closed, "id")),
        json!({ "public": true }),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(now_public["public"], true);
    assert_eq!(sees(quinn).await.unwrap().status(), 200);
}

/// Seed 001's table of which LMS roles may be given each additional responsibility, cell by
/// cell: (role, [course tutor, course administrator, event administrator, group
/// administrator, group manager]).
const ELIGIBILITY: [(&str, [bool; 5]); 6] = [
    ("student", [false, false, false, false, false]),
    ("manager", [false, false, false, true, true]),
    ("tutor", [true, true, true, false, false]),
    ("manager-tutor", [true, true, true, true, true]),
    ("training-coordinator", [true, true, true, true, true]),
    ("lms-admin", [true, true, true, true, true]),
];

#[tokio::test]
async fn the_classic_eligibility_matrix_holds_cell_by_cell() {
    let app = spawn_app().await;
    let responsibilities = [
        "course-tutor",
        "course-admin",
        "event-admin",
        "group-admin",
        "group-manager",
    ];
    let mut cells = 0;
    for (level, row) in ELIGIBILITY {
        let (user, _) = person(&app, &format!("a-{level}")).await;
        if level != "student" {
            // Student is the default role: held by whoever holds no other.
            crate::helpers::grant(&app, &user, level, "platform").await;
        }
        // Scopes of this row's own, so that one course tutor per course never gets in the way.
        let course = ok(app
            .send(
                Method::POST,
                "/api/v1/courses",
                json!({ "title": format!("Course for {level}"), "course_type": "instructor_led" }),
            )
            .await)
        .await;
        let event = ok(app
            .send(
                Method::POST,
                &format!("/api/v1/courses/{}/sessions", s(&course, "id")),
                json!({ "kind": "event", "title": "Day one", "starts_at": "2027-03-01T09:00:00Z",
                        "ends_at": "2027-03-01T17:00:00Z" }),
            )
            .await)
        .await;
        let group = app.create_group(&format!("Group for {level}"), None).await;
        let scopes = [
            format!("course:{}", s(&course, "id")),
            format!("course:{}", s(&course, "id")),
            format!("event:{}", s(&event, "id")),
            format!("group:{}", s(&group, "id")),
            format!("group:{}", s(&group, "id")),
        ];
        for ((role, scope), allowed) in responsibilities.iter().zip(&scopes).zip(row) {
            let r = app
                .send(
                    Method::POST,
                    "/api/v1/grants",
                    json!({ "principal": format!("user:{}", s(&user, "id")), "role": role,
                            "scope": scope }),
                )
                .await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            if allowed {
                assert_eq!(status, 201, "{level} may be {role}: {body}");
            } else {
                assert_eq!(status, 422, "{level} may not be {role}: {body}");
                assert!(body.contains("not eligible"), "{level} / {role}: {body}");
            }
            cells += 1;
        }
    }
    assert_eq!(cells, 30);
}

#[tokio::test]
async fn a_learners_level_in_a_course_is_changed_on_the_enrollment() {
    let app = spawn_app().await;
    let (tenant, admin) =
        crate::helpers::preset_tenant(&app, "levels", registrar_domain::tenant::Preset::Levels)
            .await;
    let call = |method: Method, path: String, body: Value| {
        app.request(method, &path, &admin).json(&body).send()
    };
    let course = ok(call(
        Method::POST,
        "/api/v1/courses".into(),
        json!({ "title": "Rust", "published": true }),
    )
    .await
    .unwrap())
    .await;
    let ada = ok(call(
        Method::POST,
        "/api/v1/users".into(),
        json!({ "username": "ada", "display_name": "Ada" }),
    )
    .await
    .unwrap())
    .await;
    ok(call(
        Method::POST,
        format!("/api/v1/courses/{}/enrollments", s(&course, "id")),
        json!({ "user": "ada", "role": "learner" }),
    )
    .await
    .unwrap())
    .await;
    let levels = || async {
        let grants = ok(call(
            Method::GET,
            format!("/api/v1/grants?principal=user:{}", s(&ada, "id")),
            json!(null),
        )
        .await
        .unwrap())
        .await;
        grants
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["scope"]["object"] == format!("course:{}", s(&course, "id")))
            .count()
    };
    assert_eq!(levels().await, 1);
    let path = format!("/api/v1/courses/{}/enrollments/ada", s(&course, "id"));
    // Ada becomes the course's tutor: her learner level goes, the tutor level comes.
    ok(
        call(Method::PATCH, path.clone(), json!({ "role": "tutor" }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(levels().await, 1, "one level at a time");
    let ada_token = token_in(&app, tenant, &ada).await;
    let check = ok(app
        .request(Method::POST, "/api/v1/check", &admin)
        .json(&json!({ "user": "ada", "action": "forum.moderate",
                       "resource": format!("course:{}", s(&course, "id")) }))
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(check["allowed"], true, "a tutor moderates: {check}");
    // Only a course level may be given this way, and only by whoever may grant it.
    assert_problem(
        call(Method::PATCH, path.clone(), json!({ "role": "power-user" }))
            .await
            .unwrap(),
        422,
        None,
        "no course level",
    )
    .await;
    let r = app
        .request(Method::PATCH, &path, &ada_token)
        .json(&json!({ "role": "instructor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let audit = ok(
        call(Method::GET, "/api/v1/audit?limit=1000".into(), json!(null))
            .await
            .unwrap(),
    )
    .await
    .to_string();
    assert!(audit.contains("level_changed_on"), "{audit}");
}

#[tokio::test]
async fn managers_enroll_their_team_members_into_learning_plans() {
    let app = spawn_app().await;
    let mut courses = vec![];
    for title in ["First", "Second"] {
        courses.push(s(
            &ok(app
                .send(
                    Method::POST,
                    "/api/v1/courses",
                    json!({ "title": title, "published": true }),
                )
                .await)
            .await,
            "id",
        ));
    }
    let plan = ok(app
        .send(
            Method::POST,
            "/api/v1/learning-plans",
            json!({ "title": "Onboarding", "courses": courses }),
        )
        .await)
    .await;
    let (nora, nora_token) = person(&app, "nora").await;
    crate::helpers::grant(&app, &nora, "manager", "platform").await;
    let ted = app.create_user("ted", json!({})).await;
    app.create_user("zed", json!({})).await;
    let link = app
        .send(
            Method::PUT,
            &format!(
                "/api/v1/users/{}/managers/{}",
                s(&ted, "id"),
                s(&nora, "id")
            ),
            json!(null),
        )
        .await;
    assert_eq!(link.status(), 204);
    // Ted is already in the first course: only the second is added.
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", courses[0]),
            json!({ "user": "ted" }),
        )
        .await)
    .await;
    let path = format!("/api/v1/learning-plans/{}/enrollments", s(&plan, "id"));
    let enroll = |user: &str| {
        app.request(Method::POST, &path, &nora_token)
            .json(&json!({ "user": user }))
            .send()
    };
    let r = enroll("ted").await.unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made.as_array().unwrap().len(), 1, "{made}");
    assert_eq!(made[0]["course"], courses[1]);
    let again: Value = enroll("ted").await.unwrap().json().await.unwrap();
    assert_eq!(again, json!([]), "nothing twice");
    let status = ok(app
        .get(&format!(
            "/api/v1/learning-plans/{}/status?user=ted",
            s(&plan, "id")
        ))
        .await)
    .await;
    assert_eq!(status["status"], "not_started");
    // Someone outside her team: refused, as for nobody.
    assert_eq!(enroll("zed").await.unwrap().status(), 403);
}

#[tokio::test]
async fn event_administrators_are_told_of_bookings_awaiting_their_approval() {
    let app = spawn_app().await;
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Onboarding", "published": true }),
        )
        .await)
    .await;
    let event = ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/sessions", s(&course, "id")),
            json!({ "kind": "event", "title": "Onboarding Day", "approval_required": true,
                    "starts_at": "2027-03-01T09:00:00Z", "ends_at": "2027-03-01T17:00:00Z" }),
        )
        .await)
    .await;
    let (ivan, _) = person(&app, "ivan").await;
    crate::helpers::grant(&app, &ivan, "tutor", "platform").await;
    crate::helpers::grant(&app, &ivan, "event-admin", &s(&event, "object")).await;
    let open = ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/sessions", s(&course, "id")),
            json!({ "kind": "event", "title": "Open Day", "starts_at": "2027-04-01T09:00:00Z",
                    "ends_at": "2027-04-01T17:00:00Z" }),
        )
        .await)
    .await;
    app.create_user("lea", json!({ "display_name": "Lea Learner" }))
        .await;
    ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", s(&course, "id")),
            json!({ "user": "lea" }),
        )
        .await)
    .await;
    for e in [&event, &open] {
        ok(app
            .send(
                Method::POST,
                &format!("/api/v1/sessions/{}/bookings", s(e, "id")),
                json!({ "user": "lea" }),
            )
            .await)
        .await;
    }
    let pending = app.store.pending_mail(10).await.unwrap();
    // One mail, to the event administrator (not the superadmin, who answers for everything,
    // and nothing for the event that asks no approval).
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].recipient.as_str(), "ivan@acme.example");
    assert!(
        pending[0].subject.contains("Onboarding Day"),
        "{:?}",
        pending[0]
    );
    assert!(pending[0].body.contains("Lea Learner"), "{:?}", pending[0]);
    assert!(pending[0].body.contains("/approve"), "{:?}", pending[0]);
}

#[tokio::test]
async fn the_people_data_feed_makes_managers_of_the_managers_it_names() {
    let app = spawn_app().await;
    let role = "/api/v1/tenant/feed-manager-role";
    assert_eq!(
        ok(app.get(role).await).await["role"],
        "manager",
        "the classic preset's"
    );
    let scim_user = |name: &str, manager: Option<&str>| {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "displayName": name, "active": true,
        });
        if let Some(m) = manager {
            body["schemas"] = json!([
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ]);
            body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
                json!({ "manager": { "value": m } });
        }
        app.request(Method::POST, "/scim/v2/Users", &app.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let fiona: Value = scim_user("fiona", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gary: Value = scim_user("gary", Some(fiona["id"].as_str().unwrap()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = &app;
    let check = |who: &'static str, target: String| async move {
        ok(app
            .send(
                Method::POST,
                "/api/v1/check",
                json!({ "user": who, "action": "enrollments.manage", "resource": target }),
            )
            .await)
        .await
    };
    let gary_ref = format!("user:{}", gary["id"].as_str().unwrap());
    let answer = check("fiona", gary_ref.clone()).await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert!(
        answer["summary"].as_str().unwrap().contains("HR feed"),
        "{answer}"
    );
    // A link set by hand gives no role: only the feed's managers are made Managers.
    let hal = app.create_user("hal", json!({})).await;
    let ida = app.create_user("ida", json!({})).await;
    let put = app
        .send(
            Method::PUT,
            &format!("/api/v1/users/{}/managers/{}", s(&ida, "id"), s(&hal, "id")),
            json!(null),
        )
        .await;
    assert_eq!(put.status(), 204);
    let by_hand = check("hal", format!("user:{}", s(&ida, "id"))).await;
    assert_eq!(by_hand["allowed"], false, "{by_hand}");
    // Without the setting, the feed's link gives nothing either.
    let none = ok(app.send(Method::PUT, role, json!({ "role": null })).await).await;
    assert_eq!(none["role"], Value::Null);
    assert_eq!(check("fiona", gary_ref).await["allowed"], false);
}
