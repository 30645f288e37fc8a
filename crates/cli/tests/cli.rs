//! The real binary, as the README tells people to run it.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_registrar");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp_db() -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "registrar-cli-{}-{}.db",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    (format!("sqlite://{}", path.display()), path)
}

/// Starts `registrar serve --demo` on a free port and collects what it prints until it serves.
fn serve_demo(database_url: &str) -> (Server, Vec<String>) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--mailbox",
        ])
        .arg(
            std::path::Path::new(database_url.trim_start_matches("sqlite://"))
                .with_extension("mailbox.jsonl"),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut lines = vec![];
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Registrar is serving on");
        lines.push(line);
        if done {
            break;
        }
    }
    (server, lines)
}

fn find<'a>(lines: &'a [String], marker: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.split_once(marker).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no {marker:?} in {lines:#?}"))
}

#[tokio::test]
async fn serve_demo_prints_a_login_that_works_and_serves_healthz() {
    let (url, path) = temp_db();
    let (_server, lines) = serve_demo(&url);
    let base = find(&lines, "Registrar is serving on ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let health = loop {
        match client.get(format!("{base}/healthz")).send().await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(health.status(), 200);

    let login = find(&lines, "administrator login: ");
    let field = |name: &str| {
        login
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({
            "tenant": field("tenant"), "username": field("username"), "password": field("password")
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let token = find(&lines, "API token (acts as admin): ")
        .trim()
        .to_owned();
    let users: serde_json::Value = client
        .get(format!("{base}/api/v1/users?limit=100"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        users["items"].as_array().unwrap().len() >= 20,
        "the demo has people"
    );

    // The demo's course tutor sees their course, over HTTP and on the command line.
    let selling = lines
        .iter()
        .find(|l| l.contains("Selling Basics (e-learning"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let answer: serde_json::Value = client
        .post(format!("{base}/api/v1/check"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "user": "terry.tutor", "action": "courses.view", "resource": selling }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["allowed"], true, "{answer}");
    let check = |user: &str, action: &str, verb: &str| {
        Command::new(BIN)
            .args([verb, "--tenant", "demo", "--user", user, "--action", action])
            .args(["--resource", &selling, "--database-url", &url])
            .output()
            .unwrap()
    };
    let yes = check("terry.tutor", "courses.view", "check");
    assert_eq!(yes.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&yes.stdout).contains("course-tutor"));
    let no = check("petra.north", "enrollments.approve", "check");
    assert_eq!(no.status.code(), Some(3), "denied is exit status 3");
    let explained = check("petra.north", "enrollments.approve", "explain");
    let json: serde_json::Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert_eq!(json["outcome"], "denied");
    let _ = std::fs::remove_file(path);
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["tenant", "list", "--help"],
        vec!["admin", "create", "--help"],
        vec!["token", "create", "--help"],
        vec!["token", "operator", "--help"],
        vec!["check", "--help"],
        vec!["explain", "--help"],
        vec!["role", "list", "--help"],
        vec!["grant", "--help"],
        vec!["revoke", "--help"],
        vec!["role", "copy", "--help"],
        vec!["role", "delete", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn bootstrap_commands_create_a_tenant_an_admin_and_a_token() {
    let (url, path) = temp_db();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--database-url", &url])
            .env("REGISTRAR_ADMIN_PASSWORD", "a long enough password")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--preset",
        "group-roles",
        "--with-admin",
        "--admin-email",
        "boss@acme.example",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("created administrator boss@acme.example"));
    let (ok, out, _) = run(&["tenant", "list"]);
    assert!(ok && out.contains("acme") && out.contains("group-roles"));
    let (ok, _, err) = run(&[
        "admin",
        "create",
        "--tenant",
        "acme",
        "--username",
        "second",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&[
        "token", "create", "--tenant", "acme", "--user", "second", "--name", "feed",
    ]);
    assert!(ok, "{err}");
    assert!(out.trim().starts_with("rgr_"));
    let (ok, out, _) = run(&["role", "list", "--tenant", "acme"]);
    assert!(
        ok && out.contains("course-author") && out.contains("owner"),
        "{out}"
    );
    let (ok, out, err) = run(&[
        "grant",
        "--tenant",
        "acme",
        "--as",
        "boss@acme.example",
        "--user",
        "second",
        "--role",
        "author",
        "--scope",
        "platform",
    ]);
    assert!(!ok, "author is granted per group, not at platform: {out}");
    assert!(err.contains("cannot be granted at platform"), "{err}");
    let (ok, out, err) = run(&[
        "grant",
        "--tenant",
        "acme",
        "--as",
        "boss@acme.example",
        "--user",
        "second",
        "--role",
        "manager",
    ]);
    assert!(ok, "{err}");
    let grant = out
        .trim()
        .rsplit("(grant ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let as_boss = ["--tenant", "acme", "--as", "boss@acme.example"];
    let revoke: Vec<&str> = ["revoke"]
        .iter()
        .chain(&as_boss)
        .copied()
        .chain(["--grant", grant.as_str()])
        .collect();
    let (ok, _, err) = run(&revoke);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&revoke);
    assert!(!ok && err.contains("not found"), "{err}");
    let copy: Vec<&str> = ["role", "copy"]
        .iter()
        .chain(&as_boss)
        .copied()
        .chain([
            "--from",
            "coach",
            "--code",
            "senior-coach",
            "--name",
            "Senior Coach",
        ])
        .collect();
    let (ok, out, err) = run(&copy);
    assert!(ok && out.contains("senior-coach"), "{err}");
    let delete = |role: &'static str| -> Vec<&str> {
        ["role", "delete"]
            .iter()
            .chain(&as_boss)
            .copied()
            .chain(["--role", role])
            .collect()
    };
    let (ok, _, err) = run(&delete("owner"));
    assert!(!ok && err.contains("in use"), "{err}");
    let (ok, _, err) = run(&delete("senior-coach"));
    assert!(ok, "{err}");
    // Bad input is refused with a message naming it.
    let (ok, _, err) = run(&["tenant", "create", "--slug", "Bad Slug", "--name", "x"]);
    assert!(!ok);
    assert!(err.contains("invalid tenant slug \"Bad Slug\""), "{err}");
    let (ok, _, err) = run(&[
        "token", "create", "--tenant", "nope", "--user", "x", "--name", "y",
    ]);
    assert!(!ok);
    assert!(err.contains("tenant \"nope\" not found"), "{err}");
    let _ = std::fs::remove_file(path);
}

/// Queues `n` invitation mails for one learner straight through the store.
async fn queue_mails(database_url: &str, n: usize) {
    use registrar_domain::tenant::{Preset, TenantSlug};
    use registrar_domain::text::{Email, Labels, Name, Username};
    use registrar_domain::user::UserStatus;
    use registrar_store::{Actor, Invitation, NewMail, NewTenant, NewUser};
    let store = registrar_store::connect(database_url).await.unwrap();
    let (tenant, _) = store
        .create_tenant(
            &Actor::cli(),
            NewTenant {
                slug: TenantSlug::parse("mail").unwrap(),
                name: Name::parse("name", "Mail").unwrap(),
                preset: Preset::ClassicLms,
            },
            None,
        )
        .await
        .unwrap();
    let ann = store
        .create_user(
            &Actor::cli(),
            tenant.id,
            NewUser {
                username: Username::parse("ann").unwrap(),
                email: Some(Email::parse("ann@acme.example").unwrap()),
                display_name: Name::parse("display name", "Ann").unwrap(),
                labels: Labels::default(),
                status: UserStatus::Activated,
                expires_on: None,
                primary_group: None,
                also_joins: Vec::new(),
                superadmin: false,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    for i in 0..n {
        store
            .send_invitation(
                &Actor::cli(),
                tenant.id,
                ann.id,
                Invitation {
                    password_hash: "$argon2id$fake".into(),
                    mail: NewMail {
                        recipient: Email::parse("ann@acme.example").unwrap(),
                        subject: format!("Invitation {i}"),
                        body: format!("ann / secret-{i}"),
                    },
                },
            )
            .await
            .unwrap();
    }
    store.close().await;
}

fn mailbox_ids(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// SPEC 3.3: a crash between queueing and sending neither loses nor duplicates a mail. The
/// sender is killed (SIGKILL) several times in the middle of a batch, then run to the end.
#[tokio::test]
async fn a_sender_killed_mid_batch_neither_loses_nor_duplicates_mail() {
    const MAILS: usize = 1500;
    let (url, db_path) = temp_db();
    queue_mails(&url, MAILS).await;
    let mailbox = db_path.with_extension("mailbox.jsonl");
    let sender = || {
        Command::new(BIN)
            .args(["mail", "--once", "--database-url", &url, "--mailbox"])
            .arg(&mailbox)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut kills = 0;
    for _ in 0..10 {
        if kills == 3 {
            break;
        }
        let before = mailbox_ids(&mailbox).len();
        let mut child = sender();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Kill once this run has delivered a few more mails.
        while mailbox_ids(&mailbox).len() < before + 50 && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
            child.wait().unwrap();
        } else {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "the sender failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let delivered_before_end = mailbox_ids(&mailbox).len();
    assert!(kills > 0, "the sender was never killed mid-batch");
    assert!(
        delivered_before_end < MAILS,
        "the kills came after the whole batch ({delivered_before_end} mails)"
    );
    // Mails in the crash window: in the mailbox but not marked sent.
    let store = registrar_store::connect(&url).await.unwrap();
    let pending = store.pending_mail(1000).await.unwrap();
    let written: std::collections::BTreeSet<String> = mailbox_ids(&mailbox).into_iter().collect();
    let in_window = pending.iter().filter(|m| written.contains(&m.id)).count();
    eprintln!("{kills} kills, {delivered_before_end} delivered, {in_window} in the crash window");
    store.close().await;
    let status = sender().wait().unwrap();
    assert!(status.success());

    let ids = mailbox_ids(&mailbox);
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), MAILS, "every mail delivered");
    assert_eq!(ids.len(), MAILS, "no mail delivered twice");
    let store = registrar_store::connect(&url).await.unwrap();
    assert!(store.pending_mail(10).await.unwrap().is_empty());
    store.close().await;
    let _ = std::fs::remove_file(&mailbox);
    let _ = std::fs::remove_file(&db_path);
}
