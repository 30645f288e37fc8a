//! `/scim/v2/Groups`: SCIM groups onto Registrar's groups, `members` onto direct memberships.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use registrar_domain::access::{Act, Authorized, OnNewPeople};
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::text::Name;
use registrar_store::{ScimGroupRecord, ScimGroupWrite, StoreError};
use serde_json::{Value, json};

use super::filter::{field, group_lookup};
use super::schema::CORE_GROUP;
use super::{
    Body, Feed, ListQuery, Params, Projection, ScimError, ScimResult, check_if_match, etag,
    list_response, patch, read_response, resource_response, timestamp,
};
use crate::error::ApiError;
use crate::state::{AppState, today};

fn render(r: &ScimGroupRecord, base: &str) -> Value {
    let g = &r.group;
    let mut v = json!({
        "schemas": [CORE_GROUP],
        "id": g.id.to_string(),
        "displayName": g.name.as_str(),
    "members": r.members.iter().map(|id| json!({
            "value": id.to_string(),
            "$ref": format!("{base}/Users/{id}"),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "created": timestamp(r.created_at),
            "lastModified": timestamp(r.updated_at),
            "location": format!("{base}/Groups/{}", g.id),
            "version": etag(r.version),
        },
    });
    if let Some(x) = &r.external_id {
        v["externalId"] = json!(x);
    }
    v
}

#[derive(Debug)]
struct Input {
    name: Name,
    external_id: Option<String>,
    members: Vec<UserId>,
}

fn parse(body: &Value) -> ScimResult<Input> {
    super::users::require_schema(body, CORE_GROUP)?;
    let name = super::users::text(field(body, "displayName"), "displayName")?
        .ok_or_else(|| ScimError::InvalidValue("displayName is required".into()))?;
    let members = match field(body, "members") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                let raw = field(m, "value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                UserId::parse(raw).map_err(|_| {
                    ScimError::InvalidValue(format!("member {raw:?} is not a user id"))
                })
            })
            .collect::<ScimResult<Vec<_>>>()?,
        Some(other) => {
            return Err(ScimError::InvalidValue(format!(
                "members must be a list, not {other}"
            )));
        }
    };
    Ok(Input {
        name: Name::parse("name", &name)?,
        external_id: super::users::text(field(body, "externalId"), "externalId")?,
        members,
    })
}

