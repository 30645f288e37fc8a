//! Seed rules that needed new things: named teams (seed 003), deploying a course to groups and
//! catalogues (seed 001), and roles given as a person is set up (seed 004).

use registrar_domain::tenant::Preset;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, ok, preset_tenant, s, spawn_app, token_in};

/// Calls the API as the holder of `token`.
async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Response {
    let r = app.request(method.clone(), path, token);
    let r = if method == Method::GET || method == Method::DELETE {
        r
    } else {
        r.json(&body)
    };
    r.send().await.unwrap()
}

async fn user_in(app: &TestApp, token: &str, name: &str, extra: Value) -> Value {
    let mut body = json!({ "username": name, "display_name": name });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let r = call(app, token, Method::POST, "/api/v1/users", body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn group_named(app: &TestApp, token: &str, name: &str) -> String {
    let groups = ok(call(app, token, Method::GET, "/api/v1/groups", json!({})).await).await;
    let group = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name:?} in {groups}"));
    s(group, "id")
}

#[tokio::test]
async fn learner_managers_create_named_teams_fill_edit_and_delete_their_own_and_read_the_others() {
    let app = spawn_app().await;
    let (tenant, admin) = preset_tenant(&app, "mgmt", Preset::ManagementGroups).await;
    let (ann, bob) = (
        user_in(&app, &admin, "ann", json!({})).await,
        user_in(&app, &admin, "bob", json!({})).await,
    );
    let lm_group = group_named(&app, &admin, "Learner management").await;
    let learner = user_in(&app, &admin, "lena", json!({})).await;
    for u in [&ann, &bob] {
        let path = format!("/api/v1/groups/{lm_group}/members/{}", s(u, "id"));
        assert_eq!(
            call(&app, &admin, Method::PUT, &path, json!({}))
                .await
                .status(),
            204
        );
    }
    let (ann_t, bob_t) = (
        token_in(&app, tenant, &ann).await,
        token_in(&app, tenant, &bob).await,
    );

    // Ann creates "Company A Team" and adds Lena.
    let team = ok(call(
        &app,
        &ann_t,
        Method::POST,
        "/api/v1/teams",
        json!({ "name": "Company A Team" }),
    )
    .await)
    .await;
    let id = s(&team, "id");
    assert_eq!(team["created_by"], ann["id"]);
    let member = format!("/api/v1/teams/{id}/members/{}", s(&learner, "id"));
    assert_eq!(
        call(&app, &ann_t, Method::PUT, &member, json!({}))
            .await
            .status(),
        204
    );
    // Twice is a conflict that says so.
    assert_problem(
        call(&app, &ann_t, Method::PUT, &member, json!({})).await,
        409,
        Some("user"),
        "already belongs",
    )
    .await;

    // Bob reads every team and its members, but may not rename, fill or delete Ann's.
    let listed = ok(call(
        &app,
        &bob_t,
        Method::GET,
        "/api/v1/teams?q=company",
        json!({}),
    )
    .await)
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["members"], 1);
    let members = ok(call(
        &app,
        &bob_t,
        Method::GET,
        &format!("/api/v1/teams/{id}/members"),
        json!({}),
    )
    .await)
    .await;
    assert_eq!(members["items"][0]["username"], "lena");
    let path = format!("/api/v1/teams/{id}");
    assert_problem(
        call(
            &app,
            &bob_t,
            Method::PATCH,
            &path,
            json!({ "name": "Mine" }),
        )
        .await,
        403,
        None,
        "teams.edit",
    )
    .await;
    assert_problem(
        call(&app, &bob_t, Method::DELETE, &member, json!({})).await,
        403,
        None,
        "teams.members",
    )
    .await;
    assert_problem(
        call(&app, &bob_t, Method::DELETE, &path, json!({})).await,
        403,
        None,
        "teams.delete",
    )
    .await;

    // Bob's own team is his to edit.
    let his = ok(call(
        &app,
        &bob_t,
        Method::POST,
        "/api/v1/teams",
        json!({ "name": "Company B Team" }),
    )
    .await)
    .await;
    let renamed = ok(call(
        &app,
        &bob_t,
        Method::PATCH,
        &format!("/api/v1/teams/{}", s(&his, "id")),
        json!({ "name": "Company B" }),
    )
    .await)
    .await;
    assert_eq!(renamed["name"], "Company B");
    // Pages of one: a cursor leads to the second team.
    let first = ok(call(
        &app,
        &bob_t,
        Method::GET,
        "/api/v1/teams?limit=1",
        json!({}),
    )
    .await)
    .await;
    let next = first["next"].as_str().unwrap();
    let second = ok(call(
        &app,
        &bob_t,
        Method::GET,
        &format!("/api/v1/teams?limit=1&after={next}"),
        json!({}),
    )
    .await)
    .await;
    assert_eq!(second["items"][0]["name"], "Company B");
    assert!(second["next"].is_null());

    // A learner sees no team; an empty name is refused with the field named.
    let lena_t = token_in(&app, tenant, &learner).await;
    let none = ok(call(&app, &lena_t, Method::GET, "/api/v1/teams", json!({})).await).await;
    assert_eq!(none["items"], json!([]));
    assert_problem(
        call(
            &app,
            &lena_t,
            Method::POST,
            "/api/v1/teams",
            json!({ "name": "x" }),
        )
        .await,
        403,
        None,
        "teams.create",
    )
    .await;
    assert_problem(
        call(
            &app,
            &ann_t,
            Method::POST,
            "/api/v1/teams",
            json!({ "name": " " }),
        )
        .await,
        422,
        Some("name"),
        "",
    )
    .await;

    // Ann takes Lena out and deletes her team; Lena stays.
    assert_eq!(
        call(&app, &ann_t, Method::DELETE, &member, json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(
        call(&app, &ann_t, Method::DELETE, &path, json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(
        call(&app, &ann_t, Method::GET, &path, json!({}))
            .await
            .status(),
        404
    );
    ok(call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}", s(&learner, "id")),
        json!({}),
    )
    .await)
    .await;
}

#[tokio::test]
async fn a_team_is_a_scope_for_reports_cut_by_who_runs_them() {
    let app = spawn_app().await;
    let (tenant, admin) = preset_tenant(&app, "reports", Preset::ManagementGroups).await;
    let ann = user_in(&app, &admin, "ann", json!({})).await;
    let lm_group = group_named(&app, &admin, "Learner management").await;
    let path = format!("/api/v1/groups/{lm_group}/members/{}", s(&ann, "id"));
    assert_eq!(
        call(&app, &admin, Method::PUT, &path, json!({}))
            .await
            .status(),
        204
    );
    let ann_t = token_in(&app, tenant, &ann).await;
    let (lena, max) = (
        user_in(&app, &admin, "lena", json!({})).await,
        user_in(&app, &admin, "max", json!({})).await,
    );
    let course = ok(call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/courses",
        json!({ "title": "Safety", "published": true }),
    )
    .await)
    .await;
    for u in [&lena, &max] {
        let body = json!({ "user": s(u, "id") });
        ok(call(
            &app,
            &admin,
            Method::POST,
            &format!("/api/v1/courses/{}/enrollments", s(&course, "id")),
            body,
        )
        .await)
        .await;
    }
    let team = ok(call(
        &app,
        &ann_t,
        Method::POST,
        "/api/v1/teams",
        json!({ "name": "Cohort 1" }),
    )
    .await)
    .await;
    let id = s(&team, "id");
    let add = format!("/api/v1/teams/{id}/members/{}", s(&lena, "id"));
    assert_eq!(
        call(&app, &ann_t, Method::PUT, &add, json!({}))
            .await
            .status(),
        204
    );

    // The learner manager's report over her team holds Lena's enrollment, and nobody else.
    let report = ok(call(
        &app,
        &ann_t,
        Method::GET,
        &format!("/api/v1/teams/{id}/results"),
        json!({}),
    )
    .await)
    .await;
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["username"], "lena");
    assert_eq!(rows[0]["results"][0]["title"], "Safety");
    assert_eq!(rows[0]["results"][0]["status"], "enrolled");
    // A learner of the team may not read it.
    let lena_t = token_in(&app, tenant, &lena).await;
    assert_eq!(
        call(
            &app,
            &lena_t,
            Method::GET,
            &format!("/api/v1/teams/{id}/results"),
            json!({})
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn a_course_deployed_to_a_group_enrolls_its_members_and_whoever_joins_later() {
    let app = spawn_app().await;
    let sales = app.create_group("Sales", None).await;
    let emea = app.create_group("Sales EMEA", Some(&s(&sales, "id"))).await;
    let (ada, ben) = (
        app.create_user("ada", json!({})).await,
        app.create_user("ben", json!({})).await,
    );
    for (g, u) in [(&sales, &ada), (&emea, &ben)] {
        let path = format!("/api/v1/groups/{}/members/{}", s(g, "id"), s(u, "id"));
        assert_eq!(app.send(Method::PUT, &path, json!({})).await.status(), 204);
    }
    let course = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Onboarding", "published": true }),
        )
        .await)
    .await;
    let c = s(&course, "id");
    let target = format!("group:{}", s(&sales, "id"));
    let deployed = ok(app
        .send(
            Method::POST,
            &format!("/api/v1/courses/{c}/deployments"),
            json!({ "target": target }),
        )
        .await)
    .await;
    // Members of Sales and of the group nested in it are enrolled.
    let mut enrolled: Vec<_> = deployed["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"].clone())
        .collect();
    enrolled.sort_by_key(|v| v.as_str().unwrap().to_owned());
    let mut expected = vec![ada["id"].clone(), ben["id"].clone()];
    expected.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(enrolled, expected);
    assert_problem(
        app.send(
            Method::POST,
            &format!("/api/v1/courses/{c}/deployments"),
            json!({ "target": target }),
        )
        .await,
        409,
        Some("target"),
        "already deployed",
    )
    .await;

    // Whoever joins later is enrolled as they join: by hand, or with Sales as primary group.
    let cleo = app.create_user("cleo", json!({})).await;
    let path = format!(
        "/api/v1/groups/{}/members/{}",
        s(&emea, "id"),
        s(&cleo, "id")
    );
    assert_eq!(app.send(Method::PUT, &path, json!({})).await.status(), 204);
    let dan = app
        .create_user("dan", json!({ "primary_group": s(&sales, "id") }))
        .await;
    let list = ok(app.get(&format!("/api/v1/courses/{c}/enrollments")).await).await;
    let users: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"].clone())
        .collect();
    for u in [&cleo, &dan] {
        assert!(
            users.contains(&u["id"]),
            "{} not enrolled: {list}",
            u["username"]
        );
    }

    // Withdrawn, the deployment enrolls nobody more; the enrollments it made stay.
    let withdraw = format!("/api/v1/courses/{c}/deployments/{target}");
    assert_eq!(
        app.send(Method::DELETE, &withdraw, json!({}))
            .await
            .status(),
        204
    );
    let eve = app
        .create_user("eve", json!({ "primary_group": s(&sales, "id") }))
        .await;
    let list = ok(app.get(&format!("/api/v1/courses/{c}/enrollments")).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    assert!(
        !list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user"] == eve["id"])
    );
    // A target that is no group or catalogue is named.
    assert_problem(
        app.send(
            Method::POST,
            &format!("/api/v1/courses/{c}/deployments"),
            json!({ "target": format!("user:{}", s(&eve, "id")) }),
        )
        .await,
        422,
        Some("target"),
        "group or a catalogue",
    )
    .await;
}

#[tokio::test]
async fn a_course_in_a_catalogue_is_self_enrolled_into_under_its_enrollment_policy() {
    let app = spawn_app().await;
    let catalogue = format!("catalogue:{}", uuid::Uuid::now_v7());
    ok(app
        .send(
            Method::PUT,
            "/api/v1/objects",
            json!({ "object": catalogue }),
        )
        .await)
    .await;
    let open = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Open", "published": true, "capacity": 1 }),
        )
        .await)
    .await;
    let approval = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Approved", "published": true, "policy": "approval_required" }),
        )
        .await)
    .await;
    let hidden = ok(app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Not offered", "published": true }),
        )
        .await)
    .await;
    for c in [&open, &approval] {
        let path = format!("/api/v1/courses/{}/deployments", s(c, "id"));
        ok(app
            .send(Method::POST, &path, json!({ "target": catalogue }))
            .await)
        .await;
    }
    let (tenant, self_enroll) = (app.tenant.id, |c: &Value| {
        format!("/api/v1/courses/{}/self-enrollment", s(c, "id"))
    });
    let (sam, tia) = (
        app.create_user("sam", json!({})).await,
        app.create_user("tia", json!({})).await,
    );
    let (sam_t, tia_t) = (
        token_in(&app, tenant, &sam).await,
        token_in(&app, tenant, &tia).await,
    );

    // A student sees what the catalogue offers.
    let id = catalogue.trim_start_matches("catalogue:");
    let offered = ok(call(
        &app,
        &sam_t,
        Method::GET,
        &format!("/api/v1/catalogues/{id}/courses"),
        json!({}),
    )
    .await)
    .await;
    let titles: Vec<_> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].clone())
        .collect();
    assert_eq!(titles, vec![json!("Approved"), json!("Open")]);

    // Open with one place: the first is enrolled, the next waits; approval sends to waiting.
    let first = ok(call(&app, &sam_t, Method::POST, &self_enroll(&open), json!({})).await).await;
    assert_eq!(first["status"], "enrolled");
    let second = ok(call(&app, &tia_t, Method::POST, &self_enroll(&open), json!({})).await).await;
    assert_eq!(second["status"], "waiting");
    let asked = ok(call(
        &app,
        &sam_t,
        Method::POST,
        &self_enroll(&approval),
        json!({}),
    )
    .await)
    .await;
    assert_eq!(asked["status"], "waiting");
    // A course in no catalogue is not self-enrolled into, and twice is a conflict.
    assert_problem(
        call(&app, &sam_t, Method::POST, &self_enroll(&hidden), json!({})).await,
        403,
        None,
        "enrollments.manage",
    )
    .await;
    assert_eq!(
        call(&app, &sam_t, Method::POST, &self_enroll(&open), json!({}))
            .await
            .status(),
        409
    );
}

