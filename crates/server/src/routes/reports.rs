//! Reports (SPEC 5): enrollments, progress, completion and participation, by course, group or
//! team, over a range of enrollment dates. Every row is cut by the engine for whoever runs the
//! report (`Act::ReportOnEnrollment`): a manager gets their team, a tutor their courses, a
//! learner manager the tenant's learners, an administrator the tenant. JSON, CSV (cells
//! neutralised) and a chart drawn on the server as SVG.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plotters::prelude::*;
use registrar_domain::access::{Act, EnrollmentStatus, ObjectKind, ObjectRef};
use registrar_domain::ids::GroupId;
use registrar_store::{REPORT_ROWS, ReportFilter, ReportRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::audit::moment;
use super::courses::object_id;
use crate::dto::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Query};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Only this course.
    pub course: Option<String>,
    /// Only members of this group or of a group nested in it (needs seeing the group).
    pub group: Option<String>,
    /// Only members of this team (needs seeing the team).
    pub team: Option<String>,
    /// Enrolled from this day (`2026-01-01`) or moment on.
    pub from: Option<String>,
    /// Enrolled up to this day (inclusive) or before this moment.
    pub to: Option<String>,
    /// Summaries: `course` (default), `group` or `team`.
    pub by: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRowOut {
    pub user: String,
    pub username: String,
    pub display_name: String,
    pub course: String,
    pub title: String,
    pub status: String,
    pub enrolled_at: String,
    pub updated_at: String,
    pub materials: u32,
    pub materials_completed: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentReport {
    pub rows: Vec<ReportRowOut>,
    /// The report covered more than the most one report reads, and was cut.
    pub truncated: bool,
}

/// One line of a summary: a course, group or team with its learners' numbers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryLine {
    /// `course:<id>`, `group:<id>` or `team:<id>`.
    pub key: String,
    pub name: String,
    pub learners: usize,
    pub enrollments: usize,
    /// Enrolled, not started.
    pub enrolled: usize,
    pub in_progress: usize,
    pub completed: usize,
    /// Waiting or to confirm.
    pub waiting: usize,
    /// Suspended or overbooked.
    pub other: usize,
    /// Share (percent) of enrollments with any learning activity.
    pub participation: u32,
    /// Share (percent) of enrollments completed.
    pub completion: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryReport {
    /// `course`, `group` or `team`.
    pub by: String,
    pub lines: Vec<SummaryLine>,
    pub truncated: bool,
}

fn some(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The report's scope from the query, each part checked: a group or team is one the caller
/// sees, the dates parse.
async fn filter(state: &AppState, member: &Member, q: &ReportQuery) -> ApiResult<ReportFilter> {
    let group = some(&q.group)
        .map(|g| GroupId::parse(g).map_err(|e| ApiError::invalid("group", e.to_string())))
        .transpose()?;
    if let Some(group) = group {
        state.authorize(member, Act::ViewGroup(group)).await?;
    }
    let team = some(&q.team).map(|t| object_id("team", t)).transpose()?;
    if let Some(team) = team {
        let team = ObjectRef::new(ObjectKind::Team, team);
        state.authorize(member, Act::View(team)).await?;
    }
    Ok(ReportFilter {
        course: some(&q.course)
            .map(|c| object_id("course", c))
            .transpose()?,
        group,
        team,
        from: some(&q.from)
            .map(|v| moment("from", v, false))
            .transpose()?,
        to: some(&q.to).map(|v| moment("to", v, true)).transpose()?,
    })
}

/// The rows of the report the caller may see, and whether the store cut it.
pub(crate) async fn rows(
    state: &AppState,
    member: &Member,
    q: &ReportQuery,
) -> ApiResult<(Vec<ReportRow>, bool)> {
    let filter = filter(state, member, q).await?;
    let mut rows = state.store.report(member.tenant, &filter).await?;
    let truncated = rows.len() > REPORT_ROWS;
    rows.truncate(REPORT_ROWS);
    rows.retain(|r| {
        state.allows(
            member,
            &Act::ReportOnEnrollment {
                learner: r.user,
                course: ObjectRef::new(ObjectKind::Course, r.course),
            },
        )
    });
    Ok((rows, truncated))
}

fn participates(r: &ReportRow) -> bool {
    matches!(
        r.status,
        EnrollmentStatus::InProgress | EnrollmentStatus::Completed
    ) || r.completed > 0
}

fn percent(part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return 0;
    }
    u32::try_from(part * 100 / whole).unwrap_or(100)
}

fn line(key: String, name: String, rows: &[&ReportRow]) -> SummaryLine {
    let count = |f: &dyn Fn(EnrollmentStatus) -> bool| rows.iter().filter(|r| f(r.status)).count();
    use EnrollmentStatus as S;
    let completed = count(&|s| s == S::Completed);
    let learners: BTreeSet<_> = rows.iter().map(|r| r.user).collect();
    SummaryLine {
        key,
        name,
        learners: learners.len(),
        enrollments: rows.len(),
        enrolled: count(&|s| s == S::Enrolled),
        in_progress: count(&|s| s == S::InProgress),
        completed,
        waiting: count(&|s| matches!(s, S::Waiting | S::ToConfirm)),
        other: count(&|s| matches!(s, S::Suspended | S::Overbooked)),
        participation: percent(rows.iter().filter(|r| participates(r)).count(), rows.len()),
        completion: percent(completed, rows.len()),
    }
}

/// The summary lines of `rows` by course, group (a member of a nested group counts in every
/// group above it) or team; groups and teams the caller may not see are left out.
pub(crate) async fn summarise(
    state: &AppState,
    member: &Member,
    by: &str,
    rows: &[ReportRow],
) -> ApiResult<Vec<SummaryLine>> {
    let mut keyed: BTreeMap<(String, String), Vec<&ReportRow>> = BTreeMap::new();
    match by {
        "course" => {
            for r in rows {
                let key = (r.title.to_string(), format!("course:{}", r.course));
                keyed.entry(key).or_default().push(r);
            }
        }
        "group" => {
            let users: BTreeSet<_> = rows.iter().map(|r| r.user).collect();
            let groups: BTreeMap<_, Vec<GroupId>> = state.access.read(member.tenant, |m| {
                users.iter().map(|u| (*u, m.groups_of(*u))).collect()
            });
            let mut names = BTreeMap::new();
            for r in rows {
                for g in groups.get(&r.user).into_iter().flatten() {
                    if !state.allows(member, &Act::ViewGroup(*g)) {
                        continue;
                    }
                    if !names.contains_key(g) {
                        names.insert(*g, state.store.group(member.tenant, *g).await?.name);
                    }
                    let key = (names[g].to_string(), format!("group:{g}"));
                    keyed.entry(key).or_default().push(r);
                }
            }
        }
        "team" => {
            let memberships = state.store.team_memberships(member.tenant).await?;
            let mut teams: BTreeMap<_, Vec<(String, String)>> = BTreeMap::new();
            for (team, name, user) in memberships {
                let object = ObjectRef::new(ObjectKind::Team, team);
                if state.allows(member, &Act::View(object)) {
                    teams
                        .entry(user)
                        .or_default()
                        .push((name.to_string(), object.to_string()));
                }
            }
            for r in rows {
                for key in teams.get(&r.user).into_iter().flatten() {
                    keyed.entry(key.clone()).or_default().push(r);
                }
            }
        }
        other => {
            return Err(ApiError::invalid(
                "by",
                format!("{other:?} is none of course, group, team"),
            ));
        }
    }
    Ok(keyed
        .into_iter()
        .map(|((name, key), rows)| line(key, name, &rows))
        .collect())
}

fn format_of(q: &ReportQuery) -> ApiResult<&str> {
    match q.format.as_deref().unwrap_or("json") {
        f @ ("json" | "csv") => Ok(f),
        other => Err(ApiError::invalid(
            "format",
            format!("{other:?} is neither json nor csv"),
        )),
    }
}

impl From<&ReportRow> for ReportRowOut {
    fn from(r: &ReportRow) -> Self {
        ReportRowOut {
            user: r.user.to_string(),
            username: r.username.to_string(),
            display_name: r.display_name.to_string(),
            course: r.course.to_string(),
            title: r.title.to_string(),
            status: r.status.code().to_owned(),
            enrolled_at: timestamp(r.enrolled_at),
            updated_at: timestamp(r.updated_at),
            materials: r.materials,
            materials_completed: r.completed,
        }
    }
}

/// Every enrollment of the report, with its learner, status and progress.
#[utoipa::path(get, path = "/api/v1/reports/enrollments", tag = "reports", params(ReportQuery),
    responses((status = 200, body = EnrollmentReport), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn enrollments(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = format_of(&q)?.to_owned();
    let (rows, truncated) = rows(&state, &member, &q).await?;
    let out: Vec<ReportRowOut> = rows.iter().map(Into::into).collect();
    if format == "csv" {
        let header = &[
            "user",
            "username",
            "display_name",
            "course",
            "title",
            "status",
            "enrolled_at",
            "updated_at",
            "materials",
            "materials_completed",
        ];
        let body = crate::export::table(
            header,
            out.into_iter().map(|r| {
                vec![
                    r.user,
                    r.username,
                    r.display_name,
                    r.course,
                    r.title,
                    r.status,
                    r.enrolled_at,
                    r.updated_at,
                    r.materials.to_string(),
                    r.materials_completed.to_string(),
                ]
            }),
        )?;
        return Ok(crate::export::download("enrollments-report.csv", body));
    }
    Ok(Json(EnrollmentReport {
        rows: out,
        truncated,
    })
    .into_response())
}

/// Enrollments, progress, completion and participation by course, group or team.
#[utoipa::path(get, path = "/api/v1/reports/summary", tag = "reports", params(ReportQuery),
    responses((status = 200, body = SummaryReport), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = format_of(&q)?.to_owned();
    let by = q.by.clone().unwrap_or_else(|| "course".into());
    let (rows, truncated) = rows(&state, &member, &q).await?;
    let lines = summarise(&state, &member, &by, &rows).await?;
    if format == "csv" {
        let header = &[
            "key",
            "name",
            "learners",
            "enrollments",
            "enrolled",
            "in_progress",
            "completed",
            "waiting",
            "other",
            "participation_percent",
            "completion_percent",
        ];
        let body = crate::export::table(
            header,
            lines.into_iter().map(|l| {
                vec![
                    l.key,
                    l.name,
                    l.learners.to_string(),
                    l.enrollments.to_string(),
                    l.enrolled.to_string(),
                    l.in_progress.to_string(),
                    l.completed.to_string(),
                    l.waiting.to_string(),
                    l.other.to_string(),
                    l.participation.to_string(),
                    l.completion.to_string(),
                ]
            }),
        )?;
        return Ok(crate::export::download(
            &format!("summary-by-{by}.csv"),
            body,
        ));
    }
    Ok(Json(SummaryReport {
        by,
        lines,
        truncated,
    })
    .into_response())
}

/// The summary as a stacked bar chart (completed, in progress, enrolled, waiting, other), an
/// SVG drawn on the server.
#[utoipa::path(get, path = "/api/v1/reports/summary.svg", tag = "reports", params(ReportQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String)),
    security(("bearer" = [])))]
