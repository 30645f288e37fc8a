//! Roles: the list with each role's risk flags, and a role's permission matrix (permission by
//! reach) with the flags of every permission. The matrix is an editor for whoever edits roles:
//! the JSON API's role edit, so an edit that would give more than the editor holds is refused
//! with the engine's reason.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use registrar_domain::access::{Act, Capability, Permission, Reach, RiskFlag, ScopeKind};

use super::names::named;
use crate::extract::Json;

use super::{Frame, Page, PageResult, Viewer, fail, field};
use crate::routes::access::{RolePatchIn, edit_role};
use crate::state::AppState;

pub struct RoleRow {
    pub code: String,
    pub name: String,
    pub scopes: String,
    pub level: bool,
    pub flags: Vec<&'static str>,
}

pub struct PolicyRow {
    pub id: String,
    pub name: String,
    pub items: Vec<String>,
    /// (principal, its name).
    pub attached: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    frame: Frame,
    roles: Vec<RoleRow>,
    may_edit: bool,
    scopes: Vec<&'static str>,
    policies: Vec<PolicyRow>,
    may_attach: bool,
    /// Groups to attach a policy to: (`group:<id>`, name).
    groups: Vec<(String, String)>,
    /// (code, name) of every role, for a new policy's items.
    role_choices: Vec<(String, String)>,
}

/// Where a role may be given, in the order the form offers them.
const SCOPES: [ScopeKind; 8] = [
    ScopeKind::Platform,
    ScopeKind::PublicGroups,
    ScopeKind::Group,
    ScopeKind::Course,
    ScopeKind::Event,
    ScopeKind::Session,
    ScopeKind::Channel,
    ScopeKind::User,
];

fn flags_of(caps: impl Iterator<Item = Permission>) -> Vec<&'static str> {
    let mut flags: Vec<&'static str> = Vec::new();
    for p in caps {
        for f in RiskFlag::all_of(p.risk()) {
            if !flags.contains(&f.code()) {
                flags.push(f.code());
            }
        }
    }
    flags.sort_unstable();
    flags
}

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    render_list(&state, &viewer, None, None).await
}

async fn render_list(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    state
        .authorize(&viewer.member, Act::ViewRoles)
        .await
        .map_err(fail)?;
    let mut roles: Vec<RoleRow> = state.access.read(viewer.member.tenant, |m| {
        m.data()
            .roles
            .values()
            .map(|r| RoleRow {
                code: r.code.to_string(),
                name: r.name.clone(),
                scopes: r
                    .scopes
                    .iter()
                    .map(|s| s.code())
                    .collect::<Vec<_>>()
                    .join(", "),
                level: r.level,
                flags: flags_of(r.capabilities.iter().map(|c| c.permission)),
            })
            .collect()
    });
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let member = &viewer.member;
    let raw: Vec<(String, String, Vec<String>, Vec<String>)> =
        state.access.read(member.tenant, |m| {
            let d = m.data();
            d.policies
                .values()
                .map(|p| {
                    let items = p
                        .items
                        .iter()
                        .map(|i| {
                            let role = m
                                .role(i.role)
                                .map_or_else(|| i.role.to_string(), |r| r.name.clone());
                            format!("{role} at {}", i.scope)
                        })
                        .collect();
                    let attached = d
                        .attachments
                        .iter()
                        .filter(|(id, _)| *id == p.id)
                        .map(|(_, who)| who.to_string())
                        .collect();
                    (p.id.to_string(), p.name.clone(), items, attached)
                })
                .collect()
        });
    let mut policies = Vec::with_capacity(raw.len());
    for (id, name, items, attached) in raw {
        let mut named_items = Vec::with_capacity(items.len());
        for i in items {
            named_items.push(named(state, viewer, &i).await);
        }
        let mut named_attached = Vec::with_capacity(attached.len());
        for a in attached {
            let n = named(state, viewer, &a).await;
            named_attached.push((a, n));
        }
        policies.push(PolicyRow {
            id,
            name,
            items: named_items,
            attached: named_attached,
        });
    }
    let may_attach = state.allows(member, &Act::EditPolicies);
    let groups = if may_attach {
        state
            .store
            .list_groups(member.tenant, &registrar_store::PageRequest::first(500))
            .await
            .map_err(fail)?
            .items
            .into_iter()
            .filter(|g| state.allows(member, &Act::ViewGroup(g.id)))
            .map(|g| (format!("group:{}", g.id), g.name.to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let mut frame = viewer.frame(state, "Roles", "/roles");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&RolesPage {
        frame,
        may_edit: state.allows(member, &Act::EditRoles),
        scopes: SCOPES.iter().map(|s| s.code()).collect(),
        role_choices: roles
            .iter()
            .map(|r| (r.code.clone(), r.name.clone()))
            .collect(),
        roles,
        policies,
        may_attach,
        groups,
    }))
}

/// Creates a role from scratch (no permission yet: the matrix fills it), copies one, or
/// attaches or detaches a policy: the JSON API's handlers.
pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let one = |name: &str| field(&fields, name).trim().to_owned();
    viewer.verify(&one("csrf"))?;
    let member = viewer.member.clone();
    let at = || axum::extract::State(state.clone());
    let (code, name) = (one("code"), one("name"));
    match one("part").as_str() {
        "create" => {
            let mut scopes = std::collections::BTreeSet::new();
            for (k, v) in &fields {
                if k == "scope" {
                    match SCOPES.iter().find(|s| s.code() == v) {
                        Some(s) => {
                            scopes.insert(*s);
                        }
                        None => {
                            let why = format!("{v:?} is no scope a role is given at");
                            return render_list(&state, &viewer, None, Some(why)).await;
                        }
                    }
                }
            }
            let body = crate::routes::access::RoleIn {
                code: code.clone(),
                name,
                level: one("level") == "on",
                capabilities: std::collections::BTreeSet::new(),
                scopes,
                constraints: Default::default(),
                assigns: false,
                makes_team: false,
            };
            match crate::routes::access::create_role(at(), member, Json(body)).await {
                Ok((_, Json(r))) => Ok(Redirect::to(&format!("/roles/{}", r.code)).into_response()),
                Err(e) => render_list(&state, &viewer, None, Some(e.to_string())).await,
            }
        }
        "copy" => {
            let from = one("from");
            let body = crate::routes::access::CopyRoleIn { code, name };
            match crate::routes::access::copy_role(at(), member, Path(from.clone()), Json(body))
                .await
            {
                Ok((_, Json(r))) => Ok(Redirect::to(&format!("/roles/{}", r.code)).into_response()),
                Err(e) => render(&state, &viewer, &from, None, Some(e.to_string())).await,
            }
        }
        "policy" => {
            // Up to three (role, scope) rows; empty rows are left out.
            let roles = crate::ui::fields_named(&fields, "item_role");
            let scopes = crate::ui::fields_named(&fields, "item_scope");
            let items = roles
                .into_iter()
                .zip(scopes)
                .filter(|(r, _)| !r.is_empty())
                .map(|(role, scope)| crate::routes::access::PolicyItemIn {
                    role,
                    scope: scope.trim().to_owned(),
                })
                .collect();
            let body = crate::routes::access::PolicyIn { name, items };
            match crate::routes::access::create_policy(at(), member, Json(body)).await {
                Ok(_) => render_list(&state, &viewer, Some("Policy created.".into()), None).await,
                Err(e) => render_list(&state, &viewer, None, Some(e.to_string())).await,
            }
        }
        "attach" | "detach" => {
            let (policy, principal) = (one("policy"), one("principal"));
            let done = if one("part") == "attach" {
                let body = crate::routes::access::AttachmentIn { principal };
                crate::routes::access::attach_policy(at(), member, Path(policy), Json(body))
                    .await
                    .map(|_| "Policy attached.")
            } else {
                crate::routes::access::detach_policy(at(), member, Path((policy, principal)))
                    .await
                    .map(|_| "Policy detached.")
            };
            match done {
                Ok(done) => render_list(&state, &viewer, Some(done.into()), None).await,
                Err(e) => render_list(&state, &viewer, None, Some(e.to_string())).await,
            }
        }
        other => {
            let why = format!("{other:?} is no part of the roles page");
            render_list(&state, &viewer, None, Some(why)).await
        }
    }
}

