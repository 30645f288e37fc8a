use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_username_defaults_to_the_email_and_stays_separate_from_it() {
    let app = spawn_app().await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "email": "Ann.Smith@Example.com", "display_name": "Ann Smith",
                    "labels": { "department": "Sales" }, "expires_on": "2031-01-31" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let ann: Value = r.json().await.unwrap();
    assert_eq!(ann["username"], "ann.smith@example.com");
    assert_eq!(ann["status"], "activated");
    assert_eq!(ann["labels"]["department"], "Sales");
    assert_eq!(ann["expires_on"], "2031-01-31");
    let id = ann["id"].as_str().unwrap();
    let changed: Value = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            json!({ "email": "ann@new.example" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["email"], "ann@new.example");
    assert_eq!(
        changed["username"], "ann.smith@example.com",
        "the login stays"
    );
    let cleared: Value = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            json!({ "email": null, "expires_on": null }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["email"], Value::Null);
    assert_eq!(cleared["expires_on"], Value::Null);
    assert_eq!(
        cleared["display_name"], "Ann Smith",
        "absent fields are left alone"
    );
}

#[tokio::test]
async fn users_are_listed_in_pages_and_searched() {
    let app = spawn_app().await;
    for name in ["bob", "carla", "dmitri", "eve"] {
        app.create_user(name, json!({ "email": format!("{name}@acme.example") }))
            .await;
    }
    let mut names = vec![];
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(after) => format!("/api/v1/users?limit=2&after={after}"),
            None => "/api/v1/users?limit=2".to_owned(),
        };
        let page: Value = app.get(&path).await.json().await.unwrap();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        next = page["next"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(names, ["admin", "bob", "carla", "dmitri", "eve"]);
    let found: Value = app.get("/api/v1/users?q=DMIT").await.json().await.unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_duplicate_username_or_email_is_a_conflict_naming_the_field() {
    let app = spawn_app().await;
    app.create_user("ann", json!({ "email": "ann@acme.example" }))
        .await;
    let same_name = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "ANN", "display_name": "x" }),
        )
        .await;
    assert_problem(same_name, 409, Some("username"), "\"ann\" is already taken").await;
    let same_email = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "ann2", "email": "ann@acme.example", "display_name": "x" }),
        )
        .await;
    assert_problem(same_email, 409, Some("email"), "already taken").await;
}

#[tokio::test]
async fn invalid_fields_are_refused_with_their_name_and_nothing_is_written() {
    let app = spawn_app().await;
    let before: Value = app.get("/api/v1/audit").await.json().await.unwrap();
    let cases = [
        (
            json!({ "email": "not-an-email", "display_name": "x" }),
            "email",
            "must contain an @",
        ),
        (
            json!({ "username": "has space", "display_name": "x" }),
            "username",
            "may contain only",
        ),
        (
            json!({ "username": "ok", "display_name": "  " }),
            "display_name",
            "must not be empty",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "expires_on": "31/12/2030" }),
            "expires_on",
            "2027-03-31",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "password": "short" }),
            "password",
            "at least 12",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "status": "expired" }),
            "status",
            "expiry date",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "status": "active" }),
            "status",
            "learning activity",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "labels": { "bad key": "v" } }),
            "label_key",
            "a-z",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "primary_group": "nope" }),
            "primary_group",
            "UUID",
        ),
        (
            json!({ "username": "ok", "display_name": "x", "admin": true }),
            "admin",
            "unknown field",
        ),
        (json!({ "username": "ok" }), "display_name", "missing field"),
        (
            json!({ "email": "o'brien@example.com", "display_name": "x" }),
            "username",
            "give a username",
        ),
    ];
    for (body, field, fragment) in cases {
        let r = app.send(Method::POST, "/api/v1/users", body.clone()).await;
        assert_problem(r, 422, Some(field), fragment).await;
    }
    let after: Value = app.get("/api/v1/audit").await.json().await.unwrap();
    assert_eq!(before, after, "no refused request left a trace");
}

