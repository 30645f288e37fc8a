//! [`InvitationStore`] on the same generic SQL store: invitations to a group (seed 004). The
//! invitation, its mail and its audit row are written together; signing up creates the person,
//! their membership and the invitation's grants in one transaction, once.

use async_trait::async_trait;
use registrar_domain::access::RoleId;
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::text::Email;
use registrar_domain::user::User;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::rows::{corrupt, from_millis, to_millis, uuid};
use crate::sql::{Entry, SqlStore, now};
use crate::{Actor, LogEntry, NewMail, NewUser, StoreError, StoreResult};

/// An invitation to a group, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInvitation {
    pub id: uuid::Uuid,
    pub tenant: TenantId,
    pub group: GroupId,
    pub email: Email,
    /// Given in the group when the invitee signs up.
    pub roles: Vec<RoleId>,
    pub invited_by: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    /// Who signed up with it.
    pub user: Option<UserId>,
}

#[derive(Debug, Clone)]
pub struct NewGroupInvitation {
    pub group: GroupId,
    pub email: Email,
    pub roles: Vec<RoleId>,
    pub invited_by: UserId,
    /// SHA-256 of the link's secret; the secret itself is only in the mail.
    pub token_hash: String,
    pub expires_at: OffsetDateTime,
    pub mail: NewMail,
}

/// Invitations to groups and signing up with them.
#[async_trait]
pub trait InvitationStore: Send + Sync {
    /// Records the invitation and queues its mail, in one transaction.
    async fn invite(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewGroupInvitation,
    ) -> StoreResult<GroupInvitation>;
    /// A group's invitations, newest first.
    async fn group_invitations(
        &self,
        tenant: TenantId,
        group: GroupId,
    ) -> StoreResult<Vec<GroupInvitation>>;
    /// The invitation a secret belongs to, in whichever tenant; not found when there is none.
    async fn invitation_by_token(&self, token_hash: &str) -> StoreResult<GroupInvitation>;
    /// Signs up with an invitation: creates the person under `id` with the grants that come
    /// with them, and uses the invitation up, provided it is still open (not used, not expired)
    /// and the tenant is still at `expected`. A used or expired invitation is not found.
    async fn accept_invitation(
        &self,
        actor: &Actor,
        invitation: &GroupInvitation,
        id: UserId,
        new: NewUser,
        expected: i64,
        grants: Vec<LogEntry>,
    ) -> StoreResult<User>;
}

const INVITATION_COLUMNS: &str = "id, tenant_id, group_id, email, roles, invited_by, created_at, \
     expires_at, accepted_at, user_id";

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    tenant_id: String,
    group_id: String,
    email: String,
    roles: String,
    invited_by: String,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    user_id: Option<String>,
}

impl TryFrom<InvitationRow> for GroupInvitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Self, StoreError> {
        const E: &str = "invitation";
        let roles: Vec<String> = serde_json::from_str(&r.roles).map_err(|e| corrupt(E, e))?;
        Ok(GroupInvitation {
            id: uuid(E, &r.id)?,
            tenant: TenantId::from_uuid(uuid(E, &r.tenant_id)?),
            group: GroupId::from_uuid(uuid(E, &r.group_id)?),
            email: Email::parse(&r.email).map_err(|e| corrupt(E, e))?,
            roles: roles
                .iter()
                .map(|x| RoleId::parse(x).map_err(|e| corrupt(E, e)))
                .collect::<StoreResult<_>>()?,
            invited_by: UserId::from_uuid(uuid(E, &r.invited_by)?),
            created_at: from_millis(E, r.created_at)?,
            expires_at: from_millis(E, r.expires_at)?,
            accepted_at: r.accepted_at.map(|t| from_millis(E, t)).transpose()?,
            user: r
                .user_id
                .as_deref()
                .map(|u| uuid(E, u).map(UserId::from_uuid))
                .transpose()?,
        })
    }
}

