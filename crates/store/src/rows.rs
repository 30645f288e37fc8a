//! Rows as the database returns them, and their conversion into domain values. A row that does
//! not convert is reported as corrupt, never silently skipped.

use registrar_domain::group::Group;
use registrar_domain::ids::{GroupId, TenantId, TokenId, UserId};
use registrar_domain::tenant::{Preset, Tenant, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Username};
use registrar_domain::user::{User, UserStatus};
use time::{Date, OffsetDateTime};

use crate::{ChangeRecord, ManagerLink, ManagerSource, StoreError, TokenKind, TokenRecord};

pub(crate) const TENANT_COLUMNS: &str = "id, slug, name, preset, created_at";
pub(crate) const USER_COLUMNS: &str = "id, tenant_id, username, email, display_name, labels, \
     status, expires_on, primary_group_id, superadmin, created_at, updated_at";
pub(crate) const GROUP_COLUMNS: &str = "id, tenant_id, name, description, parent_id, public";
pub(crate) const TOKEN_COLUMNS: &str =
    "id, tenant_id, user_id, kind, name, csrf_hash, created_at, expires_at";
pub(crate) const CHANGE_COLUMNS: &str =
    "revision, tenant_id, actor, action, entity, entity_id, before, after, at";

pub(crate) fn corrupt(entity: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        entity,
        detail: detail.to_string(),
    }
}

pub(crate) fn to_millis(t: OffsetDateTime) -> i64 {
    // i64 milliseconds cover ±292 million years; the cast cannot truncate a real timestamp.
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(entity: &'static str, ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(entity, e))
}

pub(crate) fn date_text(d: Date) -> String {
    // ISO 8601 calendar dates sort as text in both databases.
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub(crate) fn parse_date(entity: &'static str, s: &str) -> Result<Date, StoreError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format).map_err(|e| corrupt(entity, e))
}

pub(crate) fn uuid(entity: &'static str, s: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(s).map_err(|e| corrupt(entity, e))
}

#[derive(sqlx::FromRow)]
pub(crate) struct TenantRow {
    id: String,
    slug: String,
    name: String,
    preset: String,
    created_at: i64,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        Ok(Tenant {
            id: TenantId::from_uuid(uuid("tenant", &r.id)?),
            slug: TenantSlug::parse(&r.slug).map_err(|e| corrupt("tenant", e))?,
            name: Name::parse("name", &r.name).map_err(|e| corrupt("tenant", e))?,
            preset: Preset::parse(&r.preset).map_err(|e| corrupt("tenant", e))?,
            created_at: from_millis("tenant", r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    tenant_id: String,
    username: String,
    email: Option<String>,
    display_name: String,
    labels: String,
    status: String,
    expires_on: Option<String>,
    primary_group_id: Option<String>,
    superadmin: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let c = |e: registrar_domain::ValidationError| corrupt("user", e);
        Ok(User {
            id: UserId::from_uuid(uuid("user", &r.id)?),
            tenant_id: TenantId::from_uuid(uuid("user", &r.tenant_id)?),
            username: Username::parse(&r.username).map_err(c)?,
            email: r
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(c)?,
            display_name: Name::parse("display name", &r.display_name).map_err(c)?,
            labels: serde_json::from_str(&r.labels)
                .map_err(|e| corrupt("user", e))
                .and_then(|m| Labels::parse(m).map_err(c))?,
            status: UserStatus::parse(&r.status).map_err(c)?,
            expires_on: r
                .expires_on
                .as_deref()
                .map(|d| parse_date("user", d))
                .transpose()?,
            primary_group: r
                .primary_group_id
                .as_deref()
                .map(|g| uuid("user", g).map(GroupId::from_uuid))
                .transpose()?,
            superadmin: r.superadmin,
            created_at: from_millis("user", r.created_at)?,
            updated_at: from_millis("user", r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: String,
    tenant_id: String,
    name: String,
    description: String,
    parent_id: Option<String>,
    public: bool,
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;
    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(Group {
            id: GroupId::from_uuid(uuid("group", &r.id)?),
            tenant_id: TenantId::from_uuid(uuid("group", &r.tenant_id)?),
            name: Name::parse("name", &r.name).map_err(|e| corrupt("group", e))?,
            description: r.description,
            parent: r
                .parent_id
                .as_deref()
                .map(|g| uuid("group", g).map(GroupId::from_uuid))
                .transpose()?,
            public: r.public,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ManagerRow {
    manager_id: String,
    managee_id: String,
    source: String,
}

impl TryFrom<ManagerRow> for ManagerLink {
    type Error = StoreError;
    fn try_from(r: ManagerRow) -> Result<Self, StoreError> {
        Ok(ManagerLink {
            manager: UserId::from_uuid(uuid("manager link", &r.manager_id)?),
            managee: UserId::from_uuid(uuid("manager link", &r.managee_id)?),
            source: ManagerSource::parse(&r.source)
                .ok_or_else(|| corrupt("manager link", &r.source))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: String,
    tenant_id: Option<String>,
    user_id: Option<String>,
    kind: String,
    name: String,
    csrf_hash: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(TokenRecord {
            id: TokenId::from_uuid(uuid("token", &r.id)?),
            tenant: r
                .tenant_id
                .as_deref()
                .map(|t| uuid("token", t).map(TenantId::from_uuid))
                .transpose()?,
            user: r
                .user_id
                .as_deref()
                .map(|u| uuid("token", u).map(UserId::from_uuid))
                .transpose()?,
            kind: TokenKind::parse(&r.kind).ok_or_else(|| corrupt("token", &r.kind))?,
            name: r.name,
            csrf_hash: r.csrf_hash,
            created_at: from_millis("token", r.created_at)?,
            expires_at: r
                .expires_at
                .map(|ms| from_millis("token", ms))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChangeRow {
    revision: i64,
    tenant_id: Option<String>,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
    at: i64,
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = StoreError;
    fn try_from(r: ChangeRow) -> Result<Self, StoreError> {
        let json = |s: Option<String>| {
            s.map(|s| serde_json::from_str(&s).map_err(|e| corrupt("change", e)))
                .transpose()
        };
        Ok(ChangeRecord {
            revision: r.revision,
            tenant: r
                .tenant_id
                .as_deref()
                .map(|t| uuid("change", t).map(TenantId::from_uuid))
                .transpose()?,
            actor: r.actor,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            before: json(r.before)?,
            after: json(r.after)?,
            at: from_millis("change", r.at)?,
        })
    }
}

/// What the audit log keeps of a user: everything but the password hash.
pub(crate) fn user_json(u: &User) -> serde_json::Value {
    serde_json::json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "display_name": u.display_name,
        "labels": u.labels,
        "status": u.status,
        "expires_on": u.expires_on.map(date_text),
        "primary_group": u.primary_group,
        "superadmin": u.superadmin,
    })
}

pub(crate) fn group_json(g: &Group) -> serde_json::Value {
    serde_json::json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "parent": g.parent,
        "public": g.public,
    })
}

pub(crate) fn tenant_json(t: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "slug": t.slug,
        "name": t.name,
        "preset": t.preset,
    })
}