#[tokio::test]
async fn a_primary_group_that_does_not_exist_is_named() {
    let app = spawn_app().await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            json!({ "username": "ok", "display_name": "x", "primary_group": "01900000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_problem(r, 422, Some("primary_group"), "does not exist").await;
}

#[tokio::test]
async fn nobody_changes_their_own_status() {
    let app = spawn_app().await;
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", app.admin.id),
            json!({ "status": "deactivated" }),
        )
        .await;
    assert_problem(r, 403, None, "own status").await;
    let ann = app.create_user("ann", json!({})).await;
    let r = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", ann["id"].as_str().unwrap()),
            json!({ "status": "deactivated" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "deactivated");
}

#[tokio::test]
async fn a_student_sees_only_themselves() {
    let app = spawn_app().await;
    let ann = app
        .create_user("ann", json!({ "password": "ann's password!" }))
        .await;
    let body: Value = app
        .login("ann", "ann's password!")
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap();
    let own = app
        .request(
            Method::GET,
            &format!("/api/v1/users/{}", ann["id"].as_str().unwrap()),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let other = app
        .request(
            Method::GET,
            &format!("/api/v1/users/{}", app.admin.id),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_problem(other, 403, None, "may not users.view").await;
    let list = app
        .request(Method::GET, "/api/v1/users", token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        list.status(),
        200,
        "lists are cut by what the caller may see"
    );
    let listed: Value = list.json().await.unwrap();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann"]);
    let create = app
        .request(Method::POST, "/api/v1/users", token)
        .json(&json!({ "username": "x", "display_name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 403);
}

#[tokio::test]
async fn bulk_deactivation_changes_everyone_or_nobody() {
    let app = spawn_app().await;
    for name in ["ann", "bob", "cy"] {
        app.create_user(name, json!({})).await;
    }
    let body = |users: Value| json!({ "users": users, "status": "deactivated" });
    let refused = app
        .send(
            Method::POST,
            "/api/v1/users/status",
            body(json!(["ann", "admin"])),
        )
        .await;
    assert_problem(refused, 403, None, "users[1]").await;
    let unknown = app
        .send(
            Method::POST,
            "/api/v1/users/status",
            body(json!(["ann", "nobody"])),
        )
        .await;
    assert_problem(unknown, 422, Some("users[1]"), "nobody").await;
    let ann: Value = app.get("/api/v1/users?q=ann").await.json().await.unwrap();
    assert_eq!(
        ann["items"][0]["status"], "activated",
        "a refused batch changes nobody"
    );
    let done: Vec<Value> = app
        .send(
            Method::POST,
            "/api/v1/users/status",
            body(json!(["ann", "bob"])),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(done.iter().all(|u| u["status"] == "deactivated"));
    let back: Vec<Value> = app
        .send(
            Method::POST,
            "/api/v1/users/status",
            json!({ "users": ["ann"], "status": "activated" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back[0]["status"], "activated");
}

#[tokio::test]
async fn an_administrator_who_is_not_a_superadmin_cannot_become_or_take_over_one() {
    let app = spawn_app().await;
    let boss = app
        .create_user("boss", json!({ "password": "boss password 1" }))
        .await;
    let granted = app
        .send(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": format!("user:{}", boss["id"].as_str().unwrap()), "role": "lms-admin", "scope": "platform" }),
        )
        .await;
    assert_eq!(granted.status(), 201);
    let login: Value = app
        .login("boss", "boss password 1")
        .await
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let admin = app.admin.id.to_string();
    let attempts = [
        (
            Method::POST,
            "/api/v1/users".to_owned(),
            json!({ "username": "root2", "display_name": "x", "superadmin": true }),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{admin}/password"),
            json!({ "password": "taken over now!" }),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{admin}"),
            json!({ "email": "boss@evil.example" }),
        ),
        (
            Method::POST,
            "/api/v1/tokens".to_owned(),
            json!({ "name": "mine", "user": admin }),
        ),
        (
            Method::POST,
            "/api/v1/users/status".to_owned(),
            json!({ "users": [admin], "status": "deactivated" }),
        ),
    ];
    for (method, path, body) in attempts {
        let r = app
            .request(method.clone(), &path, token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(r, 403, None, "only a superadmin").await;
    }
    // Ordinary administration still works.
    let normal = app
        .request(Method::POST, "/api/v1/users", token)
        .json(&json!({ "username": "newbie", "display_name": "Newbie" }))
        .send()
        .await
        .unwrap();
    assert_eq!(normal.status(), 201);
}

#[tokio::test]
async fn nobody_takes_over_an_account_that_holds_more_than_they_could_grant() {
    let app = spawn_app().await;
    let grant = |user: &Value, role: &str| {
        app.send(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": format!("user:{}", user["id"].as_str().unwrap()), "role": role, "scope": "platform" }),
        )
    };
    let coord = app
        .create_user("coord", json!({ "password": "coordinator pass" }))
        .await;
    let lms = app
        .create_user("lms", json!({ "password": "lms admin pass 1" }))
        .await;
    assert_eq!(grant(&coord, "training-coordinator").await.status(), 201);
    assert_eq!(grant(&lms, "lms-admin").await.status(), 201);
    let app_ref = &app;
    let login = |name: &'static str, password: &'static str| async move {
        let body: Value = app_ref.login(name, password).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    };
    let coord_token = login("coord", "coordinator pass").await;
    let reset = |token: &str, target: &Value| {
        app.request(
            Method::PUT,
            &format!("/api/v1/users/{}/password", target["id"].as_str().unwrap()),
            token,
        )
        .json(&json!({ "password": "a fresh password" }))
        .send()
    };
    // The coordinator lacks system.configure, which the LMS administrator holds.
    assert_problem(
        reset(&coord_token, &lms).await.unwrap(),
        403,
        None,
        "system.configure",
    )
    .await;
    let rename = app
        .request(
            Method::PATCH,
            &format!("/api/v1/users/{}", lms["id"].as_str().unwrap()),
            &coord_token,
        )
        .json(&json!({ "email": "lms@evil.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status(), 403);
    // The other way round is fine: the administrator could grant everything the coordinator holds.
    let lms_token = login("lms", "lms admin pass 1").await;
    assert_eq!(reset(&lms_token, &coord).await.unwrap().status(), 204);
}

#[tokio::test]
async fn nobody_moves_their_own_expiry_date() {
    let app = spawn_app().await;
    app.create_user(
        "temp",
        json!({ "password": "temporary pass", "expires_on": "2030-01-31" }),
    )
    .await;
    let body: Value = app
        .login("temp", "temporary pass")
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap();
    let me = body["user"]["id"].as_str().unwrap();
    let r = app
        .request(Method::PATCH, &format!("/api/v1/users/{me}"), token)
        .json(&json!({ "expires_on": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let after: Value = app
        .get(&format!("/api/v1/users/{me}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["expires_on"], "2030-01-31");
}

#[tokio::test]
async fn lists_say_nothing_about_rows_the_caller_may_not_see() {
    let app = spawn_app().await;
    app.create_user("zed", json!({ "password": "zed's password" }))
        .await;
    for name in ["bob", "carla", "dmitri"] {
        app.create_user(name, json!({ "email": format!("{name}@secret.example") }))
            .await;
    }
    let body: Value = app
        .login("zed", "zed's password")
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap();
    let get = |path: &'static str| app.request(Method::GET, path, token).send();
    for path in [
        "/api/v1/users?limit=1",
        "/api/v1/users?q=secret",
        "/api/v1/users?limit=1&after=a",
    ] {
        let page: Value = get(path).await.unwrap().json().await.unwrap();
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert!(names.iter().all(|n| *n == "zed"), "{path}: {names:?}");
        assert_eq!(
            page["next"],
            Value::Null,
            "{path}: no cursor into hidden rows"
        );
    }
    // An administrator still pages through everyone.
    let first: Value = app.get("/api/v1/users?limit=2").await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["next"], first["items"][1]["username"]);
}

#[tokio::test]
async fn changing_the_username_or_email_warns_that_the_login_changes() {
    let app = spawn_app().await;
    let ann = app
        .create_user("ann", json!({ "email": "ann@acme.example" }))
        .await;
    let path = format!("/api/v1/users/{}", ann["id"].as_str().unwrap());
    let email_only: Value = app
        .send(Method::PATCH, &path, json!({ "email": "ann@new.example" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        email_only["username"], "ann",
        "the username stays apart from the email"
    );
    assert!(
        email_only["warnings"][0]
            .as_str()
            .unwrap()
            .contains("the email changes"),
        "{email_only}"
    );
    let both: Value = app
        .send(
            Method::PATCH,
            &path,
            json!({ "email": "ann@newer.example", "use_email_as_username": true }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(both["username"], "ann@newer.example");
    assert!(
        both["warnings"][0]
            .as_str()
            .unwrap()
            .contains("the login changes"),
        "{both}"
    );
    let quiet: Value = app
        .send(Method::PATCH, &path, json!({ "display_name": "Ann B." }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(quiet["warnings"], json!([]));
    let missing = app
        .send(
            Method::PATCH,
            &path,
            json!({ "use_email_as_username": true }),
        )
        .await;
    assert_problem(missing, 422, Some("use_email_as_username"), "new email").await;
}
