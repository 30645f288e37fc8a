//! [`ScimStore`] on the same generic SQL store: what the SCIM 2.0 feed reads and writes. A feed
//! write of one resource (the row, its SCIM attributes, its feed manager link, its members, the
//! leaver policy's consequences) is one transaction with its change-log rows, like any other
//! write, so the feed is audited and replayed by the engine the same way.

use std::collections::HashMap;

use async_trait::async_trait;
use registrar_domain::access::{Change, ObjectId};
use registrar_domain::course::Enrollment;
use registrar_domain::group::Group;
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::lifecycle;
use registrar_domain::text::{Email, Name, Username};
use registrar_domain::user::{User, UserStatus};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use crate::backend::Backend;
use crate::rows::{
    GROUP_COLUMNS, GroupRow, USER_COLUMNS, UserRow, from_millis, group_json, to_millis, uuid,
};
use crate::sql::{Entry, SqlStore, access_group, convert, now};
use crate::{Actor, LogEntry, NewUser, StoreError, StoreResult};

/// What a feed deactivation does to the person's enrollments and grants (SPEC 4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeaverPolicy {
    /// Nothing besides the deactivation itself.
    #[default]
    Keep,
    /// Open enrollments become `suspended`.
    SuspendEnrollments,
    /// The person's own grants and policy attachments are removed.
    RemoveGrants,
}

impl LeaverPolicy {
    pub fn code(self) -> &'static str {
        match self {
            LeaverPolicy::Keep => "keep",
            LeaverPolicy::SuspendEnrollments => "suspend_enrollments",
            LeaverPolicy::RemoveGrants => "remove_grants",
        }
    }

    pub fn parse(s: &str) -> Result<Self, registrar_domain::ValidationError> {
        match s.trim() {
            "keep" => Ok(LeaverPolicy::Keep),
            "suspend_enrollments" => Ok(LeaverPolicy::SuspendEnrollments),
            "remove_grants" => Ok(LeaverPolicy::RemoveGrants),
            _ => Err(registrar_domain::ValidationError::new(
                "leaver_policy",
                s,
                "must be keep, suspend_enrollments or remove_grants",
            )),
        }
    }
}

/// How a feed finds resources without reading the whole tenant: the lookups identity providers
/// send before nearly every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimLookup {
    All,
    UserName(Username),
    Email(Email),
    ExternalId(String),
    DisplayName(String),
}

/// A user as the feed sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserRecord {
    pub user: User,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Every address the feed sent, as JSON; the user's email is the primary one.
    pub emails: Option<String>,
    /// The revision of the user's last change: the ETag.
    pub version: i64,
    /// Direct groups, by name.
    pub groups: Vec<(GroupId, Name)>,
    /// The line manager the feed set, or else another one.
    pub manager: Option<UserId>,
}

/// A group as the feed sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupRecord {
    pub group: Group,
    pub external_id: Option<String>,
    /// The revision of the group's last change (members included): the ETag.
    pub version: i64,
    /// Direct members the feed may see, by username.
    pub members: Vec<UserId>,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
}

/// The whole state of a user the feed asks for; the store writes the difference.
#[derive(Debug, Clone)]
pub struct ScimUserWrite {
    /// `None` creates the user.
    pub id: Option<UserId>,
    pub username: Username,
    pub email: Option<Email>,
    pub display_name: Name,
    pub status: UserStatus,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub emails: Option<String>,
    /// Replaces the feed's manager link; links an administrator made stay.
    pub manager: Option<UserId>,
    /// Engine-validated changes that come with this write (the leaver policy's grant removals),
    /// valid only while the tenant is at `expected`.
    pub extra: Vec<LogEntry>,
    pub expected: Option<i64>,
    /// Suspends open enrollments in the same transaction (the leaver policy).
    pub suspend_enrollments: bool,
    /// `If-Match`: written only while the user is still at this version (checked inside the
    /// transaction, so of two writers holding one version only one succeeds), else
    /// [`StoreError::VersionMismatch`] and nothing is written.
    pub version: Option<i64>,
    /// Creating: the groups the person joins with it (the tenant's default group, so that they
    /// hold a role: `AccessModel::default_group_for_new`).
    pub also_joins: Vec<GroupId>,
}

