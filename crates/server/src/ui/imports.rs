//! The import page: upload a CSV, check it (a dry run that shows every refused row with its
//! line, column and reason) or import it; the same `import::run` as `POST /api/v1/imports`,
//! deciding every row as the viewer. The form posts with htmx, so the chosen file stays chosen
//! between "Check" and "Import", and `static/app.js` shows the upload's progress.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use registrar_domain::access::Act;
use registrar_domain::import::{ColumnMapping, Format, RowError};

use super::{Frame, Page, PageResult, Viewer, fail};
use crate::error::ApiError;
use crate::import::{ImportError, ImportOptions, ImportReport, run};
use crate::routes::imports::spool;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    frame: Frame,
    outcome: Option<Outcome>,
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
}

#[derive(Template)]
#[template(path = "import_outcome.html")]
struct OutcomeFragment {
    outcome: Outcome,
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    state
        .authorize(&viewer.member, Act::CreateUser)
        .await
        .map_err(fail)?;
    Ok(Page::render(&ImportPage {
        frame: viewer.frame(&state, "Import people", "/import"),
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
    let result = match (Format::parse(&format), file) {
        (Err(e), _) => failed(e.to_string()),
        (_, None) => failed("choose a CSV file to import".into()),
        (Ok(format), Some(file)) => {
            let options = ImportOptions {
                format,
                mapping: ColumnMapping::default(),
                dry_run: mode != "apply",
                source: "admin page".into(),
            };
            let m = &viewer.member;
            match run(
                state.store.as_ref(),
                &state.access,
                m.tenant,
                m.user.id,
                file,
                &options,
                &|_| {},
            )
            .await
            {
                Ok(report) => outcome(report),
                Err(ImportError::Refused(report)) => outcome(*report),
                Err(ImportError::Api(e)) => failed(e.to_string()),
            }
        }
    };
    if headers.contains_key("hx-request") {
        return Ok(Page::render(&OutcomeFragment { outcome: result }));
    }
    Ok(Page::render(&ImportPage {
        frame: viewer.frame(&state, "Import people", "/import"),
        outcome: Some(result),
    }))
}
