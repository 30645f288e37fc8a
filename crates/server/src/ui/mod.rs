//! The admin pages at `/`: server-rendered (askama templates, escaped by default), behind the
//! session login, with htmx served from the binary. Every page and every control is cut by the
//! same engine questions the JSON API asks (`AppState::allows` / `authorize` with an `Act`),
//! and every form posts back to a handler that asks again: a button that is absent is also
//! refused. Forms carry the session's CSRF secret, which the server checks against the
//! session before it reads anything else of the form.

mod auth;
mod courses;
mod explain;
mod groups;
mod imports;
mod insights;
mod names;
mod people;
mod roles;
mod settings;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use registrar_domain::access::Act;
use registrar_store::TokenKind;

use crate::auth::secret_hash;
use crate::error::ApiError;
use crate::extract::{Member, SESSION_COOKIE, cookie};
use crate::state::AppState;

/// The cookie that holds the session's CSRF secret for the pages' forms (the session cookie
/// holds the session's own secret). Both are `HttpOnly` and `SameSite=Strict`.
pub const CSRF_COOKIE: &str = "registrar_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/people") }))
        .route("/login", get(auth::form).post(auth::submit))
        .route("/logout", post(auth::logout))
        .route("/people", get(people::list))
        .route("/people/status", post(people::bulk_status))
        .route("/people/{id}", get(people::profile).post(people::edit))
        .route("/people/{id}/grants", post(people::grant))
        .route("/people/{id}/app-access", post(people::app_access))
        .route("/grants/{id}/revoke", post(people::revoke))
        .route("/groups", get(groups::list).post(groups::create_group))
        .route("/groups/{id}", get(groups::group).post(groups::edit_group))
        .route("/groups/{id}/members", post(groups::group_member))
        .route("/teams", post(groups::create_team))
        .route("/teams/{id}", get(groups::team).post(groups::edit_team))
        .route("/teams/{id}/members", post(groups::team_member))
        .route("/courses", get(courses::list))
        .route("/courses/{id}", get(courses::detail).post(courses::act))
        .route(
            "/courses/{id}/enrollments/{user}/approve",
            post(courses::approve),
        )
        .route("/roles", get(roles::list).post(roles::act))
        .route("/roles/{code}", get(roles::detail).post(roles::save))
        .route("/settings", get(settings::page).post(settings::save))
        .route("/explain", get(explain::page))
        .route("/explain/suggest", get(explain::suggest))
        .route("/reports", get(insights::reports))
        .route("/access-review", get(insights::review))
        .route("/audit", get(insights::audit))
        .route(
            "/import",
            get(imports::page)
                .post(imports::submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    usize::try_from(crate::routes::imports::MAX_IMPORT_BYTES).unwrap_or(usize::MAX),
                )),
        )
        .route("/import/jobs/{id}", get(imports::job))
        .route("/static/app.css", get(css))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/app.js", get(app_js))
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    )
}

/// htmx 2.x, vendored from its npm package (`htmx.org`, see `static/README.md`).
async fn htmx() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/htmx.min.js"),
    )
}

async fn app_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Who is looking at a page: a member of a tenant signed in through the login page, and the
/// CSRF secret their forms carry.
pub struct Viewer {
    pub member: Member,
    csrf: String,
}

impl std::fmt::Debug for Viewer {
    // The CSRF secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("member", &self.member.user.id)
            .finish()
    }
}

/// A form's field, for forms that repeat a name (checked rows) and so arrive as pairs.
pub fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of a repeated field.
pub fn fields_named(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let secret = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(to_login)?;
        let token = state
            .store
            .token_by_secret_hash(&secret_hash(secret))
            .await
            .map_err(|e| Page::error(ApiError::from(e)))?
            .filter(|t| t.kind == TokenKind::Session)
            .ok_or_else(to_login)?;
        let member = match crate::extract::member_of(state, token).await {
            Ok(member) => member,
            Err(ApiError::Unauthenticated(_)) => return Err(to_login()),
            Err(e) => return Err(Page::error(e)),
        };
        let csrf = cookie(&parts.headers, CSRF_COOKIE)
            .filter(|c| Some(secret_hash(c)) == member.token.csrf_hash)
            .unwrap_or_default()
            .to_owned();
        Ok(Viewer { member, csrf })
    }
}

impl Viewer {
    /// Refuses a form that does not carry this session's CSRF secret.
    pub fn verify(&self, presented: &str) -> Result<(), Refusal> {
        if self.csrf.is_empty() || presented != self.csrf {
            return Err(fail(ApiError::Forbidden(
                "this form is stale or was not sent from Registrar's pages: reload the page and \
                 try again"
                    .into(),
            )));
        }
        Ok(())
    }

    /// What every page shows around its content: who is signed in, the sections the engine
    /// lets them open, and the secret their forms carry.
    pub fn frame(&self, state: &AppState, title: impl Into<String>, here: &str) -> Frame {
        let m = &self.member;
        let sections = [
            ("/people", "People", true),
            ("/groups", "Groups and teams", true),
            ("/courses", "Courses", true),
            ("/roles", "Roles", state.allows(m, &Act::ViewRoles)),
            ("/reports", "Reports", true),
            ("/explain", "Explain access", true),
            (
                "/access-review",
                "Access review",
                state.allows(m, &Act::ReviewAccess),
            ),
            ("/audit", "Audit log", state.allows(m, &Act::ViewAudit)),
            ("/import", "Import", state.allows(m, &Act::CreateUser)),
            ("/settings", "Settings", state.allows(m, &Act::Configure)),
        ];
        Frame {
            title: title.into(),
            viewer: m.user.display_name.to_string(),
            username: m.user.username.to_string(),
            nav: sections
                .into_iter()
                .filter(|(_, _, shown)| *shown)
                .map(|(href, label, _)| NavItem {
                    href,
                    label,
                    here: href == here,
                })
                .collect(),
            csrf: self.csrf.clone(),
            notice: None,
            problem: None,
        }
    }
}

#[derive(Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub here: bool,
}

/// The page around the content (see `templates/base.html`).
#[derive(Debug)]
pub struct Frame {
    pub title: String,
    pub viewer: String,
    pub username: String,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    /// What a form just did.
    pub notice: Option<String>,
    /// Why a form was refused: the engine's or the validator's words, as the API gives them.
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    reason: String,
    detail: String,
}

/// Rendering pages and the error page.
#[derive(Debug)]
pub struct Page;

impl Page {
    pub fn render(t: &impl Template) -> Response {
        match t.render() {
            Ok(html) => html_response(StatusCode::OK, html),
            Err(e) => Page::error(ApiError::Internal(format!("cannot render the page: {e}"))),
        }
    }

    /// An error as a page, with the same words as the API's problem body (internal details
    /// are logged, not shown).
    pub fn error(e: ApiError) -> Response {
        let status = e.status();
        if let ApiError::Internal(detail) = &e {
            tracing::error!(%detail, "internal error on a page");
        }
        let page = ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error").to_owned(),
            detail: e.to_string(),
        };
        match page.render() {
            Ok(html) => html_response(status, html),
            Err(_) => (status, e.to_string()).into_response(),
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A handler's outcome: a page, or the error page.
pub type PageResult = Result<Response, Refusal>;

/// The error page a handler answers with instead of its page (boxed: a response is large).
#[derive(Debug)]
pub struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Turns an API error into the error page, for `?`.
pub fn fail(e: impl Into<ApiError>) -> Refusal {
    Refusal(Box::new(Page::error(e.into())))
}