/// The whole state of a group the feed asks for.
#[derive(Debug, Clone)]
pub struct ScimGroupWrite {
    /// `None` creates the group.
    pub id: Option<GroupId>,
    pub name: Name,
    pub external_id: Option<String>,
    pub members: Vec<UserId>,
}

/// The SCIM feed's reads and writes.
#[async_trait]
pub trait ScimStore: Send + Sync {
    async fn scim_users(
        &self,
        tenant: TenantId,
        lookup: &ScimLookup,
    ) -> StoreResult<Vec<ScimUserRecord>>;
    async fn scim_user(&self, tenant: TenantId, id: UserId) -> StoreResult<ScimUserRecord>;
    async fn scim_write_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        write: ScimUserWrite,
    ) -> StoreResult<ScimUserRecord>;
    /// Hides the user from the feed for good; the caller deactivated them first.
    async fn scim_delete_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
    ) -> StoreResult<()>;
    async fn scim_groups(
        &self,
        tenant: TenantId,
        lookup: &ScimLookup,
    ) -> StoreResult<Vec<ScimGroupRecord>>;
    async fn scim_group(&self, tenant: TenantId, id: GroupId) -> StoreResult<ScimGroupRecord>;
    async fn scim_write_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        write: ScimGroupWrite,
    ) -> StoreResult<ScimGroupRecord>;
    /// Deletes a group with its memberships; refused while courses, child groups or primary
    /// members still point at it.
    async fn scim_delete_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: GroupId,
    ) -> StoreResult<()>;
    async fn leaver_policy(&self, tenant: TenantId) -> StoreResult<LeaverPolicy>;
    async fn set_leaver_policy(
        &self,
        actor: &Actor,
        tenant: TenantId,
        policy: LeaverPolicy,
    ) -> StoreResult<()>;
}

/// The `WHERE` clause (on `users u`, binding `$1` tenant and `$2` value) of a lookup. Users the
/// feed deleted are not there.
fn user_condition(lookup: &ScimLookup) -> (&'static str, String) {
    let (cond, value) = match lookup {
        ScimLookup::All => ("u.id <> $2", String::new()),
        ScimLookup::UserName(u) => ("u.username = $2", u.to_string()),
        ScimLookup::Email(e) => ("u.email = $2", e.to_string()),
        ScimLookup::ExternalId(x) => (
            "u.id IN (SELECT user_id FROM scim_users WHERE tenant_id = $1 AND external_id = $2)",
            x.clone(),
        ),
        ScimLookup::DisplayName(n) => ("u.display_name = $2", n.clone()),
    };
    (cond, value)
}

fn group_condition(lookup: &ScimLookup) -> (&'static str, String) {
    match lookup {
        ScimLookup::ExternalId(x) => (
            "g.id IN (SELECT group_id FROM scim_groups WHERE tenant_id = $1 AND external_id = $2)",
            x.clone(),
        ),
        ScimLookup::DisplayName(n) => ("g.name = $2", n.clone()),
        // Groups have no username or email: nothing matches.
        ScimLookup::UserName(_) | ScimLookup::Email(_) => ("g.id = $2", String::new()),
        ScimLookup::All => ("g.id <> $2", String::new()),
    }
}

