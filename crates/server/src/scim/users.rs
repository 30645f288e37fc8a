//! `/scim/v2/Users`: SCIM users onto Registrar's users, the enterprise manager onto the manager
//! relation, `active` onto the status.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use registrar_domain::access::{Act, Authorized, OnNewPeople, UserChange};
use registrar_domain::ids::UserId;
use registrar_domain::text::{Email, Name, Username};
use registrar_domain::user::UserStatus;
use registrar_store::{LeaverPolicy, ScimUserRecord, ScimUserWrite, StoreError};
use serde_json::{Value, json};

use super::filter::{field, user_lookup};
use super::schema::{CORE_USER, ENTERPRISE_USER};
use super::{
    Body, Feed, ListQuery, Params, Projection, ScimError, ScimResult, check_if_match, etag,
    list_response, patch, read_response, resource_response, timestamp,
};
use crate::error::ApiError;
use crate::state::{AppState, today};

pub fn render(r: &ScimUserRecord, base: &str) -> Value {
    let u = &r.user;
    let mut v = json!({
        "schemas": [CORE_USER],
        "id": u.id.to_string(),
        "userName": u.username.as_str(),
        "displayName": u.display_name.as_str(),
        "active": u.effective_status(today()).may_log_in(),
        "meta": {
            "resourceType": "User",
            "created": timestamp(u.created_at),
            "lastModified": timestamp(u.updated_at),
            "location": format!("{base}/Users/{}", u.id),
            "version": etag(r.version),
        },
    });
    if let Some(x) = &r.external_id {
        v["externalId"] = json!(x);
    }
    let mut name = serde_json::Map::new();
    if let Some(g) = &r.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &r.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        v["name"] = Value::Object(name);
    }
    if let Some(e) = &u.email {
        // The addresses as the feed sent them, as long as the one kept is still the email.
        let sent = r
            .emails
            .as_deref()
            .and_then(|j| serde_json::from_str::<Vec<Value>>(j).ok())
            .filter(|sent| kept_email(sent).is_some_and(|k| k.eq_ignore_ascii_case(e.as_str())));
        v["emails"] = match sent {
            Some(sent) => Value::Array(sent),
            None => json!([{ "value": e.as_str(), "type": "work", "primary": true }]),
        };
    }
    if !r.groups.is_empty() {
        v["groups"] = r
            .groups
            .iter()
            .map(|(id, name)| {
                json!({
                    "value": id.to_string(),
                    "display": name.as_str(),
                    "$ref": format!("{base}/Groups/{id}"),
                })
            })
            .collect();
    }
    if let Some(m) = r.manager {
        v["schemas"] = json!([CORE_USER, ENTERPRISE_USER]);
        v[ENTERPRISE_USER] = json!({
            "manager": { "value": m.to_string(), "$ref": format!("{base}/Users/{m}") },
        });
    }
    v
}

/// What a SCIM user says, in domain terms.
#[derive(Debug)]
struct Input {
    username: Username,
    email: Option<Email>,
    display_name: Name,
    active: bool,
    external_id: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    /// The addresses as sent, JSON.
    emails: Option<String>,
    manager: Option<UserId>,
}

/// The address Registrar keeps of those sent: the primary one, else the first.
fn kept_email(emails: &[Value]) -> Option<&str> {
    emails
        .iter()
        .find(|e| field(e, "primary") == Some(&Value::Bool(true)))
        .or(emails.first())
        .and_then(|e| field(e, "value"))
        .and_then(Value::as_str)
}

/// A referenced resource's id: its `value`, or the last segment of its `$ref`.
pub(super) fn reference_id(v: &Value, what: &str) -> ScimResult<Option<String>> {
    if let Some(id) = text(field(v, "value"), what)? {
        return Ok(Some(id));
    }
    Ok(text(field(v, "$ref"), what)?
        .and_then(|r| r.rsplit('/').next().map(str::to_owned))
        .filter(|id| !id.is_empty()))
}

