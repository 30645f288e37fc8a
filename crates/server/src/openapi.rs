//! The OpenAPI document, generated from the handlers' annotations.

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Registrar",
        description = "People, roles and access for a learning platform. Errors are \
            application/problem+json bodies naming what was wrong and which field."
    ),
    paths(
        health::healthz, health::metrics,
        session::login, session::logout, session::me,
        tenants::create, tenants::list, tenants::get, tenants::update,
        tenants::current, tenants::update_current,
        users::create, users::list, users::get, users::update, users::set_password,
        users::groups, users::managers, users::managees, users::add_manager, users::remove_manager,
        groups::create, groups::list, groups::get, groups::update, groups::members,
        groups::add_member, groups::remove_member,
        tokens::create, tokens::list, tokens::revoke,
        audit::list,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn serve() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
