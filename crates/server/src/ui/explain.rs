//! Explain access: pick a person, an action and an object (by name, with suggestions), and see
//! the engine's decision: the chain that allowed it, or the vetoes, the closest grants and the
//! missing link, with people and objects named. The question is `/check`'s, asked the same
//! way (`routes::access::decision`), so the page may ask only what the viewer may ask there.

use askama::Template;
use axum::extract::{Query, State};
use registrar_domain::access::{Explanation, ObjectKind, ObjectRef, Permission, Via};
use serde::Deserialize;

use super::names::{catalogue_name, named};
use super::{Frame, Page, PageResult, Viewer, fail};
use crate::routes::access::{CheckItemIn, decision};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ExplainQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
}

pub struct Pick {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Answer {
    pub allowed: bool,
    pub summary: String,
    /// The chain (allowed) or the closest grants and what each misses (denied).
    pub lines: Vec<String>,
    /// Denied: the missing link in one sentence.
    pub missing: Option<String>,
}

#[derive(Template)]
#[template(path = "explain.html")]
struct ExplainPage {
    frame: Frame,
    user: String,
    object: String,
    actions: Vec<Pick>,
    people: Vec<Pick>,
    objects: Vec<Pick>,
    answer: Option<Answer>,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ExplainQuery>,
) -> PageResult {
    let mut frame = viewer.frame(&state, "Explain access", "/explain");
    let answer = if q.user.trim().is_empty() || q.object.trim().is_empty() {
        None
    } else {
        let item = CheckItemIn {
            user: q.user.trim().to_owned(),
            action: q.action.clone(),
            resource: q.object.trim().to_owned(),
        };
        match decision(&state, &viewer.member, &item).await {
            Ok(d) => Some(answer(&state, &viewer, d.explanation()).await),
            Err(e) => {
                frame.problem = Some(e.to_string());
                None
            }
        }
    };
    let actions = Permission::ALL
        .iter()
        .map(|p| Pick {
            value: p.code().to_owned(),
            label: format!("{} — {}", p.code(), p.describe()),
            selected: p.code() == q.action,
        })
        .collect();
    let (people, objects) = suggestions(&state, &viewer, "").await.map_err(fail)?;
    Ok(Page::render(&ExplainPage {
        frame,
        user: q.user,
        object: q.object,
        actions,
        people,
        objects,
        answer,
    }))
}

async fn answer(state: &AppState, viewer: &Viewer, e: &Explanation) -> Answer {
    let summary = named(state, viewer, &e.to_string()).await;
    match e {
        Explanation::Allowed(a) => {
            let mut lines = Vec::new();
            match &a.via {
                Via::Superadmin => lines.push("a superadmin holds every permission".to_owned()),
                Via::Oneself => lines.push("one's own: no grant is needed".to_owned()),
                Via::Grant {
                    basis,
                    reach,
                    chain,
                    ..
                } => {
                    lines.push(format!("{basis}, with {} reach", reach.code()));
                    for link in chain {
                        lines.push(link.to_string());
                    }
                }
            }
            let mut out = Vec::with_capacity(lines.len());
            for l in lines {
                out.push(named(state, viewer, &l).await);
            }
            Answer {
                allowed: true,
                summary,
                lines: out,
                missing: None,
            }
        }
        Explanation::Denied(d) => {
            let mut lines: Vec<String> = d.vetoes.iter().map(|v| format!("veto: {v}")).collect();
            for near in &d.closest {
                lines.push(format!(
                    "closest: {}; missing: {}",
                    near.basis, near.missing
                ));
            }
            if d.closest.is_empty() && !d.roles_with_permission.is_empty() {
                let roles: Vec<String> = d
                    .roles_with_permission
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                lines.push(format!("roles that include it: {}", roles.join(", ")));
            }
            let mut out = Vec::with_capacity(lines.len());
            for l in lines {
                out.push(named(state, viewer, &l).await);
            }
            Answer {
                allowed: false,
                summary,
                lines: out,
                missing: Some(named(state, viewer, &d.missing.to_string()).await),
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SuggestQuery {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    object: Option<String>,
}

#[derive(Template)]
#[template(path = "options.html")]
struct Options {
    options: Vec<Pick>,
}

/// Suggestions as the viewer types (htmx swaps them into the field's list): the people or
/// objects whose names contain what was typed, among those the viewer may see.
pub async fn suggest(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<SuggestQuery>,
) -> PageResult {
    let (people, objects) = match (&q.user, &q.object) {
        (Some(typed), _) => (
            suggestions(&state, &viewer, typed).await.map_err(fail)?.0,
            Vec::new(),
        ),
        (None, Some(typed)) => (
            Vec::new(),
            suggestions(&state, &viewer, typed).await.map_err(fail)?.1,
        ),
        (None, None) => (Vec::new(), Vec::new()),
    };
    let options = if q.user.is_some() { people } else { objects };
    Ok(Page::render(&Options { options }))
}

/// The people and objects the viewer may pick from whose names contain `typed`: the first 200
/// of each they see.
async fn suggestions(
    state: &AppState,
    viewer: &Viewer,
    typed: &str,
) -> crate::error::ApiResult<(Vec<Pick>, Vec<Pick>)> {
    use registrar_domain::access::Act;
    let member = &viewer.member;
    let tenant = member.tenant;
    let typed = typed.trim();
    // A reference typed whole (`course:<id>`) is looked for by what it names, not as text.
    let search = (!typed.is_empty() && !typed.contains(':')).then(|| typed.to_owned());
    let first = registrar_store::PageRequest {
        after: None,
        limit: 200,
        search,
    };
    let people = state
        .store
        .list_users(tenant, &first)
        .await?
        .items
        .into_iter()
        .filter(|u| state.sees(member, u.id))
        .map(|u| Pick {
            label: u.display_name.to_string(),
            value: u.username.to_string(),
            selected: false,
        })
        .collect();
    let mut objects = Vec::new();
    for c in state.store.list_courses(tenant, &first).await?.items {
        if state.allows(member, &Act::View(c.object())) {
            objects.push(Pick {
                value: c.object().to_string(),
                label: format!("{} (course)", c.title),
                selected: false,
            });
        }
    }
    for g in state.store.list_groups(tenant, &first).await?.items {
        if state.allows(member, &Act::ViewGroup(g.id)) {
            objects.push(Pick {
                value: registrar_domain::access::ObjectRef::group(g.id).to_string(),
                label: format!("{} (group)", g.name),
                selected: false,
            });
        }
    }
    for t in state.store.list_teams(tenant, &first).await?.items {
        if state.allows(member, &Act::View(t.object())) {
            objects.push(Pick {
                value: t.object().to_string(),
                label: format!("{} (team)", t.name),
                selected: false,
            });
        }
    }
    let found = state
        .store
        .find_learning_items(tenant, first.search.as_deref(), first.limit)
        .await?;
    for item in found {
        if state.allows(member, &Act::View(item.object)) {
            objects.push(Pick {
                value: item.object.to_string(),
                label: format!("{} ({} in {})", item.title, item.object.kind, item.course),
                selected: false,
            });
        }
    }
    let catalogues: Vec<ObjectRef> = state.access.read(tenant, |m| {
        m.data()
            .objects
            .keys()
            .filter(|r| r.kind == ObjectKind::Catalogue)
            .copied()
            .collect()
    });
    let wanted = first.search.as_deref().map(str::to_lowercase);
    for c in catalogues.into_iter().take(first.limit as usize) {
        if !state.allows(member, &Act::View(c)) {
            continue;
        }
        let label = catalogue_name(state, viewer, c).await;
        if wanted
            .as_deref()
            .is_none_or(|w| label.to_lowercase().contains(w))
        {
            objects.push(Pick {
                value: c.to_string(),
                label,
                selected: false,
            });
        }
    }
    Ok((people, objects))
}