pub(super) fn text(v: Option<&Value>, what: &str) -> ScimResult<Option<String>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(ScimError::InvalidValue(format!(
            "{what} must be a string, not {other}"
        ))),
    }
}

pub(super) fn require_schema(body: &Value, schema: &str) -> ScimResult<()> {
    let listed = field(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(schema)))
        });
    if listed {
        Ok(())
    } else {
        Err(ScimError::InvalidSyntax(format!(
            "schemas must list {schema:?}"
        )))
    }
}

fn parse(body: &Value) -> ScimResult<Input> {
    require_schema(body, CORE_USER)?;
    let username = text(field(body, "userName"), "userName")?
        .ok_or_else(|| ScimError::InvalidValue("userName is required".into()))?;
    let name = field(body, "name");
    let given_name = text(name.and_then(|n| field(n, "givenName")), "name.givenName")?;
    let family_name = text(name.and_then(|n| field(n, "familyName")), "name.familyName")?;
    let emails = match field(body, "emails") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            return Err(ScimError::InvalidValue(format!(
                "emails must be a list, not {other}"
            )));
        }
    };
    // Registrar keeps one email; the others are kept as sent, for the feed.
    let mut sent = Vec::with_capacity(emails.len());
    for e in &emails {
        let mut kept = serde_json::Map::new();
        for key in ["value", "type", "primary", "display"] {
            match field(e, key) {
                None | Some(Value::Null) => {}
                Some(v @ Value::String(_)) if key != "primary" => {
                    kept.insert(key.into(), v.clone());
                }
                Some(v @ Value::Bool(_)) if key == "primary" => {
                    kept.insert(key.into(), v.clone());
                }
                Some(other) => {
                    return Err(ScimError::InvalidValue(format!(
                        "emails.{key} cannot be {other}"
                    )));
                }
            }
        }
        sent.push(Value::Object(kept));
    }
    let email = kept_email(&sent).map(Email::parse).transpose()?;
    let emails = (!sent.is_empty()).then(|| Value::Array(sent).to_string());
    let display = text(field(body, "displayName"), "displayName")?
        .or_else(|| {
            text(name.and_then(|n| field(n, "formatted")), "")
                .ok()
                .flatten()
        })
        .or_else(|| {
            let joined = [given_name.as_deref(), family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        })
        .unwrap_or_else(|| username.clone());
    // Some identity providers send booleans as strings ("False").
    let active = match field(body, "active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(ScimError::InvalidValue(format!(
                "active must be true or false, not {other}"
            )));
        }
    };
    let manager = match field(body, ENTERPRISE_USER).and_then(|e| field(e, "manager")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(m @ Value::Object(_)) => reference_id(m, "manager")?,
        Some(other) => {
            return Err(ScimError::InvalidValue(format!(
                "manager must be an object with a value, not {other}"
            )));
        }
    }
    .filter(|m| !m.trim().is_empty())
    .map(|m| {
        UserId::parse(m.trim())
            .map_err(|_| ScimError::InvalidValue(format!("manager {m:?} is not a user id")))
    })
    .transpose()?;
    Ok(Input {
        username: Username::parse(&username)?,
        email,
        display_name: Name::parse("display name", &display)?,
        active,
        external_id: text(field(body, "externalId"), "externalId")?,
        given_name,
        family_name,
        emails,
        manager,
    })
}

