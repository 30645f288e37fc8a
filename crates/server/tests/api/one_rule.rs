//! The same act asks the same rule on every surface: by hand on the JSON API, by the SCIM feed
//! and its leaver policy, and by the CSV import. Each test is named after a rule that had two
//! answers before the engine asked it once.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, feed_token, grant, ok, person, s, scim_deactivate, spawn_app};

/// A platform role with exactly `permissions`, tenant-wide.
async fn role(app: &TestApp, code: &str, permissions: &[&str]) {
    let capabilities: Vec<Value> = permissions
        .iter()
        .map(|p| json!({ "permission": p, "reach": "tenant" }))
        .collect();
    ok(app
        .send(
            Method::POST,
            "/api/v1/roles",
            json!({ "code": code, "name": code, "level": true,
                    "capabilities": capabilities, "scopes": ["platform"] }),
        )
        .await)
    .await;
}

#[tokio::test]
async fn detaching_a_policy_asks_the_same_rule_by_hand_and_by_the_leaver_policy() {
    let app = spawn_app().await;
    ok(app
        .send(
            Method::PUT,
            "/api/v1/tenant/leaver-policy",
            json!({ "leaver_policy": "remove_grants" }),
        )
        .await)
    .await;
    let policy = ok(app
        .send(
            Method::POST,
            "/api/v1/policies",
            json!({ "name": "Tutors", "items": [{ "role": "tutor", "scope": "platform" }] }),
        )
        .await)
    .await;
    let people = ["users.view", "users.edit", "users.status"];
    // Pat may edit policies but not assign roles; Ray may assign roles but not edit policies.
    role(
        &app,
        "policy-editor",
        &[&people[..], &["policies.edit"]].concat(),
    )
    .await;
    role(
        &app,
        "role-assigner",
        &[&people[..], &["roles.assign"]].concat(),
    )
    .await;
    let (pat, pat_session) = person(&app, "pat").await;
    grant(&app, &pat, "policy-editor", "platform").await;
    let (ray, ray_session) = person(&app, "ray").await;
    grant(&app, &ray, "role-assigner", "platform").await;

    for (who, session, allowed) in [(&pat, &pat_session, false), (&ray, &ray_session, true)] {
        let (by_hand_target, _) = person(&app, &format!("hand-{}", s(who, "username"))).await;
        let (leaver, _) = person(&app, &format!("leaver-{}", s(who, "username"))).await;
        for target in [&by_hand_target, &leaver] {
            ok(app
                .send(
                    Method::POST,
                    &format!("/api/v1/policies/{}/attachments", s(&policy, "id")),
                    json!({ "principal": format!("user:{}", s(target, "id")) }),
                )
                .await)
            .await;
        }
        let by_hand = app
            .request(
                Method::DELETE,
                &format!(
                    "/api/v1/policies/{}/attachments/user:{}",
                    s(&policy, "id"),
                    s(&by_hand_target, "id")
                ),
                session,
            )
            .send()
            .await
            .unwrap();
        let feed = feed_token(&app, who).await;
        let by_leaver_policy = scim_deactivate(&app, &feed, &leaver).await;
        let answers = (
            by_hand.status().is_success(),
            by_leaver_policy.status().is_success(),
        );
        assert_eq!(answers, (allowed, allowed), "{}", s(who, "username"));
        if !allowed {
            let text = by_hand.text().await.unwrap();
            assert!(text.contains("roles.assign"), "{text}");
            let text = by_leaver_policy.text().await.unwrap();
            assert!(text.contains("roles.assign"), "{text}");
        }
    }
}

#[tokio::test]
async fn revoking_a_grant_asks_the_same_rule_by_hand_and_by_the_leaver_policy() {
    let app = spawn_app().await;
    ok(app
        .send(
            Method::PUT,
            "/api/v1/tenant/leaver-policy",
            json!({ "leaver_policy": "remove_grants" }),
        )
        .await)
    .await;
    let people = ["users.view", "users.edit", "users.status"];
    role(&app, "people-admin", &people).await;
    let (pat, session) = person(&app, "pat").await;
    grant(&app, &pat, "people-admin", "platform").await;
    let (olaf, _) = person(&app, "olaf").await;
    let (uma, _) = person(&app, "uma").await;
    grant(&app, &olaf, "tutor", "platform").await;
    grant(&app, &uma, "tutor", "platform").await;
    let grants = ok(app
        .get(&format!("/api/v1/grants?principal=user:{}", s(&olaf, "id")))
        .await)
    .await;
    // Olaf's one grant: the default role is no grant.
    let tutor = &grants[0];
    let by_hand = app
        .request(
            Method::DELETE,
            &format!("/api/v1/grants/{}", s(tutor, "id")),
            &session,
        )
        .send()
        .await
        .unwrap();
    let by_leaver_policy = scim_deactivate(&app, &feed_token(&app, &pat).await, &uma).await;
    assert_eq!(by_hand.status(), 403);
    assert_eq!(by_leaver_policy.status(), 403);
    for r in [by_hand, by_leaver_policy] {
        let text = r.text().await.unwrap();
        assert!(text.contains("roles.assign"), "{text}");
    }
}

async fn scim_post(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    app.request(Method::POST, &format!("/scim/v2{path}"), token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn people_a_feed_creates_are_in_nobodys_team_so_only_tenant_wide_rights_reach_them() {
    let app = spawn_app().await;
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    // Mia creates people and groups tenant-wide, but sets managers and members of her team and
    // her groups only.
    let capabilities = json!([
        { "permission": "users.view", "reach": "tenant" },
        { "permission": "users.create", "reach": "tenant" },
        { "permission": "groups.create", "reach": "tenant" },
        { "permission": "managers.edit", "reach": "team" },
        { "permission": "groups.members", "reach": "assigned" },
    ]);
    ok(app
        .send(
            Method::POST,
            "/api/v1/roles",
            json!({ "code": "feeder", "name": "Feeder", "level": true,
                    "capabilities": capabilities, "scopes": ["platform"] }),
        )
        .await)
    .await;
    let (mia, _) = person(&app, "mia").await;
    grant(&app, &mia, "feeder", "platform").await;
    let (boss, _) = person(&app, "boss").await;
    let feed = feed_token(&app, &mia).await;
    let new_person = |name: &str, manager: Option<&Value>| {
        let mut body = json!({ "schemas": [USER, ENTERPRISE], "userName": name, "active": true,
                               "name": { "givenName": name, "familyName": "New" } });
        if let Some(m) = manager {
            body[ENTERPRISE] = json!({ "manager": { "value": s(m, "id") } });
        }
        body
    };
    let r = scim_post(&app, &feed, "/Users", new_person("nia", Some(&boss))).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("managers.edit"));
    let r = scim_post(&app, &feed, "/Users", new_person("nia", None)).await;
    assert_eq!(r.status(), 201);
    let r = scim_post(
        &app,
        &feed,
        "/Groups",
        json!({ "schemas": [GROUP], "displayName": "Night shift",
                "members": [{ "value": s(&boss, "id") }] }),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("groups.members"));
    // The tenant's administrator reaches everyone, new people included.
    let admin_feed = app.token.clone();
    let r = scim_post(&app, &admin_feed, "/Users", new_person("ola", Some(&boss))).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}