fn invitation_json(i: &GroupInvitation) -> serde_json::Value {
    serde_json::json!({
        "group": i.group, "email": i.email, "invited_by": i.invited_by,
        "roles": i.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "expires_at": to_millis(i.expires_at),
    })
}

#[async_trait]
impl<DB> InvitationStore for SqlStore<DB>
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
    async fn invite(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewGroupInvitation,
    ) -> StoreResult<GroupInvitation> {
        let invitation = GroupInvitation {
            id: uuid::Uuid::now_v7(),
            tenant,
            group: new.group,
            email: new.email,
            roles: new.roles,
            invited_by: new.invited_by,
            created_at: now(),
            expires_at: new.expires_at,
            accepted_at: None,
            user: None,
        };
        let roles: Vec<String> = invitation.roles.iter().map(ToString::to_string).collect();
        let mut tx = self.begin().await?;
        Self::load_group(&mut tx, tenant, invitation.group).await?;
        sqlx::query::<DB>(
            "INSERT INTO group_invitations (id, tenant_id, group_id, email, roles, token_hash, \
             invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(invitation.id.to_string())
        .bind(tenant.to_string())
        .bind(invitation.group.to_string())
        .bind(invitation.email.to_string())
        .bind(serde_json::Value::from(roles).to_string())
        .bind(new.token_hash)
        .bind(invitation.invited_by.to_string())
        .bind(to_millis(invitation.created_at))
        .bind(to_millis(invitation.expires_at))
        .execute(&mut *tx)
        .await?;
        Self::queue(&mut tx, tenant, &new.mail, None).await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "group.invitation_sent",
                entity: "group",
                entity_id: invitation.group.to_string(),
                before: None,
                after: Some(invitation_json(&invitation)),
                access: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(invitation)
    }

    async fn group_invitations(
        &self,
        tenant: TenantId,
        group: GroupId,
    ) -> StoreResult<Vec<GroupInvitation>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM group_invitations WHERE tenant_id = $1 \
             AND group_id = $2 ORDER BY created_at DESC, id LIMIT 500"
        );
        let rows = sqlx::query_as::<DB, InvitationRow>(&sql)
            .bind(tenant.to_string())
            .bind(group.to_string())
            .fetch_all(&self.read)
            .await?;
        crate::sql::convert(rows)
    }

    async fn invitation_by_token(&self, token_hash: &str) -> StoreResult<GroupInvitation> {
        let sql =
            format!("SELECT {INVITATION_COLUMNS} FROM group_invitations WHERE token_hash = $1");
        sqlx::query_as::<DB, InvitationRow>(&sql)
            .bind(token_hash.to_owned())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::not_found("invitation", "with this code"))?
            .try_into()
    }

    async fn accept_invitation(
        &self,
        actor: &Actor,
        invitation: &GroupInvitation,
        id: UserId,
        new: NewUser,
        expected: i64,
        grants: Vec<LogEntry>,
    ) -> StoreResult<User> {
        let tenant = invitation.tenant;
        let mut tx = self.begin().await?;
        let actual = Self::revision_of(&mut tx, tenant).await?;
        if actual != expected {
            return Err(StoreError::Stale { expected, actual });
        }
        let at = now();
        let used = sqlx::query::<DB>(
            "UPDATE group_invitations SET accepted_at = $1, user_id = $2 \
             WHERE tenant_id = $3 AND id = $4 AND accepted_at IS NULL AND expires_at > $1",
        )
        .bind(to_millis(at))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(invitation.id.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&used) == 0 {
            return Err(StoreError::not_found("invitation", "with this code"));
        }
        let user = Self::insert_user_as(&mut tx, actor, tenant, id, new).await?;
        for e in grants {
            Self::record(&mut tx, Entry::logged(tenant, actor, e)).await?;
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "group.invitation_accepted",
                entity: "group",
                entity_id: invitation.group.to_string(),
                before: None,
                after: Some(serde_json::json!({ "user": id, "email": invitation.email })),
                access: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}
