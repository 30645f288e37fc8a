//! Invitations to a group (seed 004: roles "given on an invitation to a group, applied when the
//! invitee signs up"). Whoever may create people and add members to the group invites an email
//! address with roles in that group; the mail carries a code, and signing up with it (no login
//! needed) creates the account with its password, the membership and the roles, once, before
//! the invitation expires. The roles are checked by the delegation rule for the inviter when
//! the invitation is made and again when it is used.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::{AccessModel, Act};
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::text::{Email, Labels, Name, Password, Username};
use registrar_domain::user::UserStatus;
use registrar_store::{GroupInvitation, NewGroupInvitation, NewMail, NewUser, StoreError};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::path_id;
use crate::auth::{hash_password, new_secret, secret_hash};
use crate::dto::{UserOut, timestamp};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member};
use crate::ops::{RoleAtIn, new_person_access};
use crate::state::{AppState, today};

/// How long an invitation is open unless the inviter says otherwise, and at most.
const DEFAULT_DAYS: u32 = 14;
const MAX_DAYS: u32 = 90;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteIn {
    pub email: String,
    /// Role codes (or ids) given in the group when the invitee signs up.
    #[serde(default)]
    pub roles: Vec<String>,
    /// 1 to 90 (default 14).
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: String,
    pub group: String,
    pub email: String,
    pub roles: Vec<String>,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// `pending`, `accepted` or `expired`.
    pub status: String,
    /// Who signed up with it.
    pub user: Option<String>,
    /// The sign-up code, in the answer to the inviter only (it is also in the mail); never
    /// shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

fn out(i: GroupInvitation, m: &AccessModel, code: Option<String>) -> InvitationOut {
    let status = match (i.accepted_at, i.expires_at <= OffsetDateTime::now_utc()) {
        (Some(_), _) => "accepted",
        (None, true) => "expired",
        (None, false) => "pending",
    };
    InvitationOut {
        id: i.id.to_string(),
        group: i.group.to_string(),
        email: i.email.to_string(),
        roles: i
            .roles
            .iter()
            .map(|r| {
                m.role(*r)
                    .map_or_else(|| r.to_string(), |r| r.code.to_string())
            })
            .collect(),
        invited_by: i.invited_by.to_string(),
        created_at: timestamp(i.created_at),
        expires_at: timestamp(i.expires_at),
        status: status.to_owned(),
        user: i.user.map(|u| u.to_string()),
        code,
    }
}

/// The roles of an invitation as they are given: each in the group.
fn in_group(roles: &[String], group: GroupId) -> Vec<RoleAtIn> {
    roles
        .iter()
        .map(|r| RoleAtIn {
            role: r.clone(),
            scope: format!("group:{group}"),
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/groups/{id}/invitations", tag = "groups", request_body = InviteIn,
    responses((status = 201, body = InvitationOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<InviteIn>,
) -> ApiResult<(StatusCode, Json<InvitationOut>)> {
    let group = path_id(GroupId::parse, &id)?;
    let email = Email::parse(&body.email)?;
    let days = body.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid(
            "expires_in_days",
            format!("must be 1 to {MAX_DAYS} days"),
        ));
    }
    let by = state.authorize(&member, Act::InviteToGroup(group)).await?;
    let roles = in_group(&body.roles, group);
    let role_ids = state.access.read(member.tenant, |m| {
        m.validate_membership_of_new(member.user.id, group)?;
        new_person_access(m, member.user.id, UserId::new(), &roles, &[group], "roles")?;
        roles
            .iter()
            .map(|r| crate::ops::role_in(m, &r.role).map(|r| r.id))
            .collect::<ApiResult<Vec<_>>>()
    })?;
    let tenant = state.store.tenant(member.tenant).await?;
    let group_name = state.store.group(member.tenant, group).await?.name;
    let code = new_secret();
    let expires_at = OffsetDateTime::now_utc() + Duration::days(i64::from(days));
    let mail = NewMail {
        recipient: email.clone(),
        subject: format!("You are invited to {group_name} at {}", tenant.name),
        body: format!(
            "{} invites you to join {group_name} at {}.\n\n\
             Your sign-up code: {code}\n\n\
             Choose your password with it (POST /api/v1/invitations/accept) before {}.\n",
            member.user.display_name,
            tenant.name,
            timestamp(expires_at),
        ),
    };
    let invitation = state
        .store
        .invite(
            &by.into(),
            member.tenant,
            NewGroupInvitation {
                group,
                email,
                roles: role_ids,
                invited_by: member.user.id,
                token_hash: secret_hash(&code),
                expires_at,
                mail,
            },
        )
        .await?;
    let made = state
        .access
        .read(member.tenant, |m| out(invitation, m, Some(code)));
    Ok((StatusCode::CREATED, Json(made)))
}

/// A group's invitations, newest first, to whoever may invite to it.
#[utoipa::path(get, path = "/api/v1/groups/{id}/invitations", tag = "groups",
    responses((status = 200, body = Vec<InvitationOut>), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<InvitationOut>>> {
    let group = path_id(GroupId::parse, &id)?;
    state.authorize(&member, Act::InviteToGroup(group)).await?;
    let all = state.store.group_invitations(member.tenant, group).await?;
    Ok(Json(state.access.read(member.tenant, |m| {
        all.into_iter().map(|i| out(i, m, None)).collect()
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptIn {
    /// The code from the invitation mail.
    pub code: String,
    /// Defaults to the invited email address.
    pub username: Option<String>,
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
}

/// Signs up with an invitation: no login needed, the code is the proof. An unknown, used or
/// expired code gets the same answer.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "users", request_body = AcceptIn,
    responses((status = 201, body = UserOut), (status = 404, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn accept(
    State(state): State<AppState>,
    Json(body): Json<AcceptIn>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let closed = || {
        ApiError::NotFound(
            "no open invitation has this code: it is unknown, used or expired".into(),
        )
    };
    let invitation = match state
        .store
        .invitation_by_token(&secret_hash(body.code.trim()))
        .await
    {
        Ok(i) if i.accepted_at.is_none() && i.expires_at > OffsetDateTime::now_utc() => i,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(closed()),
        Err(e) => return Err(e.into()),
    };
    let username = match body.username.as_deref() {
        Some(u) => Username::parse(u)?,
        None => Username::from_email(&invitation.email)?,
    };
    let new = NewUser {
        username,
        email: Some(invitation.email.clone()),
        display_name: Name::parse("display name", &body.display_name)?,
        labels: Labels::default(),
        status: UserStatus::Activated,
        expires_on: None,
        primary_group: None,
        also_joins: Vec::new(),
        superadmin: false,
        password_hash: Some(hash_password(Password::parse(&body.password)?).await?),
    };
    let (tenant, group, inviter) = (invitation.tenant, invitation.group, invitation.invited_by);
    let roles: Vec<String> = invitation.roles.iter().map(ToString::to_string).collect();
    let roles = in_group(&roles, group);
    let id = UserId::new();
    for _ in 0..5 {
        state.access.sync().await?;
        let (checked, expected) = state.access.read_at(tenant, |m| {
            // The inviter's authority, as it is now: a revoked right takes the invitation with it.
            let decision = m.decide(inviter, &Act::InviteToGroup(group), today())?;
            let by = decision.authorized().ok_or_else(|| {
                ApiError::Forbidden(format!(
                    "whoever sent this invitation may no longer invite to the group ({decision}); \
                     ask for a new one"
                ))
            })?;
            m.validate_membership_of_new(inviter, group)?;
            let access = new_person_access(m, inviter, id, &roles, &[group], "roles")?;
            Ok::<_, ApiError>((by, access))
        });
        let (by, access) = checked?;
        let mut also_joins = vec![group];
        also_joins.extend(access.also_joins);
        let new = NewUser {
            also_joins,
            ..new.clone()
        };
        match state
            .store
            .accept_invitation(&by.into(), &invitation, id, new, expected, access.grants)
            .await
        {
            Ok(user) => return Ok((StatusCode::CREATED, Json(user.into()))),
            Err(StoreError::Stale { .. }) => continue,
            Err(StoreError::NotFound {
                entity: "invitation",
                ..
            }) => return Err(closed()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict {
        field: "revision".into(),
        detail: "the tenant kept changing while the sign-up was checked; try again".into(),
    })
}
