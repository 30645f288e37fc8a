//! The one implementation of [`Store`], generic over the sqlx backend. Statements use `$n`
//! placeholders, which both SQLite and PostgreSQL accept, and only portable SQL.

use std::collections::HashMap;

use async_trait::async_trait;
use registrar_domain::group::{Group, would_cycle};
use registrar_domain::ids::{GroupId, TenantId, TokenId, UserId};
use registrar_domain::tenant::{Tenant, TenantSlug};
use registrar_domain::text::{Name, Username};
use registrar_domain::user::User;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type};
use time::OffsetDateTime;

use registrar_domain::access::{AccessGroup, AccessUser, Change, PresetData};

use crate::backend::Backend;
use crate::rows::*;
use crate::*;

/// Both pools are the same pool on PostgreSQL; on SQLite writes go through a pool of one.
#[derive(Debug)]
pub struct SqlStore<DB: sqlx::Database> {
    pub(crate) read: Pool<DB>,
    pub(crate) write: Pool<DB>,
}

impl<DB: sqlx::Database> SqlStore<DB> {
    pub fn new(read: Pool<DB>, write: Pool<DB>) -> Self {
        Self { read, write }
    }
}

/// One audit/change-log row, written in the same transaction as the change it describes.
pub(crate) struct Entry<'a> {
    pub(crate) tenant: Option<TenantId>,
    pub(crate) actor: &'a Actor,
    pub(crate) action: &'static str,
    pub(crate) entity: &'static str,
    pub(crate) entity_id: String,
    pub(crate) before: Option<serde_json::Value>,
    pub(crate) after: Option<serde_json::Value>,
    /// What the write means to the decision engine.
    pub(crate) access: Vec<Change>,
}

impl<'a> Entry<'a> {
    /// The row of an entry the server built (with the engine's validation) for `actor`.
    pub(crate) fn logged(tenant: TenantId, actor: &'a Actor, e: LogEntry) -> Self {
        Entry {
            tenant: Some(tenant),
            actor,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            before: e.before,
            after: e.after,
            access: e.access,
        }
    }
}

pub(crate) fn like_pattern(search: Option<&str>) -> String {
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        None => "%".to_owned(),
        Some(s) => {
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        }
    }
}

pub(crate) fn limit(page: &PageRequest) -> i64 {
    i64::from(page.limit.clamp(1, PageRequest::MAX_LIMIT))
}

/// Fetches one row more than asked to learn whether a next page exists.
pub(crate) fn paginate<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    key: impl Fn(&T) -> String,
) -> Page<T> {
    let n = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let next = if items.len() > n {
        items.truncate(n);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next }
}

pub(crate) fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> StoreResult<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

/// Millisecond precision, as stored, so that what a write returns equals what a read returns.
/// What the engine knows of a group.
pub(crate) fn access_group(g: &Group) -> AccessGroup {
    AccessGroup {
        id: g.id,
        parent: g.parent,
        public: g.public,
    }
}

pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

