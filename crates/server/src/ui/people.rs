//! People: the list (search, filters, pages, bulk activate and deactivate) and a person's
//! profile (details, groups, line management, roles with grant and revoke, results, learner-app
//! access). Each control is shown only where the engine allows it, and each form's handler
//! asks the engine again through the same functions as the JSON API.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use registrar_domain::access::{Act, GrantId, Principal, UserChange};
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::user::{User, UserStatus};
use serde::Deserialize;

use super::{Frame, Page, PageResult, Viewer, fail, field, fields_named};
use crate::routes::{path_id, visible_page};
use crate::state::{AppState, today};

/// Rows of the people list per page.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// `any` (default), or one effective status.
    #[serde(default)]
    status: String,
    /// A group's id: its members, directly or through a nested group.
    #[serde(default)]
    group: String,
    /// A role's code: people who hold it, however they came to.
    #[serde(default)]
    role: String,
    /// `key=value` of a label.
    #[serde(default)]
    label: String,
    /// `name` sorts by display name; by username otherwise.
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
    /// How many were just changed, and to what (after a bulk change).
    #[serde(default)]
    done: Option<usize>,
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    pub status: String,
    pub expires_on: String,
    /// Whether the viewer may change this person's status (never their own).
    pub changeable: bool,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    frame: Frame,
    q: String,
    statuses: Vec<Choice>,
    groups: Vec<Choice>,
    roles: Vec<Choice>,
    label: String,
    sorts: Vec<Choice>,
    rows: Vec<Row>,
    any_changeable: bool,
    next: Option<String>,
    /// The query string of this page without `after`, for the next page's link.
    here: String,
}

fn choices(options: Vec<(String, String)>, selected: &str) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render_list(&state, &viewer, q, None).await
}

