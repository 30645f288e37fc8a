//! Bulk imports: one write transaction held open while a file streams through it, so that the
//! whole file applies or nothing does, and later rows see what earlier rows wrote. Rows are
//! written in multi-row statements; each entity still gets its own change-log row (with its
//! engine `Change`) so that the audit log shows who changed what and the read model replays it.

use async_trait::async_trait;
use registrar_domain::access::{AccessUser, Change};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::user::User;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Transaction, Type};

use crate::backend::Backend;
use crate::rows::{USER_COLUMNS, UserRow, date_text, to_millis, user_json};
use crate::sql::{SqlStore, convert, now};
use crate::{Actor, LogEntry, ManagerLink, StoreError, StoreResult};

/// One write an import makes, already validated by the caller against the engine.
#[derive(Debug, Clone)]
pub enum ImportOp {
    CreateUser(User),
    UpdateUser {
        before: User,
        after: User,
    },
    /// A change-log-only write such as a grant.
    Log(LogEntry),
    /// A new person joins a group besides their primary one (the tenant's default group, so
    /// that they hold a role).
    Join {
        user: UserId,
        group: GroupId,
    },
    AddManager(ManagerLink),
}

/// Opens import transactions.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Begins the import's write transaction. Writers of the whole database wait until it
    /// commits or is dropped (dropping rolls back), so callers stream a file that is already on
    /// disk, never a slow client's upload.
    async fn begin_import(&self, tenant: TenantId) -> StoreResult<Box<dyn ImportSession>>;
}

/// An open import transaction.
#[async_trait]
pub trait ImportSession: Send {
    /// The tenant's engine revision inside the transaction; no other writer can move it now.
    async fn revision(&mut self) -> StoreResult<i64>;
    /// Users of the tenant whose email or username is one of `logins` (lower case), including
    /// those written earlier in this transaction.
    async fn users_by_login(&mut self, logins: &[String]) -> StoreResult<Vec<User>>;
    /// Writes the ops in order; each gets its change-log row, attributed to `actor`.
    async fn write(&mut self, actor: &Actor, ops: Vec<ImportOp>) -> StoreResult<()>;
    /// Writes the import's own audit row and commits; returns the last revision.
    async fn commit(self: Box<Self>, actor: &Actor, summary: LogEntry) -> StoreResult<i64>;
}

/// Rows per multi-row INSERT. sqlx looks each SQLite parameter up by name, which costs time
/// quadratic in the parameters of one statement: 50 rows (600 parameters) measured fastest.
const BATCH: usize = 50;
/// Logins per lookup statement, for the same reason.
const LOOKUP: usize = 100;

struct SqlImport<DB: sqlx::Database> {
    tx: Transaction<'static, DB>,
    tenant: TenantId,
    /// Users inserted so far, and how many there were when the planner last learnt of them.
    inserted: usize,
    analyzed: usize,
    /// Memberships this import made, for the courses deployed to those groups.
    joined: Vec<(GroupId, UserId)>,
}

/// `($1, $2, ...), ($n+1, ...)` for `rows` rows of `cols` columns.
fn placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!("${}", r * cols + c + 1));
        }
        s.push(')');
    }
    s
}

/// A change-log row before it is bound.
struct Pending {
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
    access: Option<String>,
}

impl Pending {
    /// A change-log row the store built as it would outside an import.
    fn of(e: crate::sql::Entry<'_>) -> StoreResult<Self> {
        Ok(Pending {
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            before: e.before.map(|v| v.to_string()),
            after: e.after.map(|v| v.to_string()),
            access: access_json(&e.access)?,
        })
    }
}

fn access_json(changes: &[Change]) -> StoreResult<Option<String>> {
    if changes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(changes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            entity: "change",
            detail: e.to_string(),
        })
}

#[async_trait]
impl<DB> ImportStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB>,
    String: Type<DB>,
    i64: Type<DB>,
    bool: Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> bool: Decode<'r, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
{
    async fn begin_import(&self, tenant: TenantId) -> StoreResult<Box<dyn ImportSession>> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        Ok(Box::new(SqlImport {
            tx,
            tenant,
            inserted: 0,
            analyzed: 0,
            joined: Vec::new(),
        }))
    }
}

