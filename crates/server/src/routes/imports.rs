//! CSV import and export over HTTP. The upload streams to a temporary file first, so a slow
//! client never holds the import's write transaction open, and the body limit of other routes
//! (1 MiB) does not apply: imports have their own.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use registrar_domain::access::Act;
use registrar_domain::import::{ColumnMapping, Format};
use serde::Deserialize;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::export::{ExportKind, USER_COLUMNS, users_page, write};
use crate::extract::{Json, Member, Query};
use crate::import::{ImportError, ImportOptions, ImportReport, run};
use crate::import_jobs::{Job, JobOut};
use crate::state::AppState;

/// Largest import file accepted: about four million user rows.
pub const MAX_IMPORT_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `users`, `group-roles`, `status` or `managers`.
    pub format: String,
    /// Check every row and report, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The generic format: `Their column=field,Other=field`.
    pub mapping: Option<String>,
    /// Run in the background: answer `202` with the job at once (its `Location`), and follow it
    /// with `GET /api/v1/imports/jobs/{id}` until it has ended.
    #[serde(default)]
    pub background: bool,
}

/// Writes the upload to an anonymous temporary file (created unlinked, readable by this process
/// only), so that no copy of the personal data it holds outlives the request, even when the
/// server is killed mid-import. Returns the file positioned at its start.
pub(crate) async fn spool<E: std::fmt::Display>(
    mut stream: impl futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
) -> ApiResult<std::fs::File> {
    let io = |e: std::io::Error| ApiError::Internal(format!("cannot spool the upload: {e}"));
    let std_file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot spool the upload: {e}")))?
        .map_err(io)?;
    let mut file = tokio::fs::File::from_std(std_file);
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("upload failed: {e}")))?;
        total += chunk.len() as u64;
        if total > MAX_IMPORT_BYTES {
            return Err(ApiError::PayloadTooLarge(format!(
                "an import file may have at most {MAX_IMPORT_BYTES} bytes"
            )));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.rewind().await.map_err(io)?;
    Ok(file.into_std().await)
}

/// Imports a CSV file (the request body, UTF-8, `,` `;` or tab, with or without a byte order
/// mark). Every row is checked by the engine as the caller; one refused row refuses the file.
/// With `background=true` the answer is `202` and the job, to follow until it ends.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport),
              (status = 202, body = JobOut, description = "started in the background; `Location` names the job"),
              (status = 409, description = "an import of the caller's is still running (background)"),
              (status = 422, description = "refused rows (problem+json with the report)")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Query(q): Query<ImportQuery>,
    body: Body,
) -> Result<Response, ImportError> {
    let options = ImportOptions {
        format: Format::parse(&q.format).map_err(ApiError::from)?,
        mapping: ColumnMapping::parse(q.mapping.as_deref().unwrap_or_default())
            .map_err(ApiError::from)?,
        dry_run: q.dry_run,
        source: "upload".into(),
    };
    let file = spool(body.into_data_stream()).await?;
    if q.background {
        let job = state
            .imports
            .start(&state, member.tenant, member.user.id, file, options)?;
        let location = format!("/api/v1/imports/jobs/{}", job.id);
        return Ok((
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(job.view()),
        )
            .into_response());
    }
    let report = run(
        state.store.as_ref(),
        &state.access,
        member.tenant,
        member.user.id,
        file,
        &options,
        &|_| {},
    )
    .await?;
    Ok(Json(report).into_response())
}

/// A background import: how far it got, and once it has ended what it did (`done`), which
/// rows it refused (`refused`, nothing written) or why it could not run (`failed`). Its
/// importer's, or anyone's who reads the audit log; others get 404, as for a job that is not
/// there (jobs are kept an hour after they end, and not across restarts).
#[utoipa::path(get, path = "/api/v1/imports/jobs/{id}", tag = "imports",
    responses((status = 200, body = JobOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn job(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<JobOut>> {
    Ok(Json(followed(&state, &member, &id)?.view()))
}

/// The job `id` if the caller may follow it; 404 alike for a missing job and another's.
pub(crate) fn followed(
    state: &AppState,
    member: &crate::extract::Member,
    id: &str,
) -> ApiResult<std::sync::Arc<Job>> {
    state
        .imports
        .get(member.tenant, id)
        .filter(|j| {
            state.allows(
                member,
                &Act::FollowImport {
                    importer: j.importer,
                },
            )
        })
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no import job {id:?} here: jobs are kept an hour after they end, and not across restarts"
            ))
        })
}

/// Users, grants or enrollments as CSV, cut by what the caller may see; cells that a
/// spreadsheet would run as formulas start with `'`.
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "imports",
    params(("kind" = String, Path, description = "users, grants or enrollments")),
    responses((status = 200, content_type = "text/csv", body = String)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    member: Member,
    Path(kind): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let kind = ExportKind::parse(&kind)?;
    let body = match kind {
        ExportKind::Users => users_stream(state, member),
        ExportKind::Grants | ExportKind::Enrollments => {
            let mut out = Vec::new();
            write(
                state.store.as_ref(),
                &state.access,
                member.tenant,
                member.user.id,
                kind,
                &mut out,
            )
            .await?;
            Body::from(out)
        }
    };
    let name = match kind {
        ExportKind::Users => "users.csv",
        ExportKind::Grants => "grants.csv",
        ExportKind::Enrollments => "enrollments.csv",
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    ))
}

/// The users export, one store page at a time. A failure after the first page can only cut
/// the download short (the status is sent); it is logged.
fn users_stream(state: AppState, member: Member) -> Body {
    let header = USER_COLUMNS.join(",") + "\n";
    let pages = futures_util::stream::unfold(Some(None), move |cursor: Option<Option<String>>| {
        let state = state.clone();
        let (tenant, viewer) = (member.tenant, member.user.id);
        async move {
            let after = cursor?;
            match users_page(state.store.as_ref(), &state.access, tenant, viewer, after).await {
                Ok((bytes, _, next)) => Some((Ok(bytes), next.map(Some))),
                Err(e) => {
                    tracing::warn!(error = %e, "users export failed part way");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let first =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(header.into_bytes()) });
    Body::from_stream(first.chain(pages))
}
