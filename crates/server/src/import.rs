//! CSV import, shared by the API and the command line. A file is read once, in chunks, inside
//! one write transaction: each row is checked against a private copy of the engine's model (so
//! the delegation rule, `users.create`, status and manager rules apply as they do one by one)
//! and written; later rows see what earlier rows did. The transaction commits only when no row
//! was refused and this is not a dry run, so a file applies whole or not at all, and a dry run
//! reports exactly what an apply would do. Memory holds one chunk of rows, not the file.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};

use axum::response::{IntoResponse, Response};
use registrar_domain::access::presets::group_role_csv_code;
use registrar_domain::access::{
    AccessModel, AccessUser, Act, Authorized, Change, Explanation, Grant, GrantId, ObjectRef,
    Principal, RoleId, Scope, UserChange,
};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::import::{
    BOM, ColumnMapping, Format, RowError, detect_delimiter, is_field, parse_labels_cell,
};
use registrar_domain::text::{Email, Labels, Name, Username, fold_identity};
use registrar_domain::user::{User, UserStatus};
use registrar_store::{ImportOp, LogEntry, ManagerLink, ManagerSource, Store};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::parse_date;
use crate::error::{ApiError, Problem};
use crate::readmodel::ReadModel;
use crate::state::today;

/// Rows read, checked and written together: bounds memory and makes one lookup per chunk.
const CHUNK: usize = 1_000;
/// Refused rows listed in a report; the count covers them all.
const LISTED: usize = 1_000;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    pub mapping: ColumnMapping,
    pub dry_run: bool,
    /// The file's name, for the audit row.
    pub source: String,
}

/// What an import did, or would do.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub format: String,
    pub dry_run: bool,
    /// Whether the rows were written (never on a dry run or when a row was refused).
    pub applied: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// The first 1,000 refused rows: line (the header is line 1), column and reason.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<RowError>,
    /// The change-log revision of the applied import.
    pub revision: Option<i64>,
}

/// An import that did not apply.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Some rows were refused: nothing was written. The report names each one.
    #[error("{} of {} rows refused, nothing imported; first: {}", .0.refused, .0.rows,
        .0.errors.first().map(ToString::to_string).unwrap_or_default())]
    Refused(Box<ImportReport>),
    /// The file as a whole cannot be read (header, encoding), or the import cannot run.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<registrar_store::StoreError> for ImportError {
    fn from(e: registrar_store::StoreError) -> Self {
        ImportError::Api(e.into())
    }
}

/// A refusal is a problem document that also carries the report, so a client can show every
/// bad row at once.
impl IntoResponse for ImportError {
    fn into_response(self) -> Response {
        match self {
            ImportError::Api(e) => e.into_response(),
            ImportError::Refused(report) => {
                #[derive(Serialize)]
                struct Body<'a> {
                    #[serde(flatten)]
                    problem: Problem,
                    #[serde(flatten)]
                    report: &'a ImportReport,
                }
                let status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                let detail = ImportError::Refused(report.clone()).to_string();
                let body = Body {
                    problem: Problem {
                        kind: "about:blank".into(),
                        title: "Unprocessable Entity".into(),
                        status: status.as_u16(),
                        detail,
                        field: report
                            .errors
                            .first()
                            .map(|e| format!("line {}: {}", e.line, e.column)),
                    },
                    report: &report,
                };
                let mut response = (status, axum::Json(body)).into_response();
                response.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/problem+json"),
                );
                response
            }
        }
    }
}

fn file_error(line: u64, column: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Api(ApiError::invalid(
        format!("line {line}: {column}"),
        reason.into(),
    ))
}

/// Reads a CSV file from its start: skips a UTF-8 byte order mark and picks the delimiter from
/// the header.
fn open_csv(
    file: std::fs::File,
) -> Result<csv::Reader<Lines<BufReader<std::fs::File>>>, ImportError> {
    csv_reader(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| ApiError::Internal(format!("cannot read the import file: {e}")).into())
}