#[async_trait]
impl<DB> ImportSession for SqlImport<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB>,
    String: Type<DB>,
    i64: Type<DB>,
    bool: Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> bool: Decode<'r, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
{
    async fn revision(&mut self) -> StoreResult<i64> {
        SqlStore::<DB>::revision_of(&mut self.tx, self.tenant).await
    }

    async fn users_by_login(&mut self, logins: &[String]) -> StoreResult<Vec<User>> {
        let mut found = Vec::new();
        for chunk in logins.chunks(LOOKUP) {
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            // Two indexed searches: with `OR` SQLite scans the whole tenant.
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email IN ({list}) \
                 UNION SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 \
                 AND username IN ({list})"
            );
            let mut q = sqlx::query_as::<DB, UserRow>(&sql).bind(self.tenant.to_string());
            for login in chunk {
                q = q.bind(login.clone());
            }
            let rows = q.fetch_all(&mut *self.tx).await?;
            found.extend(convert::<UserRow, User>(rows)?);
        }
        Ok(found)
    }

    async fn write(&mut self, actor: &Actor, ops: Vec<ImportOp>) -> StoreResult<()> {
        let mut created = Vec::new();
        // New people's primary groups, joined once their rows exist.
        let mut joining = Vec::new();
        let mut log = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                ImportOp::CreateUser(u) => {
                    log.push(Pending {
                        action: "user.created",
                        entity: "user",
                        entity_id: u.id.to_string(),
                        before: None,
                        after: Some(user_json(&u).to_string()),
                        access: access_json(&[Change::UpsertUser(AccessUser::from(&u))])?,
                    });
                    if let Some(group) = u.primary_group {
                        // A new person is a member of nothing yet: this row joins.
                        log.push(Pending::of(SqlStore::<DB>::primary_membership(
                            self.tenant,
                            actor,
                            u.id,
                            group,
                        ))?);
                        joining.push((group, u.id));
                        self.joined.push((group, u.id));
                    }
                    created.push(u);
                }
                ImportOp::UpdateUser { before, after } => {
                    // Rows created earlier in this batch must exist before they are updated.
                    self.insert_users(&std::mem::take(&mut created)).await?;
                    self.join(std::mem::take(&mut joining)).await?;
                    // The one description of a changed person; its log row joins the batch.
                    let change = SqlStore::<DB>::user_change(
                        self.tenant,
                        actor,
                        "user.updated",
                        &before,
                        &after,
                    );
                    if let Some((after, e)) = change {
                        SqlStore::<DB>::write_user(&mut self.tx, &after, false).await?;
                        log.push(Pending::of(e)?);
                        if after.primary_group != before.primary_group
                            && let Some(group) = after.primary_group
                            && self.join(vec![(group, after.id)]).await? > 0
                        {
                            log.push(Pending::of(SqlStore::<DB>::primary_membership(
                                self.tenant,
                                actor,
                                after.id,
                                group,
                            ))?);
                            self.joined.push((group, after.id));
                        }
                    }
                }
                ImportOp::Join { user, group } => {
                    log.push(Pending::of(SqlStore::<DB>::membership_entry(
                        self.tenant,
                        actor,
                        user,
                        group,
                    ))?);
                    joining.push((group, user));
                    self.joined.push((group, user));
                }
                ImportOp::Log(e) => log.push(Pending {
                    action: e.action,
                    entity: e.entity,
                    entity_id: e.entity_id,
                    before: e.before.map(|v| v.to_string()),
                    after: e.after.map(|v| v.to_string()),
                    access: access_json(&e.access)?,
                }),
                ImportOp::AddManager(link) => {
                    self.insert_users(&std::mem::take(&mut created)).await?;
                    self.join(std::mem::take(&mut joining)).await?;
                    sqlx::query::<DB>(
                        "INSERT INTO managers (tenant_id, manager_id, managee_id, source) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(self.tenant.to_string())
                    .bind(link.manager.to_string())
                    .bind(link.managee.to_string())
                    .bind(link.source.code().to_owned())
                    .execute(&mut *self.tx)
                    .await?;
                    log.push(Pending {
                        action: "manager.added",
                        entity: "user",
                        entity_id: link.managee.to_string(),
                        before: None,
                        after: Some(
                            serde_json::json!({ "manager": link.manager, "source": link.source.code() })
                                .to_string(),
                        ),
                        access: access_json(&[Change::AddManager {
                            manager: link.manager,
                            managee: link.managee,
                            by_feed: link.source == crate::ManagerSource::Feed,
                        }])?,
                    });
                }
            }
        }
        self.insert_users(&created).await?;
        self.join(joining).await?;
        self.insert_log(actor, log).await?;
        // After the log rows of the people and memberships, so the engine learns of them first.
        let joined = std::mem::take(&mut self.joined);
        if !joined.is_empty()
            && SqlStore::<DB>::deploys_to_groups(&mut self.tx, self.tenant).await?
        {
            for (group, user) in joined {
                SqlStore::<DB>::enroll_deployed(&mut self.tx, actor, self.tenant, group, user)
                    .await?;
            }
        }
        // Each time the tenant has doubled, so a few times per import (7 for 100k rows).
        if let Some(statement) = DB::REFRESH_STATISTICS
            && self.inserted >= 2 * self.analyzed.max(500)
        {
            sqlx::query::<DB>(statement).execute(&mut *self.tx).await?;
            self.analyzed = self.inserted;
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>, actor: &Actor, summary: LogEntry) -> StoreResult<i64> {
        let revision = SqlStore::<DB>::record(
            &mut self.tx,
            crate::sql::Entry {
                tenant: Some(self.tenant),
                actor,
                action: summary.action,
                entity: summary.entity,
                entity_id: summary.entity_id,
                before: summary.before,
                after: summary.after,
                access: summary.access,
            },
        )
        .await?;
        self.tx.commit().await?;
        Ok(revision)
    }
}

