//! Roles: the list with each role's risk flags, and a role's permission matrix (permission by
//! reach) with the flags of every permission. The matrix is an editor for whoever edits roles:
//! the JSON API's role edit, so an edit that would give more than the editor holds is refused
//! with the engine's reason.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use registrar_domain::access::{Act, Capability, Permission, Reach, RiskFlag};

use super::{Frame, Page, PageResult, Viewer, fail};
use crate::routes::access::{RolePatchIn, edit_role};
use crate::state::AppState;

pub struct RoleRow {
    pub code: String,
    pub name: String,
    pub scopes: String,
    pub level: bool,
    pub flags: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    frame: Frame,
    roles: Vec<RoleRow>,
}

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
    Ok(Page::render(&RolesPage {
        frame: viewer.frame(&state, "Roles", "/roles"),
        roles,
    }))
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
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    viewer.verify(csrf)?;
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
