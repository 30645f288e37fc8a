//! What differs between SQLite and PostgreSQL, and nothing else.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Postgres, Sqlite};

use crate::sql::SqlStore;
use crate::{Store, StoreError, StoreResult};

/// A database Registrar can run on. The statements are shared; only the DDL (one migration
/// folder per backend, same version list) and the write-ordering statement differ.
pub trait Backend: sqlx::Database {
    const BACKEND: &'static str;
    /// Run first in every write transaction so that change-log revisions become visible in the
    /// order they were numbered; a reader following the log then never skips a revision that
    /// commits late. SQLite has a single writer already.
    const SERIALIZE_WRITES: Option<&'static str>;
    /// Run in a long import as the tenant it writes grows. PostgreSQL plans from statistics
    /// that do not know of the rows the open transaction wrote, so the login lookups of a large
    /// import into a small tenant would use only the tenant column of the `(tenant, login)`
    /// indexes and scan the tenant for every chunk (100k rows took 9.7 min). Its `ANALYZE`
    /// counts the transaction's own rows. SQLite picks those indexes without statistics.
    const REFRESH_STATISTICS: Option<&'static str>;
    /// Run first in a read that takes several statements, so that all of them see one snapshot:
    /// a record and its version read apart could straddle a write, and a writer trusting that
    /// version would overwrite what it never saw. SQLite holds a read transaction's snapshot
    /// from its first statement; PostgreSQL does so only at repeatable read.
    const SNAPSHOT_READS: Option<&'static str>;

    fn migrate(pool: &Pool<Self>) -> impl Future<Output = StoreResult<()>> + Send;
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl Backend for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const SERIALIZE_WRITES: Option<&'static str> = None;
    const REFRESH_STATISTICS: Option<&'static str> = None;
    const SNAPSHOT_READS: Option<&'static str> = None;

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    async fn migrate(pool: &Pool<Self>) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite").run(pool).await?;
        Ok(())
    }
}

impl Backend for Postgres {
    const BACKEND: &'static str = "postgres";
    const SERIALIZE_WRITES: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(7310481)");
    const REFRESH_STATISTICS: Option<&'static str> = Some("ANALYZE users");
    const SNAPSHOT_READS: Option<&'static str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    async fn migrate(pool: &Pool<Self>) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres").run(pool).await?;
        Ok(())
    }
}

/// Opens the database a URL names (`sqlite://file.db`, `sqlite::memory:`, `postgres://...`),
/// creating a SQLite file when missing, and brings its schema up to date.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        // An in-memory database exists once per connection, so it gets exactly one.
        let readers = if url.contains(":memory:") { 1 } else { 4 };
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .connect_with(options.clone())
            .await?;
        // SQLite allows one writer; a pool of one makes writers queue here instead of failing
        // with SQLITE_BUSY when two deferred transactions both try to upgrade.
        let write = if readers == 1 {
            read.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await?
        };
        Sqlite::migrate(&write).await?;
        let store = SqlStore::new(read, write);
        keyed(store.key_names().await?);
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Postgres::migrate(&pool).await?;
        let store = SqlStore::new(pool.clone(), pool);
        keyed(store.key_names().await?);
        Ok(Arc::new(store))
    } else {
        Err(StoreError::Rule(format!(
            "unsupported database url {:?}: expected sqlite:... or postgres://...",
            redact(url)
        )))
    }
}

/// Says how many people from before migration 0009 got their name's sort key, if any did.
fn keyed(people: u64) {
    if people > 0 {
        tracing::info!(
            people,
            "gave the names stored before sort keys existed their key"
        );
    }
}

/// Keeps passwords in database URLs out of error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