pub async fn summary_chart(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let by = q.by.clone().unwrap_or_else(|| "course".into());
    let (rows, _) = rows(&state, &member, &q).await?;
    let lines = summarise(&state, &member, &by, &rows).await?;
    let svg = chart(&lines, &format!("Enrollments by {by}"))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// The colours of the chart's statuses, in the order they stack.
const SERIES: [(&str, RGBColor); 5] = [
    ("completed", RGBColor(46, 125, 50)),
    ("in progress", RGBColor(25, 118, 210)),
    ("enrolled", RGBColor(144, 164, 174)),
    ("waiting", RGBColor(249, 168, 37)),
    ("other", RGBColor(198, 40, 40)),
];

/// Longest label drawn beside a bar; longer names are cut with an ellipsis.
const LABEL_CHARS: usize = 28;

pub(crate) fn chart(lines: &[SummaryLine], title: &str) -> ApiResult<String> {
    let failed =
        |e: &dyn std::fmt::Display| ApiError::Internal(format!("cannot draw the chart: {e}"));
    let shown = &lines[..lines.len().min(40)];
    let rows = shown.len().max(1);
    let height = 110 + 26 * u32::try_from(rows).unwrap_or(40);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let (head, body) = root.split_vertically(64);
        head.draw(&Text::new(title, (16, 10), ("sans-serif", 18)))
            .map_err(|e| failed(&e))?;
        for (i, (name, color)) in SERIES.iter().enumerate() {
            let x = 16 + 120 * i32::try_from(i).unwrap_or(0);
            head.draw(&Rectangle::new([(x, 40), (x + 12, 52)], color.filled()))
                .map_err(|e| failed(&e))?;
            head.draw(&Text::new(*name, (x + 18, 40), ("sans-serif", 13)))
                .map_err(|e| failed(&e))?;
        }
        let max = shown
            .iter()
            .map(|l| l.enrollments)
            .max()
            .unwrap_or(0)
            .max(1);
        // Segments 0..=rows-1, one per line, the first line at the top.
        let at = |i: usize| rows - 1 - i;
        let mut chart = ChartBuilder::on(&body)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(190)
            .build_cartesian_2d(0..max, (0..rows - 1).into_segmented())
            .map_err(|e| failed(&e))?;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(j) => shown.get(rows - 1 - *j).map_or_else(String::new, |l| {
                if l.name.chars().count() > LABEL_CHARS {
                    let cut: String = l.name.chars().take(LABEL_CHARS - 1).collect();
                    format!("{cut}…")
                } else {
                    l.name.clone()
                }
            }),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            // One finer line between labelled ones at most (the default is unreadable at 1,000).
            .x_max_light_lines(1)
            .y_label_formatter(&label)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 13))
            .x_desc("enrollments")
            .draw()
            .map_err(|e| failed(&e))?;
        for (i, l) in shown.iter().enumerate() {
            let mut x0 = 0;
            let parts = [l.completed, l.in_progress, l.enrolled, l.waiting, l.other];
            for (n, (_, color)) in parts.into_iter().zip(SERIES) {
                if n == 0 {
                    continue;
                }
                let mut bar = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(at(i))),
                        (x0 + n, SegmentValue::Exact(at(i) + 1)),
                    ],
                    color.filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                chart
                    .draw_series(std::iter::once(bar))
                    .map_err(|e| failed(&e))?;
                x0 += n;
            }
        }
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(svg)
}