#[tokio::test]
async fn roles_are_given_as_a_person_is_set_up_all_or_nothing_under_the_delegation_rule() {
    let app = spawn_app().await;
    let course = ok(app
        .send(Method::POST, "/api/v1/courses", json!({ "title": "Rust" }))
        .await)
    .await;
    let scope = format!("course:{}", s(&course, "id"));
    let tina = app
        .create_user(
            "tina",
            json!({ "roles": [{ "role": "tutor", "scope": "platform" }, { "role": "course-tutor", "scope": scope }] }),
        )
        .await;
    let grants = ok(app
        .get(&format!("/api/v1/grants?principal=user:{}", s(&tina, "id")))
        .await)
    .await;
    assert!(grants.to_string().contains(&scope), "{grants}");

    // A tutor may not give what she does not hold: nothing is created, the refused role named.
    let tutor_t = token_in(&app, app.tenant.id, &tina).await;
    ok(app.send(Method::POST, "/api/v1/grants", json!({ "principal": format!("user:{}", s(&tina, "id")), "role": "training-coordinator", "scope": "platform" })).await).await;
    let body = json!({ "username": "ulf", "display_name": "Ulf", "roles": [
        { "role": "student", "scope": "platform" },
        { "role": "lms-admin", "scope": "platform" },
    ] });
    let refused = call(&app, &tutor_t, Method::POST, "/api/v1/users", body).await;
    assert_problem(refused, 403, None, "roles[").await;
    let found = ok(app.get("/api/v1/users?q=ulf").await).await;
    assert_eq!(found["items"], json!([]));
    // An unknown role is named with its position.
    let body = json!({ "username": "vic", "display_name": "Vic", "roles": [{ "role": "wizard", "scope": "platform" }] });
    assert_problem(
        app.send(Method::POST, "/api/v1/users", body).await,
        422,
        Some("roles[0]"),
        "wizard",
    )
    .await;
    let found = ok(app.get("/api/v1/users?q=vic").await).await;
    assert_eq!(found["items"], json!([]));
}

