//! [`TeamStore`] on the same generic SQL store: named teams and their members (seed 003). The
//! engine learns of a team's creation and deletion (its `team` object and creator) in the same
//! transaction; the name and the members are the store's.

use async_trait::async_trait;
use registrar_domain::access::{Change, ObjectId};
use registrar_domain::ids::{TenantId, UserId};
use registrar_domain::team::Team;
use registrar_domain::text::Name;
use registrar_domain::user::User;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use crate::backend::Backend;
use crate::rows::{USER_COLUMNS, UserRow, corrupt, from_millis, to_millis, uuid};
use crate::sql::{Entry, SqlStore, convert, like_pattern, limit, now, paginate};
use crate::{Actor, Page, PageRequest, StoreError, StoreResult};

/// Named teams, their members, and the engine's `team` objects written with them.
#[async_trait]
pub trait TeamStore: Send + Sync {
    async fn create_team(
        &self,
        actor: &Actor,
        tenant: TenantId,
        name: Name,
        created_by: Option<UserId>,
    ) -> StoreResult<Team>;
    async fn team(&self, tenant: TenantId, id: ObjectId) -> StoreResult<Team>;
    /// Teams by creation, whose name contains `page.search`.
    async fn list_teams(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Team>>;
    async fn rename_team(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
        name: Name,
    ) -> StoreResult<Team>;
    /// Deletes the team and its memberships; the people stay.
    async fn delete_team(&self, actor: &Actor, tenant: TenantId, id: ObjectId) -> StoreResult<()>;
    /// 409 when the person already belongs to the team.
    async fn add_team_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        team: ObjectId,
        user: UserId,
    ) -> StoreResult<()>;
    /// 404 when the person does not belong to the team.
    async fn remove_team_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        team: ObjectId,
        user: UserId,
    ) -> StoreResult<()>;
    /// The team's members, by username.
    async fn team_members(
        &self,
        tenant: TenantId,
        team: ObjectId,
        page: &PageRequest,
    ) -> StoreResult<Page<User>>;
    /// Every member of the team (for reports over it), by username.
    async fn all_team_members(&self, tenant: TenantId, team: ObjectId) -> StoreResult<Vec<UserId>>;
}

const TEAM_COLUMNS: &str = "t.id, t.tenant_id, t.name, t.created_by, t.created_at, t.updated_at, \
     (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id) AS members";

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: String,
    tenant_id: String,
    name: String,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
    members: i64,
}

impl TryFrom<TeamRow> for Team {
    type Error = StoreError;
    fn try_from(r: TeamRow) -> Result<Self, StoreError> {
        Ok(Team {
            id: ObjectId::from_uuid(uuid("team", &r.id)?),
            tenant_id: TenantId::from_uuid(uuid("team", &r.tenant_id)?),
            name: Name::parse("name", &r.name).map_err(|e| corrupt("team", e))?,
            created_by: r
                .created_by
                .as_deref()
                .map(|u| uuid("team", u).map(UserId::from_uuid))
                .transpose()?,
            members: u32::try_from(r.members).map_err(|e| corrupt("team", e))?,
            created_at: from_millis("team", r.created_at)?,
            updated_at: from_millis("team", r.updated_at)?,
        })
    }
}

fn team_json(t: &Team) -> serde_json::Value {
    serde_json::json!({ "id": t.id, "name": t.name, "created_by": t.created_by })
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
    async fn load_team(
        tx: &mut DB::Connection,
        tenant: TenantId,
        id: ObjectId,
    ) -> StoreResult<Team> {
        let sql =
            format!("SELECT {TEAM_COLUMNS} FROM teams t WHERE t.tenant_id = $1 AND t.id = $2");
        sqlx::query_as::<DB, TeamRow>(&sql)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("team", id))?
            .try_into()
    }

    fn team_entry<'a>(
        tenant: TenantId,
        actor: &'a Actor,
        action: &'static str,
        team: ObjectId,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        access: Vec<Change>,
    ) -> Entry<'a> {
        Entry {
            tenant: Some(tenant),
            actor,
            action,
            entity: "team",
            entity_id: team.to_string(),
            before,
            after,
            access,
        }
    }
}