impl<DB> SqlImport<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB>,
    String: Type<DB>,
    i64: Type<DB>,
    bool: Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
{
    async fn insert_users(&mut self, users: &[User]) -> StoreResult<()> {
        self.inserted += users.len();
        for chunk in users.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO users (id, tenant_id, username, email, display_name, labels, status, \
                 expires_on, primary_group_id, superadmin, created_at, updated_at, name_key) \
                 VALUES {}",
                placeholders(chunk.len(), 13)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for u in chunk {
                q = q
                    .bind(u.id.to_string())
                    .bind(u.tenant_id.to_string())
                    .bind(u.username.to_string())
                    .bind(u.email.as_ref().map(|e| e.to_string()))
                    .bind(u.display_name.to_string())
                    .bind(serde_json::to_string(u.labels.as_map()).unwrap_or_else(|_| "{}".into()))
                    .bind(u.status.code().to_owned())
                    .bind(u.expires_on.map(date_text))
                    .bind(u.primary_group.map(|g| g.to_string()))
                    .bind(u.superadmin)
                    .bind(to_millis(u.created_at))
                    .bind(to_millis(u.updated_at))
                    .bind(u.display_name.sort_key());
            }
            q.execute(&mut *self.tx).await.map_err(|e| {
                StoreError::from_write(e, &[("email or username", "")], &[("primary_group_id", "")])
            })?;
        }
        Ok(())
    }

    /// Makes each of `users` a member of their primary group (SPEC 1: the primary group is a
    /// membership); how many memberships are new.
    async fn join(&mut self, pairs: Vec<(GroupId, UserId)>) -> StoreResult<u64> {
        let joins: Vec<(String, String)> = pairs
            .iter()
            .map(|(g, u)| (g.to_string(), u.to_string()))
            .collect();
        let mut added = 0;
        for chunk in joins.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES {} \
                 ON CONFLICT (group_id, user_id) DO NOTHING",
                placeholders(chunk.len(), 3)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (group, user) in chunk {
                q = q
                    .bind(self.tenant.to_string())
                    .bind(group.clone())
                    .bind(user.clone());
            }
            added += DB::rows_affected(&q.execute(&mut *self.tx).await?);
        }
        Ok(added)
    }

    async fn insert_log(&mut self, actor: &Actor, log: Vec<Pending>) -> StoreResult<()> {
        let at = to_millis(now());
        let actor = actor.to_string();
        let tenant = self.tenant.to_string();
        for chunk in log.chunks(BATCH) {
            let sql = format!(
                "INSERT INTO changes (tenant_id, actor, action, entity, entity_id, before, after, \
                 at, access) VALUES {}",
                placeholders(chunk.len(), 9)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for p in chunk {
                q = q
                    .bind(tenant.clone())
                    .bind(actor.clone())
                    .bind(p.action.to_owned())
                    .bind(p.entity.to_owned())
                    .bind(p.entity_id.clone())
                    .bind(p.before.clone())
                    .bind(p.after.clone())
                    .bind(at)
                    .bind(p.access.clone());
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(super::placeholders(2, 2), "($1, $2), ($3, $4)");
    }
}