/// A CSV reader over `reader` as imports read files: a UTF-8 byte order mark skipped, the
/// delimiter picked from the header line (as far as the reader's buffer holds it), short rows
/// allowed, cells trimmed.
pub fn csv_reader<R: BufRead>(mut reader: R) -> std::io::Result<csv::Reader<Lines<R>>> {
    let head = reader.fill_buf()?;
    let skip = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let first_line = head[skip..].split(|b| *b == b'\n').next().unwrap_or(&[]);
    let delimiter = detect_delimiter(first_line);
    reader.consume(skip);
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(Lines::new(reader)))
}

/// The bytes of a file as the CSV reader reads them, noting the line each line's content starts
/// on. The CSV reader's own line numbers count the `\n`s before a record's first byte, and that
/// byte is the `\n` of a CRLF ending or of a skipped blank line, and lone CRs end records but
/// not its lines: every row of a spreadsheet's CRLF file would be reported one line early.
#[derive(Debug)]
pub struct Lines<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// The line the next byte is on.
    line: u64,
    /// The last byte read, if any.
    last: Option<u8>,
    /// (offset, line) of each first byte of a line's content, not yet asked about.
    starts: VecDeque<(u64, u64)>,
}

impl<R> Lines<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            line: 1,
            last: None,
            starts: VecDeque::new(),
        }
    }

    /// The line a record starting at `at` is on: that of its first byte that is not a line
    /// break. Asked in file order.
    fn line_of(&mut self, at: &csv::Position) -> u64 {
        while self.starts.front().is_some_and(|s| s.0 < at.byte()) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(at.line(), |s| s.1)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            // Lines end as the CSV reader ends records: at `\r\n`, `\n` or a lone `\r`.
            match (self.last, b) {
                (Some(b'\r'), b'\n') => {}
                (_, b'\r' | b'\n') => self.line += 1,
                (None | Some(b'\r' | b'\n'), _) => self.starts.push_back((self.offset, self.line)),
                _ => {}
            }
            self.last = Some(b);
            self.offset += 1;
        }
        Ok(n)
    }
}

/// Column positions by field name.
struct Columns {
    index: HashMap<String, usize>,
    labels: Vec<(String, usize)>,
}

impl Columns {
    fn new<R: Read>(
        reader: &mut csv::Reader<R>,
        format: Format,
        mapping: &ColumnMapping,
    ) -> Result<Self, ImportError> {
        let headers = reader.headers().map_err(|e| {
            file_error(
                1,
                "header",
                format!("the header line is not valid CSV: {e}"),
            )
        })?;
        let mut index = HashMap::new();
        let mut labels = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let field = mapping.field(h);
            if !is_field(&field) {
                return Err(file_error(
                    1,
                    h,
                    format!(
                        "unknown column {h:?}: map it to a field (mapping=\"{h}=email\") or \
                         name it label:KEY"
                    ),
                ));
            }
            if let Some(key) = field.strip_prefix("label:") {
                labels.push((key.to_owned(), i));
            } else if index.insert(field.clone(), i).is_some() {
                return Err(file_error(1, h, format!("column {field:?} appears twice")));
            }
        }
        for required in format.required() {
            if !index.contains_key(*required) {
                return Err(file_error(
                    1,
                    required,
                    format!("the {format} format needs a column {required:?}"),
                ));
            }
        }
        if matches!(format, Format::Users | Format::Status)
            && !index.contains_key("email")
            && !index.contains_key("username")
        {
            return Err(file_error(
                1,
                "email",
                "name users by an \"email\" or a \"username\" column",
            ));
        }
        Ok(Self { index, labels })
    }

    /// The trimmed cell of `field`, `None` when the column is absent or the cell empty.
    fn get<'r>(&self, record: &'r csv::StringRecord, field: &str) -> Option<&'r str> {
        self.index
            .get(field)
            .and_then(|i| record.get(*i))
            .filter(|s| !s.is_empty())
    }
}

/// What one row did.
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

fn row_error(line: u64, column: &str, reason: impl ToString) -> RowError {
    RowError {
        line,
        column: column.to_owned(),
        reason: reason.to_string(),
    }
}

