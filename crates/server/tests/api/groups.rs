use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

#[tokio::test]
async fn groups_nest_and_refuse_cycles() {
    let app = spawn_app().await;
    let company = app.create_group("Company", None).await;
    let sales = app.create_group("Sales", Some(id(&company))).await;
    let north = app.create_group("Sales North", Some(id(&sales))).await;
    assert_eq!(north["parent"], sales["id"]);
    let cycle = app
        .send(
            Method::PATCH,
            &format!("/api/v1/groups/{}", id(&company)),
            json!({ "parent": id(&north) }),
        )
        .await;
    assert_problem(cycle, 422, None, "its own ancestor").await;
    let top = app
        .send(
            Method::PATCH,
            &format!("/api/v1/groups/{}", id(&north)),
            json!({ "parent": null }),
        )
        .await;
    assert_eq!(top.json::<Value>().await.unwrap()["parent"], Value::Null);
    let missing = app
        .send(
            Method::POST,
            "/api/v1/groups",
            json!({ "name": "x", "parent": "01900000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_problem(missing, 422, Some("parent"), "does not exist").await;
    let listed: Value = app
        .get("/api/v1/groups?q=sales")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn members_are_added_listed_and_removed() {
    let app = spawn_app().await;
    let sales = app.create_group("Sales", None).await;
    let ann = app.create_user("ann", json!({})).await;
    let path = format!("/api/v1/groups/{}/members/{}", id(&sales), id(&ann));
    assert_eq!(
        app.send(Method::PUT, &path, json!(null)).await.status(),
        204
    );
    assert_eq!(
        app.send(Method::PUT, &path, json!(null)).await.status(),
        204,
        "idempotent"
    );
    let members: Value = app
        .get(&format!("/api/v1/groups/{}/members", id(&sales)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members["items"][0]["username"], "ann");
    let of_ann: Vec<Value> = app
        .get(&format!("/api/v1/users/{}/groups", id(&ann)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(of_ann[0]["name"], "Sales");
    assert_eq!(
        app.send(Method::DELETE, &path, json!(null)).await.status(),
        204
    );
    let again = app.send(Method::DELETE, &path, json!(null)).await;
    assert_problem(again, 404, None, "not a direct member").await;
    let stranger = format!(
        "/api/v1/groups/{}/members/01900000-0000-7000-8000-000000000000",
        id(&sales)
    );
    assert_problem(
        app.send(Method::PUT, &stranger, json!(null)).await,
        404,
        None,
        "user",
    )
    .await;
}

#[tokio::test]
async fn line_managers_are_set_listed_and_removed() {
    let app = spawn_app().await;
    let boss = app.create_user("boss", json!({})).await;
    let ann = app.create_user("ann", json!({})).await;
    let path = format!("/api/v1/users/{}/managers/{}", id(&ann), id(&boss));
    assert_eq!(
        app.send(Method::PUT, &path, json!(null)).await.status(),
        204
    );
    let managers: Vec<Value> = app
        .get(&format!("/api/v1/users/{}/managers", id(&ann)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(managers[0]["manager"], boss["id"]);
    assert_eq!(managers[0]["source"], "explicit");
    let team: Vec<Value> = app
        .get(&format!("/api/v1/users/{}/managees", id(&boss)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(team[0]["managee"], ann["id"]);
    let own = format!("/api/v1/users/{}/managers/{}", id(&ann), id(&ann));
    assert_problem(
        app.send(Method::PUT, &own, json!(null)).await,
        422,
        None,
        "cannot manage themselves",
    )
    .await;
    assert_eq!(
        app.send(Method::DELETE, &path, json!(null)).await.status(),
        204
    );
}

#[tokio::test]
async fn joining_a_privileged_group_is_a_grant_and_obeys_the_delegation_rule() {
    let app = spawn_app().await;
    let admins = app.create_group("Platform admins", None).await;
    let policy: Value = app
        .send(
            Method::POST,
            "/api/v1/policies",
            json!({ "name": "Admins", "items": [{ "role": "lms-admin", "scope": "platform" }] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let attached = app
        .send(
            Method::POST,
            &format!("/api/v1/policies/{}/attachments", id(&policy)),
            json!({ "principal": format!("group:{}", id(&admins)) }),
        )
        .await;
    assert_eq!(attached.status(), 204);
    let coord = app
        .create_user("coord", json!({ "password": "coordinator pass" }))
        .await;
    let bob = app.create_user("bob", json!({})).await;
    let granted = app
        .send(
            Method::POST,
            "/api/v1/grants",
            json!({ "principal": format!("user:{}", id(&coord)), "role": "training-coordinator", "scope": "platform" }),
        )
        .await;
    assert_eq!(granted.status(), 201);
    let login: Value = app
        .login("coord", "coordinator pass")
        .await
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let join = |user: &Value| {
        app.request(
            Method::PUT,
            &format!("/api/v1/groups/{}/members/{}", id(&admins), id(user)),
            token,
        )
        .send()
    };
    assert_problem(
        join(&coord).await.unwrap(),
        403,
        None,
        "cannot grant roles to themselves",
    )
    .await;
    assert_problem(join(&bob).await.unwrap(), 403, None, "system.configure").await;
    // A plain group is free to join, and the superadmin may fill the privileged one.
    let plain = app.create_group("Book club", None).await;
    let free = app
        .request(
            Method::PUT,
            &format!("/api/v1/groups/{}/members/{}", id(&plain), id(&bob)),
            token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(free.status(), 204);
    let by_admin = app
        .send(
            Method::PUT,
            &format!("/api/v1/groups/{}/members/{}", id(&admins), id(&bob)),
            json!(null),
        )
        .await;
    assert_eq!(by_admin.status(), 204);
    // Nor by nesting a group of one's own under the privileged one.
    let nested = app
        .request(
            Method::PATCH,
            &format!("/api/v1/groups/{}", id(&plain)),
            token,
        )
        .json(&json!({ "parent": id(&admins) }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        nested.status(),
        403,
        "moving bob's book club under the admins group"
    );
    let unchanged: Value = app
        .get(&format!("/api/v1/groups/{}", id(&plain)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["parent"], Value::Null);
}

#[tokio::test]
async fn moving_a_group_out_of_another_needs_that_one_too() {
    use crate::helpers::{grant, ok, person};
    let app = spawn_app().await;
    let company = app.create_group("Company", None).await;
    let team = app.create_group("Team", Some(id(&company))).await;
    let other = app.create_group("Other", None).await;
    // Edits the team and the other group, not the company the team sits in.
    let (gm, token) = person(&app, "gm").await;
    grant(&app, &gm, "manager-tutor", "platform").await;
    grant(&app, &gm, "group-manager", &format!("group:{}", id(&team))).await;
    grant(&app, &gm, "group-manager", &format!("group:{}", id(&other))).await;
    let path = format!("/api/v1/groups/{}", id(&team));
    let patch = |body: Value| {
        let (app, token, path) = (&app, &token, &path);
        async move {
            app.request(Method::PATCH, path, token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    for body in [json!({ "parent": id(&other) }), json!({ "parent": null })] {
        assert_problem(patch(body).await, 403, None, "groups.").await;
    }
    // Renaming it, or naming the place it is in, is editing it alone.
    let renamed = ok(patch(json!({ "name": "Renamed", "parent": id(&company) })).await).await;
    assert_eq!(renamed["parent"], company["id"]);
    assert_eq!(renamed["name"], "Renamed");
    // Whoever edits the company too may take it out.
    let moved = ok(app
        .send(Method::PATCH, &path, json!({ "parent": id(&other) }))
        .await)
    .await;
    assert_eq!(moved["parent"], other["id"]);
}
