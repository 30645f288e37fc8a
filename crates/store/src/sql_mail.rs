//! [`MailStore`] on the same generic SQL store: learner-app access, invitations, the outbox.

use async_trait::async_trait;
use registrar_domain::ids::{TenantId, UserId};
use registrar_domain::lifecycle::{AppAccess, InvitationTemplate};
use registrar_domain::text::Name;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use crate::backend::Backend;
use crate::rows::{corrupt, date_text, from_millis, parse_date, to_millis};
use crate::sql::{Entry, SqlStore, now};
use crate::{
    Actor, AppAccessGrant, Invitation, InvitationState, LegalRepresentative, MailStore, NewMail,
    OutgoingMail, StoreError, StoreResult, TenantSettings,
};

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
    /// Queues `mail`; an invitation names the person it is for.
    pub(crate) async fn queue(
        tx: &mut DB::Connection,
        tenant: TenantId,
        mail: &NewMail,
        invitee: Option<UserId>,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO outbox (id, tenant_id, recipient, subject, body, created_at, user_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant.to_string())
        .bind(mail.recipient.to_string())
        .bind(mail.subject.clone())
        .bind(mail.body.clone())
        .bind(to_millis(now()))
        .bind(invitee.map(|u| u.to_string()))
        .execute(tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl<DB> MailStore for SqlStore<DB>
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
    async fn app_access(&self, tenant: TenantId, user: UserId) -> StoreResult<Option<AppAccess>> {
        let row: Option<(Option<String>, bool)> = sqlx::query_as::<DB, (Option<String>, bool)>(
            "SELECT until, elearning FROM app_access WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|(until, elearning)| {
            Ok(AppAccess {
                until: until
                    .as_deref()
                    .map(|d| parse_date("app access", d))
                    .transpose()?,
                elearning,
            })
        })
        .transpose()
    }

    async fn legal_representative(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Option<LegalRepresentative>> {
        let row: Option<(String, Option<String>)> = sqlx::query_as::<DB, (String, Option<String>)>(
            "SELECT name, address FROM legal_representatives WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&self.read)
        .await?;
        let text = |field, v: &str| Name::parse(field, v).map_err(|e| corrupt("tenant", e));
        row.map(|(name, address)| {
            Ok(LegalRepresentative {
                name: text("name", &name)?,
                address: address.as_deref().map(|a| text("address", a)).transpose()?,
            })
        })
        .transpose()
    }

    async fn set_legal_representative(
        &self,
        actor: &Actor,
        tenant: TenantId,
        representative: Option<LegalRepresentative>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        sqlx::query::<DB>("DELETE FROM legal_representatives WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        if let Some(r) = &representative {
            sqlx::query::<DB>(
                "INSERT INTO legal_representatives (tenant_id, name, address) VALUES ($1, $2, $3)",
            )
            .bind(tenant.to_string())
            .bind(r.name.to_string())
            .bind(r.address.as_ref().map(ToString::to_string))
            .execute(&mut *tx)
            .await?;
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "tenant.legal_representative_set",
                entity: "tenant",
                entity_id: tenant.to_string(),
                before: None,
                after: serde_json::to_value(&representative).ok(),
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn last_invitation(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<InvitationState>> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as::<DB, (i64, Option<i64>)>(
            "SELECT created_at, sent_at FROM outbox WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|(queued, sent)| {
            Ok(InvitationState {
                queued_at: from_millis("outbox", queued)?,
                delivered_at: sent.map(|t| from_millis("outbox", t)).transpose()?,
            })
        })
        .transpose()
    }

    async fn enable_app_access(
        &self,
        actor: &Actor,
        tenant: TenantId,
        grants: Vec<AppAccessGrant>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for grant in grants {
            let user = grant.user;
            Self::load_user(&mut tx, tenant, user).await?;
            sqlx::query::<DB>(
                "INSERT INTO app_access (tenant_id, user_id, until, elearning) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE \
                 SET until = excluded.until, elearning = excluded.elearning",
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(grant.access.until.map(date_text))
            .bind(grant.access.elearning)
            .execute(&mut *tx)
            .await?;
            let invited = grant
                .invitation
                .as_ref()
                .map(|i| i.mail.recipient.to_string());
            if let Some(invitation) = grant.invitation {
                Self::new_login(&mut tx, tenant, user, invitation.password_hash).await?;
                Self::queue(&mut tx, tenant, &invitation.mail, Some(user)).await?;
            }
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "user.app_access_on",
                    entity: "user",
                    entity_id: user.to_string(),
                    before: None,
                    after: Some(serde_json::json!({
                        "until": grant.access.until.map(date_text), "invitation_to": invited,
                        "elearning": grant.access.elearning,
                    })),
                    access: vec![],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn disable_app_access(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        Self::load_user(&mut tx, tenant, user).await?;
        let done =
            sqlx::query::<DB>("DELETE FROM app_access WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
        let changed = DB::rows_affected(&done) > 0;
        if changed {
            Self::record(
                &mut tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "user.app_access_off",
                    entity: "user",
                    entity_id: user.to_string(),
                    before: None,
                    after: None,
                    access: vec![],
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn send_invitation(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        invitation: Invitation,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_user(&mut tx, tenant, user).await?;
        Self::new_login(&mut tx, tenant, user, invitation.password_hash).await?;
        Self::queue(&mut tx, tenant, &invitation.mail, Some(user)).await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "user.invited",
                entity: "user",
                entity_id: user.to_string(),
                before: None,
                // The mail carries a password: the audit log names only where it went.
                after: Some(serde_json::json!({ "to": invitation.mail.recipient.to_string() })),
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tenant_settings(&self, tenant: TenantId) -> StoreResult<TenantSettings> {
        type Row = (Option<String>, Option<String>, bool, Option<i64>);
        let row: Option<Row> = sqlx::query_as::<DB, Row>(
            "SELECT invitation_subject, invitation_body, invite_on_app_access, \
                 default_access_days FROM tenant_settings WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some((subject, body, invite_on_app_access, days)) = row else {
            return Ok(TenantSettings::default());
        };
        let invitation = match (subject, body) {
            (Some(s), Some(b)) => {
                Some(
                    InvitationTemplate::parse(&s, &b).map_err(|e| StoreError::Corrupt {
                        entity: "tenant settings",
                        detail: e.to_string(),
                    })?,
                )
            }
            _ => None,
        };
        Ok(TenantSettings {
            invitation,
            invite_on_app_access,
            default_access_days: days
                .map(|d| u32::try_from(d).map_err(|e| crate::rows::corrupt("tenant settings", e)))
                .transpose()?,
        })
    }

    async fn set_tenant_settings(
        &self,
        actor: &Actor,
        tenant: TenantId,
        settings: TenantSettings,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        let (subject, body) = match &settings.invitation {
            Some(t) => (Some(t.subject.clone()), Some(t.body.clone())),
            None => (None, None),
        };
        sqlx::query::<DB>(
            "INSERT INTO tenant_settings (tenant_id, invitation_subject, invitation_body, \
             invite_on_app_access, default_access_days) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id) DO UPDATE SET \
             invitation_subject = excluded.invitation_subject, \
             invitation_body = excluded.invitation_body, \
             invite_on_app_access = excluded.invite_on_app_access, \
             default_access_days = excluded.default_access_days",
        )
        .bind(tenant.to_string())
        .bind(subject.clone())
        .bind(body.clone())
        .bind(settings.invite_on_app_access)
        .bind(settings.default_access_days.map(i64::from))
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "tenant.settings_updated",
                entity: "tenant",
                entity_id: tenant.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "invitation_subject": subject, "invitation_body": body,
                    "invite_on_app_access": settings.invite_on_app_access,
                    "default_access_days": settings.default_access_days,
                })),
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn pending_mail(&self, limit: u32) -> StoreResult<Vec<OutgoingMail>> {
        let rows: Vec<(String, String, String, String, String)> =
            sqlx::query_as::<DB, (String, String, String, String, String)>(
                "SELECT id, tenant_id, recipient, subject, body FROM outbox \
                 WHERE sent_at IS NULL ORDER BY created_at, id LIMIT $1",
            )
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|(id, tenant, recipient, subject, body)| {
                Ok(OutgoingMail {
                    id,
                    tenant: TenantId::parse(&tenant)?,
                    recipient,
                    subject,
                    body,
                })
            })
            .collect()
    }

    async fn mark_mail_sent(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query::<DB>("UPDATE outbox SET sent_at = $1, body = '' WHERE id = $2")
            .bind(to_millis(now()))
            .bind(id.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
