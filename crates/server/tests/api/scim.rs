//! The SCIM feed driven the way an identity provider drives it, then checked through the
//! decision API; and its error answers.

use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Name, Password, Username};
use registrar_server::bootstrap::{AdminSpec, create_tenant, issue_token};
use registrar_store::{Actor, TokenKind};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, TestApp, spawn_app};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A tenant on the Levels preset, where anyone with team members is a manager, and a feed token
/// of its administrator.
async fn feed_tenant(app: &TestApp, slug: &str) -> String {
    let (tenant, admin) = create_tenant(
        app.store.as_ref(),
        &Actor::cli(),
        TenantSlug::parse(slug).unwrap(),
        Name::parse("name", slug).unwrap(),
        Preset::Levels,
        Some(AdminSpec {
            username: Some(Username::parse("feed-admin").unwrap()),
            email: None,
            display_name: Name::parse("display name", "Feed Admin").unwrap(),
            password: Password::parse(ADMIN_PASSWORD).unwrap(),
        }),
    )
    .await
    .unwrap();
    let (_, token) = issue_token(
        app.store.as_ref(),
        &Actor::cli(),
        Some((tenant.id, admin.unwrap().id)),
        TokenKind::Api,
        "scim",
        None,
    )
    .await
    .unwrap();
    token
}