fn write_error(e: StoreError) -> ScimError {
    match e {
        StoreError::MissingReference { field, value } => {
            ScimError::InvalidValue(format!("{field} {value:?} is not a user of this tenant"))
        }
        other => other.into(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    feed: Feed,
    Params(q): Params<ListQuery>,
) -> ScimResult<Response> {
    list_by(&state, &feed, &q).await
}

pub async fn search(
    State(state): State<AppState>,
    feed: Feed,
    Body(body): Body,
) -> ScimResult<Response> {
    list_by(&state, &feed, &ListQuery::from_search(&body)?).await
}

async fn list_by(state: &AppState, feed: &Feed, q: &ListQuery) -> ScimResult<Response> {
    let parsed = q
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(super::filter::parse)
        .transpose()?;
    let records = state
        .store
        .scim_groups(feed.member.tenant, &group_lookup(parsed.as_ref()))
        .await?;
    // Lists are cut by the engine row by row: it must know what this server has not seen yet.
    state.access.sync().await?;
    let visible = records
        .iter()
        .filter(|r| state.allows(&feed.member, &Act::ViewGroup(r.group.id)))
        .map(|r| render(r, &feed.base))
        .collect();
    list_response(visible, q)
}

async fn load(
    state: &AppState,
    feed: &Feed,
    raw: &str,
    act: fn(GroupId) -> Act,
) -> ScimResult<(Authorized, ScimGroupRecord)> {
    let id =
        GroupId::parse(raw).map_err(|_| ApiError::NotFound(format!("group {raw:?} not found")))?;
    let by = state.authorize(&feed.member, act(id)).await?;
    Ok((by, state.store.scim_group(feed.member.tenant, id).await?))
}

pub async fn get(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Params(p): Params<Projection>,
) -> ScimResult<Response> {
    let (_, record) = load(&state, &feed, &id, Act::ViewGroup).await?;
    Ok(read_response(
        &headers,
        record.version,
        render(&record, &feed.base),
        &p,
    ))
}

pub async fn create(
    State(state): State<AppState>,
    feed: Feed,
    Body(body): Body,
) -> ScimResult<Response> {
    let member = &feed.member;
    let input = parse(&body)?;
    let by = state
        .authorize(member, Act::CreateGroup { parent: None })
        .await?;
    // A new group carries no grants yet, so joining it hands nobody anything; adding people
    // still needs groups.members, over people the group does not hold yet.
    if !input.members.is_empty() {
        state.access.read(member.tenant, |m| {
            m.validate_on_new_people(member.user.id, OnNewPeople::AddToGroup)
        })?;
    }
    let record = state
        .store
        .scim_write_group(
            &by.into(),
            member.tenant,
            ScimGroupWrite {
                id: None,
                name: input.name,
                external_id: input.external_id,
                members: input.members,
            },
        )
        .await
        .map_err(write_error)?;
    Ok(resource_response(
        StatusCode::CREATED,
        render(&record, &feed.base),
    ))
}

/// Writes the group `desired` describes, each change decided by the engine as in the JSON API:
/// a rename needs groups.edit, a membership change groups.members and the delegation rule.
async fn write(
    state: &AppState,
    feed: &Feed,
    current: ScimGroupRecord,
    desired: &Value,
) -> ScimResult<ScimGroupRecord> {
    let member = &feed.member;
    let id = current.group.id;
    let input = parse(desired)?;
    // Each change is decided apart; the proof of any of them is the caller's to write with.
    let mut by = None;
    if input.name != current.group.name || input.external_id != current.external_id {
        by = Some(state.authorize(member, Act::EditGroup(id)).await?);
    }
    let had: Vec<UserId> = current.members.clone();
    let added: Vec<UserId> = input
        .members
        .iter()
        .filter(|u| !had.contains(u))
        .copied()
        .collect();
    if !added.is_empty() || had.iter().any(|u| !input.members.contains(u)) {
        by = Some(state.authorize(member, Act::ManageMembers(id)).await?);
    }
    for user in added {
        state.access.read(member.tenant, |m| {
            m.validate_membership(member.user.id, user, id, today())
        })?;
    }
    let Some(by) = by else {
        // Nothing changes: nothing to write.
        return Ok(current);
    };
    state
        .store
        .scim_write_group(
            &by.into(),
            member.tenant,
            ScimGroupWrite {
                id: Some(id),
                name: input.name,
                external_id: input.external_id,
                members: input.members,
            },
        )
        .await
        .map_err(write_error)
}

pub async fn replace(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ScimResult<Response> {
    let (_, current) = load(&state, &feed, &id, Act::ViewGroup).await?;
    check_if_match(&headers, current.version)?;
    let record = write(&state, &feed, current, &body).await?;
    Ok(resource_response(
        StatusCode::OK,
        render(&record, &feed.base),
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ScimResult<Response> {
    let (_, current) = load(&state, &feed, &id, Act::ViewGroup).await?;
    check_if_match(&headers, current.version)?;
    let mut desired = render(&current, &feed.base);
    patch::apply(&mut desired, &body, patch::GROUP_SHAPE)?;
    let record = write(&state, &feed, current, &desired).await?;
    Ok(resource_response(
        StatusCode::OK,
        render(&record, &feed.base),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let (by, current) = load(&state, &feed, &id, Act::DeleteGroup).await?;
    check_if_match(&headers, current.version)?;
    state
        .store
        .scim_delete_group(&by.into(), feed.member.tenant, current.group.id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