#[tokio::test]
async fn every_group_roles_user_holds_a_role_learner_in_the_default_group_when_given_none() {
    let app = spawn_app().await;
    let (_, admin) = preset_tenant(&app, "roles", Preset::GroupRoles).await;
    let plain = user_in(&app, &admin, "plain", json!({})).await;
    let learners = group_named(&app, &admin, "Learners").await;
    let groups = ok(call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/groups", s(&plain, "id")),
        json!({}),
    )
    .await)
    .await;
    assert!(groups.to_string().contains(&learners), "{groups}");
    let check = json!({ "user": s(&plain, "id"), "action": "groups.view", "resource": format!("group:{learners}") });
    let answer = ok(call(&app, &admin, Method::POST, "/api/v1/check", check).await).await;
    assert_eq!(answer["allowed"], true, "{answer}");

    // Someone given a role elsewhere does not join Learners.
    let team = ok(call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/groups",
        json!({ "name": "Authors" }),
    )
    .await)
    .await;
    let body =
        json!({ "roles": [{ "role": "author", "scope": format!("group:{}", s(&team, "id")) }] });
    let author = user_in(&app, &admin, "writer", body).await;
    let groups = ok(call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/groups", s(&author, "id")),
        json!({}),
    )
    .await)
    .await;
    assert!(!groups.to_string().contains(&learners), "{groups}");

    // The same from the HR feed and from a CSV file of people; a group-roles line gives a
    // role instead.
    let groups_of = |id: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let path = format!("/api/v1/users/{id}/groups");
            ok(call(app, admin, Method::GET, &path, json!({})).await)
                .await
                .to_string()
        }
    };
    let fed = app
        .request(Method::POST, "/scim/v2/Users", &admin)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "fed", "name": { "givenName": "Fed", "familyName": "Eral" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(fed.status(), 201);
    let fed: Value = fed.json().await.unwrap();
    assert!(groups_of(s(&fed, "id")).await.contains(&learners));
    let import = |format: &str, csv: String| {
        let (app, admin) = (&app, &admin);
        let path = format!("/api/v1/imports?format={format}");
        async move {
            let r = app
                .request(Method::POST, &path, admin)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
    };
    import(
        "users",
        "email,display_name\nfiled@roles.example,Filed\n".into(),
    )
    .await;
    let line = format!("authored@roles.example,2,{},Authored", s(&team, "id"));
    import(
        "group-roles",
        format!("email,role,group_id,display_name\n{line}\n"),
    )
    .await;
    let users = ok(call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/users?limit=100",
        json!({}),
    )
    .await)
    .await;
    let id_of = |name: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"].as_str().unwrap().starts_with(name))
            .map(|u| s(u, "id"))
            .unwrap()
    };
    assert!(groups_of(id_of("filed")).await.contains(&learners));
    assert!(!groups_of(id_of("authored")).await.contains(&learners));
}

