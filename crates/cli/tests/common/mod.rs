//! Support for the tests that run `registrar serve` as a real process: a private scratch folder
//! (the server's TMPDIR, its mailbox and its log), starting and SIGKILLing servers, a tenant
//! with an administrator's API token and an operator token, and read-model digests.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Name, Password, Username};
use registrar_server::bootstrap::{AdminSpec, create_tenant, issue_token};
use registrar_store::{Actor, TokenKind};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_registrar");
pub const ADMIN_PASSWORD: &str = "a long admin password";

/// A folder of one test: the servers' TMPDIR (`tmp/`), the mailbox and the server logs.
#[derive(Debug)]
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "registrar-{name}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        Scratch { dir }
    }

    /// What the servers use as their temporary directory.
    pub fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    pub fn mailbox(&self) -> PathBuf {
        self.dir.join("mailbox.jsonl")
    }

    /// Names of the files in the servers' temporary directory that start with `prefix`.
    pub fn leftovers(&self, prefix: &str) -> Vec<String> {
        std::fs::read_dir(self.tmp())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `registrar serve`, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `registrar serve` on a free port of 127.0.0.1 and waits until it serves.
    pub fn start(database_url: &str, scratch: &Scratch, extra: &[&str]) -> Server {
        let log = scratch
            .dir
            .join(format!("server-{}.log", uuid::Uuid::new_v4().simple()));
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .arg("--mailbox")
            .arg(scratch.mailbox())
            .args(extra)
            .env("TMPDIR", scratch.tmp())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Registrar is serving on ") {
                base = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
        // Keep reading, so the server never writes into a full or closed pipe.
        std::thread::spawn(move || for _ in lines {});
        let Some(base) = base else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Server { child, base, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The files the server process has open under `dir`, as `/proc` names them (an unlinked
    /// file reads `... (deleted)`).
    pub fn open_files_under(&self, dir: &Path) -> Vec<String> {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", self.pid())) else {
            return vec![];
        };
        let dir = dir.to_string_lossy().into_owned();
        fds.filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| p.starts_with(&dir))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tenant with its superadmin `admin`, an API token acting as them and an operator token.
#[derive(Debug, Clone)]
pub struct Setup {
    pub tenant: String,
    pub slug: String,
    pub admin: String,
    pub token: String,
    pub operator: String,
}

pub async fn setup(database_url: &str, slug: &str, preset: Preset) -> Setup {
    let store = registrar_store::connect(database_url).await.unwrap();
    let (tenant, admin) = create_tenant(
        store.as_ref(),
        &Actor::cli(),
        TenantSlug::parse(slug).unwrap(),
        Name::parse("name", slug).unwrap(),
        preset,
        Some(AdminSpec {
            username: Some(Username::parse("admin").unwrap()),
            email: Some(Email::parse(&format!("admin@{slug}.example")).unwrap()),
            display_name: Name::parse("display name", "Admin").unwrap(),
            password: Password::parse(ADMIN_PASSWORD).unwrap(),
        }),
    )
    .await
    .unwrap();
    let admin = admin.unwrap();
    let (_, token) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        Some((tenant.id, admin.id)),
        TokenKind::Api,
        "tests",
        None,
    )
    .await
    .unwrap();
    let (_, operator) = issue_token(
        store.as_ref(),
        &Actor::cli(),
        None,
        TokenKind::Operator,
        "ops",
        None,
    )
    .await
    .unwrap();
    store.close().await;
    Setup {
        tenant: tenant.id.to_string(),
        slug: slug.to_owned(),
        admin: admin.id.to_string(),
        token,
        operator,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The digest of the tenant's read model as the running server holds it, once it has seen
/// `at_least` (when given).
pub async fn served_digest(server: &Server, setup: &Setup, at_least: Option<i64>) -> Value {
    let mut url = server.url(&format!("/api/v1/tenants/{}/digest", setup.tenant));
    if let Some(r) = at_least {
        url += &format!("?at_least_revision={r}");
    }
    let r = client()
        .get(url)
        .bearer_auth(&setup.operator)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The digest of the tenant's model replayed afresh from the change log (`registrar digest`).
pub fn fresh_digest(database_url: &str, setup: &Setup) -> Value {
    let out = Command::new(BIN)
        .args([
            "digest",
            "--tenant",
            &setup.slug,
            "--database-url",
            database_url,
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts that the server's model equals a fresh replay of the log; returns the digest.
pub async fn assert_model_matches_a_rebuild(
    server: &Server,
    database_url: &str,
    setup: &Setup,
) -> Value {
    let fresh = fresh_digest(database_url, setup);
    let served = served_digest(server, setup, fresh["revision"].as_i64()).await;
    assert_eq!(
        served, fresh,
        "the server's read model differs from a rebuild"
    );
    fresh
}

/// Runs the `registrar` binary to the end.
pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A connection of the test's own to the database, for what the API does not show. Queries
/// are plain SQL that both backends read alike.
#[derive(Debug)]
pub enum Sql {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Sql {
    pub async fn connect(database_url: &str) -> Sql {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        if database_url.starts_with("sqlite:") {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
                .unwrap()
                // A probe for the write lock must not wait for it.
                .busy_timeout(Duration::ZERO);
            Sql::Sqlite(options.connect().await.unwrap())
        } else {
            let options = sqlx::postgres::PgConnectOptions::from_str(database_url).unwrap();
            Sql::Postgres(options.connect().await.unwrap())
        }
    }

    /// One integer.
    pub async fn count(&mut self, query: &str) -> i64 {
        match self {
            Sql::Sqlite(c) => sqlx::query_scalar::<_, i64>(query)
                .fetch_one(c)
                .await
                .unwrap(),
            Sql::Postgres(c) => sqlx::query_scalar::<_, i64>(query)
                .fetch_one(c)
                .await
                .unwrap(),
        }
    }

    /// One text column.
    pub async fn strings(&mut self, query: &str) -> Vec<String> {
        match self {
            Sql::Sqlite(c) => sqlx::query_scalar::<_, String>(query)
                .fetch_all(c)
                .await
                .unwrap(),
            Sql::Postgres(c) => sqlx::query_scalar::<_, String>(query)
                .fetch_all(c)
                .await
                .unwrap(),
        }
    }

    /// Whether a writer holds the database's write lock now: on SQLite, `BEGIN IMMEDIATE`
    /// fails at once; on PostgreSQL, the writers' advisory lock is granted to someone.
    pub async fn writer_busy(&mut self) -> bool {
        use sqlx::Executor;
        match self {
            Sql::Sqlite(c) => match c.execute("BEGIN IMMEDIATE").await {
                Ok(_) => {
                    c.execute("ROLLBACK").await.unwrap();
                    false
                }
                Err(_) => true,
            },
            Sql::Postgres(c) => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                     WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
                )
                .fetch_one(c)
                .await
                .unwrap()
                    > 0
            }
        }
    }

    pub async fn close(self) {
        use sqlx::Connection;
        match self {
            Sql::Sqlite(c) => c.close().await.unwrap(),
            Sql::Postgres(c) => c.close().await.unwrap(),
        }
    }
}

pub fn elapsed_ms(since: Instant) -> u128 {
    since.elapsed().as_millis()
}
