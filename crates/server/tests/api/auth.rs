use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn a_right_password_opens_a_session_with_a_strict_secure_cookie() {
    let app = spawn_app().await;
    let r = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["username"], "admin");
    let token = body["token"].as_str().unwrap();
    let me: Value = app
        .request(Method::GET, "/api/v1/me", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], app.admin.id.to_string());
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_unknown_tenants_get_the_same_answer() {
    let app = spawn_app().await;
    let wrong = app.login("admin", "not the password at all").await;
    let unknown = app.login("nobody", ADMIN_PASSWORD).await;
    let r = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(
            &json!({ "tenant": "no-such-tenant", "username": "admin", "password": ADMIN_PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    let mut bodies = vec![];
    for r in [wrong, unknown, r] {
        assert_eq!(r.status(), 401);
        let b: Value = r.json().await.unwrap();
        bodies.push(b["detail"].clone());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

#[tokio::test]
async fn the_sixth_wrong_password_in_a_row_is_throttled() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(app.login("admin", "guess guess guess").await.status(), 401);
    }
    let r = app.login("admin", ADMIN_PASSWORD).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_problem(r, 429, None, "too many attempts").await;
}

#[tokio::test]
async fn failed_guesses_from_one_address_never_lock_the_owner_out_from_another() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(app.login("admin", "guess guess guess").await.status(), 401);
    }
    let r = app.login("admin", "guess guess guess").await;
    assert_eq!(r.status(), 429);
    // The delay is short and grows with each guess; it is no 15-minute lockout.
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait <= 2, "retry after {wait} s");
    // The administrator, from another address, logs in at once.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let r = elsewhere
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&json!({
            "tenant": app.tenant.slug.as_str(), "username": "admin", "password": ADMIN_PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn deactivated_and_expired_accounts_are_told_why_after_a_right_password() {
    let app = spawn_app().await;
    app.create_user(
        "leaver",
        json!({ "password": "leaver password 1", "status": "deactivated" }),
    )
    .await;
    app.create_user(
        "temp",
        json!({ "password": "temp password 12", "expires_on": "2020-01-31" }),
    )
    .await;
    assert_problem(
        app.login("leaver", "leaver password 1").await,
        403,
        None,
        "deactivated",
    )
    .await;
    assert_problem(
        app.login("temp", "temp password 12").await,
        403,
        None,
        "expired after 2020-01-31",
    )
    .await;
    // With a wrong password they learn nothing.
    assert_eq!(app.login("leaver", "wrong password 1").await.status(), 401);
}

#[tokio::test]
async fn a_cookie_session_needs_the_csrf_header_to_change_anything() {
    let app = spawn_app().await;
    let body: Value = app
        .login("admin", ADMIN_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (session, csrf) = (
        body["token"].as_str().unwrap(),
        body["csrf_token"].as_str().unwrap(),
    );
    let cookie = format!("registrar_session={session}");
    let url = format!("{}/api/v1/groups", app.address);
    let read = app
        .client
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let forged = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .json(&json!({ "name": "Forged" }))
        .send()
        .await
        .unwrap();
    assert_problem(forged, 403, None, "x-csrf-token").await;
    let wrong = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", "rgr_wrong")
        .json(&json!({ "name": "Forged" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let real = app
        .client
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", csrf)
        .json(&json!({ "name": "Real" }))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), 201);
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = spawn_app().await;
    let body: Value = app
        .login("admin", ADMIN_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap();
    let out = app
        .request(Method::POST, "/api/v1/auth/logout", token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = app
        .request(Method::GET, "/api/v1/me", token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn api_tokens_are_shown_once_work_as_bearer_and_die_when_revoked() {
    let app = spawn_app().await;
    let r = app
        .send(Method::POST, "/api/v1/tokens", json!({ "name": "hr-feed" }))
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("rgr_"));
    let listed: Vec<Value> = app.get("/api/v1/tokens").await.json().await.unwrap();
    assert!(
        listed.iter().all(|t| t.get("secret").is_none()),
        "secrets are never listed"
    );
    assert!(listed.iter().any(|t| t["name"] == "hr-feed"));
    let me = app
        .request(Method::GET, "/api/v1/me", secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let id = created["id"].as_str().unwrap();
    let revoke = app
        .request(Method::DELETE, &format!("/api/v1/tokens/{id}"), &app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    let dead = app
        .request(Method::GET, "/api/v1/me", secret)
        .send()
        .await
        .unwrap();
    assert_problem(dead, 401, None, "credentials").await;
}

#[tokio::test]
async fn requests_without_or_with_garbage_credentials_are_unauthenticated() {
    let app = spawn_app().await;
    let none = app
        .client
        .get(format!("{}/api/v1/users", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(none, 401, None, "credentials").await;
    let garbage = app
        .request(Method::GET, "/api/v1/users", "rgr_0000")
        .send()
        .await
        .unwrap();
    assert_problem(garbage, 401, None, "credentials").await;
}

#[tokio::test]
async fn changing_ones_own_password_needs_the_current_one() {
    let app = spawn_app().await;
    let path = format!("/api/v1/users/{}/password", app.admin.id);
    let without = app
        .send(
            Method::PUT,
            &path,
            json!({ "password": "a brand new password" }),
        )
        .await;
    assert_problem(without, 422, Some("current_password"), "current one").await;
    let ok = app
        .send(
            Method::PUT,
            &path,
            json!({ "password": "a brand new password", "current_password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        app.login("admin", "a brand new password").await.status(),
        200
    );
}

#[tokio::test]
async fn a_password_reset_ends_the_users_sessions() {
    let app = spawn_app().await;
    let ann = app
        .create_user("ann", json!({ "password": "ann's old password" }))
        .await;
    let body: Value = app
        .login("ann", "ann's old password")
        .await
        .json()
        .await
        .unwrap();
    let session = body["token"].as_str().unwrap();
    let before = app
        .request(Method::GET, "/api/v1/me", session)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), 200);
    let reset = app
        .send(
            Method::PUT,
            &format!("/api/v1/users/{}/password", ann["id"].as_str().unwrap()),
            json!({ "password": "ann's new password" }),
        )
        .await;
    assert_eq!(reset.status(), 204);
    let after = app
        .request(Method::GET, "/api/v1/me", session)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the old session is gone");
    assert_eq!(app.login("ann", "ann's new password").await.status(), 200);
}