async fn scim(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut r = app.request(method, &format!("/scim/v2{path}"), token);
    if let Some(b) = body {
        r = r
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    r.send().await.unwrap()
}

async fn ok(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

/// Asserts a SCIM error body: schema, status as a string, scimType.
async fn scim_error(r: Response, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/scim+json"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], status.to_string());
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    body
}

fn user(name: &str, external: &str, email: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": name,
        "externalId": external,
        "name": {"givenName": name, "familyName": "Feed"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true,
    })
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

async fn check(app: &TestApp, token: &str, who: &str, action: &str, resource: &str) -> bool {
    let r = app
        .request(Method::POST, "/api/v1/check", token)
        .json(&json!({ "user": who, "action": action, "resource": resource }))
        .send()
        .await
        .unwrap();
    ok(r, 200).await["allowed"].as_bool().unwrap()
}

#[tokio::test]
async fn an_identity_provider_provisions_people_teams_and_leavers() {
    let app = spawn_app().await;
    let token = feed_tenant(&app, "feed").await;
    let t = token.as_str();

    // Create three people, look one up the way Okta and Entra ID do before writing.
    let boss = ok(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(user("bea.boss", "E-1", "bea@feed.example")),
        )
        .await,
        201,
    )
    .await;
    let bea = boss["id"].as_str().unwrap().to_owned();
    let mut emp = user("eve.emp", "E-2", "eve@feed.example");
    emp["schemas"] = json!([USER, ENTERPRISE]);
    emp[ENTERPRISE] = json!({"manager": {"value": bea}});
    let eve = ok(scim(&app, t, Method::POST, "/Users", Some(emp)).await, 201).await;
    let eve_id = eve["id"].as_str().unwrap().to_owned();
    assert_eq!(eve[ENTERPRISE]["manager"]["value"], bea.as_str());
    let leo = ok(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(user("leo.leaver", "E-3", "leo@feed.example")),
        )
        .await,
        201,
    )
    .await;
    let leo_id = leo["id"].as_str().unwrap().to_owned();
    let found = ok(
        scim(
            &app,
            t,
            Method::GET,
            "/Users?filter=externalId%20eq%20%22E-2%22",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["userName"], "eve.emp");

    // The manager attribute built the team: Bea sees Eve's data, not Leo's.
    let eve_ref = format!("user:{eve_id}");
    let leo_ref = format!("user:{leo_id}");
    assert!(check(&app, t, "bea.boss", "users.view", &eve_ref).await);
    assert!(!check(&app, t, "bea.boss", "users.view", &leo_ref).await);

    // Entra-style PATCH: move Leo under Bea, fix his name, add a home email by value path.
    let changed = ok(
        scim(
            &app,
            t,
            Method::PATCH,
            &format!("/Users/{leo_id}"),
            Some(patch(json!([
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": bea},
                {"op": "Replace", "path": "name.familyName", "value": "Leaver"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "leo@home.example"},
            ]))),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["name"]["familyName"], "Leaver");
    assert!(check(&app, t, "bea.boss", "users.view", &leo_ref).await);

    // A group with members, changed by value paths.
    let team = ok(
        scim(
            &app,
            t,
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": [GROUP], "displayName": "Sales", "externalId": "G-1",
                        "members": [{"value": eve_id}]}),
            ),
        )
        .await,
        201,
    )
    .await;
    let group = team["id"].as_str().unwrap().to_owned();
    let g = ok(
        scim(
            &app,
            t,
            Method::PATCH,
            &format!("/Groups/{group}"),
            Some(patch(json!([
                {"op": "add", "path": "members", "value": [{"value": leo_id}]},
                {"op": "remove", "path": format!("members[value eq \"{eve_id}\"]")},
            ]))),
        )
        .await,
        200,
    )
    .await;
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![leo_id.as_str()]);
    let leo_now = ok(
        scim(&app, t, Method::GET, &format!("/Users/{leo_id}"), None).await,
        200,
    )
    .await;
    assert_eq!(leo_now["groups"][0]["value"], group.as_str());
    let in_group = ok(
        scim(
            &app,
            t,
            Method::GET,
            &format!("/Users?filter=groups.value%20eq%20%22{group}%22"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(in_group["totalResults"], 1);

    // The leaver: remove_grants policy, a grant to lose, then active=false via PATCH replace.
    let policy = app
        .request(Method::PUT, "/api/v1/tenant/leaver-policy", t)
        .json(&json!({"leaver_policy": "remove_grants"}))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 200);
    let grant = app
        .request(Method::POST, "/api/v1/grants", t)
        .json(&json!({"principal": format!("user:{leo_id}"), "role": "power-user", "scope": "platform"}))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 201, "{}", grant.text().await.unwrap());
    assert!(check(&app, t, "leo.leaver", "users.view", &leo_ref).await);
    let gone = ok(
        scim(
            &app,
            t,
            Method::PATCH,
            &format!("/Users/{leo_id}"),
            Some(patch(
                json!([{"op": "Replace", "path": "active", "value": false}]),
            )),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(gone["active"], false);
    assert!(!check(&app, t, "leo.leaver", "users.view", &leo_ref).await);
    let grants: Value = app
        .request(
            Method::GET,
            &format!("/api/v1/grants?principal=user:{leo_id}"),
            t,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grants.as_array().unwrap().len(), 0, "{grants}");
    let inactive = ok(
        scim(
            &app,
            t,
            Method::GET,
            "/Users?filter=active%20eq%20false",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(inactive["totalResults"], 1);

    // Every feed change is in the audit log, by the feed's user.
    let audit: Value = app
        .request(Method::GET, "/api/v1/audit", t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    for a in [
        "user.created",
        "manager.added",
        "group.member_removed",
        "grant.revoked",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }

    // Another tenant's token sees none of it.
    let other = feed_tenant(&app, "other").await;
    let none = ok(scim(&app, &other, Method::GET, "/Users", None).await, 200).await;
    assert_eq!(none["totalResults"], 1, "only the other tenant's own admin");
    scim_error(
        scim(&app, &other, Method::GET, &format!("/Users/{eve_id}"), None).await,
        404,
        None,
    )
    .await;
}

#[tokio::test]
async fn bad_feed_input_gets_scim_errors_and_changes_nothing() {
    let app = spawn_app().await;
    let t = app.token.as_str();
    let ann = ok(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(user("ann", "A-1", "ann@acme.example")),
        )
        .await,
        201,
    )
    .await;
    let id = ann["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");

    scim_error(
        scim(&app, t, Method::GET, "/Users?filter=userName%20eq", None).await,
        400,
        Some("invalidFilter"),
    )
    .await;
    scim_error(
        scim(
            &app,
            t,
            Method::GET,
            "/Users/01900000-0000-7000-8000-000000000000",
            None,
        )
        .await,
        404,
        None,
    )
    .await;
    scim_error(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(user("ANN", "A-9", "other@acme.example")),
        )
        .await,
        409,
        Some("uniqueness"),
    )
    .await;

    // If-Match: the current version passes, an old one is refused.
    let r = scim(&app, t, Method::GET, &path, None).await;
    let version = r.headers()["etag"].to_str().unwrap().to_owned();
    let stale = app
        .request(Method::PATCH, &format!("/scim/v2{path}"), t)
        .header("if-match", "W/\"1\"")
        .body(patch(json!([{"op": "replace", "path": "displayName", "value": "X"}])).to_string())
        .send()
        .await
        .unwrap();
    scim_error(stale, 412, None).await;
    let fresh = app
        .request(Method::PATCH, &format!("/scim/v2{path}"), t)
        .header("if-match", &version)
        .body(
            patch(json!([{"op": "replace", "path": "displayName", "value": "Ann A."}])).to_string(),
        )
        .send()
        .await
        .unwrap();
    let after = ok(fresh, 200).await;
    assert_ne!(after["meta"]["version"], version.as_str());

    // A bad path in the second operation: the first one is not applied either.
    scim_error(
        scim(
            &app,
            t,
            Method::PATCH,
            &path,
            Some(patch(json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "nickName", "value": "x"},
            ]))),
        )
        .await,
        400,
        Some("invalidPath"),
    )
    .await;
    scim_error(
        scim(
            &app,
            t,
            Method::PATCH,
            &path,
            Some(patch(json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "emails[type eq", "value": "x"},
            ]))),
        )
        .await,
        400,
        Some("invalidPath"),
    )
    .await;
    let unchanged = ok(scim(&app, t, Method::GET, &path, None).await, 200).await;
    assert_eq!(unchanged["displayName"], "Ann A.");
    assert_eq!(unchanged["meta"]["version"], after["meta"]["version"]);

    scim_error(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "bad name!"})),
        )
        .await,
        400,
        Some("invalidValue"),
    )
    .await;
    scim_error(
        app.request(Method::GET, "/scim/v2/Users", "wrong-token")
            .send()
            .await
            .unwrap(),
        401,
        None,
    )
    .await;
}