/// User id, external id, given name, family name, emails.
type ScimUserRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
/// External id, given name, family name, emails.
type ScimAttributes = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const VISIBLE_USER: &str =
    "u.id NOT IN (SELECT user_id FROM scim_users WHERE tenant_id = $1 AND deleted = TRUE)";

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
    /// Reads the users a condition selects with everything the feed shows of them, in five
    /// set-wise statements rather than five per user.
    async fn load_scim_users(
        conn: &mut DB::Connection,
        tenant: TenantId,
        cond: &str,
        value: String,
    ) -> StoreResult<Vec<ScimUserRecord>> {
        let t = tenant.to_string();
        let ids = format!(
            "SELECT u.id FROM users u WHERE u.tenant_id = $1 AND {cond} AND {VISIBLE_USER}"
        );
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND {cond} AND {VISIBLE_USER} \
             ORDER BY u.username"
        );
        let users: Vec<User> = convert(
            sqlx::query_as::<DB, UserRow>(&sql)
                .bind(t.clone())
                .bind(value.clone())
                .fetch_all(&mut *conn)
                .await?,
        )?;
        if users.is_empty() {
            return Ok(vec![]);
        }
        let extra: Vec<ScimUserRow> = sqlx::query_as::<DB, ScimUserRow>(&format!(
            "SELECT user_id, external_id, given_name, family_name, emails FROM scim_users \
                 WHERE tenant_id = $1 AND user_id IN ({ids})"
        ))
        .bind(t.clone())
        .bind(value.clone())
        .fetch_all(&mut *conn)
        .await?;
        let mut extra: HashMap<String, _> = extra
            .into_iter()
            .map(|(id, x, g, f, e)| (id, (x, g, f, e)))
            .collect();
        let versions: Vec<(String, i64)> = sqlx::query_as::<DB, (String, i64)>(&format!(
            "SELECT entity_id, MAX(revision) FROM changes WHERE tenant_id = $1 \
             AND entity = 'user' AND entity_id IN ({ids}) GROUP BY entity_id"
        ))
        .bind(t.clone())
        .bind(value.clone())
        .fetch_all(&mut *conn)
        .await?;
        let versions: HashMap<String, i64> = versions.into_iter().collect();
        let groups: Vec<(String, String, String)> =
            sqlx::query_as::<DB, (String, String, String)>(&format!(
                "SELECT m.user_id, g.id, g.name FROM group_members m \
                 JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                 WHERE m.tenant_id = $1 AND m.user_id IN ({ids}) ORDER BY g.name, g.id"
            ))
            .bind(t.clone())
            .bind(value.clone())
            .fetch_all(&mut *conn)
            .await?;
        let mut groups_of: HashMap<String, Vec<(GroupId, Name)>> = HashMap::new();
        for (user, id, name) in groups {
            let name = Name::parse("name", &name).map_err(|e| StoreError::Corrupt {
                entity: "group",
                detail: e.to_string(),
            })?;
            groups_of
                .entry(user)
                .or_default()
                .push((GroupId::from_uuid(uuid("group", &id)?), name));
        }
        // The feed's own link first: that is the one the feed set and will read back.
        let managers: Vec<(String, String, String)> =
            sqlx::query_as::<DB, (String, String, String)>(&format!(
                "SELECT managee_id, manager_id, source FROM managers \
                 WHERE tenant_id = $1 AND managee_id IN ({ids}) ORDER BY source DESC, manager_id"
            ))
            .bind(t)
            .bind(value)
            .fetch_all(&mut *conn)
            .await?;
        let mut manager_of: HashMap<String, UserId> = HashMap::new();
        for (managee, manager, _) in managers {
            if let std::collections::hash_map::Entry::Vacant(slot) = manager_of.entry(managee) {
                slot.insert(UserId::from_uuid(uuid("manager", &manager)?));
            }
        }
        Ok(users
            .into_iter()
            .map(|user| {
                let key = user.id.to_string();
                let (external_id, given_name, family_name, emails) =
                    extra.remove(&key).unwrap_or_default();
                ScimUserRecord {
                    version: versions.get(&key).copied().unwrap_or_default(),
                    groups: groups_of.remove(&key).unwrap_or_default(),
                    manager: manager_of.get(&key).copied(),
                    external_id,
                    given_name,
                    family_name,
                    emails,
                    user,
                }
            })
            .collect())
    }

    async fn load_scim_user(
        conn: &mut DB::Connection,
        tenant: TenantId,
        id: UserId,
    ) -> StoreResult<ScimUserRecord> {
        Self::load_scim_users(conn, tenant, "u.id = $2", id.to_string())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound {
                entity: "user",
                id: id.to_string(),
            })
    }

    async fn load_scim_groups(
        conn: &mut DB::Connection,
        tenant: TenantId,
        cond: &str,
        value: String,
    ) -> StoreResult<Vec<ScimGroupRecord>> {
        let t = tenant.to_string();
        let ids = format!("SELECT g.id FROM groups g WHERE g.tenant_id = $1 AND {cond}");
        let groups: Vec<Group> = convert(
            sqlx::query_as::<DB, GroupRow>(&format!(
                "SELECT {GROUP_COLUMNS} FROM groups g WHERE g.tenant_id = $1 AND {cond} \
                 ORDER BY g.name, g.id"
            ))
            .bind(t.clone())
            .bind(value.clone())
            .fetch_all(&mut *conn)
            .await?,
        )?;
        if groups.is_empty() {
            return Ok(vec![]);
        }
        let extra: Vec<(String, Option<String>, i64, i64)> =
            sqlx::query_as::<DB, (String, Option<String>, i64, i64)>(&format!(
                "SELECT g.id, s.external_id, g.created_at, g.updated_at FROM groups g \
                 LEFT JOIN scim_groups s ON s.group_id = g.id WHERE g.tenant_id = $1 AND {cond}"
            ))
            .bind(t.clone())
            .bind(value.clone())
            .fetch_all(&mut *conn)
            .await?;
        let mut extra: HashMap<String, (Option<String>, i64, i64)> = extra
            .into_iter()
            .map(|(id, x, c, u)| (id, (x, c, u)))
            .collect();
        let versions: Vec<(String, i64)> = sqlx::query_as::<DB, (String, i64)>(&format!(
            "SELECT entity_id, MAX(revision) FROM changes WHERE tenant_id = $1 \
             AND entity = 'group' AND entity_id IN ({ids}) GROUP BY entity_id"
        ))
        .bind(t.clone())
        .bind(value.clone())
        .fetch_all(&mut *conn)
        .await?;
        let versions: HashMap<String, i64> = versions.into_iter().collect();
        let members: Vec<(String, String)> = sqlx::query_as::<DB, (String, String)>(&format!(
            "SELECT m.group_id, u.id FROM group_members m \
             JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
             WHERE m.tenant_id = $1 AND m.group_id IN ({ids}) AND {VISIBLE_USER} \
             ORDER BY u.username"
        ))
        .bind(t)
        .bind(value)
        .fetch_all(&mut *conn)
        .await?;
        let mut members_of: HashMap<String, Vec<UserId>> = HashMap::new();
        for (group, id) in members {
            members_of
                .entry(group)
                .or_default()
                .push(UserId::from_uuid(uuid("user", &id)?));
        }
        groups
            .into_iter()
            .map(|group| {
                let key = group.id.to_string();
                let (external_id, created, updated) = extra.remove(&key).unwrap_or_default();
                Ok(ScimGroupRecord {
                    external_id,
                    version: versions.get(&key).copied().unwrap_or_default(),
                    members: members_of.remove(&key).unwrap_or_default(),
                    created_at: from_millis("group", created)?,
                    updated_at: from_millis("group", updated)?,
                    group,
                })
            })
            .collect()
    }

    async fn load_scim_group(
        conn: &mut DB::Connection,
        tenant: TenantId,
        id: GroupId,
    ) -> StoreResult<ScimGroupRecord> {
        Self::load_scim_groups(conn, tenant, "g.id = $2", id.to_string())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound {
                entity: "group",
                id: id.to_string(),
            })
    }

    /// What the domain's leaver rule makes of each of a leaver's enrollments, written as every
    /// status change is (`write_status`), each with its change-log row.
    async fn suspend_enrollments(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<()> {
        let courses: Vec<String> = sqlx::query_scalar::<DB, String>(
            "SELECT course_id FROM enrollments WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY course_id",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .fetch_all(&mut *tx)
        .await?;
        for course in courses {
            let course = ObjectId::from_uuid(uuid("enrollment", &course)?);
            let c = Self::load_course(&mut *tx, tenant, course).await?;
            let before = Self::load_enrollment(&mut *tx, tenant, course, user).await?;
            let Some(to) = lifecycle::leaver_status(c.course_type, before.status) else {
                continue;
            };
            let after = Enrollment {
                status: to,
                updated_at: now(),
                ..before.clone()
            };
            Self::write_status(
                &mut *tx,
                actor,
                tenant,
                Some(&before),
                &after,
                "enrollment.suspended_as_leaver",
            )
            .await?;
        }
        Ok(())
    }

    /// Makes the feed's manager link the given one (or none), leaving administrators' links.
    async fn set_feed_manager(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        managee: UserId,
        manager: Option<UserId>,
    ) -> StoreResult<()> {
        let current: Vec<(String, String)> = sqlx::query_as::<DB, (String, String)>(
            "SELECT manager_id, source FROM managers WHERE tenant_id = $1 AND managee_id = $2",
        )
        .bind(tenant.to_string())
        .bind(managee.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let wanted = manager.map(|m| m.to_string());
        let mut present = false;
        for (old, source) in current {
            if Some(&old) == wanted.as_ref() {
                present = true;
                continue;
            }
            if source != crate::ManagerSource::Feed.code() {
                continue;
            }
            sqlx::query::<DB>(
                "DELETE FROM managers WHERE tenant_id = $1 AND manager_id = $2 AND managee_id = $3",
            )
            .bind(tenant.to_string())
            .bind(old.clone())
            .bind(managee.to_string())
            .execute(&mut *tx)
            .await?;
            let old_id = UserId::from_uuid(uuid("manager", &old)?);
            Self::record(
                &mut *tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "manager.removed",
                    entity: "user",
                    entity_id: managee.to_string(),
                    before: Some(serde_json::json!({ "manager": old_id, "source": "feed" })),
                    after: None,
                    access: vec![Change::RemoveManager {
                        manager: old_id,
                        managee,
                    }],
                },
            )
            .await?;
        }
        if let Some(manager) = manager.filter(|_| !present) {
            Self::load_user(&mut *tx, tenant, manager)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { id, .. } => StoreError::MissingReference {
                        field: "manager",
                        value: id,
                    },
                    other => other,
                })?;
            sqlx::query::<DB>(
                "INSERT INTO managers (tenant_id, manager_id, managee_id, source) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant.to_string())
            .bind(manager.to_string())
            .bind(managee.to_string())
            .bind(crate::ManagerSource::Feed.code().to_owned())
            .execute(&mut *tx)
            .await?;
            Self::record(
                &mut *tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "manager.added",
                    entity: "user",
                    entity_id: managee.to_string(),
                    before: None,
                    after: Some(serde_json::json!({ "manager": manager, "source": "feed" })),
                    access: vec![Change::AddManager {
                        manager,
                        managee,
                        by_feed: true,
                    }],
                },
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl<DB> ScimStore for SqlStore<DB>
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
    async fn scim_users(
        &self,
        tenant: TenantId,
        lookup: &ScimLookup,
    ) -> StoreResult<Vec<ScimUserRecord>> {
        let mut tx = self.snapshot().await?;
        let (cond, value) = user_condition(lookup);
        Self::load_scim_users(&mut tx, tenant, cond, value).await
    }

    async fn scim_user(&self, tenant: TenantId, id: UserId) -> StoreResult<ScimUserRecord> {
        let mut tx = self.snapshot().await?;
        Self::load_scim_user(&mut tx, tenant, id).await
    }

    async fn scim_write_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        w: ScimUserWrite,
    ) -> StoreResult<ScimUserRecord> {
        let mut tx = self.begin().await?;
        if let Some(expected) = w.expected {
            let actual = Self::revision_of(&mut tx, tenant).await?;
            if actual != expected {
                return Err(StoreError::Stale { expected, actual });
            }
        }
        if let (Some(id), Some(expected)) = (w.id, w.version) {
            let actual = Self::version_in(&mut tx, tenant, "user", id.to_string()).await?;
            if actual != expected {
                return Err(StoreError::VersionMismatch {
                    entity: "user",
                    id: id.to_string(),
                    expected,
                    actual,
                });
            }
        }
        let id = match w.id {
            None => {
                Self::load_tenant(&mut tx, tenant).await?;
                let new = NewUser {
                    username: w.username,
                    email: w.email,
                    display_name: w.display_name,
                    labels: Default::default(),
                    status: w.status,
                    expires_on: None,
                    primary_group: None,
                    also_joins: w.also_joins,
                    superadmin: false,
                    password_hash: None,
                };
                Self::insert_user(&mut tx, actor, tenant, new).await?.id
            }
            Some(id) => {
                let before = Self::load_scim_user(&mut tx, tenant, id).await?.user;
                let after = User {
                    username: w.username,
                    email: w.email,
                    display_name: w.display_name,
                    status: w.status,
                    ..before.clone()
                };
                Self::rewrite_user(&mut tx, tenant, actor, "user.updated", &before, &after).await?;
                id
            }
        };
        let before: Option<ScimAttributes> = sqlx::query_as::<DB, ScimAttributes>(
            "SELECT external_id, given_name, family_name, emails FROM scim_users \
                 WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let after = (w.external_id, w.given_name, w.family_name, w.emails);
        if before.as_ref() != Some(&after) {
            sqlx::query::<DB>(
                "INSERT INTO scim_users (tenant_id, user_id, external_id, given_name, family_name, \
                 emails) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET \
                 external_id = $3, given_name = $4, family_name = $5, emails = $6",
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(after.0.clone())
            .bind(after.1.clone())
            .bind(after.2.clone())
            .bind(after.3.clone())
            .execute(&mut *tx)
            .await?;
            let json = |(x, g, f, e): &ScimAttributes| {
                serde_json::json!({
                    "external_id": x, "given_name": g, "family_name": f, "emails": e,
                })
            };
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "user.scim_attributes_set",
                    entity: "user",
                    entity_id: id.to_string(),
                    before: before.as_ref().map(json),
                    after: Some(json(&after)),
                    access: vec![],
                },
            )
            .await?;
        }
        Self::set_feed_manager(&mut tx, actor, tenant, id, w.manager).await?;
        if w.suspend_enrollments {
            Self::suspend_enrollments(&mut tx, actor, tenant, id).await?;
        }
        for e in w.extra {
            Self::record(&mut tx, Entry::logged(tenant, actor, e)).await?;
        }
        let record = Self::load_scim_user(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn scim_delete_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_scim_user(&mut tx, tenant, id).await?;
        sqlx::query::<DB>(
            "INSERT INTO scim_users (tenant_id, user_id, deleted) VALUES ($1, $2, TRUE) \
             ON CONFLICT (user_id) DO UPDATE SET deleted = TRUE",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "user.scim_deleted",
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

    async fn scim_groups(
        &self,
        tenant: TenantId,
        lookup: &ScimLookup,
    ) -> StoreResult<Vec<ScimGroupRecord>> {
        let mut tx = self.snapshot().await?;
        let (cond, value) = group_condition(lookup);
        Self::load_scim_groups(&mut tx, tenant, cond, value).await
    }

    async fn scim_group(&self, tenant: TenantId, id: GroupId) -> StoreResult<ScimGroupRecord> {
        let mut tx = self.snapshot().await?;
        Self::load_scim_group(&mut tx, tenant, id).await
    }

    async fn scim_write_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        w: ScimGroupWrite,
    ) -> StoreResult<ScimGroupRecord> {
        let mut tx = self.begin().await?;
        let (id, current) = match w.id {
            None => {
                Self::load_tenant(&mut tx, tenant).await?;
                let at = now();
                let group = Group {
                    id: GroupId::new(),
                    tenant_id: tenant,
                    name: w.name,
                    description: String::new(),
                    parent: None,
                    public: false,
                };
                sqlx::query::<DB>(
                    "INSERT INTO groups (id, tenant_id, name, description, parent_id, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, NULL, $5, $5)",
                )
                .bind(group.id.to_string())
                .bind(tenant.to_string())
                .bind(group.name.to_string())
                .bind(String::new())
                .bind(to_millis(at))
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
                (group.id, None)
            }
            Some(id) => {
                let before = Self::load_scim_group(&mut tx, tenant, id).await?;
                if before.group.name != w.name {
                    let after = Group {
                        name: w.name,
                        ..before.group.clone()
                    };
                    sqlx::query::<DB>(
                        "UPDATE groups SET name = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
                    )
                    .bind(after.name.to_string())
                    .bind(to_millis(now()))
                    .bind(tenant.to_string())
                    .bind(id.to_string())
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
                            before: Some(group_json(&before.group)),
                            after: Some(group_json(&after)),
                            // The rest of the group, its confidentiality included, stays.
                            access: vec![Change::UpsertGroup(access_group(&after))],
                        },
                    )
                    .await?;
                }
                (id, Some(before))
            }
        };
        let old_external = current.as_ref().and_then(|c| c.external_id.clone());
        if current.is_none() || old_external != w.external_id {
            sqlx::query::<DB>(
                "INSERT INTO scim_groups (tenant_id, group_id, external_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (group_id) DO UPDATE SET external_id = $3",
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(w.external_id.clone())
            .execute(&mut *tx)
            .await?;
            if old_external != w.external_id {
                Self::record(
                    &mut tx,
                    Entry {
                        tenant: Some(tenant),
                        actor,
                        action: "group.scim_attributes_set",
                        entity: "group",
                        entity_id: id.to_string(),
                        before: Some(serde_json::json!({ "external_id": old_external })),
                        after: Some(serde_json::json!({ "external_id": w.external_id })),
                        access: vec![],
                    },
                )
                .await?;
            }
        }
        let had: Vec<UserId> = current.map(|c| c.members).unwrap_or_default();
        for user in had.iter().filter(|u| !w.members.contains(u)) {
            sqlx::query::<DB>(
                "DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3",
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "group.member_removed",
                    entity: "group",
                    entity_id: id.to_string(),
                    before: Some(serde_json::json!({ "user": user })),
                    after: None,
                    access: vec![Change::RemoveMember {
                        user: *user,
                        group: id,
                    }],
                },
            )
            .await?;
        }
        let mut added = Vec::new();
        for user in w.members.iter().filter(|u| !had.contains(u)) {
            if added.contains(user) {
                continue;
            }
            added.push(*user);
            Self::load_scim_user(&mut tx, tenant, *user)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { id, .. } => StoreError::MissingReference {
                        field: "members",
                        value: id,
                    },
                    other => other,
                })?;
            sqlx::query::<DB>(
                "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "group.member_added",
                    entity: "group",
                    entity_id: id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({ "user": user })),
                    access: vec![Change::AddMember {
                        user: *user,
                        group: id,
                    }],
                },
            )
            .await?;
            Self::enroll_deployed(&mut tx, actor, tenant, id, *user).await?;
        }
        let record = Self::load_scim_group(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn scim_delete_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: GroupId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let before = Self::load_scim_group(&mut tx, tenant, id).await?;
        let (in_use,): (i64,) = sqlx::query_as::<DB, (i64,)>(
            "SELECT (SELECT COUNT(*) FROM groups WHERE tenant_id = $1 AND parent_id = $2) \
             + (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND primary_group_id = $2) \
             + (SELECT COUNT(*) FROM courses WHERE tenant_id = $1 AND group_id = $2)",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if in_use > 0 {
            return Err(StoreError::Rule(format!(
                "group {id} is still a parent, a primary group or a course's group; detach those first"
            )));
        }
        for table in ["group_members", "scim_groups"] {
            sqlx::query::<DB>(&format!(
                "DELETE FROM {table} WHERE tenant_id = $1 AND group_id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query::<DB>("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "group.deleted",
                entity: "group",
                entity_id: id.to_string(),
                before: Some(group_json(&before.group)),
                after: None,
                access: vec![Change::RemoveGroup { group: id }],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn leaver_policy(&self, tenant: TenantId) -> StoreResult<LeaverPolicy> {
        let row: Option<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT leaver_policy FROM scim_settings WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&self.read)
        .await?;
        match row {
            None => Ok(LeaverPolicy::default()),
            Some((code,)) => LeaverPolicy::parse(&code).map_err(|e| StoreError::Corrupt {
                entity: "scim_settings",
                detail: e.to_string(),
            }),
        }
    }

    async fn set_leaver_policy(
        &self,
        actor: &Actor,
        tenant: TenantId,
        policy: LeaverPolicy,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        sqlx::query::<DB>(
            "INSERT INTO scim_settings (tenant_id, leaver_policy) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET leaver_policy = $2",
        )
        .bind(tenant.to_string())
        .bind(policy.code().to_owned())
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "tenant.leaver_policy_set",
                entity: "tenant",
                entity_id: tenant.to_string(),
                before: None,
                after: Some(serde_json::json!({ "leaver_policy": policy.code() })),
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