#[tokio::test]
async fn an_invitation_to_a_group_carries_roles_that_apply_when_the_invitee_signs_up() {
    let app = spawn_app().await;
    let (tenant, admin) = preset_tenant(&app, "invites", Preset::GroupRoles).await;
    let sales = ok(call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/groups",
        json!({ "name": "Sales" }),
    )
    .await)
    .await;
    let g = s(&sales, "id");
    let path = format!("/api/v1/groups/{g}/invitations");
    let invite = |body: Value| call(&app, &admin, Method::POST, &path, body);
    let made = ok(invite(
        json!({ "email": "nora@acme.example", "roles": ["author"], "expires_in_days": 7 }),
    )
    .await)
    .await;
    assert_eq!(made["status"], "pending");
    assert_eq!(made["roles"], json!(["author"]));
    let code = s(&made, "code");
    // The mail carries the code; the listing does not.
    let mail = app.store.pending_mail(50).await.unwrap();
    let sent = mail
        .iter()
        .find(|m| m.recipient == "nora@acme.example")
        .unwrap();
    assert!(sent.body.contains(&code));
    let listed = ok(call(&app, &admin, Method::GET, &path, json!({})).await).await;
    assert!(listed[0].get("code").is_none(), "{listed}");
    // Bad input is named; a role the tenant does not have is refused before anything is sent.
    assert_problem(
        invite(json!({ "email": "nora" })).await,
        422,
        Some("email"),
        "",
    )
    .await;
    assert_problem(
        invite(json!({ "email": "x@acme.example", "expires_in_days": 365 })).await,
        422,
        Some("expires_in_days"),
        "90",
    )
    .await;
    assert_problem(
        invite(json!({ "email": "x@acme.example", "roles": ["wizard"] })).await,
        422,
        Some("roles[0]"),
        "wizard",
    )
    .await;

    // Signing up needs no login: the person exists, in Sales, as an Author there.
    let accept = |body: Value| {
        app.client
            .post(format!("{}/api/v1/invitations/accept", app.address))
            .json(&body)
            .send()
    };
    let nora = ok(accept(
        json!({ "code": code, "display_name": "Nora", "password": "nora's long password" }),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(nora["username"], "nora@acme.example");
    let groups = ok(call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/users/{}/groups", s(&nora, "id")),
        json!({}),
    )
    .await)
    .await;
    assert!(groups.to_string().contains(&g), "{groups}");
    let check = json!({ "user": s(&nora, "id"), "action": "courses.create", "resource": format!("group:{g}") });
    let answer = ok(call(&app, &admin, Method::POST, "/api/v1/check", check).await).await;
    assert_eq!(answer["allowed"], true, "{answer}");

    // Used once: the same code, or an unknown one, gets the same answer.
    let again =
        accept(json!({ "code": code, "display_name": "Nora", "password": "nora's long password" }))
            .await
            .unwrap();
    assert_problem(again, 404, None, "unknown, used or expired").await;
    let unknown = accept(
        json!({ "code": "rg_nothing", "display_name": "X", "password": "x's long password!" }),
    )
    .await
    .unwrap();
    assert_problem(unknown, 404, None, "unknown, used or expired").await;
    let listed = ok(call(&app, &admin, Method::GET, &path, json!({})).await).await;
    assert_eq!(listed[0]["status"], "accepted");
    assert_eq!(listed[0]["user"], nora["id"]);

    // Someone who may not create people may not invite.
    let nora_t = token_in(&app, tenant, &nora).await;
    let refused = call(
        &app,
        &nora_t,
        Method::POST,
        &path,
        json!({ "email": "y@acme.example" }),
    )
    .await;
    assert_problem(refused, 403, None, "users.create").await;
}

#[tokio::test]
async fn the_default_role_is_a_level_set_under_the_delegation_rule() {
    let app = spawn_app().await;
    let path = "/api/v1/tenant/default-role";
    let now = ok(app.get(path).await).await;
    assert_eq!(now["role"], "student");
    // A responsibility is no level.
    assert_problem(
        app.send(Method::PUT, path, json!({ "role": "course-tutor" }))
            .await,
        422,
        Some("role"),
        "not a level",
    )
    .await;
    let set = ok(app
        .send(Method::PUT, path, json!({ "role": "tutor" }))
        .await)
    .await;
    assert_eq!(set["role"], "tutor");
    // Someone who may not configure the tenant may not set it.
    let hana = app.create_user("hana", json!({})).await;
    crate::helpers::grant(&app, &hana, "training-coordinator", "platform").await;
    let token = token_in(&app, app.tenant.id, &hana).await;
    let refused = call(
        &app,
        &token,
        Method::PUT,
        path,
        json!({ "role": "student" }),
    )
    .await;
    assert_problem(refused, 403, None, "system.configure").await;
    assert_eq!(ok(app.get(path).await).await["role"], "tutor");
}