async fn render_list(
    state: &AppState,
    viewer: &Viewer,
    q: ListQuery,
    problem: Option<String>,
) -> PageResult {
    let member = &viewer.member;
    let today = today();
    let group = (!q.group.is_empty())
        .then(|| GroupId::parse(&q.group))
        .transpose()
        .map_err(|e| fail(crate::error::ApiError::invalid("group", e.to_string())))?;
    let label = match q.label.split_once('=') {
        Some((k, v)) => Some((k.trim().to_owned(), v.trim().to_owned())),
        None if q.label.trim().is_empty() => None,
        None => Some((q.label.trim().to_owned(), String::new())),
    };
    // Who is in the group (nesting included) and who holds the role, from the engine's data.
    let (in_group, with_role) = state.access.read(member.tenant, |m| {
        let data = m.data();
        let in_group = group.map(|g| m.group_members(g));
        let with_role = (!q.role.is_empty()).then(|| {
            data.users
                .keys()
                .filter(|u| {
                    m.effective(**u)
                        .is_ok_and(|hs| hs.iter().any(|h| h.basis.role_code.as_str() == q.role))
                })
                .copied()
                .collect::<std::collections::BTreeSet<UserId>>()
        });
        (in_group, with_role)
    });
    let wanted = |u: &User| {
        state.sees(member, u.id)
            && (q.status.is_empty()
                || q.status == "any"
                || u.effective_status(today).code() == q.status)
            && in_group.as_ref().is_none_or(|s| s.contains(&u.id))
            && with_role.as_ref().is_none_or(|s| s.contains(&u.id))
            && label.as_ref().is_none_or(|(k, v)| {
                u.labels
                    .as_map()
                    .get(k)
                    .is_some_and(|x| v.is_empty() || x == v)
            })
    };
    let store = &state.store;
    let tenant = member.tenant;
    let request = registrar_store::PageRequest {
        after: (!q.after.is_empty()).then(|| q.after.clone()),
        limit: PAGE,
        search: (!q.q.trim().is_empty()).then(|| q.q.trim().to_owned()),
    };
    use registrar_domain::user::EffectiveStatus as S;
    let in_status = match q.status.as_str() {
        "activated" => Some(S::Activated),
        "active" => Some(S::Active),
        "deactivated" => Some(S::Deactivated),
        "expired" => Some(S::Expired),
        _ => None,
    };
    let query = registrar_store::PeopleQuery {
        status: in_status,
        by_name: q.sort == "name",
    };
    let page = visible_page(
        request,
        |r| async move { store.list_people(tenant, &r, &query, today).await },
        wanted,
        |u| query.cursor(u),
    )
    .await
    .map_err(fail)?;
    let rows: Vec<Row> = state.access.read(tenant, |m| {
        page.items
            .iter()
            .map(|u| Row {
                id: u.id.to_string(),
                name: u.display_name.to_string(),
                username: u.username.to_string(),
                email: u
                    .email
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                status: u.effective_status(today).code().to_owned(),
                expires_on: u.expires_on.map(|d| d.to_string()).unwrap_or_default(),
                changeable: m
                    .validate_user_change(
                        member.user.id,
                        u.id,
                        UserChange {
                            login: false,
                            status: true,
                            expiry: false,
                        },
                        today,
                    )
                    .is_ok(),
            })
            .collect()
    });
    let groups = state
        .store
        .list_groups(tenant, &registrar_store::PageRequest::first(500))
        .await
        .map_err(fail)?
        .items
        .into_iter()
        .filter(|g| state.allows(member, &Act::ViewGroup(g.id)))
        .map(|g| (g.id.to_string(), g.name.to_string()))
        .collect();
    let roles = state.access.read(tenant, |m| {
        let mut roles: Vec<(String, String)> = m
            .data()
            .roles
            .values()
            .map(|r| (r.code.to_string(), r.name.clone()))
            .collect();
        roles.sort_by(|a, b| a.1.cmp(&b.1));
        roles
    });
    let statuses = ["any", "activated", "active", "deactivated", "expired"]
        .into_iter()
        .map(|s| (s.to_owned(), s.to_owned()))
        .collect();
    let mut frame = viewer.frame(state, "People", "/people");
    frame.notice = q.done.map(|n| format!("{n} people changed."));
    frame.problem = problem;
    let here = serde_urlencoded::to_string([
        ("q", q.q.as_str()),
        ("status", q.status.as_str()),
        ("group", q.group.as_str()),
        ("role", q.role.as_str()),
        ("label", q.label.as_str()),
        ("sort", q.sort.as_str()),
    ])
    .unwrap_or_default();
    Ok(Page::render(&PeoplePage {
        frame,
        statuses: choices(
            statuses,
            if q.status.is_empty() {
                "any"
            } else {
                &q.status
            },
        ),
        groups: choices(groups, &q.group),
        roles: choices(roles, &q.role),
        label: q.label.clone(),
        sorts: choices(
            vec![
                ("username".to_owned(), "username".to_owned()),
                ("name".to_owned(), "name".to_owned()),
            ],
            if q.sort == "name" { "name" } else { "username" },
        ),
        any_changeable: rows.iter().any(|r| r.changeable),
        rows,
        next: page.next,
        here,
        q: q.q,
    }))
}

/// Activates or deactivates the checked people: the JSON API's bulk change, all or nothing.
pub async fn bulk_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    viewer.verify(&field(&fields, "csrf"))?;
    let users = fields_named(&fields, "user");
    match crate::routes::users::bulk_status(
        &state,
        &viewer.member,
        &users,
        &field(&fields, "status"),
    )
    .await
    {
        Ok(changed) => Ok(Redirect::to(&format!("/people?done={}", changed.len())).into_response()),
        Err(e) => render_list(&state, &viewer, ListQuery::default(), Some(e.to_string())).await,
    }
}

pub struct GrantRow {
    pub id: String,
    pub role: String,
    pub scope: String,
    pub revocable: bool,
}

pub struct Holding {
    pub role: String,
    pub scope: String,
    pub via: String,
}

pub struct Line {
    pub label: String,
    pub value: String,
}

pub struct ResultRow {
    pub title: String,
    pub status: String,
    pub progress: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    frame: Frame,
    id: String,
    name: String,
    details: Vec<Line>,
    groups: Vec<String>,
    managers: Vec<String>,
    managees: Vec<String>,
    grants: Vec<GrantRow>,
    holdings: Vec<Holding>,
    may_grant: bool,
    roles: Vec<Choice>,
    results: Option<Vec<ResultRow>>,
    app_access: Option<AppTab>,
    /// The edit form's values, when the viewer may change this person.
    edit: Option<EditValues>,
}

/// The learner-app tab: the API's view of their access, and what the viewer may do with it.
pub struct AppTab {
    pub on: bool,
    pub until: String,
    pub usable: bool,
    pub elearning: bool,
    pub invitation: String,
    pub manage: bool,
    pub may_invite: bool,
    /// Why the invitation cannot be sent, while the tenant has no template.
    pub no_template: Option<String>,
    pub courses: Vec<AppCourse>,
}

