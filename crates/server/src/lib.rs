//! Registrar's HTTP edge.
//!
//! Architecture invariant: this is the only crate that knows HTTP. Handlers parse input into
//! domain types, ask the store (and, for access, the domain's rules), and map every error to a
//! problem body in one place (`error`). No SQL here.

pub mod auth;
pub mod bootstrap;
pub mod dto;
pub mod error;
pub mod export;
pub mod extract;
pub mod import;
pub mod import_jobs;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod ratelimit;
pub mod readmodel;
pub mod routes;
pub mod scim;
pub mod state;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use registrar_store::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
pub use crate::state::{AppState, Settings};

/// The whole HTTP surface for the given state. Tests may drive it directly.
/// Same-origin resources only, no inline script or style, no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    use routes::*;
    let api = Router::new()
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/tenants/{id}", get(tenants::get).patch(tenants::update))
        .route("/tenants/{id}/digest", get(tenants::digest))
        .route(
            "/tenant",
            get(tenants::current).patch(tenants::update_current),
        )
        .route(
            "/tenant/feed-manager-role",
            get(access::feed_manager_role).put(access::set_feed_manager_role),
        )
        .route(
            "/tenant/default-role",
            get(access::default_role).put(access::set_default_role),
        )
        .route(
            "/tenant/legal-representative",
            get(tenants::legal_representative)
                .put(tenants::set_legal_representative)
                .delete(tenants::remove_legal_representative),
        )
        .route("/users", get(users::list).post(users::create))
        .route("/users/status", post(users::set_statuses))
        .route("/users/{id}", get(users::get).patch(users::update))
        .route("/users/{id}/password", put(users::set_password))
        .route("/users/{id}/groups", get(users::groups))
        .route("/users/{id}/managers", get(users::managers))
        .route("/users/{id}/managees", get(users::managees))
        .route("/users/{id}/results", get(courses::results))
        .route(
            "/users/{id}/managers/{manager_id}",
            put(users::add_manager).delete(users::remove_manager),
        )
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", get(groups::get).patch(groups::update))
        .route("/groups/{id}/members", get(groups::members))
        .route(
            "/groups/{id}/members/{user_id}",
            put(groups::add_member).delete(groups::remove_member),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/audit", get(audit::list))
        .route("/access-review", get(review::get))
        .route("/reports/enrollments", get(reports::enrollments))
        .route("/reports/summary", get(reports::summary))
        .route("/reports/summary.svg", get(reports::summary_chart))
        .route("/check", post(access::check))
        .route("/check/batch", post(access::check_batch))
        .route("/users/{id}/objects", get(access::objects_for))
        .route("/holders", get(access::holders))
        .route("/permissions", get(access::permissions))
        .route("/roles", get(access::list_roles).post(access::create_role))
        .route(
            "/roles/{role}",
            get(access::get_role)
                .patch(access::update_role)
                .delete(access::delete_role),
        )
        .route("/roles/{role}/copy", post(access::copy_role))
        .route(
            "/grants",
            get(access::list_grants).post(access::create_grant),
        )
        .route("/grants/{id}", axum::routing::delete(access::delete_grant))
        .route(
            "/policies",
            get(access::list_policies).post(access::create_policy),
        )
        .route("/policies/{id}/attachments", post(access::attach_policy))
        .route(
            "/policies/{id}/attachments/{principal}",
            axum::routing::delete(access::detach_policy),
        )
        .route("/ownership", post(access::hand_over))
        .route("/objects", put(access::put_object))
        .route("/features/{feature}", put(access::set_feature))
        .route("/courses", get(courses::list).post(courses::create))
        .route(
            "/courses/{id}",
            get(courses::get)
                .patch(courses::update)
                .delete(courses::delete),
        )
        .route(
            "/courses/{id}/materials/{material}",
            axum::routing::delete(courses::delete_material),
        )
        .route(
            "/courses/{id}/materials",
            get(courses::materials).post(courses::add_material),
        )
        .route(
            "/courses/{id}/enrollments",
            get(courses::enrollments).post(courses::enroll),
        )
        .route(
            "/courses/{id}/enrollments/{user}",
            axum::routing::patch(courses::set_status).delete(courses::unenroll),
        )
        .route(
            "/courses/{id}/enrollments/{user}/approve",
            post(courses::approve),
        )
        .route("/activity", post(courses::activity))
        .route(
            "/courses/{id}/sessions",
            get(sessions::list).post(sessions::create),
        )
        .route(
            "/sessions/{id}",
            get(sessions::get)
                .patch(sessions::update)
                .delete(sessions::delete),
        )
        .route(
            "/sessions/{id}/bookings",
            get(sessions::bookings).post(sessions::book),
        )
        .route(
            "/sessions/{id}/bookings/{user}",
            axum::routing::delete(sessions::cancel),
        )
        .route(
            "/sessions/{id}/bookings/{user}/approve",
            post(sessions::approve),
        )
        .route("/sessions/{id}/attendance", post(sessions::attendance))
        .route(
            "/users/{id}/app-access",
            put(app::set_app_access).get(app::app_access),
        )
        .route("/courses/{id}/app-access", post(app::course_app_access))
        .route("/app/courses", get(app::app_courses))
        .route("/users/{id}/invitation", post(app::invite))
        .route(
            "/tenant/settings",
            get(app::settings).put(app::set_settings),
        )
        .route(
            "/tenant/leaver-policy",
            get(crate::scim::leaver::get).put(crate::scim::leaver::set),
        )
        .route("/learning-plans", post(courses::create_plan))
        .route(
            "/learning-plans/{id}",
            get(courses::get_plan).delete(courses::delete_plan),
        )
        .route("/learning-plans/{id}/status", get(courses::plan_status_of))
        .route(
            "/learning-plans/{id}/enrollments",
            post(courses::enroll_in_plan),
        )
        .route(
            "/groups/{id}/invitations",
            get(invitations::list).post(invitations::invite),
        )
        .route("/invitations/accept", post(invitations::accept))
        .route("/teams", get(teams::list).post(teams::create))
        .route(
            "/teams/{id}",
            get(teams::get).patch(teams::update).delete(teams::delete),
        )
        .route("/teams/{id}/members", get(teams::members))
        .route(
            "/teams/{id}/members/{user}",
            put(teams::add_member).delete(teams::remove_member),
        )
        .route("/teams/{id}/results", get(teams::results))
        .route(
            "/courses/{id}/deployments",
            get(deployments::list).post(deployments::deploy),
        )
        .route(
            "/courses/{id}/deployments/{target}",
            axum::routing::delete(deployments::withdraw),
        )
        .route(
            "/courses/{id}/self-enrollment",
            post(deployments::self_enroll),
        )
        .route(
            "/catalogues/{id}/courses",
            get(deployments::catalogue_courses),
        )
        .route("/imports", post(imports::create))
        .route("/imports/jobs/{id}", get(imports::job))
        .route("/exports/{kind}", get(imports::export))
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) });

    let request_id = axum::http::HeaderName::from_static("x-request-id");
    // API answers carry personal data: no shared or browser caches.
    let api = api.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    // So do SCIM answers: they are the people-data feed.
    let scim = scim::router().layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    let hsts = state.settings.hsts;
    Router::new()
        .nest("/api/v1", api)
        .nest("/scim/v2", scim)
        .route("/api/openapi.json", get(openapi::serve))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .merge(ui::router())
        .fallback(|| async { ApiError::NotFound("not found".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.access.clone(),
            readmodel::catch_up_after_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Strict headers on every answer: nothing may frame, script or leak a referrer.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &axum::response::Response| {
                hsts.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"))
            },
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

impl AppState {
    /// Loads the read model from the change log; the server is ready when this returns.
    pub async fn new(
        store: Arc<dyn Store>,
        settings: Settings,
    ) -> Result<Self, registrar_store::StoreError> {
        let access = Arc::new(readmodel::ReadModel::load(store.clone()).await?);
        Ok(Self {
            store,
            access,
            metrics: Arc::new(metrics::Metrics::new()),
            limiter: Arc::new(ratelimit::LoginLimiter::new()),
            refusals: Arc::new(ratelimit::RepeatFilter::new(settings.refusal_audit_window)),
            imports: Arc::new(import_jobs::ImportJobs::default()),
            settings: Arc::new(settings),
        })
    }
}

/// A bound, not yet serving, server. Binding first lets callers (tests, `serve --demo`) learn the
/// real port when they asked for port 0.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Writes made through other servers reach this one within this delay.
        let follower = self
            .state
            .access
            .clone()
            .follow(std::time::Duration::from_millis(250));
        let sender = self.state.settings.mail.clone().map(|transport| {
            transport.run(self.state.store.clone(), std::time::Duration::from_secs(1))
        });
        let app = router(self.state);
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        follower.abort();
        if let Some(sender) = sender {
            sender.abort();
        }
        served
    }
}

/// A handler that panicked (a bug: input is checked before it reaches anything that could)
/// answers like any internal error, with the strict headers, instead of a dropped connection.
/// Its transaction, if it had one, is rolled back as it unwinds.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    ApiError::Internal("a request handler panicked".into()).into_response()
}

#[cfg(test)]
mod panic_tests {
    use super::*;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("a bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_a_problem() {
        let app: Router = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panicked));
        let request = axum::http::Request::get("/boom")
            .body(axum::body::Body::empty())
            .unwrap_or_default();
        let answer = app.oneshot(request).await.unwrap_or_default();
        assert_eq!(
            answer.status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
