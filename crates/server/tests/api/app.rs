//! Learner-app access, invitations and the mail outbox (SPEC 3.3).

use registrar_server::mail::{Mailbox, Transport};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn access(app: &TestApp, user: &Value, body: Value) -> Response {
    let path = format!("/api/v1/users/{}/app-access", user["id"].as_str().unwrap());
    app.send(Method::PUT, &path, body).await
}

async fn app_login(app: &TestApp, password: &str) -> Response {
    app.client
        .post(format!("{}/api/v1/auth/login", app.address))
        .json(&json!({ "tenant": "acme", "username": "ann", "password": password, "app": true }))
        .send()
        .await
        .unwrap()
}

/// The mail on line `n` of the mailbox, and the password it carries (its last word).
fn mail(path: &std::path::Path, n: usize) -> (Value, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mail: Value = serde_json::from_str(text.lines().nth(n).unwrap()).unwrap();
    let password = mail["body"]
        .as_str()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    (mail, password)
}

#[tokio::test]
async fn app_access_invitations_and_the_outbox_follow_the_rules() {
    let app = spawn_app().await;
    let ann = app
        .create_user(
            "ann",
            json!({ "email": "ann@acme.example", "password": "ann's first password" }),
        )
        .await;
    let bob = app.create_user("bob", json!({})).await;
    let invite = format!("/api/v1/users/{}/invitation", ann["id"].as_str().unwrap());

    // Access needs an email; invitations need a template; the app follows the switch.
    assert_problem(
        access(&app, &bob, json!({ "on": true })).await,
        422,
        Some("email"),
        "email address",
    )
    .await;
    let no_template = app.send(Method::POST, &invite, json!(null)).await;
    assert_problem(
        no_template,
        409,
        Some("invitation"),
        "no invitation template",
    )
    .await;
    assert_problem(
        app_login(&app, "ann's first password").await,
        403,
        None,
        "app access is off",
    )
    .await;

    // With a template and the automation on, switching access on sends the login details.
    let bad = app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({ "invitation": { "subject": "Hi", "body": "no details" } }),
        )
        .await;
    assert_problem(bad, 422, Some("body"), "{password}").await;
    let settings = app
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            json!({ "invitation": { "subject": "Welcome to {tenant}", "body": "Hi {name}, log in as {username} with {password}" },
                    "invite_on_app_access": true }),
        )
        .await;
    assert_eq!(settings.status(), 200);
    let on: Value = access(&app, &ann, json!({ "on": true, "until": "2099-12-31" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(on["invitation_sent"], true);

    let path =
        std::env::temp_dir().join(format!("registrar-mailbox-{}.jsonl", uuid::Uuid::now_v7()));
    let mailbox = Mailbox::new(&path);
    let transport = Transport::Mailbox(mailbox.clone());
    assert_eq!(transport.drain(app.store.as_ref()).await.unwrap(), 1);
    let (first, password) = mail(&path, 0);
    assert_eq!(first["to"], "ann@acme.example");
    assert_eq!(first["subject"], "Welcome to acme inc");
    assert!(
        first["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi ann, log in as ann with ")
    );
    assert_eq!(
        app_login(&app, &password).await.status(),
        200,
        "the mailed login works in the app"
    );
    assert_eq!(
        app_login(&app, "ann's first password").await.status(),
        401,
        "the old one does not"
    );
    assert_eq!(
        transport.drain(app.store.as_ref()).await.unwrap(),
        0,
        "nothing is sent twice"
    );
    let audit = app
        .get("/api/v1/audit?limit=1000")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !audit.contains(&password),
        "the audit log never holds the mailed password"
    );

    // A crash between delivering and marking: the next round finds the mail and only marks it.
    assert_eq!(
        app.send(Method::POST, &invite, json!(null)).await.status(),
        202
    );
    let pending = app.store.pending_mail(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    mailbox.deliver(&pending[0]).await.unwrap();
    assert_eq!(transport.drain(app.store.as_ref()).await.unwrap(), 0);
    assert!(
        app.store.pending_mail(10).await.unwrap().is_empty(),
        "nothing is lost"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        2,
        "nothing is duplicated"
    );

    // Switching access off, or letting it end, closes the app.
    let (_, newest) = mail(&path, 1);
    let off: Value = access(&app, &ann, json!({ "on": false }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(off["on"], false);
    assert_problem(
        app_login(&app, &newest).await,
        403,
        None,
        "app access is off",
    )
    .await;
    assert_eq!(
        access(&app, &ann, json!({ "on": true, "until": "2020-01-31" }))
            .await
            .status(),
        200
    );
    // Switching it on again sends fresh login details (the automation); they work until the
    // access ends.
    assert_eq!(transport.drain(app.store.as_ref()).await.unwrap(), 1);
    let (_, third) = mail(&path, 2);
    assert_problem(
        app_login(&app, &third).await,
        403,
        None,
        "ended after 2020-01-31",
    )
    .await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn bulk_app_access_from_a_course_is_all_or_nothing_and_sends_the_logins() {
    let app = spawn_app().await;
    let course: Value = app
        .send(
            Method::POST,
            "/api/v1/courses",
            json!({ "title": "Selling", "published": true }),
        )
        .await
        .json()
        .await
        .unwrap();
    let cid = course["id"].as_str().unwrap();
    let ann = app
        .create_user("ann", json!({ "email": "ann@acme.example" }))
        .await;
    app.create_user("cy", json!({})).await;
    app.create_user("dee", json!({ "email": "dee@acme.example" }))
        .await;
    for learner in ["ann", "cy"] {
        let r = app
            .send(
                Method::POST,
                &format!("/api/v1/courses/{cid}/enrollments"),
                json!({ "user": learner }),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let bulk_path = format!("/api/v1/courses/{cid}/app-access");
    let bulk = |users: Value| {
        app.send(
            Method::POST,
            &bulk_path,
            json!({ "users": users, "until": "2031-06-30" }),
        )
    };
    assert_problem(
        bulk(json!(["ann"])).await,
        409,
        Some("invitation"),
        "no invitation template",
    )
    .await;
    app.send(
        Method::PUT,
        "/api/v1/tenant/settings",
        json!({ "invitation": { "subject": "Welcome", "body": "{username} / {password}" } }),
    )
    .await;
    assert_problem(
        bulk(json!(["ann", "cy"])).await,
        422,
        Some("users[1]"),
        "email",
    )
    .await;
    assert_problem(
        bulk(json!(["ann", "dee"])).await,
        422,
        Some("users[1]"),
        "not enrolled",
    )
    .await;
    let ann_id = registrar_domain::ids::UserId::parse(ann["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        app.store.app_access(app.tenant.id, ann_id).await.unwrap(),
        None,
        "refused batches change nothing"
    );
    assert!(app.store.pending_mail(10).await.unwrap().is_empty());
    let done: Vec<String> = bulk(json!(["ann"])).await.json().await.unwrap();
    assert_eq!(done, [ann["id"].as_str().unwrap()]);
    assert!(
        app.store
            .app_access(app.tenant.id, ann_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        app.store.pending_mail(10).await.unwrap().len(),
        1,
        "saving sends the password email"
    );
}

/// A minimal SMTP sink on a free port: accepts every message and hands each one's DATA over.
async fn smtp_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            tx.send(data.take().unwrap()).unwrap();
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn the_sender_delivers_over_smtp_with_a_stable_message_id() {
    use registrar_server::mail::Smtp;
    let app = spawn_app().await;
    let ann = app
        .create_user("ann", json!({ "email": "ann@acme.example" }))
        .await;
    app.send(
        Method::PUT,
        "/api/v1/tenant/settings",
        json!({ "invitation": { "subject": "Welcome", "body": "Log in as {username} with {password}" } }),
    )
    .await;
    let invite = format!("/api/v1/users/{}/invitation", ann["id"].as_str().unwrap());
    assert_eq!(
        app.send(Method::POST, &invite, json!(null)).await.status(),
        202
    );
    let id = app.store.pending_mail(10).await.unwrap()[0].id.clone();

    // An unreachable relay keeps the mail pending.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = Transport::Smtp(
        Smtp::new(
            &format!("smtp://127.0.0.1:{dead_port}"),
            "Registrar <r@acme.example>",
        )
        .unwrap(),
    );
    assert!(down.drain(app.store.as_ref()).await.is_err());
    assert_eq!(
        app.store.pending_mail(10).await.unwrap().len(),
        1,
        "nothing is lost"
    );

    let (port, mut received) = smtp_sink().await;
    let up = Transport::Smtp(
        Smtp::new(
            &format!("smtp://127.0.0.1:{port}"),
            "Registrar <r@acme.example>",
        )
        .unwrap(),
    );
    assert_eq!(up.drain(app.store.as_ref()).await.unwrap(), 1);
    let message = received.recv().await.unwrap();
    assert!(message.contains("To: ann@acme.example"), "{message}");
    assert!(
        message.contains(&format!("Message-ID: <{id}@registrar>")),
        "{message}"
    );
    assert!(message.contains("Log in as ann with "), "{message}");
    assert!(app.store.pending_mail(10).await.unwrap().is_empty());
    assert_eq!(up.drain(app.store.as_ref()).await.unwrap(), 0, "sent once");

    assert!(matches!(
        Smtp::new("ftp://nowhere", "r@acme.example"),
        Err(registrar_server::mail::MailError::SmtpUrl(_))
    ));
    assert!(matches!(
        Smtp::new("smtp://127.0.0.1:25", "not an address"),
        Err(registrar_server::mail::MailError::From(_))
    ));
}