/// Conflicts on the login fields are SCIM's `uniqueness`; a missing manager is a bad value.
fn write_error(e: StoreError) -> ScimError {
    match e {
        StoreError::Conflict { field, value } => ScimError::Uniqueness(format!(
            "{} {value:?} is already taken",
            if field == "username" {
                "userName"
            } else {
                field
            }
        )),
        StoreError::MissingReference { field, value } => {
            ScimError::InvalidValue(format!("{field} {value:?} does not exist"))
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
    let tenant = feed.member.tenant;
    let parsed = q
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(super::filter::parse)
        .transpose()?;
    let records = match user_lookup(parsed.as_ref()) {
        // A value that cannot be a username or email matches nobody.
        None => vec![],
        Some(l) => state.store.scim_users(tenant, &l).await?,
    };
    // Lists are cut by the engine row by row: it must know what this server has not seen yet.
    state.access.sync().await?;
    let visible = records
        .iter()
        .filter(|r| state.allows(&feed.member, &Act::ViewUser(r.user.id)))
        .map(|r| render(r, &feed.base))
        .collect();
    list_response(visible, q)
}

async fn load(
    state: &AppState,
    feed: &Feed,
    raw: &str,
    act: fn(UserId) -> Act,
) -> ScimResult<(Authorized, ScimUserRecord)> {
    let id =
        UserId::parse(raw).map_err(|_| ApiError::NotFound(format!("user {raw:?} not found")))?;
    let by = state.authorize(&feed.member, act(id)).await?;
    Ok((by, state.store.scim_user(feed.member.tenant, id).await?))
}

pub async fn get(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Params(p): Params<Projection>,
) -> ScimResult<Response> {
    let (_, record) = load(&state, &feed, &id, Act::ViewUser).await?;
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
    let by = state.authorize(member, Act::CreateUser).await?;
    // The engine's rule for line management (only active accounts are managed) holds for a
    // person the feed creates too.
    if !input.active && input.manager.is_some() {
        return Err(ScimError::InvalidValue(
            "a deactivated person cannot be given a manager: send the manager once they are active"
                .into(),
        ));
    }
    if input.manager.is_some() {
        state.access.read(member.tenant, |m| {
            m.validate_on_new_people(member.user.id, OnNewPeople::SetManager)
        })?;
    }
    // In a group-roles tenant everyone holds a role: a person the feed creates joins the default
    // group until the feed puts them in groups of their own.
    let also_joins = state
        .access
        .read(member.tenant, |m| m.default_group_for_new(&[], &[]))
        .into_iter()
        .collect();
    let write = ScimUserWrite {
        id: None,
        username: input.username,
        email: input.email,
        display_name: input.display_name,
        status: if input.active {
            UserStatus::Activated
        } else {
            UserStatus::Deactivated
        },
        external_id: input.external_id,
        given_name: input.given_name,
        family_name: input.family_name,
        emails: input.emails,
        manager: input.manager,
        extra: vec![],
        expected: None,
        suspend_enrollments: false,
        version: None,
        also_joins,
    };
    let record = state
        .store
        .scim_write_user(&by.into(), member.tenant, write)
        .await
        .map_err(write_error)?;
    Ok(resource_response(
        StatusCode::CREATED,
        render(&record, &feed.base),
    ))
}

/// Writes the user `desired` describes in place of `current`, after the same engine checks as
/// the JSON API, and applies the leaver policy when this deactivates them.
/// `version`: the one `current` was read at, which the user must still be at when the write
/// commits.
async fn write(
    state: &AppState,
    feed: &Feed,
    by: Authorized,
    current: ScimUserRecord,
    desired: &Value,
    version: Option<i64>,
) -> ScimResult<ScimUserRecord> {
    let member = &feed.member;
    let tenant = member.tenant;
    let id = current.user.id;
    let input = parse(desired)?;
    let u = &current.user;
    // `active` as shown follows the expiry date too, so only a value that differs from what the
    // feed was shown is a status change: re-sending an expired person as inactive changes nothing.
    let shown = u.effective_status(today()).may_log_in();
    let status = match (input.active, u.status) {
        (active, kept) if active == shown => kept,
        (false, _) => UserStatus::Deactivated,
        (true, UserStatus::Deactivated) => UserStatus::Activated,
        (true, kept) => kept,
    };
    let change = UserChange {
        login: input.username != u.username || input.email != u.email,
        status: status != u.status,
        expiry: false,
    };
    state.access.read(tenant, |m| {
        m.validate_user_change(member.user.id, id, change, today())
    })?;
    if input.manager != current.manager {
        state.authorize(member, Act::SetManager(id)).await?;
        if let Some(manager) = input.manager {
            state
                .access
                .read(tenant, |m| m.validate_manager(manager, id, today()))
                .map_err(|e| match e {
                    registrar_domain::access::AccessError::UnknownUser(_) => {
                        ScimError::InvalidValue(format!("manager {manager} does not exist"))
                    }
                    other => other.into(),
                })?;
        }
    }
    let leaving = status == UserStatus::Deactivated && u.status != UserStatus::Deactivated;
    let policy = if leaving {
        state.store.leaver_policy(tenant).await?
    } else {
        LeaverPolicy::Keep
    };
    // Grant removals are valid only at the revision they were computed at; retry if the tenant
    // moved meanwhile.
    for _ in 0..3 {
        let (extra, expected) = if policy == LeaverPolicy::RemoveGrants {
            state.access.sync().await?;
            let (extra, seen) = state.access.read_at(tenant, |m| {
                super::leaver::grant_removals(m, member.user.id, id)
            });
            (extra?, Some(seen))
        } else {
            (vec![], None)
        };
        let w = ScimUserWrite {
            id: Some(id),
            username: input.username.clone(),
            email: input.email.clone(),
            display_name: input.display_name.clone(),
            status,
            external_id: input.external_id.clone(),
            given_name: input.given_name.clone(),
            family_name: input.family_name.clone(),
            emails: input.emails.clone(),
            manager: input.manager,
            extra,
            expected,
            suspend_enrollments: policy == LeaverPolicy::SuspendEnrollments,
            version,
            also_joins: Vec::new(),
        };
        match state.store.scim_write_user(&by.into(), tenant, w).await {
            Err(StoreError::Stale { .. }) => continue,
            other => return other.map_err(write_error),
        }
    }
    Err(ApiError::Conflict {
        field: "revision".into(),
        detail: "the tenant kept changing while the leaver policy was applied; try again".into(),
    }
    .into())
}

/// Writes what `desired` makes of the user as stored, guarded by the version it was read at: a
/// write that got in between (another PATCH of other attributes, say) is never overwritten. With
/// `If-Match` that is a 412; without, the change is made again from a fresh read.
async fn write_fresh(
    state: &AppState,
    feed: &Feed,
    id: &str,
    act: fn(UserId) -> Act,
    headers: &HeaderMap,
    desired: impl Fn(&ScimUserRecord) -> ScimResult<Value>,
) -> ScimResult<(Authorized, ScimUserRecord)> {
    for _ in 0..5 {
        let (by, current) = load(state, feed, id, act).await?;
        let condition = check_if_match(headers, current.version)?;
        let read_at = current.version;
        let want = desired(&current)?;
        match write(state, feed, by, current, &want, Some(read_at)).await {
            Err(ScimError::Api(ApiError::PreconditionFailed(_))) if condition.is_none() => continue,
            other => return other.map(|record| (by, record)),
        }
    }
    Err(ApiError::Conflict {
        field: "revision".into(),
        detail: "the person kept changing while this change was made; try again".into(),
    }
    .into())
}

pub async fn replace(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> ScimResult<Response> {
    let (_, record) = write_fresh(&state, &feed, &id, Act::EditUser, &headers, |_| {
        Ok(body.clone())
    })
    .await?;
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
    let (_, record) = write_fresh(&state, &feed, &id, Act::EditUser, &headers, |current| {
        let mut desired = render(current, &feed.base);
        patch::apply(&mut desired, &body, patch::USER_SHAPE)?;
        Ok(desired)
    })
    .await?;
    Ok(resource_response(
        StatusCode::OK,
        render(&record, &feed.base),
    ))
}

/// Deletes the person for the feed: they are deactivated (leaver policy applied) with their data
/// kept, as SPEC 3.1 wants of a leaver, and the feed no longer finds them.
pub async fn delete(
    State(state): State<AppState>,
    feed: Feed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let (by, record) = write_fresh(&state, &feed, &id, Act::DeleteUser, &headers, |current| {
        let mut desired = render(current, &feed.base);
        desired["active"] = json!(false);
        Ok(desired)
    })
    .await?;
    let uid = record.user.id;
    state
        .store
        .scim_delete_user(&by.into(), feed.member.tenant, uid)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
