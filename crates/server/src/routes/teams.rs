//! Named teams (seed 003): learner managers create them, fill them, rename and delete the ones
//! they made, and read everyone else's. A team is also a scope for results: its members'
//! enrollments and progress, cut by who may read each member's results.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::{Act, ObjectId, ObjectKind, ObjectRef};
use registrar_domain::team::Team;
use registrar_domain::text::Name;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::courses::{ResultOut, path_object};
use crate::dto::{PageQuery, UserPage, timestamp};
use crate::error::ApiResult;
use crate::extract::{Json, Member, Query};
use crate::state::AppState;

fn team_ref(id: ObjectId) -> ObjectRef {
    ObjectRef::new(ObjectKind::Team, id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamIn {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub id: String,
    pub name: String,
    /// Who made it (and so edits it); `null` once they are gone.
    pub created_by: Option<String>,
    pub members: u32,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Team> for TeamOut {
    fn from(t: Team) -> Self {
        TeamOut {
            id: t.id.to_string(),
            name: t.name.to_string(),
            created_by: t.created_by.map(|u| u.to_string()),
            members: t.members,
            created_at: timestamp(t.created_at),
            updated_at: timestamp(t.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamPage {
    pub items: Vec<TeamOut>,
    pub next: Option<String>,
}

/// One member's line of a team's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResultsOut {
    pub user: String,
    pub username: String,
    pub display_name: String,
    pub results: Vec<ResultOut>,
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamIn,
    responses((status = 201, body = TeamOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<TeamIn>,
) -> ApiResult<(StatusCode, Json<TeamOut>)> {
    let name = Name::parse("name", &body.name)?;
    let by = state
        .authorize(
            &member,
            Act::Create {
                kind: ObjectKind::Team,
                place: ObjectRef::tenant(member.tenant),
            },
        )
        .await?;
    let team = state
        .store
        .create_team(&by.into(), member.tenant, name, Some(member.user.id))
        .await?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

/// Teams the caller may see, by creation; `q` searches their names.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(PageQuery),
    responses((status = 200, body = TeamPage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<TeamPage>> {
    let tenant = member.tenant;
    let store = &state.store;
    let page = super::visible_page(
        page.request(),
        |request| async move { store.list_teams(tenant, &request).await },
        |t| state.allows(&member, &Act::View(t.object())),
        |t| t.id.to_string(),
    )
    .await?;
    Ok(Json(TeamPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams",
    responses((status = 200, body = TeamOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<TeamOut>> {
    let id = path_object(&id)?;
    state.authorize(&member, Act::View(team_ref(id))).await?;
    Ok(Json(state.store.team(member.tenant, id).await?.into()))
}

/// Renames a team: its creator (or whoever edits every team).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", request_body = TeamIn,
    responses((status = 200, body = TeamOut), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<TeamIn>,
) -> ApiResult<Json<TeamOut>> {
    let id = path_object(&id)?;
    let name = Name::parse("name", &body.name)?;
    let by = state.authorize(&member, Act::Edit(team_ref(id))).await?;
    let team = state
        .store
        .rename_team(&by.into(), member.tenant, id, name)
        .await?;
    Ok(Json(team.into()))
}

/// Deletes a team and its memberships; its people stay.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams",
    responses((status = 204), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_object(&id)?;
    let by = state.authorize(&member, Act::Delete(team_ref(id))).await?;
    state
        .store
        .delete_team(&by.into(), member.tenant, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's members the caller may see, by username.
#[utoipa::path(get, path = "/api/v1/teams/{id}/members", tag = "teams", params(PageQuery),
    responses((status = 200, body = UserPage), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn members(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    let id = path_object(&id)?;
    state.authorize(&member, Act::View(team_ref(id))).await?;
    let tenant = member.tenant;
    let store = &state.store;
    let page = super::visible_page(
        page.request(),
        |request| async move { store.team_members(tenant, id, &request).await },
        |u| state.sees(&member, u.id),
        |u| u.username.to_string(),
    )
    .await?;
    Ok(Json(UserPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

/// Adds a person (by id or username) to the team; 409 when they belong to it already.
#[utoipa::path(put, path = "/api/v1/teams/{id}/members/{user}", tag = "teams",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let team = path_object(&id)?;
    let person = super::person(&state, &member, &user).await?;
    let act = Act::ManageTeamMember {
        team: team_ref(team),
        person: person.id,
    };
    person.conceal(
        &member,
        async {
            let by = state.authorize(&member, act).await?;
            state
                .store
                .add_team_member(&by.into(), member.tenant, team, person.require()?.id)
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }
        .await,
    )
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user}", tag = "teams",
    responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let team = path_object(&id)?;
    let person = super::person(&state, &member, &user).await?;
    let act = Act::ManageTeamMember {
        team: team_ref(team),
        person: person.id,
    };
    person.conceal(
        &member,
        async {
            let by = state.authorize(&member, act).await?;
            state
                .store
                .remove_team_member(&by.into(), member.tenant, team, person.id)
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }
        .await,
    )
}

/// The team as a scope for a report: each member the caller may report on (`reports.run`, cut
/// by its reach), with their enrollments and progress; the others are left out.
#[utoipa::path(get, path = "/api/v1/teams/{id}/results", tag = "teams",
    responses((status = 200, body = Vec<MemberResultsOut>), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn results(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MemberResultsOut>>> {
    let id = path_object(&id)?;
    state.authorize(&member, Act::View(team_ref(id))).await?;
    let mut out = Vec::new();
    for user in state.store.all_team_members(member.tenant, id).await? {
        if !state.allows(&member, &Act::ReportOn(user)) {
            continue;
        }
        let person = state.store.user(member.tenant, user).await?;
        let results = state.store.results(member.tenant, user).await?;
        out.push(MemberResultsOut {
            user: user.to_string(),
            username: person.username.to_string(),
            display_name: person.display_name.to_string(),
            results: results.into_iter().map(Into::into).collect(),
        });
    }
    Ok(Json(out))
}