pub struct AppCourse {
    pub course: String,
    pub title: String,
    pub status: String,
    pub shown: bool,
}

pub struct EditValues {
    pub display_name: String,
    pub username: String,
    pub email: String,
    pub expires_on: String,
    pub status: String,
    /// Whether the viewer may change their status (never their own).
    pub status_editable: bool,
}

pub async fn profile(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(UserId::parse, &id).map_err(fail)?;
    render_profile(&state, &viewer, id, None, None).await
}

async fn render_profile(
    state: &AppState,
    viewer: &Viewer,
    id: UserId,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let member = &viewer.member;
    let tenant = member.tenant;
    state
        .authorize(member, Act::ViewUser(id))
        .await
        .map_err(fail)?;
    let user = state.store.user(tenant, id).await.map_err(fail)?;
    let today = today();
    let status = user.effective_status(today).code().to_owned();
    let mut details = vec![
        Line {
            label: "Username".into(),
            value: user.username.to_string(),
        },
        Line {
            label: "Email".into(),
            value: user
                .email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "none".into()),
        },
        Line {
            label: "Status".into(),
            value: status,
        },
        Line {
            label: "Expires".into(),
            value: user
                .expires_on
                .map_or_else(|| "never".into(), |d| d.to_string()),
        },
    ];
    for (k, v) in user.labels.as_map() {
        details.push(Line {
            label: k.to_string(),
            value: v.to_string(),
        });
    }
    let groups = state
        .store
        .user_groups(tenant, id)
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|g| state.allows(member, &Act::ViewGroup(g.id)))
        .map(|g| g.name.to_string())
        .collect();
    let mut managers = Vec::new();
    for link in state.store.managers_of(tenant, id).await.map_err(fail)? {
        if state.sees(member, link.manager) {
            let m = state.store.user(tenant, link.manager).await.map_err(fail)?;
            managers.push(format!("{} ({})", m.display_name, link.source.code()));
        }
    }
    let mut managees = Vec::new();
    for link in state.store.managees_of(tenant, id).await.map_err(fail)? {
        if state.sees(member, link.managee) {
            let m = state.store.user(tenant, link.managee).await.map_err(fail)?;
            managees.push(m.display_name.to_string());
        }
    }
    let may_roles = state.allows(member, &Act::ViewRoles);
    let (grants, holdings, roles) = state.access.read(tenant, |m| {
        if !may_roles {
            return (Vec::new(), Vec::new(), Vec::new());
        }
        let grants = m
            .data()
            .grants
            .values()
            .filter(|g| g.principal == Principal::User(id))
            .map(|g| GrantRow {
                id: g.id.to_string(),
                role: m
                    .role(g.role)
                    .map_or_else(|| g.role.to_string(), |r| r.name.clone()),
                scope: g.scope.to_string(),
                revocable: m.validate_revoke(member.user.id, g.id, today).is_ok(),
            })
            .collect();
        let mut holdings: Vec<Holding> = Vec::new();
        for h in m.effective(id).unwrap_or_default() {
            let via = match h.basis.origin {
                registrar_domain::access::Origin::Grant { .. } => "direct".to_owned(),
                registrar_domain::access::Origin::GroupGrant { group, .. } => {
                    format!("group:{group}")
                }
                registrar_domain::access::Origin::Policy { principal, .. } => {
                    format!("policy on {principal}")
                }
                registrar_domain::access::Origin::DefaultRole => "the tenant's default role".into(),
                registrar_domain::access::Origin::FeedManager => "the HR feed".into(),
            };
            let row = Holding {
                role: h.basis.role_code.to_string(),
                scope: h.basis.scope.to_string(),
                via,
            };
            if !holdings
                .iter()
                .any(|x| x.role == row.role && x.scope == row.scope && x.via == row.via)
            {
                holdings.push(row);
            }
        }
        let mut roles: Vec<(String, String)> = m
            .data()
            .roles
            .values()
            .map(|r| (r.code.to_string(), r.name.clone()))
            .collect();
        roles.sort_by(|a, b| a.1.cmp(&b.1));
        (grants, holdings, roles)
    });
    let mut named_holdings = Vec::with_capacity(holdings.len());
    for h in holdings {
        named_holdings.push(Holding {
            scope: super::names::named(state, viewer, &h.scope).await,
            via: super::names::named(state, viewer, &h.via).await,
            role: h.role,
        });
    }
    let results = if state.allows(member, &Act::ViewResults(id)) {
        let rows = state.store.results(tenant, id).await.map_err(fail)?;
        Some(
            rows.into_iter()
                .map(|r| ResultRow {
                    title: r.title.to_string(),
                    status: r.status.code().to_owned(),
                    progress: format!("{} of {} materials", r.completed, r.materials),
                })
                .collect(),
        )
    } else {
        None
    };
    let app_access = if state.allows(member, &Act::ViewAppAccess(id)) {
        let crate::extract::Json(view) = crate::routes::app::app_access(
            axum::extract::State(state.clone()),
            member.clone(),
            Path(id.to_string()),
        )
        .await
        .map_err(fail)?;
        let template = state
            .store
            .tenant_settings(tenant)
            .await
            .map_err(fail)?
            .invitation;
        let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
        Some(AppTab {
            on: view.on,
            until: view.until.clone().unwrap_or_default(),
            usable: view.usable,
            elearning: view.elearning,
            invitation: view.invitation.as_ref().map_or_else(
                || "never invited".to_owned(),
                |i| match &i.delivered_at {
                    Some(at) => format!("delivered {}", day(at)),
                    None => format!("queued {}", day(&i.queued_at)),
                },
            ),
            manage: state.allows(member, &Act::ManageAppAccess(id)),
            may_invite: state.allows(member, &Act::SendInvitation(id)),
            // The API's own refusal, shown beside the greyed button.
            no_template: template.is_none().then(|| {
                registrar_domain::lifecycle::LifecycleError::NoInvitationTemplate.to_string()
            }),
            courses: view
                .courses
                .into_iter()
                .map(|c| AppCourse {
                    course: c.course,
                    title: c.title,
                    status: c.status,
                    shown: c.show_in_app,
                })
                .collect(),
        })
    } else {
        None
    };
    let edit = state
        .allows(member, &Act::EditUser(id))
        .then(|| EditValues {
            display_name: user.display_name.to_string(),
            username: user.username.to_string(),
            email: user
                .email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            expires_on: user.expires_on.map(|d| d.to_string()).unwrap_or_default(),
            status: user.status.code().to_owned(),
            status_editable: state.access.read(tenant, |m| {
                m.validate_user_change(
                    member.user.id,
                    id,
                    UserChange {
                        login: false,
                        status: true,
                        expiry: false,
                    },
                    today,
                )
                .is_ok()
            }),
        });
    let mut frame = viewer.frame(state, user.display_name.to_string(), "/people");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&PersonPage {
        edit,
        frame,
        id: id.to_string(),
        name: user.display_name.to_string(),
        details,
        groups,
        managers,
        managees,
        grants,
        holdings: named_holdings,
        may_grant: may_roles,
        roles: choices(roles, ""),
        results,
        app_access,
    }))
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    csrf: String,
    display_name: String,
    username: String,
    email: String,
    expires_on: String,
    #[serde(default)]
    status: String,
}