impl<DB> SqlStore<DB>
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
    pub(crate) async fn begin(&self) -> StoreResult<Transaction<'static, DB>> {
        let mut tx = self.write.begin().await?;
        if let Some(statement) = DB::SERIALIZE_WRITES {
            sqlx::query::<DB>(statement).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// A read transaction whose statements all see one snapshot (see
    /// [`Backend::SNAPSHOT_READS`]); dropped, it rolls back, having written nothing.
    pub(crate) async fn snapshot(&self) -> StoreResult<Transaction<'static, DB>> {
        let mut tx = self.read.begin().await?;
        if let Some(statement) = DB::SNAPSHOT_READS {
            sqlx::query::<DB>(statement).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    pub(crate) async fn record(tx: &mut DB::Connection, e: Entry<'_>) -> StoreResult<i64> {
        let revision: i64 = sqlx::query_scalar::<DB, i64>(
            "INSERT INTO changes (tenant_id, actor, action, entity, entity_id, before, after, at, \
             access) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING revision",
        )
        .bind(e.tenant.map(|t| t.to_string()))
        .bind(e.actor.to_string())
        .bind(e.action.to_owned())
        .bind(e.entity.to_owned())
        .bind(e.entity_id)
        .bind(e.before.map(|v| v.to_string()))
        .bind(e.after.map(|v| v.to_string()))
        .bind(to_millis(now()))
        .bind(if e.access.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&e.access).map_err(|err| StoreError::Corrupt {
                    entity: "change",
                    detail: err.to_string(),
                })?,
            )
        })
        .fetch_one(tx)
        .await?;
        Ok(revision)
    }

    pub(crate) async fn load_user(
        tx: &mut DB::Connection,
        tenant: TenantId,
        id: UserId,
    ) -> StoreResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2");
        sqlx::query_as::<DB, UserRow>(&sql)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("user", id))?
            .try_into()
    }

    /// Gives every person stored before names had sort keys (migration 0009) their key, a
    /// thousand at a time. Run as the store opens, before it serves: afterwards every write of
    /// a name writes its key too. Returns how many were keyed.
    pub(crate) async fn key_names(&self) -> StoreResult<u64> {
        let mut keyed = 0;
        loop {
            let rows = sqlx::query_as::<DB, (String, String, String)>(
                "SELECT tenant_id, id, display_name FROM users WHERE name_key IS NULL LIMIT 1000",
            )
            .fetch_all(&self.write)
            .await?;
            if rows.is_empty() {
                return Ok(keyed);
            }
            let mut tx = self.begin().await?;
            for (tenant, id, name) in rows {
                // A name that no longer parses is reported when its row is read; keying it
                // anyway keeps this loop finite and the store able to open.
                let key = registrar_domain::text::Name::parse("display_name", &name)
                    .map_or_else(|_| name.to_lowercase(), |n| n.sort_key());
                sqlx::query::<DB>(
                    "UPDATE users SET name_key = $1 WHERE tenant_id = $2 AND id = $3",
                )
                .bind(key)
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                keyed += 1;
            }
            tx.commit().await?;
        }
    }

    /// The revision of the last change-log row about an entity (0 when there is none): its
    /// version, as ETags carry it.
    pub(crate) async fn version_in(
        tx: &mut DB::Connection,
        tenant: TenantId,
        entity: &'static str,
        id: String,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<DB, Option<i64>>(
            "SELECT MAX(revision) FROM changes WHERE tenant_id = $1 AND entity = $2 \
             AND entity_id = $3",
        )
        .bind(tenant.to_string())
        .bind(entity.to_owned())
        .bind(id)
        .fetch_one(tx)
        .await?
        .unwrap_or_default())
    }

    async fn user_version_in(
        tx: &mut DB::Connection,
        tenant: TenantId,
        id: UserId,
    ) -> StoreResult<i64> {
        Self::version_in(tx, tenant, "user", id.to_string()).await
    }

    pub(crate) async fn load_group(
        tx: &mut DB::Connection,
        tenant: TenantId,
        id: GroupId,
    ) -> StoreResult<Group> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1 AND id = $2");
        sqlx::query_as::<DB, GroupRow>(&sql)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("group", id))?
            .try_into()
    }

    /// New login details: the password hash changes and, since whoever knew the old password
    /// may hold a browser session, those sessions end. `false` when the user does not exist.
    pub(crate) async fn new_login(
        tx: &mut DB::Connection,
        tenant: TenantId,
        user: UserId,
        password_hash: String,
    ) -> StoreResult<bool> {
        let done = sqlx::query::<DB>(
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(password_hash)
        .bind(to_millis(now()))
        .bind(tenant.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query::<DB>(
            "DELETE FROM tokens WHERE tenant_id = $1 AND user_id = $2 AND kind = 'session'",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .execute(tx)
        .await?;
        Ok(DB::rows_affected(&done) > 0)
    }

    pub(crate) async fn revision_of(tx: &mut DB::Connection, tenant: TenantId) -> StoreResult<i64> {
        let (revision,): (i64,) = sqlx::query_as::<DB, (i64,)>(
            "SELECT COALESCE(MAX(revision), 0) FROM changes WHERE tenant_id = $1 \
             AND access IS NOT NULL",
        )
        .bind(tenant.to_string())
        .fetch_one(tx)
        .await?;
        Ok(revision)
    }

    pub(crate) async fn load_tenant(tx: &mut DB::Connection, id: TenantId) -> StoreResult<Tenant> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        sqlx::query_as::<DB, TenantRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", id))?
            .try_into()
    }

    /// Refuses a parent that is missing from the tenant or that would nest the group in itself.
    async fn check_parent(
        tx: &mut DB::Connection,
        tenant: TenantId,
        group: GroupId,
        parent: GroupId,
    ) -> StoreResult<()> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as::<DB, (String, Option<String>)>(
            "SELECT id, parent_id FROM groups WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_all(tx)
        .await?;
        let mut parents = HashMap::new();
        let mut known = std::collections::HashSet::new();
        for (id, p) in rows {
            let id = GroupId::parse(&id)?;
            known.insert(id);
            if let Some(p) = p {
                parents.insert(id, GroupId::parse(&p)?);
            }
        }
        if !known.contains(&parent) {
            return Err(StoreError::MissingReference {
                field: "parent",
                value: parent.to_string(),
            });
        }
        if would_cycle(group, parent, |g| parents.get(&g).copied()) {
            return Err(StoreError::Rule(format!(
                "group {group} cannot nest in {parent}: that would make it its own ancestor"
            )));
        }
        Ok(())
    }

    pub(crate) async fn insert_user(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        new: NewUser,
    ) -> StoreResult<User> {
        Self::insert_user_as(tx, actor, tenant, UserId::new(), new).await
    }

    /// As [`Self::insert_user`], under an id chosen beforehand (so that what comes with the
    /// person, such as their grants, could be validated first).
    pub(crate) async fn insert_user_as(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        new: NewUser,
    ) -> StoreResult<User> {
        let at = now();
        let user = User {
            id,
            tenant_id: tenant,
            username: new.username,
            email: new.email,
            display_name: new.display_name,
            labels: new.labels,
            status: new.status,
            expires_on: new.expires_on,
            primary_group: new.primary_group,
            superadmin: new.superadmin,
            created_at: at,
            updated_at: at,
        };
        Self::write_user(&mut *tx, &user, true).await?;
        if let Some(hash) = new.password_hash {
            sqlx::query::<DB>(
                "UPDATE users SET password_hash = $1 WHERE tenant_id = $2 AND id = $3",
            )
            .bind(hash)
            .bind(tenant.to_string())
            .bind(user.id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        Self::record(
            tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "user.created",
                entity: "user",
                entity_id: user.id.to_string(),
                before: None,
                after: Some(user_json(&user)),
                access: vec![Change::UpsertUser(AccessUser::from(&user))],
            },
        )
        .await?;
        Self::join_primary_group(tx, actor, tenant, &user).await?;
        for group in new.also_joins {
            if Self::insert_membership(tx, tenant, group, user.id).await? {
                Self::record(tx, Self::membership_entry(tenant, actor, user.id, group)).await?;
                Self::enroll_deployed(tx, actor, tenant, group, user.id).await?;
            }
        }
        Ok(user)
    }

    /// A primary group is a membership (SPEC 1): setting it makes the person a member, with its
    /// change-log row, so that the group's roles and its Group Manager reach them. Taking it away
    /// leaves the membership, which is removed as any other.
    pub(crate) async fn join_primary_group(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        user: &User,
    ) -> StoreResult<()> {
        let Some(group) = user.primary_group else {
            return Ok(());
        };
        if Self::insert_membership(tx, tenant, group, user.id).await? {
            Self::record(tx, Self::primary_membership(tenant, actor, user.id, group)).await?;
            Self::enroll_deployed(tx, actor, tenant, group, user.id).await?;
        }
        Ok(())
    }

    /// Makes `user` a member of `group`; whether they were not one already.
    async fn insert_membership(
        tx: &mut DB::Connection,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool> {
        let done = sqlx::query::<DB>(
            "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT (group_id, user_id) DO NOTHING",
        )
        .bind(tenant.to_string())
        .bind(group.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        Ok(DB::rows_affected(&done) > 0)
    }

    /// The change-log entry of joining a group.
    pub(crate) fn membership_entry(
        tenant: TenantId,
        actor: &Actor,
        user: UserId,
        group: GroupId,
    ) -> Entry<'_> {
        Entry {
            tenant: Some(tenant),
            actor,
            action: "group.member_added",
            entity: "group",
            entity_id: group.to_string(),
            before: None,
            after: Some(serde_json::json!({ "user": user })),
            access: vec![Change::AddMember { user, group }],
        }
    }

    /// The change-log entry of joining one's primary group.
    pub(crate) fn primary_membership(
        tenant: TenantId,
        actor: &Actor,
        user: UserId,
        group: GroupId,
    ) -> Entry<'_> {
        Entry {
            tenant: Some(tenant),
            actor,
            action: "group.member_added",
            entity: "group",
            entity_id: group.to_string(),
            before: None,
            after: Some(serde_json::json!({ "user": user, "reason": "primary group" })),
            access: vec![Change::AddMember { user, group }],
        }
    }

    /// A change to a person as the domain decided it: the row, stamped with the time of the
    /// change, and the change-log entry that says what changed (with the engine's
    /// `UpsertUser`). The JSON API's patch, a bulk status change, the SCIM feed and the CSV
    /// import all describe a changed person this way and write it with [`Self::write_user`];
    /// `None` when nothing changes.
    pub(crate) fn user_change<'a>(
        tenant: TenantId,
        actor: &'a Actor,
        action: &'static str,
        before: &User,
        after: &User,
    ) -> Option<(User, Entry<'a>)> {
        if after == before {
            return None;
        }
        let after = User {
            updated_at: now(),
            ..after.clone()
        };
        let entry = Entry {
            tenant: Some(tenant),
            actor,
            action,
            entity: "user",
            entity_id: after.id.to_string(),
            before: Some(user_json(before)),
            after: Some(user_json(&after)),
            access: vec![Change::UpsertUser(AccessUser::from(&after))],
        };
        Some((after, entry))
    }

    /// Writes a [`Self::user_change`] and its change-log row; the person as written and the
    /// revision, or `None` when nothing changes.
    pub(crate) async fn rewrite_user(
        tx: &mut DB::Connection,
        tenant: TenantId,
        actor: &Actor,
        action: &'static str,
        before: &User,
        after: &User,
    ) -> StoreResult<Option<(User, i64)>> {
        let Some((after, entry)) = Self::user_change(tenant, actor, action, before, after) else {
            return Ok(None);
        };
        Self::write_user(tx, &after, false).await?;
        // The person's version: their own row's revision (the membership is the group's).
        let revision = Self::record(tx, entry).await?;
        if after.primary_group != before.primary_group {
            Self::join_primary_group(tx, actor, tenant, &after).await?;
        }
        Ok(Some((after, revision)))
    }

    pub(crate) async fn write_user(
        tx: &mut DB::Connection,
        u: &User,
        insert: bool,
    ) -> StoreResult<()> {
        let sql = if insert {
            "INSERT INTO users (id, tenant_id, username, email, display_name, labels, status, \
             expires_on, primary_group_id, superadmin, created_at, updated_at, name_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        } else {
            "UPDATE users SET username = $3, email = $4, display_name = $5, labels = $6, \
             status = $7, expires_on = $8, primary_group_id = $9, superadmin = $10, \
             updated_at = $12, name_key = $13 WHERE id = $1 AND tenant_id = $2 AND created_at = $11"
        };
        let username = u.username.to_string();
        let email = u.email.as_ref().map(|e| e.to_string());
        let group = u.primary_group.map(|g| g.to_string());
        sqlx::query::<DB>(sql)
            .bind(u.id.to_string())
            .bind(u.tenant_id.to_string())
            .bind(username.clone())
            .bind(email.clone())
            .bind(u.display_name.to_string())
            .bind(serde_json::to_string(u.labels.as_map()).unwrap_or_else(|_| "{}".into()))
            .bind(u.status.code().to_owned())
            .bind(u.expires_on.map(date_text))
            .bind(group.clone())
            .bind(u.superadmin)
            .bind(to_millis(u.created_at))
            .bind(to_millis(u.updated_at))
            .bind(u.display_name.sort_key())
            .execute(tx)
            .await
            .map_err(|e| {
                StoreError::from_write(
                    e,
                    &[
                        ("email", email.as_deref().unwrap_or_default()),
                        ("username", &username),
                    ],
                    &[("primary_group_id", group.as_deref().unwrap_or_default())],
                )
            })?;
        Ok(())
    }
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
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
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.read.acquire().await?;
        sqlx::query::<DB>("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    async fn create_tenant(
        &self,
        actor: &Actor,
        new: NewTenant,
        first_admin: Option<NewUser>,
    ) -> StoreResult<(Tenant, Option<User>)> {
        let tenant = Tenant {
            id: TenantId::new(),
            slug: new.slug,
            name: new.name,
            preset: new.preset,
            created_at: now(),
        };
        // The preset's roles, policies and groups become the tenant's own; its groups are
        // ordinary rows too, so they can be listed, renamed and given members.
        let preset = PresetData::for_preset(tenant.preset);
        let mut tx = self.begin().await?;
        let slug = tenant.slug.to_string();
        sqlx::query::<DB>(
            "INSERT INTO tenants (id, slug, name, preset, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.id.to_string())
        .bind(slug.clone())
        .bind(tenant.name.to_string())
        .bind(tenant.preset.code().to_owned())
        .bind(to_millis(tenant.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_write(e, &[("slug", &slug)], &[]))?;
        for (group, name) in &preset.groups {
            let at = to_millis(tenant.created_at);
            sqlx::query::<DB>(
                "INSERT INTO groups (id, tenant_id, name, description, parent_id, created_at, \
                 updated_at, public) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
            )
            .bind(group.id.to_string())
            .bind(tenant.id.to_string())
            .bind(name.clone())
            .bind(format!("created by the {} preset", tenant.preset.code()))
            .bind(group.parent.map(|p| p.to_string()))
            .bind(at)
            .bind(group.public)
            .execute(&mut *tx)
            .await?;
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant.id),
                actor,
                action: "tenant.created",
                entity: "tenant",
                entity_id: tenant.id.to_string(),
                before: None,
                after: Some(tenant_json(&tenant)),
                access: preset.changes(),
            },
        )
        .await?;
        let admin = match first_admin {
            Some(new) => Some(Self::insert_user(&mut tx, actor, tenant.id, new).await?),
            None => None,
        };
        tx.commit().await?;
        Ok((tenant, admin))
    }

    async fn tenant(&self, id: TenantId) -> StoreResult<Tenant> {
        let mut conn = self.read.acquire().await?;
        Self::load_tenant(&mut conn, id).await
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Tenant> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1");
        sqlx::query_as::<DB, TenantRow>(&sql)
            .bind(slug.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::not_found("tenant", slug))?
            .try_into()
    }

    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>> {
        let sql = format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE slug > $1 \
             AND (LOWER(slug) LIKE $2 ESCAPE '\\' OR LOWER(name) LIKE $2 ESCAPE '\\') \
             ORDER BY slug LIMIT $3"
        );
        let rows = sqlx::query_as::<DB, TenantRow>(&sql)
            .bind(page.after.clone().unwrap_or_default())
            .bind(like_pattern(page.search.as_deref()))
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |t: &Tenant| {
            t.slug.to_string()
        }))
    }

    async fn rename_tenant(&self, actor: &Actor, id: TenantId, name: Name) -> StoreResult<Tenant> {
        let mut tx = self.begin().await?;
        let before = Self::load_tenant(&mut tx, id).await?;
        let after = Tenant {
            name,
            ..before.clone()
        };
        if after != before {
            sqlx::query::<DB>("UPDATE tenants SET name = $1 WHERE id = $2")
                .bind(after.name.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(id),
                    actor,
                    action: "tenant.updated",
                    entity: "tenant",
                    entity_id: id.to_string(),
                    before: Some(tenant_json(&before)),
                    after: Some(tenant_json(&after)),
                    access: vec![],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    async fn create_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewUser,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        let user = Self::insert_user(&mut tx, actor, tenant, new).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn create_user_granted(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        new: NewUser,
        expected: i64,
        grants: Vec<LogEntry>,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        let actual = Self::revision_of(&mut tx, tenant).await?;
        if actual != expected {
            return Err(StoreError::Stale { expected, actual });
        }
        let user = Self::insert_user_as(&mut tx, actor, tenant, id, new).await?;
        for e in grants {
            Self::record(&mut tx, Entry::logged(tenant, actor, e)).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User> {
        let mut conn = self.read.acquire().await?;
        Self::load_user(&mut conn, tenant, id).await
    }

    async fn user_by_username(&self, tenant: TenantId, username: &Username) -> StoreResult<User> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username = $2");
        sqlx::query_as::<DB, UserRow>(&sql)
            .bind(tenant.to_string())
            .bind(username.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::not_found("user", username))?
            .try_into()
    }

    async fn list_users(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username > $2 \
             AND (username LIKE $3 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $3 ESCAPE '\\' \
                  OR LOWER(display_name) LIKE $3 ESCAPE '\\') \
             ORDER BY username LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(tenant.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(like_pattern(page.search.as_deref()))
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |u: &User| {
            u.username.to_string()
        }))
    }

    async fn list_people(
        &self,
        tenant: TenantId,
        page: &PageRequest,
        query: &PeopleQuery,
        today: time::Date,
    ) -> StoreResult<Page<User>> {
        use registrar_domain::user::EffectiveStatus;
        // Every parameter appears in every form of the statement (PostgreSQL counts them).
        // The effective status as the domain defines it (`EffectiveStatus::of`): past the last
        // day is expired, otherwise the stored status.
        let (status, stored) = match query.status {
            None => ("($6 = '' AND $5 = $5)", ""),
            Some(EffectiveStatus::Expired) => (
                "(expires_on IS NOT NULL AND expires_on < $5 AND $6 = '')",
                "",
            ),
            Some(other) => (
                "(status = $6 AND (expires_on IS NULL OR expires_on >= $5))",
                other.code(),
            ),
        };
        let (after, after_username) = query.after(page.after.as_deref());
        let (cursor, order) = if query.by_name {
            (
                "(name_key > $2 OR (name_key = $2 AND username > $7))",
                "name_key, username",
            )
        } else {
            ("(username > $2 AND $7 = $7)", "username")
        };
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND {cursor} \
             AND (username LIKE $3 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $3 ESCAPE '\\' \
                  OR LOWER(display_name) LIKE $3 ESCAPE '\\') \
             AND {status} ORDER BY {order} LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(tenant.to_string())
            .bind(after)
            .bind(like_pattern(page.search.as_deref()))
            .bind(limit(page) + 1)
            .bind(date_text(today))
            .bind(stored.to_owned())
            .bind(after_username)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |u: &User| query.cursor(u)))
    }

    async fn update_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
    ) -> StoreResult<User> {
        Ok(self.update_user_at(actor, tenant, id, patch, None).await?.0)
    }

    async fn versioned_user(&self, tenant: TenantId, id: UserId) -> StoreResult<(User, i64)> {
        let mut tx = self.snapshot().await?;
        let user = Self::load_user(&mut tx, tenant, id).await?;
        Ok((user, Self::user_version_in(&mut tx, tenant, id).await?))
    }

    async fn update_user_at(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
        expected: Option<i64>,
    ) -> StoreResult<(User, i64)> {
        let mut tx = self.begin().await?;
        let before = Self::load_user(&mut tx, tenant, id).await?;
        let version = Self::user_version_in(&mut tx, tenant, id).await?;
        if let Some(expected) = expected
            && expected != version
        {
            return Err(StoreError::VersionMismatch {
                entity: "user",
                id: id.to_string(),
                expected,
                actual: version,
            });
        }
        let mut after = before.clone();
        if let Some(v) = patch.username {
            after.username = v;
        }
        if let Some(v) = patch.email {
            after.email = v;
        }
        if let Some(v) = patch.display_name {
            after.display_name = v;
        }
        if let Some(v) = patch.labels {
            after.labels = v;
        }
        if let Some(v) = patch.status {
            after.status = v;
        }
        if let Some(v) = patch.expires_on {
            after.expires_on = v;
        }
        if let Some(v) = patch.primary_group {
            after.primary_group = v;
        }
        let Some(written) =
            Self::rewrite_user(&mut tx, tenant, actor, "user.updated", &before, &after).await?
        else {
            return Ok((before, version));
        };
        tx.commit().await?;
        Ok(written)
    }

    async fn set_statuses(
        &self,
        actor: &Actor,
        tenant: TenantId,
        users: &[UserId],
        status: registrar_domain::user::UserStatus,
    ) -> StoreResult<Vec<User>> {
        let mut tx = self.begin().await?;
        let mut changed = Vec::with_capacity(users.len());
        for id in users {
            let before = Self::load_user(&mut tx, tenant, *id).await?;
            let after = User {
                status,
                ..before.clone()
            };
            match Self::rewrite_user(&mut tx, tenant, actor, "user.status_set", &before, &after)
                .await?
            {
                Some((after, _)) => changed.push(after),
                None => changed.push(before),
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn set_password_hash(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        hash: String,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if !Self::new_login(&mut tx, tenant, id, hash).await? {
            return Err(StoreError::not_found("user", id));
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "user.password_set",
                entity: "user",
                entity_id: id.to_string(),
                before: None,
                after: None,
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn password_hash(&self, tenant: TenantId, id: UserId) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as::<DB, (Option<String>,)>(
            "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|(h,)| h)
            .ok_or_else(|| StoreError::not_found("user", id))
    }

    async fn create_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewGroup,
    ) -> StoreResult<Group> {
        let group = Group {
            id: GroupId::new(),
            tenant_id: tenant,
            name: new.name,
            description: new.description,
            parent: new.parent,
            public: new.public,
        };
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        if let Some(parent) = group.parent {
            Self::check_parent(&mut tx, tenant, group.id, parent).await?;
        }
        let at = to_millis(now());
        sqlx::query::<DB>(
            "INSERT INTO groups (id, tenant_id, name, description, parent_id, created_at, \
             updated_at, public) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(group.id.to_string())
        .bind(tenant.to_string())
        .bind(group.name.to_string())
        .bind(group.description.clone())
        .bind(group.parent.map(|p| p.to_string()))
        .bind(at)
        .bind(group.public)
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "group.created",
                entity: "group",
                entity_id: group.id.to_string(),
                before: None,
                after: Some(group_json(&group)),
                access: vec![Change::UpsertGroup(access_group(&group))],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn group(&self, tenant: TenantId, id: GroupId) -> StoreResult<Group> {
        let mut conn = self.read.acquire().await?;
        Self::load_group(&mut conn, tenant, id).await
    }

    async fn list_groups(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Group>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1 AND id > $2 \
             AND (LOWER(name) LIKE $3 ESCAPE '\\' OR LOWER(description) LIKE $3 ESCAPE '\\') \
             ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, GroupRow>(&sql)
            .bind(tenant.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(like_pattern(page.search.as_deref()))
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |g: &Group| g.id.to_string()))
    }

    async fn update_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: GroupId,
        patch: GroupPatch,
    ) -> StoreResult<Group> {
        let mut tx = self.begin().await?;
        let before = Self::load_group(&mut tx, tenant, id).await?;
        let mut after = before.clone();
        if let Some(v) = patch.name {
            after.name = v;
        }
        if let Some(v) = patch.description {
            after.description = v;
        }
        if let Some(v) = patch.parent {
            after.parent = v;
        }
        if let Some(v) = patch.public {
            after.public = v;
        }
        if after == before {
            return Ok(before);
        }
        if let Some(parent) = after.parent.filter(|p| Some(*p) != before.parent) {
            Self::check_parent(&mut tx, tenant, id, parent).await?;
        }
        sqlx::query::<DB>(
            "UPDATE groups SET name = $1, description = $2, parent_id = $3, updated_at = $4, \
             public = $7 WHERE tenant_id = $5 AND id = $6",
        )
        .bind(after.name.to_string())
        .bind(after.description.clone())
        .bind(after.parent.map(|p| p.to_string()))
        .bind(to_millis(now()))
        .bind(tenant.to_string())
        .bind(id.to_string())
        .bind(after.public)
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "group.updated",
                entity: "group",
                entity_id: id.to_string(),
                before: Some(group_json(&before)),
                after: Some(group_json(&after)),
                access: vec![Change::UpsertGroup(access_group(&after))],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn add_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        Self::load_group(&mut tx, tenant, group).await?;
        Self::load_user(&mut tx, tenant, user).await?;
        let added = Self::insert_membership(&mut tx, tenant, group, user).await?;
        if added {
            Self::record(&mut tx, Self::membership_entry(tenant, actor, user, group)).await?;
            Self::enroll_deployed(&mut tx, actor, tenant, group, user).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn remove_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        Self::load_group(&mut tx, tenant, group).await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3",
        )
        .bind(tenant.to_string())
        .bind(group.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        let removed = DB::rows_affected(&done) > 0;
        if removed {
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "group.member_removed",
                    entity: "group",
                    entity_id: group.to_string(),
                    before: Some(serde_json::json!({ "user": user })),
                    after: None,
                    access: vec![Change::RemoveMember { user, group }],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn group_members(
        &self,
        tenant: TenantId,
        group: GroupId,
        page: &PageRequest,
    ) -> StoreResult<Page<User>> {
        self.group(tenant, group).await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username > $2 \
             AND id IN (SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_id = $3) \
             ORDER BY username LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(tenant.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(group.to_string())
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |u: &User| {
            u.username.to_string()
        }))
    }

    async fn user_groups(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<Group>> {
        self.user(tenant, user).await?;
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1 \
             AND id IN (SELECT group_id FROM group_members WHERE tenant_id = $1 AND user_id = $2) \
             ORDER BY name, id"
        );
        let rows = sqlx::query_as::<DB, GroupRow>(&sql)
            .bind(tenant.to_string())
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn add_manager(
        &self,
        actor: &Actor,
        tenant: TenantId,
        link: ManagerLink,
    ) -> StoreResult<bool> {
        if link.manager == link.managee {
            return Err(StoreError::Rule(format!(
                "user {} cannot be their own manager",
                link.manager
            )));
        }
        let mut tx = self.begin().await?;
        Self::load_user(&mut tx, tenant, link.manager).await?;
        Self::load_user(&mut tx, tenant, link.managee).await?;
        let done = sqlx::query::<DB>(
            "INSERT INTO managers (tenant_id, manager_id, managee_id, source) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (manager_id, managee_id) DO NOTHING",
        )
        .bind(tenant.to_string())
        .bind(link.manager.to_string())
        .bind(link.managee.to_string())
        .bind(link.source.code().to_owned())
        .execute(&mut *tx)
        .await?;
        let added = DB::rows_affected(&done) > 0;
        if added {
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "manager.added",
                    entity: "user",
                    entity_id: link.managee.to_string(),
                    before: None,
                    after: Some(
                        serde_json::json!({ "manager": link.manager, "source": link.source.code() }),
                    ),
                    access: vec![Change::AddManager {
                        manager: link.manager,
                        managee: link.managee,
                        by_feed: link.source == ManagerSource::Feed,
                    }],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn remove_manager(
        &self,
        actor: &Actor,
        tenant: TenantId,
        manager: UserId,
        managee: UserId,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM managers WHERE tenant_id = $1 AND manager_id = $2 AND managee_id = $3",
        )
        .bind(tenant.to_string())
        .bind(manager.to_string())
        .bind(managee.to_string())
        .execute(&mut *tx)
        .await?;
        let removed = DB::rows_affected(&done) > 0;
        if removed {
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "manager.removed",
                    entity: "user",
                    entity_id: managee.to_string(),
                    before: Some(serde_json::json!({ "manager": manager })),
                    after: None,
                    access: vec![Change::RemoveManager { manager, managee }],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn managers_of(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<ManagerLink>> {
        let rows = sqlx::query_as::<DB, ManagerRow>(
            "SELECT manager_id, managee_id, source FROM managers \
             WHERE tenant_id = $1 AND managee_id = $2 ORDER BY manager_id",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        convert(rows)
    }

    async fn managees_of(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<ManagerLink>> {
        let rows = sqlx::query_as::<DB, ManagerRow>(
            "SELECT manager_id, managee_id, source FROM managers \
             WHERE tenant_id = $1 AND manager_id = $2 ORDER BY managee_id",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        convert(rows)
    }

    async fn create_token(&self, actor: &Actor, new: NewToken) -> StoreResult<TokenRecord> {
        let record = TokenRecord {
            id: new.id,
            tenant: new.tenant,
            user: new.user,
            kind: new.kind,
            name: new.name,
            csrf_hash: new.csrf_hash,
            created_at: now(),
            expires_at: new.expires_at,
        };
        let mut tx = self.begin().await?;
        sqlx::query::<DB>(
            "INSERT INTO tokens (id, tenant_id, user_id, kind, name, secret_hash, csrf_hash, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(record.id.to_string())
        .bind(record.tenant.map(|t| t.to_string()))
        .bind(record.user.map(|u| u.to_string()))
        .bind(record.kind.code().to_owned())
        .bind(record.name.clone())
        .bind(new.secret_hash)
        .bind(record.csrf_hash.clone())
        .bind(to_millis(record.created_at))
        .bind(record.expires_at.map(to_millis))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::from_write(e, &[], &[("user_id", &format!("{:?}", record.user))])
        })?;
        // Browser sessions are logins, not changes to the tenant; tokens are.
        if record.kind != TokenKind::Session {
            Self::record(
                &mut tx,
                Entry {
                    tenant: record.tenant,
                    actor,
                    action: "token.created",
                    entity: "token",
                    entity_id: record.id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({
                        "name": record.name,
                        "kind": record.kind.code(),
                        "user": record.user,
                    })),
                    access: vec![],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn token_by_secret_hash(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = $1 \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        sqlx::query_as::<DB, TokenRow>(&sql)
            .bind(hash.to_owned())
            .bind(to_millis(now()))
            .fetch_optional(&self.read)
            .await?
            .map(TokenRecord::try_from)
            .transpose()
    }

    async fn revoke_token(
        &self,
        actor: &Actor,
        tenant: Option<TenantId>,
        id: TokenId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1");
        let record: Option<TokenRecord> = sqlx::query_as::<DB, TokenRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .map(TokenRecord::try_from)
            .transpose()?;
        // Another tenant's token is indistinguishable from no token.
        let record = record
            .filter(|r| r.tenant == tenant)
            .ok_or_else(|| StoreError::not_found("token", id))?;
        sqlx::query::<DB>("DELETE FROM tokens WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if record.kind != TokenKind::Session {
            Self::record(
                &mut tx,
                Entry {
                    tenant,
                    actor,
                    action: "token.revoked",
                    entity: "token",
                    entity_id: id.to_string(),
                    before: Some(
                        serde_json::json!({ "name": record.name, "kind": record.kind.code() }),
                    ),
                    after: None,
                    access: vec![],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_api_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant_id = $1 AND kind = 'api' \
             ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query_as::<DB, TokenRow>(&sql)
            .bind(tenant.to_string())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn changes(
        &self,
        tenant: Option<TenantId>,
        after_revision: i64,
        limit: u32,
    ) -> StoreResult<Vec<ChangeRecord>> {
        let filter = if tenant.is_some() {
            "tenant_id = $3"
        } else {
            "tenant_id IS NULL AND $3 = ''"
        };
        let sql = format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE revision > $1 AND {filter} \
             ORDER BY revision LIMIT $2"
        );
        let rows = sqlx::query_as::<DB, ChangeRow>(&sql)
            .bind(after_revision)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .bind(tenant.map(|t| t.to_string()).unwrap_or_default())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn audit(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        cursor: AuditCursor,
        limit: u32,
    ) -> StoreResult<Vec<ChangeRecord>> {
        let (bound, order, at) = match cursor {
            AuditCursor::After(r) => ("revision > $2", "ASC", r),
            AuditCursor::Before(r) => ("revision < $2", "DESC", r.unwrap_or(i64::MAX)),
        };
        let sql = format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE tenant_id = $1 AND {bound} \
             AND ($3 = '' OR actor = $3) AND ($4 = '' OR entity = $4) \
             AND ($5 = '' OR entity_id = $5) AND ($6 = '' OR action = $6) \
             AND at >= $7 AND at < $8 ORDER BY revision {order} LIMIT $9"
        );
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let rows = sqlx::query_as::<DB, ChangeRow>(&sql)
            .bind(tenant.to_string())
            .bind(at)
            .bind(text(&filter.actor))
            .bind(text(&filter.entity))
            .bind(text(&filter.entity_id))
            .bind(text(&filter.action))
            .bind(filter.from.map_or(i64::MIN, to_millis))
            .bind(filter.to.map_or(i64::MAX, to_millis))
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn tenant_revision(&self, tenant: TenantId) -> StoreResult<i64> {
        let mut conn = self.read.acquire().await?;
        Self::revision_of(&mut conn, tenant).await
    }

    async fn append(
        &self,
        actor: &Actor,
        tenant: TenantId,
        expected: Option<i64>,
        entries: Vec<LogEntry>,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        if let Some(expected) = expected {
            let actual = Self::revision_of(&mut tx, tenant).await?;
            if actual != expected {
                return Err(StoreError::Stale { expected, actual });
            }
        }
        let mut last = 0;
        for e in entries {
            last = Self::record(&mut tx, Entry::logged(tenant, actor, e)).await?;
        }
        tx.commit().await?;
        Ok(last)
    }

    async fn access_log(
        &self,
        after_revision: i64,
        limit: u32,
    ) -> StoreResult<Vec<AccessLogEntry>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as::<DB, (i64, String, String)>(
            "SELECT revision, tenant_id, access FROM changes \
             WHERE revision > $1 AND access IS NOT NULL AND tenant_id IS NOT NULL \
             ORDER BY revision LIMIT $2",
        )
        .bind(after_revision)
        .bind(i64::from(limit.clamp(1, 100_000)))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(revision, tenant, access)| {
                Ok(AccessLogEntry {
                    revision,
                    tenant: TenantId::parse(&tenant)?,
                    changes: serde_json::from_str(&access).map_err(|e| StoreError::Corrupt {
                        entity: "change",
                        detail: format!("revision {revision}: {e}"),
                    })?,
                })
            })
            .collect()
    }

    async fn latest_revision(&self) -> StoreResult<i64> {
        let (revision,): (i64,) =
            sqlx::query_as::<DB, (i64,)>("SELECT COALESCE(MAX(revision), 0) FROM changes")
                .fetch_one(&self.read)
                .await?;
        Ok(revision)
    }
}
