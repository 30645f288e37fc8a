//! Fresh, throw-away databases for tests: a SQLite file in the temp directory, or, when
//! `DATABASE_URL` names a PostgreSQL server, a new database on it. Either is removed on drop.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

/// Which backends this test run covers: SQLite always, PostgreSQL when `DATABASE_URL` points at
/// one.
pub fn postgres_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres:") || u.starts_with("postgresql:"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    Database { admin: String, name: String },
}

impl TestDatabase {
    /// A fresh database of the given kind. Panics (it is test support) when PostgreSQL was asked
    /// for but `DATABASE_URL` is not set or the server refuses.
    pub async fn new(kind: Kind) -> Self {
        let name = format!("registrar_test_{}", uuid::Uuid::new_v4().simple());
        match kind {
            Kind::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                TestDatabase {
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::File(path),
                }
            }
            Kind::Postgres => {
                let admin = postgres_url().expect("DATABASE_URL must name a PostgreSQL server");
                let mut conn = PgConnectOptions::from_str(&admin)
                    .expect("DATABASE_URL parses")
                    .connect()
                    .await
                    .expect("PostgreSQL at DATABASE_URL accepts connections");
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("CREATE DATABASE");
                conn.close().await.ok();
                let options = PgConnectOptions::from_str(&admin).expect("DATABASE_URL parses");
                let url = format!(
                    "postgres://{}@{}:{}/{name}",
                    options.get_username(),
                    options.get_host(),
                    options.get_port()
                );
                TestDatabase {
                    url,
                    cleanup: Cleanup::Database { admin, name },
                }
            }
        }
    }

    /// PostgreSQL when `DATABASE_URL` names one, SQLite otherwise: for tests that run once per
    /// test run rather than once per backend.
    pub async fn default_kind() -> Self {
        Self::new(if postgres_url().is_some() {
            Kind::Postgres
        } else {
            Kind::Sqlite
        })
        .await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Database { admin, name } => {
                // Drop cannot await; a short-lived runtime on its own thread can.
                let (admin, name) = (admin.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(options) = PgConnectOptions::from_str(&admin)
                                && let Ok(mut conn) = options.connect().await
                            {
                                let _ = conn
                                    .execute(
                                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                                            .as_str(),
                                    )
                                    .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}