#[async_trait]
impl<DB> TeamStore for SqlStore<DB>
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
    async fn create_team(
        &self,
        actor: &Actor,
        tenant: TenantId,
        name: Name,
        created_by: Option<UserId>,
    ) -> StoreResult<Team> {
        let at = now();
        let team = Team {
            id: ObjectId::from_uuid(uuid::Uuid::now_v7()),
            tenant_id: tenant,
            name,
            created_by,
            members: 0,
            created_at: at,
            updated_at: at,
        };
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        sqlx::query::<DB>(
            "INSERT INTO teams (id, tenant_id, name, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(team.id.to_string())
        .bind(tenant.to_string())
        .bind(team.name.to_string())
        .bind(created_by.map(|u| u.to_string()))
        .bind(to_millis(at))
        .bind(to_millis(at))
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Self::team_entry(
                tenant,
                actor,
                "team.created",
                team.id,
                None,
                Some(team_json(&team)),
                vec![Change::UpsertObject(team.learning_object())],
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(team)
    }

    async fn team(&self, tenant: TenantId, id: ObjectId) -> StoreResult<Team> {
        let mut tx = self.snapshot().await?;
        Self::load_team(&mut tx, tenant, id).await
    }

    async fn list_teams(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Team>> {
        let sql = format!(
            "SELECT {TEAM_COLUMNS} FROM teams t WHERE t.tenant_id = $1 AND t.id > $2 \
             AND LOWER(t.name) LIKE $3 ESCAPE '\\' ORDER BY t.id LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, TeamRow>(&sql)
            .bind(tenant.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(like_pattern(page.search.as_deref()))
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |t: &Team| t.id.to_string()))
    }

    async fn rename_team(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
        name: Name,
    ) -> StoreResult<Team> {
        let mut tx = self.begin().await?;
        let before = Self::load_team(&mut tx, tenant, id).await?;
        let at = now();
        sqlx::query::<DB>(
            "UPDATE teams SET name = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
        )
        .bind(name.to_string())
        .bind(to_millis(at))
        .bind(tenant.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let after = Team {
            name,
            updated_at: at,
            ..before.clone()
        };
        Self::record(
            &mut tx,
            Self::team_entry(
                tenant,
                actor,
                "team.updated",
                id,
                Some(team_json(&before)),
                Some(team_json(&after)),
                Vec::new(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_team(&self, actor: &Actor, tenant: TenantId, id: ObjectId) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let team = Self::load_team(&mut tx, tenant, id).await?;
        sqlx::query::<DB>("DELETE FROM teams WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        Self::record(
            &mut tx,
            Self::team_entry(
                tenant,
                actor,
                "team.deleted",
                id,
                Some(team_json(&team)),
                None,
                vec![Change::RemoveObject {
                    object: team.object(),
                }],
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_team_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        team: ObjectId,
        user: UserId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_team(&mut tx, tenant, team).await?;
        Self::load_user(&mut tx, tenant, user).await?;
        let done = sqlx::query::<DB>(
            "INSERT INTO team_members (tenant_id, team_id, user_id, added_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, user_id) DO NOTHING",
        )
        .bind(tenant.to_string())
        .bind(team.to_string())
        .bind(user.to_string())
        .bind(to_millis(now()))
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::Conflict {
                field: "user",
                value: format!("{user} already belongs to team {team}"),
            });
        }
        Self::record(
            &mut tx,
            Self::team_entry(
                tenant,
                actor,
                "team.member_added",
                team,
                None,
                Some(serde_json::json!({ "user": user })),
                Vec::new(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_team_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        team: ObjectId,
        user: UserId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_team(&mut tx, tenant, team).await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2 AND user_id = $3",
        )
        .bind(tenant.to_string())
        .bind(team.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::not_found("team member", user));
        }
        Self::record(
            &mut tx,
            Self::team_entry(
                tenant,
                actor,
                "team.member_removed",
                team,
                Some(serde_json::json!({ "user": user })),
                None,
                Vec::new(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn team_members(
        &self,
        tenant: TenantId,
        team: ObjectId,
        page: &PageRequest,
    ) -> StoreResult<Page<User>> {
        self.team(tenant, team).await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username > $2 \
             AND id IN (SELECT user_id FROM team_members WHERE tenant_id = $1 AND team_id = $3) \
             ORDER BY username LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(tenant.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(team.to_string())
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |u: &User| {
            u.username.to_string()
        }))
    }

    async fn all_team_members(&self, tenant: TenantId, team: ObjectId) -> StoreResult<Vec<UserId>> {
        self.team(tenant, team).await?;
        let rows: Vec<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT m.user_id FROM team_members m JOIN users u \
             ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
             WHERE m.tenant_id = $1 AND m.team_id = $2 ORDER BY u.username",
        )
        .bind(tenant.to_string())
        .bind(team.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(u,)| uuid("team", &u).map(UserId::from_uuid))
            .collect()
    }
}