/// The state one import carries from row to row.
struct Run<'a> {
    tenant: TenantId,
    importer: UserId,
    format: Format,
    columns: Columns,
    /// The engine's model as of the import's start, plus every accepted row.
    model: AccessModel,
    /// Users this chunk names, by email and by username, as of the previous row.
    known: HashMap<String, User>,
    /// (principal, role, scope) of every grant, so a repeated line is found without a scan.
    held: HashSet<(Principal, RoleId, Scope)>,
    ops: Vec<ImportOp>,
    /// The engine's proof that the importer may make the changes in `ops` (every change is
    /// decided row by row; each proof names the importer).
    by: Option<Authorized>,
    report: &'a mut ImportReport,
}

impl Run<'_> {
    fn apply(&mut self, change: Change) -> Result<(), RowError> {
        self.model
            .apply(&change)
            .map_err(|e| row_error(0, "", format!("the engine refuses the change: {e}")))
    }

    fn remember(&mut self, u: &User) {
        if let Some(e) = &u.email {
            self.known.insert(e.to_string(), u.clone());
        }
        self.known.insert(u.username.to_string(), u.clone());
    }

    fn require(&mut self, line: u64, column: &str, act: Act) -> Result<(), RowError> {
        let d = self
            .model
            .decide(self.importer, &act, today())
            .map_err(|e| row_error(line, column, e))?;
        match (d.authorized(), d.explanation()) {
            (Some(proof), _) => {
                self.by = Some(proof);
                Ok(())
            }
            (None, Explanation::Denied(denial)) => Err(row_error(
                line,
                column,
                format!(
                    "may not {} on {}: {}",
                    denial.permission,
                    denial.object,
                    d.explanation()
                ),
            )),
            (None, explanation) => Err(row_error(line, column, explanation.to_string())),
        }
    }

    /// Whether the importer may not see `user` (the engine's `sees`).
    fn hides(&self, user: &User) -> bool {
        !self.model.sees(self.importer, user.id, today())
    }

    /// The one refusal for a row naming someone the importer may not see, the same as for
    /// nobody: an import is no way to learn which emails and usernames exist.
    fn hidden(line: u64, column: &str) -> RowError {
        row_error(
            line,
            column,
            "no such user in this tenant, or one the importer may not see",
        )
    }

    /// The user a row names by `column` (an email or a username), if any.
    fn named(&self, record: &csv::StringRecord, column: &str) -> Option<&User> {
        self.columns
            .get(record, column)
            .and_then(|v| self.known.get(&fold_identity(v)))
    }

    fn labels(
        &self,
        line: u64,
        record: &csv::StringRecord,
    ) -> Result<Option<BTreeMap<String, String>>, RowError> {
        let mut map = match self.columns.get(record, "labels") {
            Some(cell) => parse_labels_cell(cell).map_err(|e| row_error(line, "labels", e))?,
            None => BTreeMap::new(),
        };
        for (key, i) in &self.columns.labels {
            if let Some(v) = record.get(*i).filter(|v| !v.is_empty()) {
                map.insert(key.clone(), v.to_owned());
            }
        }
        Ok((!map.is_empty()).then_some(map))
    }

    /// Creates or updates the user a row describes; returns them and what happened.
    fn upsert_user(
        &mut self,
        line: u64,
        r: &csv::StringRecord,
    ) -> Result<(User, Outcome), RowError> {
        let cell = |f: &str| self.columns.get(r, f);
        let email = cell("email")
            .map(Email::parse)
            .transpose()
            .map_err(|e| row_error(line, "email", e))?;
        let username = cell("username")
            .map(Username::parse)
            .transpose()
            .map_err(|e| row_error(line, "username", e))?;
        let display_name = cell("display_name")
            .map(|n| Name::parse("display name", n))
            .transpose()
            .map_err(|e| row_error(line, "display_name", e))?;
        let status = cell("status")
            .map(|s| settable_status(line, s))
            .transpose()?;
        let expires_on = cell("expires_on")
            .map(|d| parse_date("expires_on", d))
            .transpose()
            .map_err(|e| row_error(line, "expires_on", e))?;
        let primary_group = cell("primary_group")
            .map(|g| self.group(line, "primary_group", g))
            .transpose()?;
        let labels = self.labels(line, r)?;

        let by_email = email.as_ref().and_then(|e| self.known.get(e.as_str()));
        let by_username = username.as_ref().and_then(|u| self.known.get(u.as_str()));
        let existing = match (by_email, by_username) {
            (Some(a), Some(b)) if a.id != b.id => {
                return Err(row_error(
                    line,
                    "username",
                    format!("username {:?} belongs to another user", b.username.as_str()),
                ));
            }
            (Some(a), _) => Some(a.clone()),
            (None, Some(b)) if email.is_some() && b.email.is_some() => {
                return Err(row_error(
                    line,
                    "username",
                    format!("username {:?} belongs to another user", b.username.as_str()),
                ));
            }
            (None, b) => b.cloned(),
        };
        let today = today();
        // In the users format, someone the importer may not see is treated as nobody: the row
        // needs the right to create users like a new person's, and then answers as for one
        // hidden. (A group-roles row grants a role in a group to a person named by email, as
        // enrolling names a learner: the delegation rule decides, seeing them is not needed.)
        if let Some(hidden) = existing
            .as_ref()
            .filter(|u| self.format == Format::Users && self.hides(u))
        {
            let column = if by_email.is_some_and(|u| u.id == hidden.id) {
                "email"
            } else {
                "username"
            };
            self.require(line, "email", Act::CreateUser)?;
            return Err(Self::hidden(line, column));
        }
        match existing {
            Some(before) => {
                let mut after = before.clone();
                if let Some(e) = email {
                    after.email = Some(e);
                }
                if let Some(n) = display_name {
                    after.display_name = n;
                }
                if let Some(s) = status {
                    after.status = s;
                }
                if let Some(d) = expires_on {
                    after.expires_on = Some(d);
                }
                if let Some(g) = primary_group {
                    after.primary_group = Some(g);
                }
                if let Some(l) = labels {
                    let mut merged = after.labels.as_map().clone();
                    merged.extend(l);
                    after.labels =
                        Labels::parse(merged).map_err(|e| row_error(line, "labels", e))?;
                }
                if after == before {
                    return Ok((before, Outcome::Unchanged));
                }
                self.require(line, "email", Act::EditUser(before.id))?;
                // The one rule on changing a person, as on the JSON API and SCIM; asked in two
                // parts so that a refusal names the column it is about.
                let login = after.email != before.email || after.username != before.username;
                let login_column = if login && after.email == before.email {
                    "username"
                } else {
                    "email"
                };
                let only = |login, status, expiry| UserChange {
                    login,
                    status,
                    expiry,
                };
                let ask = |change, column| {
                    self.model
                        .validate_user_change(self.importer, before.id, change, today)
                        .map_err(|e| row_error(line, column, e))
                };
                ask(only(login, false, false), login_column)?;
                // The expiry first: moving it is what restores an expired person, whose status
                // then follows; each refusal names its own column.
                let expiry = after.expires_on != before.expires_on;
                if expiry {
                    ask(only(false, false, true), "expires_on")?;
                }
                if after.status != before.status {
                    ask(only(false, true, expiry), "status")?;
                }
                self.apply(Change::UpsertUser(AccessUser::from(&after)))
                    .map_err(|e| RowError { line, ..e })?;
                if after.primary_group != before.primary_group {
                    self.join_primary_group(line, &after)?;
                }
                self.remember(&after);
                self.ops.push(ImportOp::UpdateUser {
                    before,
                    after: after.clone(),
                });
                Ok((after, Outcome::Updated))
            }
            None => {
                self.require(line, "email", Act::CreateUser)?;
                let username = match (username, &email) {
                    (Some(u), _) => u,
                    (None, Some(e)) => {
                        Username::from_email(e).map_err(|e| row_error(line, "email", e))?
                    }
                    (None, None) => {
                        return Err(row_error(
                            line,
                            "email",
                            "a row needs an email or a username",
                        ));
                    }
                };
                let display_name = display_name.ok_or_else(|| {
                    row_error(line, "display_name", "a new user needs a display name")
                })?;
                let at = now();
                let user = User {
                    id: UserId::new(),
                    tenant_id: self.tenant,
                    username,
                    email,
                    display_name,
                    labels: Labels::parse(labels.unwrap_or_default())
                        .map_err(|e| row_error(line, "labels", e))?,
                    status: status.unwrap_or(UserStatus::Activated),
                    expires_on,
                    primary_group,
                    superadmin: false,
                    created_at: at,
                    updated_at: at,
                };
                self.apply(Change::UpsertUser(AccessUser::from(&user)))
                    .map_err(|e| RowError { line, ..e })?;
                self.join_primary_group(line, &user)?;
                self.remember(&user);
                self.ops.push(ImportOp::CreateUser(user.clone()));
                Ok((user, Outcome::Created))
            }
        }
    }

    /// A primary group is a membership (SPEC 1): giving one is adding a member, decided as on the
    /// JSON API (`groups.members` on the group and its membership rule) against the copy of the
    /// model that already holds this row's person; the store joins them with the row.
    fn join_primary_group(&mut self, line: u64, user: &User) -> Result<(), RowError> {
        let Some(group) = user.primary_group else {
            return Ok(());
        };
        if self.model.data().memberships.contains(&(user.id, group)) {
            return Ok(());
        }
        self.require(line, "primary_group", Act::ManageMembers(group))?;
        self.model
            .validate_membership(self.importer, user.id, group, today())
            .map_err(|e| row_error(line, "primary_group", e))?;
        self.apply(Change::AddMember {
            user: user.id,
            group,
        })
        .map_err(|e| RowError { line, ..e })
    }

    fn group(&self, line: u64, column: &str, cell: &str) -> Result<GroupId, RowError> {
        let id = GroupId::parse(cell).map_err(|e| row_error(line, column, e))?;
        if self.model.data().groups.contains_key(&id) {
            Ok(id)
        } else {
            Err(row_error(
                line,
                column,
                format!("no group {cell:?} in this tenant"),
            ))
        }
    }

    /// A people line: the person created or updated. In a tenant where everyone holds a role
    /// (group roles), a new person whose primary group gives none joins the default group, as
    /// on `POST /users` and from the SCIM feed; a group-roles line gives its role instead.
    fn person(&mut self, line: u64, r: &csv::StringRecord) -> Result<Outcome, RowError> {
        let (user, outcome) = self.upsert_user(line, r)?;
        if matches!(outcome, Outcome::Created) {
            let joining: Vec<GroupId> = user.primary_group.into_iter().collect();
            if let Some(group) = self.model.default_group_for_new(&[], &joining) {
                self.apply(Change::AddMember {
                    user: user.id,
                    group,
                })
                .map_err(|e| RowError { line, ..e })?;
                self.ops.push(ImportOp::Join {
                    user: user.id,
                    group,
                });
            }
        }
        Ok(outcome)
    }

    /// A group-roles line: the user (created when unknown), then the role at the group.
    fn group_role(&mut self, line: u64, r: &csv::StringRecord) -> Result<Outcome, RowError> {
        let code = self
            .columns
            .get(r, "role")
            .ok_or_else(|| row_error(line, "role", "a role code (0 to 3) is needed"))?;
        let code = group_role_csv_code(code).map_err(|e| row_error(line, "role", e))?;
        let role =
            self.model.role_by_code(code).map(|r| r.id).ok_or_else(|| {
                row_error(line, "role", format!("this tenant has no role {code:?}"))
            })?;
        let group_cell = self
            .columns
            .get(r, "group_id")
            .ok_or_else(|| row_error(line, "group_id", "a group id is needed"))?;
        let group = self.group(line, "group_id", group_cell)?;
        if self.columns.get(r, "email").is_none() {
            return Err(row_error(
                line,
                "email",
                "the group-roles format names users by email",
            ));
        }
        let (user, outcome) = self.upsert_user(line, r)?;
        let scope = Scope::Object(ObjectRef::group(group));
        let principal = Principal::User(user.id);
        if self.held.contains(&(principal, role, scope)) {
            return Ok(outcome);
        }
        let grant = Grant {
            id: GrantId::new(),
            principal,
            role,
            scope,
        };
        self.by = Some(
            self.model
                .validate_grant(self.importer, &grant, today())
                .map_err(|e| row_error(line, "role", e))?,
        );
        self.apply(Change::UpsertGrant(grant))
            .map_err(|e| RowError { line, ..e })?;
        self.held.insert((principal, role, scope));
        self.ops.push(ImportOp::Log(LogEntry {
            action: "grant.created",
            entity: "grant",
            entity_id: grant.id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "principal": principal.to_string(),
                "role": code,
                "scope": scope.to_string(),
            })),
            access: vec![Change::UpsertGrant(grant)],
        }));
        Ok(match outcome {
            Outcome::Created => Outcome::Created,
            _ => Outcome::Updated,
        })
    }

    fn status(&mut self, line: u64, r: &csv::StringRecord) -> Result<Outcome, RowError> {
        let column = if self.columns.get(r, "email").is_some() {
            "email"
        } else {
            "username"
        };
        let before = match self.named(r, column).cloned() {
            Some(u) if !self.hides(&u) => u,
            _ if self.model.sees_everyone(self.importer) => {
                return Err(row_error(line, column, "no such user in this tenant"));
            }
            _ => return Err(Self::hidden(line, column)),
        };
        let status = settable_status(line, self.columns.get(r, "status").unwrap_or_default())?;
        if before.status == status {
            return Ok(Outcome::Unchanged);
        }
        let change = UserChange {
            login: false,
            status: true,
            expiry: false,
        };
        self.by = Some(
            self.model
                .validate_user_change(self.importer, before.id, change, today())
                .map_err(|e| row_error(line, "status", e))?,
        );
        let after = User {
            status,
            ..before.clone()
        };
        self.apply(Change::UpsertUser(AccessUser::from(&after)))
            .map_err(|e| RowError { line, ..e })?;
        self.remember(&after);
        self.ops.push(ImportOp::UpdateUser { before, after });
        Ok(Outcome::Updated)
    }

    fn manager(&mut self, line: u64, r: &csv::StringRecord) -> Result<Outcome, RowError> {
        let manager = self
            .named(r, "manager")
            .map(|u| u.id)
            .ok_or_else(|| row_error(line, "manager", "no such user in this tenant"))?;
        let managee = self
            .named(r, "managee")
            .map(|u| u.id)
            .ok_or_else(|| row_error(line, "managee", "no such user in this tenant"))?;
        if self.model.data().managers.contains(&(manager, managee)) {
            return Ok(Outcome::Unchanged);
        }
        self.require(line, "managee", Act::SetManager(managee))?;
        self.model
            .validate_manager(manager, managee, today())
            .map_err(|e| row_error(line, "managee", e))?;
        self.apply(Change::AddManager {
            manager,
            managee,
            by_feed: false,
        })
        .map_err(|e| RowError { line, ..e })?;
        self.ops.push(ImportOp::AddManager(ManagerLink {
            manager,
            managee,
            source: ManagerSource::Explicit,
        }));
        Ok(Outcome::Created)
    }

    fn row(&mut self, line: u64, r: &csv::StringRecord) -> Result<Outcome, RowError> {
        match self.format {
            Format::Users => self.person(line, r),
            Format::GroupRoles => self.group_role(line, r),
            Format::Status => self.status(line, r),
            Format::Managers => self.manager(line, r),
        }
    }

    /// The emails and usernames a chunk names, to look up in one query.
    fn logins(&self, chunk: &[(u64, csv::StringRecord)]) -> Vec<String> {
        let mut logins: Vec<String> = chunk
            .iter()
            .flat_map(|(_, r)| {
                ["email", "username", "manager", "managee"]
                    .into_iter()
                    .filter_map(|f| self.columns.get(r, f))
                    .map(fold_identity)
            })
            .collect();
        logins.sort_unstable();
        logins.dedup();
        logins
    }

    /// The next chunk of records, each with its line. A line that is not UTF-8 is refused as a
    /// row; anything else that is not CSV ends the import.
    fn next_chunk<R: Read>(
        &mut self,
        reader: &mut csv::Reader<Lines<R>>,
    ) -> Result<Vec<(u64, csv::StringRecord)>, ImportError> {
        let mut chunk = Vec::with_capacity(CHUNK);
        for _ in 0..CHUNK {
            let mut record = csv::StringRecord::new();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| reader.get_mut().line_of(p));
                    chunk.push((line, record));
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| reader.get_mut().line_of(p));
                    if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                        return Err(file_error(line, "", format!("not valid CSV: {e}")));
                    }
                    self.report.rows += 1;
                    self.refuse(row_error(line, "", "the line is not valid UTF-8"));
                }
            }
        }
        Ok(chunk)
    }

    /// Checks each row of a chunk against the model (applying the accepted ones) and counts
    /// what it did.
    fn check_chunk(&mut self, chunk: &[(u64, csv::StringRecord)]) {
        for (line, record) in chunk {
            self.report.rows += 1;
            match self.row(*line, record) {
                Ok(Outcome::Created) => self.report.created += 1,
                Ok(Outcome::Updated) => self.report.updated += 1,
                Ok(Outcome::Unchanged) => self.report.unchanged += 1,
                Err(e) => self.refuse(e),
            }
        }
    }

    fn refuse(&mut self, e: RowError) {
        self.report.refused += 1;
        if self.report.errors.len() < LISTED {
            self.report.errors.push(e);
        }
    }
}