pub struct Cell {
    /// `permission:reach`, the checkbox's value.
    pub value: String,
    pub held: bool,
}

pub struct MatrixRow {
    pub permission: &'static str,
    pub about: &'static str,
    pub flags: Vec<&'static str>,
    pub cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "role.html")]
struct RolePage {
    frame: Frame,
    code: String,
    reaches: Vec<&'static str>,
    rows: Vec<MatrixRow>,
    editable: bool,
    may_copy: bool,
}

pub async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> PageResult {
    render(&state, &viewer, &code, None, None).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let member = &viewer.member;
    state
        .authorize(member, Act::ViewRoles)
        .await
        .map_err(fail)?;
    let role = state
        .access
        .read(member.tenant, |m| crate::ops::role_in(m, code))
        .map_err(fail)?;
    let rows = Permission::ALL
        .iter()
        .map(|p| MatrixRow {
            permission: p.code(),
            about: p.describe(),
            flags: flags_of(std::iter::once(*p)),
            cells: Reach::ALL
                .iter()
                .map(|r| Cell {
                    value: format!("{}:{}", p.code(), r.code()),
                    held: role.capabilities.contains(&Capability::new(*p, *r)),
                })
                .collect(),
        })
        .collect();
    let mut frame = viewer.frame(state, format!("{} ({})", role.name, role.code), "/roles");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&RolePage {
        may_copy: state.allows(member, &Act::EditRoles),
        frame,
        code: role.code.to_string(),
        reaches: Reach::ALL.iter().map(|r| r.code()).collect(),
        rows,
        editable: state.allows(member, &Act::EditRoles) && !role.owner,
    }))
}

/// Saves the matrix: the role's capabilities become the checked cells.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    viewer.verify(&field(&fields, "csrf"))?;
    let mut capabilities = std::collections::BTreeSet::new();
    for (k, v) in &fields {
        if k != "cap" {
            continue;
        }
        let parsed = v.split_once(':').and_then(|(p, r)| {
            Some(Capability::new(
                Permission::parse(p).ok()?,
                Reach::parse(r).ok()?,
            ))
        });
        match parsed {
            Some(c) => {
                capabilities.insert(c);
            }
            None => {
                let why = format!("{v:?} is no permission:reach of the catalog");
                return render(&state, &viewer, &code, None, Some(why)).await;
            }
        }
    }
    let patch = RolePatchIn {
        name: None,
        capabilities: Some(capabilities),
        scopes: None,
        constraints: None,
    };
    match edit_role(&state, &viewer.member, &code, patch).await {
        Ok(_) => render(&state, &viewer, &code, Some("Role saved.".into()), None).await,
        Err(e) => render(&state, &viewer, &code, None, Some(e.to_string())).await,
    }
}
