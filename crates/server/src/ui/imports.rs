//! The import page: upload a CSV, check it (a dry run that shows every refused row with its
//! line, column and reason) or import it; the same `import::run` as `POST /api/v1/imports`,
//! deciding every row as the viewer, run as a background job (`import_jobs`) whose progress the
//! page follows until it shows the outcome. The form posts with htmx, so the chosen file stays
//! chosen between "Check" and "Import", and `static/app.js` shows the upload's progress.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use registrar_domain::access::Act;
use registrar_domain::import::{ColumnMapping, Format, RowError};

use super::{Frame, Page, PageResult, Viewer, fail};
use crate::error::ApiError;
use crate::import::{ImportOptions, ImportReport};
use crate::import_jobs::{JobOut, JobState};
use crate::routes::imports::{followed, spool};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    frame: Frame,
    /// An import running in the background, followed by this page (which refreshes itself).
    running: Option<Running>,
    outcome: Option<Outcome>,
}

/// A running import's progress bar; it asks for itself again shortly, until the import ends.
#[derive(Template)]
#[template(path = "import_progress.html")]
struct Progress {
    job: Running,
}

/// A running import as its progress bar shows it.
pub struct Running {
    pub id: String,
    pub dry_run: bool,
    /// How much of the file has been checked, in percent.
    pub percent: u64,
    /// "1.2 MB of 6.0 MB".
    pub read: String,
    /// Read to its end: only the last rows (and, unless a dry run, the commit) are left.
    pub finishing: bool,
}

impl From<JobOut> for Running {
    fn from(job: JobOut) -> Self {
        Running {
            percent: (job.bytes_read * 100)
                .checked_div(job.bytes_total)
                .unwrap_or(100),
            read: format!("{} of {}", size(job.bytes_read), size(job.bytes_total)),
            finishing: job.bytes_read >= job.bytes_total,
            dry_run: job.dry_run,
            id: job.id,
        }
    }
}

/// What a check or an import found.
pub struct Outcome {
    pub applied: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    pub errors: Vec<RowError>,
    pub problem: Option<String>,
    /// Refused because another import of the viewer's is running: that job's id, to follow.
    pub running: Option<String>,
}

#[derive(Template)]
#[template(path = "import_outcome.html")]
struct OutcomeFragment {
    outcome: Outcome,
}

/// A size for people: bytes, kB or MB.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1_000 => format!("{b} bytes"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    state
        .authorize(&viewer.member, Act::CreateUser)
        .await
        .map_err(fail)?;
    Ok(Page::render(&ImportPage {
        frame: viewer.frame(&state, "Import people", "/import"),
        running: None,
        outcome: None,
    }))
}

fn outcome(report: ImportReport) -> Outcome {
    Outcome {
        applied: report.applied,
        rows: report.rows,
        created: report.created,
        updated: report.updated,
        unchanged: report.unchanged,
        refused: report.refused,
        errors: report.errors,
        problem: None,
        running: None,
    }
}

fn failed(problem: String) -> Outcome {
    Outcome {
        applied: false,
        rows: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        refused: 0,
        errors: Vec::new(),
        problem: Some(problem),
        running: None,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    mut form: Multipart,
) -> PageResult {
    let mut csrf = String::new();
    let mut format = String::new();
    let mut mode = String::new();
    let mut file = None;
    let bad =
        |e: axum::extract::multipart::MultipartError| fail(ApiError::BadRequest(e.to_string()));
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "format" => format = field.text().await.map_err(bad)?,
            "mode" => mode = field.text().await.map_err(bad)?,
            "file" => {
                // The CSRF secret comes first in the form; nothing is read from a forged one.
                viewer.verify(&csrf)?;
                file = Some(spool(field).await.map_err(fail)?);
            }
            _ => {}
        }
    }
    viewer.verify(&csrf)?;
    let started = match (Format::parse(&format), file) {
        (Err(e), _) => Err(e.to_string()),
        (_, None) => Err("choose a CSV file to import".into()),
        (Ok(format), Some(file)) => {
            let options = ImportOptions {
                format,
                mapping: ColumnMapping::default(),
                dry_run: mode != "apply",
                source: "admin page".into(),
            };
            let m = &viewer.member;
            state
                .imports
                .start(&state, m.tenant, m.user.id, file, options)
                .map_err(|e| e.to_string())
        }
    };
    match started {
        Ok(job) if headers.contains_key("hx-request") => Ok(Page::render(&Progress {
            job: job.view().into(),
        })),
        // Without htmx the page itself follows the job (it refreshes while it runs).
        Ok(job) => Ok(Redirect::to(&format!("/import/jobs/{}", job.id)).into_response()),
        Err(problem) => {
            let m = &viewer.member;
            let running = state.imports.running_for(m.tenant, m.user.id);
            let outcome = Outcome {
                running: running.map(|id| id.to_string()),
                ..failed(problem)
            };
            show(&state, &viewer, &headers, Followed::Ended(outcome))
        }
    }
}

/// A background import, as the page follows it: its progress while it runs (the fragment asks
/// again shortly), its outcome once it has ended.
pub async fn job(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let job = followed(&state, &viewer.member, &id).map_err(fail)?.view();
    let shown = match job.state {
        JobState::Running => Followed::Running(job),
        JobState::Done | JobState::Refused => Followed::Ended(job.report.map_or_else(
            || failed("the import ended without a report".into()),
            outcome,
        )),
        JobState::Failed => Followed::Ended(failed(job.problem.unwrap_or_default())),
    };
    show(&state, &viewer, &headers, shown)
}

enum Followed {
    Running(JobOut),
    Ended(Outcome),
}

/// The fragment htmx swaps in, or the whole page.
fn show(state: &AppState, viewer: &Viewer, headers: &HeaderMap, shown: Followed) -> PageResult {
    let fragment = headers.contains_key("hx-request");
    Ok(match (shown, fragment) {
        (Followed::Running(job), true) => Page::render(&Progress { job: job.into() }),
        (Followed::Ended(outcome), true) => Page::render(&OutcomeFragment { outcome }),
        (Followed::Running(job), false) => Page::render(&ImportPage {
            frame: viewer.frame(state, "Import people", "/import"),
            running: Some(job.into()),
            outcome: None,
        }),
        (Followed::Ended(outcome), false) => Page::render(&ImportPage {
            frame: viewer.frame(state, "Import people", "/import"),
            running: None,
            outcome: Some(outcome),
        }),
    })
}
