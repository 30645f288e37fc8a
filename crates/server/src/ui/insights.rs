//! Reports, the access review and the audit log as pages: the same functions as their API
//! endpoints (`routes::reports`, `routes::review`, `routes::audit`), with the chart as an
//! image of `/api/v1/reports/summary.svg` and CSV links to the API's downloads.

use askama::Template;
use axum::extract::{Query, State};
use registrar_domain::access::Act;
use serde::Deserialize;

use super::names::named;
use super::{Frame, Page, PageResult, Viewer, fail};
use crate::routes::audit::{AuditQuery, ChangeOut};
use crate::routes::reports::{ReportQuery, SummaryLine, rows, summarise};
use crate::routes::review::{ReviewLineOut, review as review_lines, risk_flag};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ReportsForm {
    #[serde(default)]
    by: String,
    #[serde(default)]
    course: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub struct Pick {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct RowView {
    pub learner: String,
    pub title: String,
    pub status: String,
    pub progress: String,
    pub enrolled_at: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    frame: Frame,
    by: Vec<Pick>,
    groups: Vec<Pick>,
    teams: Vec<Pick>,
    from: String,
    to: String,
    query: String,
    lines: Vec<SummaryLine>,
    rows: Vec<RowView>,
    total_rows: usize,
    truncated: bool,
}

/// Most detail rows shown on the page; the CSV has them all.
const SHOWN_ROWS: usize = 1_000;

pub async fn reports(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<ReportsForm>,
) -> PageResult {
    let member = &viewer.member;
    let by = if f.by.is_empty() {
        "course".to_owned()
    } else {
        f.by.clone()
    };
    let q = ReportQuery {
        course: Some(f.course.clone()),
        group: Some(f.group.clone()),
        team: Some(f.team.clone()),
        from: Some(f.from.clone()),
        to: Some(f.to.clone()),
        by: Some(by.clone()),
        format: None,
    };
    let mut frame = viewer.frame(&state, "Reports", "/reports");
    let (found, truncated) = match rows(&state, member, &q).await {
        Ok(found) => found,
        Err(e) => {
            frame.problem = Some(e.to_string());
            (Vec::new(), false)
        }
    };
    let lines = match summarise(&state, member, &by, &found).await {
        Ok(lines) => lines,
        Err(e) => {
            frame.problem = Some(e.to_string());
            Vec::new()
        }
    };
    let first = registrar_store::PageRequest::first(500);
    let groups = state
        .store
        .list_groups(member.tenant, &first)
        .await
        .map_err(fail)?
        .items
        .into_iter()
        .filter(|g| state.allows(member, &Act::ViewGroup(g.id)))
        .map(|g| Pick {
            selected: g.id.to_string() == f.group,
            value: g.id.to_string(),
            label: g.name.to_string(),
        })
        .collect();
    let teams = state
        .store
        .list_teams(member.tenant, &first)
        .await
        .map_err(fail)?
        .items
        .into_iter()
        .filter(|t| state.allows(member, &Act::View(t.object())))
        .map(|t| Pick {
            selected: t.id.to_string() == f.team,
            value: t.id.to_string(),
            label: t.name.to_string(),
        })
        .collect();
    let query = serde_urlencoded::to_string([
        ("by", by.as_str()),
        ("course", f.course.as_str()),
        ("group", f.group.as_str()),
        ("team", f.team.as_str()),
        ("from", f.from.as_str()),
        ("to", f.to.as_str()),
    ])
    .unwrap_or_default();
    let total_rows = found.len();
    let rows = found
        .iter()
        .take(SHOWN_ROWS)
        .map(|r| RowView {
            learner: format!("{} ({})", r.display_name, r.username),
            title: r.title.to_string(),
            status: r.status.code().to_owned(),
            progress: if r.materials == 0 {
                "no materials".to_owned()
            } else {
                format!("{} of {}", r.completed, r.materials)
            },
            enrolled_at: r.enrolled_at.date().to_string(),
        })
        .collect();
    Ok(Page::render(&ReportsPage {
        frame,
        by: ["course", "group", "team"]
            .into_iter()
            .map(|b| Pick {
                value: b.into(),
                label: format!("by {b}"),
                selected: b == by,
            })
            .collect(),
        groups,
        teams,
        from: f.from,
        to: f.to,
        query,
        lines,
        rows,
        total_rows,
        truncated,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    risk: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    frame: Frame,
    risks: Vec<Pick>,
    risk: String,
    lines: Vec<ReviewLineOut>,
}

pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<ReviewForm>,
) -> PageResult {
    let risk = risk_flag(Some(&f.risk)).map_err(fail)?;
    let mut lines = review_lines(&state, &viewer.member, risk)
        .await
        .map_err(fail)?;
    for l in &mut lines {
        if let Some(scope) = &l.scope {
            l.scope = Some(named(&state, &viewer, scope).await);
        }
        if let Some(through) = &l.through {
            l.through = Some(named(&state, &viewer, through).await);
        }
        if let Some(by) = &l.granted_by {
            l.granted_by = Some(named(&state, &viewer, by).await);
        }
    }
    let risks = ["", "privilege", "config", "data_loss", "personal_data"]
        .into_iter()
        .map(|r| Pick {
            value: r.to_owned(),
            label: if r.is_empty() {
                "any risk".to_owned()
            } else {
                r.replace('_', " ")
            },
            selected: r == f.risk,
        })
        .collect();
    Ok(Page::render(&ReviewPage {
        frame: viewer.frame(&state, "Access review", "/access-review"),
        risks,
        risk: f.risk,
        lines,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

/// One change of the log, its before and after as the fields that differ.
pub struct ChangeView {
    pub revision: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub diff: Vec<DiffLine>,
}

pub struct DiffLine {
    pub field: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    form: AuditForm,
    changes: Vec<ChangeView>,
    older: Option<String>,
}

/// Rows of the audit page.
const AUDIT_PAGE: u32 = 50;

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<AuditForm>,
) -> PageResult {
    state
        .authorize(&viewer.member, Act::ViewAudit)
        .await
        .map_err(fail)?;
    let q = AuditQuery {
        after: None,
        before: f.before.trim().parse().ok(),
        order: Some("desc".into()),
        limit: Some(AUDIT_PAGE),
        actor: Some(f.actor.clone()),
        entity: Some(f.entity.clone()),
        entity_id: None,
        action: Some(f.action.clone()),
        from: (!f.from.trim().is_empty()).then(|| f.from.clone()),
        to: (!f.to.trim().is_empty()).then(|| f.to.clone()),
    };
    let mut frame = viewer.frame(&state, "Audit log", "/audit");
    let changes = match q.parse() {
        Ok((filter, cursor)) => state
            .store
            .audit(viewer.member.tenant, &filter, cursor, AUDIT_PAGE)
            .await
            .map_err(fail)?,
        Err(e) => {
            frame.problem = Some(e.to_string());
            Vec::new()
        }
    };
    let older = (changes.len() == AUDIT_PAGE as usize)
        .then(|| {
            changes.last().map(|c| {
                serde_urlencoded::to_string([
                    ("actor", f.actor.as_str()),
                    ("entity", f.entity.as_str()),
                    ("action", f.action.as_str()),
                    ("from", f.from.as_str()),
                    ("to", f.to.as_str()),
                    ("before", &c.revision.to_string()),
                ])
                .unwrap_or_default()
            })
        })
        .flatten();
    let mut views = Vec::with_capacity(changes.len());
    for c in changes {
        let c: ChangeOut = c.into();
        views.push(ChangeView {
            revision: c.revision,
            actor: named(&state, &viewer, &c.actor).await,
            action: c.action,
            entity: named(&state, &viewer, &format!("{}:{}", c.entity, c.entity_id)).await,
            diff: diff(c.before.as_ref(), c.after.as_ref()),
            // `2026-12-01T14:39:00.969Z` reads as `2026-12-01 14:39:00`.
            at: c.at.get(..19).unwrap_or(&c.at).replace('T', " "),
        });
    }
    Ok(Page::render(&AuditPage {
        frame,
        form: f,
        changes: views,
        older,
    }))
}

/// The fields of two JSON objects that differ, as readable text (values in compact JSON).
fn diff(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> Vec<DiffLine> {
    let empty = serde_json::Map::new();
    let obj =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_object()).unwrap_or(&empty).clone();
    let (b, a) = (obj(before), obj(after));
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| DiffLine {
            field: k.clone(),
            before: show(b.get(k)),
            after: show(a.get(k)),
        })
        .collect()
}