/// Saves the changed fields of a person: the JSON API's `PATCH /users/{id}` itself, so the
/// login, status and expiry rules are the engine's as there.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let id = path_id(UserId::parse, &id).map_err(fail)?;
    let member = &viewer.member;
    // Asked before the record is read, so that a missing person and a hidden one get the same
    // answer here too.
    state.may_see_user(member, id).await.map_err(fail)?;
    let user = state.store.user(member.tenant, id).await.map_err(fail)?;
    let changed = |new: &str, old: &str| (new.trim() != old).then(|| new.trim().to_owned());
    let email = user
        .email
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let expires = user.expires_on.map(|d| d.to_string()).unwrap_or_default();
    let optional = |v: Option<String>| v.map(|v| (!v.is_empty()).then_some(v));
    let patch = crate::routes::users::UserPatchIn {
        username: changed(&form.username, user.username.as_str()),
        use_email_as_username: false,
        email: optional(changed(&form.email, &email)),
        display_name: changed(&form.display_name, user.display_name.as_str()),
        labels: None,
        // Active is activated with learning done: only a move to or from deactivated is one.
        status: match (form.status.as_str(), user.status == UserStatus::Deactivated) {
            ("deactivated", false) | ("activated", true) => Some(form.status.clone()),
            _ => None,
        },
        expires_on: optional(changed(&form.expires_on, &expires)),
        primary_group: None,
    };
    let login_changes = patch.username.is_some() || patch.email.is_some();
    let outcome = crate::routes::users::update(
        axum::extract::State(state.clone()),
        member.clone(),
        Path(id.to_string()),
        crate::extract::IfMatch(None),
        crate::extract::Json(patch),
    )
    .await;
    match outcome {
        Ok(_) => {
            let done = if login_changes {
                "Saved. Their login changed: tell them their new username or email."
            } else {
                "Saved."
            };
            render_profile(&state, &viewer, id, Some(done.into()), None).await
        }
        Err(e) => render_profile(&state, &viewer, id, None, Some(e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct AppForm {
    csrf: String,
    /// `access` (the switch and dates), `invite`, or `course` (one course's switch).
    part: String,
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    until: String,
    #[serde(default)]
    elearning: Option<String>,
    #[serde(default)]
    course: String,
}

/// The learner-app tab's forms, each the JSON API's handler: the switch (with its end date and
/// e-learning), sending the invitation, and whether one course shows in the app.
pub async fn app_access(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<AppForm>,
) -> PageResult {
    viewer.verify(&f.csrf)?;
    let user = path_id(UserId::parse, &id).map_err(fail)?;
    let member = viewer.member.clone();
    let at = || axum::extract::State(state.clone());
    let outcome = match f.part.as_str() {
        "access" => {
            let body = crate::routes::app::AppAccessIn {
                on: f.on.is_some(),
                until: (!f.until.trim().is_empty()).then(|| f.until.trim().to_owned()),
                elearning: f.elearning.is_some(),
            };
            crate::routes::app::set_app_access(
                at(),
                member,
                Path(id.clone()),
                crate::extract::Json(body),
            )
            .await
            .map(|out| match out.0.note {
                Some(note) => format!("Saved. {note}"),
                None if out.0.invitation_sent => "Saved; the invitation is on its way.".into(),
                None => "Saved.".into(),
            })
        }
        "invite" => crate::routes::app::invite(at(), member, Path(id.clone()))
            .await
            .map(|_| "The invitation is on its way.".to_owned()),
        "course" => {
            let body = crate::routes::courses::EnrollmentPatchIn {
                status: None,
                show_in_app: Some(f.on.is_some()),
                role: None,
            };
            crate::routes::courses::set_status(
                at(),
                member,
                Path((f.course.clone(), id.clone())),
                crate::extract::Json(body),
            )
            .await
            .map(|_| "Saved.".to_owned())
        }
        other => Err(crate::error::ApiError::invalid(
            "part",
            format!("{other:?} is no part of the learner-app tab"),
        )),
    };
    match outcome {
        Ok(done) => render_profile(&state, &viewer, user, Some(done), None).await,
        Err(e) => render_profile(&state, &viewer, user, None, Some(e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct GrantForm {
    csrf: String,
    role: String,
    scope: String,
}

/// Grants a role to the person: the JSON API's grant, under the delegation rule; a refusal is
/// shown on the profile in the engine's words.
pub async fn grant(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<GrantForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let id = path_id(UserId::parse, &id).map_err(fail)?;
    let outcome = match crate::routes::access::scope(&form.scope) {
        Ok(scope) => crate::ops::grant(
            &state.access,
            viewer.member.tenant,
            viewer.member.user.id,
            Principal::User(id),
            &form.role,
            scope,
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            render_profile(
                &state,
                &viewer,
                id,
                Some(format!("{} granted.", form.role)),
                None,
            )
            .await
        }
        Err(e) => render_profile(&state, &viewer, id, None, Some(e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    csrf: String,
    user: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(grant): Path<String>,
    Form(form): Form<RevokeForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let grant = path_id(GrantId::parse, &grant).map_err(fail)?;
    let user = path_id(UserId::parse, &form.user).map_err(fail)?;
    match crate::ops::revoke(
        &state.access,
        viewer.member.tenant,
        viewer.member.user.id,
        grant,
    )
    .await
    {
        Ok(()) => render_profile(&state, &viewer, user, Some("Grant revoked.".into()), None).await,
        Err(e) => render_profile(&state, &viewer, user, None, Some(e.to_string())).await,
    }
}
