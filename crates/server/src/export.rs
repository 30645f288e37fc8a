//! CSV export of users, grants and enrollments, shared by the API and the command line. Every
//! row is cut by what the viewer may see (the engine decides row by row), and every cell is
//! neutralised so that a spreadsheet never runs it as a formula.

use std::io::Write;

use registrar_domain::access::{Act, ObjectKind, ObjectRef};
use registrar_domain::ids::{TenantId, UserId};
use registrar_domain::import::neutralise;
use registrar_store::{PageRequest, Store};

use crate::error::{ApiError, ApiResult};
use crate::readmodel::ReadModel;
use crate::state::today;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Users,
    Grants,
    Enrollments,
}

impl ExportKind {
    pub fn parse(input: &str) -> ApiResult<Self> {
        match input.trim().trim_end_matches(".csv") {
            "users" => Ok(ExportKind::Users),
            "grants" => Ok(ExportKind::Grants),
            "enrollments" => Ok(ExportKind::Enrollments),
            other => Err(ApiError::invalid(
                "kind",
                format!("cannot export {other:?}: choose users, grants or enrollments"),
            )),
        }
    }
}

struct Out<W: Write>(csv::Writer<W>);

impl<W: Write> Out<W> {
    fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> ApiResult<()> {
        self.0
            .write_record(cells.into_iter().map(|c| neutralise(c).into_owned()))
            .map_err(|e| ApiError::Internal(format!("cannot write the export: {e}")))
    }
}

/// A whole table as neutralised CSV: for reports and the access review, which are cut and
/// assembled in memory before they are written.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> ApiResult<Vec<u8>> {
    let mut out = Out(csv::Writer::from_writer(Vec::new()));
    out.row(header.iter().copied())?;
    for row in rows {
        out.row(row.iter().map(String::as_str))?;
    }
    out.0
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("cannot write the export: {e}")))
}

/// A CSV download named `name`.
pub fn download(name: &str, body: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The header of the users export.
pub const USER_COLUMNS: &[&str] = &[
    "id",
    "username",
    "email",
    "display_name",
    "status",
    "expires_on",
    "primary_group",
    "labels",
];

/// One page of the users export (no header) after the cursor `after`: the CSV bytes, how many
/// rows they hold, and the cursor of the next page. The API streams these, so an export of a
/// million users never sits in memory.
pub async fn users_page(
    store: &dyn Store,
    access: &ReadModel,
    tenant: TenantId,
    viewer: UserId,
    after: Option<String>,
) -> ApiResult<(Vec<u8>, u64, Option<String>)> {
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    page.after = after;
    let got = store.list_users(tenant, &page).await?;
    let mut w = Out(csv::Writer::from_writer(Vec::new()));
    let mut n = 0;
    for u in got.items {
        if !access.read(tenant, |m| m.sees(viewer, u.id, today())) {
            continue;
        }
        let labels = u
            .labels
            .as_map()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        w.row([
            u.id.to_string().as_str(),
            u.username.as_str(),
            u.email.as_ref().map_or("", |e| e.as_str()),
            u.display_name.as_str(),
            u.status.code(),
            u.expires_on.map(|d| d.to_string()).as_deref().unwrap_or(""),
            u.primary_group
                .map(|g| g.to_string())
                .as_deref()
                .unwrap_or(""),
            labels.as_str(),
        ])?;
        n += 1;
    }
    let bytes =
        w.0.into_inner()
            .map_err(|e| ApiError::Internal(format!("cannot write the export: {e}")))?;
    Ok((bytes, n, got.next))
}

/// Writes the export to `out`; returns the number of data rows.
pub async fn write(
    store: &dyn Store,
    access: &ReadModel,
    tenant: TenantId,
    viewer: UserId,
    kind: ExportKind,
    out: impl Write,
) -> ApiResult<u64> {
    let mut w = Out(csv::Writer::from_writer(out));
    let mut n = 0;
    match kind {
        ExportKind::Users => {
            w.row(USER_COLUMNS.iter().copied())?;
            let io =
                |e: std::io::Error| ApiError::Internal(format!("cannot write the export: {e}"));
            let mut out =
                w.0.into_inner()
                    .map_err(|e| ApiError::Internal(format!("cannot write the export: {e}")))?;
            let mut after = None;
            loop {
                let (bytes, rows, next) = users_page(store, access, tenant, viewer, after).await?;
                out.write_all(&bytes).map_err(io)?;
                n += rows;
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            out.flush().map_err(io)?;
            return Ok(n);
        }
        ExportKind::Grants => {
            if !access.read(tenant, |m| m.may(viewer, &Act::ViewRoles, today())) {
                return Err(ApiError::Forbidden(
                    "exporting grants needs roles.view on the tenant".into(),
                ));
            }
            let rows: Vec<[String; 4]> = access.read(tenant, |m| {
                m.data()
                    .grants
                    .values()
                    .map(|g| {
                        [
                            g.id.to_string(),
                            g.principal.to_string(),
                            m.role(g.role)
                                .map_or_else(|| g.role.to_string(), |r| r.code.to_string()),
                            g.scope.to_string(),
                        ]
                    })
                    .collect()
            });
            w.row(["id", "principal", "role", "scope"])?;
            for r in &rows {
                w.row(r.iter().map(String::as_str))?;
                n += 1;
            }
        }
        ExportKind::Enrollments => {
            let rows: Vec<[String; 3]> = access.read(tenant, |m| {
                m.data()
                    .enrollments
                    .iter()
                    .filter(|((user, course), _)| {
                        let on = |o: ObjectRef| m.may(viewer, &Act::ViewEnrollments(o), today());
                        on(ObjectRef::new(ObjectKind::Course, *course))
                            || on(ObjectRef::user(*user))
                    })
                    .map(|((user, course), status)| {
                        [
                            user.to_string(),
                            course.to_string(),
                            status.code().to_owned(),
                        ]
                    })
                    .collect()
            });
            w.row(["user", "course", "status"])?;
            for r in &rows {
                w.row(r.iter().map(String::as_str))?;
                n += 1;
            }
        }
    }
    w.0.flush()
        .map_err(|e| ApiError::Internal(format!("cannot write the export: {e}")))?;
    Ok(n)
}