#[tokio::test]
async fn discovery_documents_list_what_the_feed_supports() {
    let app = spawn_app().await;
    let t = app.token.as_str();
    let config = ok(
        scim(&app, t, Method::GET, "/ServiceProviderConfig", None).await,
        200,
    )
    .await;
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    let types = ok(
        scim(&app, t, Method::GET, "/ResourceTypes", None).await,
        200,
    )
    .await;
    assert_eq!(types["totalResults"], 2);
    let schema = ok(
        scim(
            &app,
            t,
            Method::GET,
            &format!("/Schemas/{ENTERPRISE}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(schema["attributes"][0]["name"], "manager");
}

#[tokio::test]
async fn lists_sort_and_page_and_deleted_people_are_gone_for_the_feed() {
    let app = spawn_app().await;
    let t = app.token.as_str();
    for (name, n) in [("cid", "3"), ("abe", "1"), ("bob", "2")] {
        ok(
            scim(
                &app,
                t,
                Method::POST,
                "/Users",
                Some(user(name, n, &format!("{name}@acme.example"))),
            )
            .await,
            201,
        )
        .await;
    }
    let page = ok(
        scim(
            &app,
            t,
            Method::GET,
            "/Users?filter=emails%20ew%20%22acme.example%22%20and%20not%20(userName%20eq%20%22admin%22)&sortBy=userName&sortOrder=descending&startIndex=2&count=1",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page["totalResults"], 3);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 1);
    assert_eq!(page["Resources"][0]["userName"], "bob");

    let bob = page["Resources"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        scim(&app, t, Method::DELETE, &format!("/Users/{bob}"), None)
            .await
            .status(),
        204
    );
    scim_error(
        scim(&app, t, Method::GET, &format!("/Users/{bob}"), None).await,
        404,
        None,
    )
    .await;
    // The person stays, deactivated, with their data (SPEC 3.1).
    let kept: Value = app
        .get(&format!("/api/v1/users/{bob}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["status"], "deactivated");
}

#[tokio::test]
async fn a_feed_token_can_do_only_what_its_user_may() {
    let app = spawn_app().await;
    let lea = app.create_user("lea", json!({})).await;
    let (_, token) = issue_token(
        app.store.as_ref(),
        &Actor::cli(),
        Some((app.tenant.id, lea["id"].as_str().unwrap().parse().unwrap())),
        TokenKind::Api,
        "learner feed",
        None,
    )
    .await
    .unwrap();
    let t = token.as_str();
    scim_error(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(user("new", "N-1", "new@acme.example")),
        )
        .await,
        403,
        None,
    )
    .await;
    // A learner sees themselves only, and cannot deactivate themselves or anyone.
    let seen = ok(scim(&app, t, Method::GET, "/Users", None).await, 200).await;
    assert_eq!(seen["totalResults"], 1);
    assert_eq!(seen["Resources"][0]["userName"], "lea");
    let admin = app.admin.id.to_string();
    scim_error(
        scim(
            &app,
            t,
            Method::PATCH,
            &format!("/Users/{admin}"),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await,
        403,
        None,
    )
    .await;
    let admin_now = ok(
        scim(
            &app,
            &app.token,
            Method::GET,
            &format!("/Users/{admin}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(admin_now["active"], true);
}

#[tokio::test]
async fn the_suspend_policy_suspends_a_leavers_open_enrollments() {
    let app = spawn_app().await;
    let t = app.token.as_str();
    let r = app
        .send(
            Method::PUT,
            "/api/v1/tenant/leaver-policy",
            json!({"leaver_policy": "suspend_enrollments"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let sam = ok(
        scim(
            &app,
            t,
            Method::POST,
            "/Users",
            Some(user("sam", "S-1", "sam@acme.example")),
        )
        .await,
        201,
    )
    .await;
    let course: Value = app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({"title": "Safety", "published": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let enrollments = format!(
        "/api/v1/courses/{}/enrollments",
        course["id"].as_str().unwrap()
    );
    let r = app
        .send(Method::POST, &enrollments, json!({"user": "sam"}))
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mut leaver = sam.clone();
    leaver["active"] = json!(false);
    ok(
        scim(
            &app,
            t,
            Method::PUT,
            &format!("/Users/{}", sam["id"].as_str().unwrap()),
            Some(leaver),
        )
        .await,
        200,
    )
    .await;
    let listed: Value = app.get(&enrollments).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["status"], "suspended", "{listed}");
}

#[tokio::test]
async fn an_expired_person_resent_as_inactive_is_left_alone() {
    let app = spawn_app().await;
    let t = app.token.as_str();
    let old = app
        .create_user("old", json!({"expires_on": "2020-01-31"}))
        .await;
    let path = format!("/Users/{}", old["id"].as_str().unwrap());
    let mut shown = ok(scim(&app, t, Method::GET, &path, None).await, 200).await;
    assert_eq!(shown["active"], false);
    shown["displayName"] = json!("Old Timer");
    let put = ok(scim(&app, t, Method::PUT, &path, Some(shown)).await, 200).await;
    assert_eq!(put["displayName"], "Old Timer");
    let kept: Value = app
        .get(&format!("/api/v1{}", path.to_lowercase()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        kept["status"], "expired",
        "the expiry date decides, not the feed"
    );
}