fn settable_status(line: u64, s: &str) -> Result<UserStatus, RowError> {
    match UserStatus::parse(s) {
        Ok(UserStatus::Active) => Err(row_error(
            line,
            "status",
            "status \"active\" cannot be set: it follows from learning activity",
        )),
        Ok(other) => Ok(other),
        Err(e) => Err(row_error(line, "status", e)),
    }
}

/// Imports the CSV `file` (read from where it stands) into `tenant` as `importer`. `progress` is told how many
/// bytes have been read after each chunk.
#[allow(clippy::too_many_arguments)] // Who, where, what and how: each is needed, none groups.
pub async fn run(
    store: &dyn Store,
    access: &ReadModel,
    tenant: TenantId,
    importer: UserId,
    file: std::fs::File,
    options: &ImportOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport, ImportError> {
    let mut reader = open_csv(file)?;
    let columns = Columns::new(&mut reader, options.format, &options.mapping)?;
    let mut session = store.begin_import(tenant).await?;
    // With the write lock held nobody else can move the tenant: catch up once, then the copy of
    // the model is exactly what the transaction sees.
    access.sync().await?;
    let (model, seen) = access.read_at(tenant, AccessModel::clone);
    let held = held(&model);
    let actual = session.revision().await?;
    if actual != seen {
        return Err(ApiError::Conflict {
            field: "revision".into(),
            detail: format!("the tenant is at revision {actual} but was read at {seen}; try again"),
        }
        .into());
    }
    let mut report = ImportReport {
        format: options.format.code().into(),
        dry_run: options.dry_run,
        ..ImportReport::default()
    };
    let mut run = Run {
        tenant,
        importer,
        format: options.format,
        columns,
        model,
        known: HashMap::new(),
        held,
        ops: Vec::new(),
        by: None,
        report: &mut report,
    };
    loop {
        let chunk = run.next_chunk(&mut reader)?;
        if chunk.is_empty() {
            break;
        }
        let logins = run.logins(&chunk);
        run.known.clear();
        for u in session.users_by_login(&logins).await? {
            run.remember(&u);
        }
        run.check_chunk(&chunk);
        // Written even after a refusal, so later rows are checked against the same state an
        // apply would see; the transaction is rolled back then.
        let ops = std::mem::take(&mut run.ops);
        if !ops.is_empty() {
            let by = run.by.ok_or_else(|| {
                ApiError::Internal("an import change was made without the engine's proof".into())
            })?;
            session.write(&by.into(), ops).await?;
        }
        progress(reader.position().byte());
    }
    let by = run.by;
    if options.dry_run {
        return Ok(report);
    }
    if report.refused > 0 {
        return Err(ImportError::Refused(Box::new(report)));
    }
    // An import is recorded even when every row was as stored already: then it is only its
    // importer's own act, which the engine allows anyone (as seeing oneself).
    let by = match by {
        Some(by) => by,
        None => access
            .read(tenant, |m| {
                m.decide(importer, &Act::ViewUser(importer), today())
            })
            .map_err(ApiError::from)?
            .authorized()
            .ok_or_else(|| ApiError::Internal("the importer may not act as themselves".into()))?,
    };
    let summary = LogEntry {
        action: "import.applied",
        entity: "import",
        entity_id: uuid::Uuid::now_v7().to_string(),
        before: None,
        after: Some(serde_json::json!({
            "format": options.format.code(),
            "source": options.source,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        })),
        access: vec![],
    };
    session.commit(&by.into(), summary).await?;
    report.applied = true;
    report.revision = Some(access.sync().await?);
    Ok(report)
}

/// (principal, role, scope) of every grant in `model`.
fn held(model: &AccessModel) -> HashSet<(Principal, RoleId, Scope)> {
    model
        .data()
        .grants
        .values()
        .map(|g| (g.principal, g.role, g.scope))
        .collect()
}

/// The rows of a CSV file checked by [`run`]'s rules against `model` alone, as a dry run with no
/// store: the only users known are those earlier rows create or update. For fuzzing and tests.
pub fn check_offline<R: BufRead>(
    model: AccessModel,
    tenant: TenantId,
    importer: UserId,
    reader: R,
    format: Format,
    mapping: &ColumnMapping,
) -> Result<ImportReport, ImportError> {
    let mut reader = csv_reader(reader)
        .map_err(|e| ApiError::Internal(format!("cannot read the import file: {e}")))?;
    let columns = Columns::new(&mut reader, format, mapping)?;
    let mut report = ImportReport {
        format: format.code().into(),
        dry_run: true,
        ..ImportReport::default()
    };
    let mut run = Run {
        tenant,
        importer,
        format,
        columns,
        held: held(&model),
        model,
        known: HashMap::new(),
        ops: Vec::new(),
        by: None,
        report: &mut report,
    };
    loop {
        let chunk = run.next_chunk(&mut reader)?;
        if chunk.is_empty() {
            break;
        }
        run.check_chunk(&chunk);
        run.ops.clear();
    }
    Ok(report)
}

/// Now, at the millisecond precision the store keeps, so a created user reads back equal.
fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use registrar_domain::access::{AccessUser, PresetData};
    use registrar_domain::tenant::Preset;

    use super::*;

    fn refused_lines(file: &str) -> Vec<u64> {
        let tenant = TenantId::new();
        let admin = UserId::new();
        let mut model = PresetData::for_preset(Preset::ClassicLms)
            .model(tenant)
            .unwrap();
        model
            .apply(&Change::UpsertUser(AccessUser {
                superadmin: true,
                ..AccessUser::active(admin)
            }))
            .unwrap();
        let report = check_offline(
            model,
            tenant,
            admin,
            file.as_bytes(),
            Format::Users,
            &ColumnMapping::default(),
        )
        .unwrap();
        report.errors.iter().map(|e| e.line).collect()
    }

    #[test]
    fn rows_are_reported_on_their_own_line_whatever_the_line_endings() {
        // Found by the csv_import fuzz target: with CRLF endings (as spreadsheets write them),
        // after blank lines and with lone CRs, the CSV reader's line numbers are those of an
        // earlier line.
        let rows = [
            "email,display_name",
            "bad,A",
            "",
            "also bad,B",
            "\"x\ny\",C",
            "bad,D",
        ];
        for ending in ["\n", "\r\n", "\r"] {
            let file = rows.join(ending) + ending;
            assert_eq!(refused_lines(&file), vec![2, 4, 5, 7], "{file:?}");
        }
        assert_eq!(
            refused_lines("\u{feff}email,display_name\r\n\r\nbad,A"),
            vec![3]
        );
    }
}
