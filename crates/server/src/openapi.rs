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
        tenants::create, tenants::list, tenants::get, tenants::update, tenants::digest,
        tenants::current, tenants::update_current, tenants::legal_representative,
        tenants::set_legal_representative, tenants::remove_legal_representative,
        access::feed_manager_role, access::set_feed_manager_role, access::default_role, access::set_default_role,
        users::create, users::list, users::set_statuses, users::get, users::update, users::set_password,
        users::groups, users::managers, users::managees, users::add_manager, users::remove_manager,
        groups::create, groups::list, groups::get, groups::update, groups::members,
        groups::add_member, groups::remove_member,
        tokens::create, tokens::list, tokens::revoke,
        audit::list, review::get, reports::enrollments, reports::summary, reports::summary_chart,
        access::check, access::check_batch, access::objects_for, access::holders,
        access::permissions, access::list_roles, access::get_role, access::create_role,
        access::copy_role, access::update_role, access::delete_role,
        access::list_grants, access::create_grant, access::delete_grant,
        access::list_policies, access::create_policy, access::attach_policy, access::detach_policy,
        access::hand_over, access::put_object, access::set_feature,
        courses::create, courses::list, courses::get, courses::update, courses::add_material,
        courses::materials, courses::results, courses::enroll, courses::enrollments, courses::set_status,
        courses::approve, courses::activity, courses::create_plan, courses::plan_status_of, courses::enroll_in_plan,
        sessions::create, sessions::list, sessions::get, sessions::update, sessions::book,
        sessions::bookings, sessions::approve, sessions::attendance, sessions::delete, sessions::cancel,
        courses::delete, courses::delete_material, courses::unenroll, courses::get_plan,
        courses::delete_plan,
        app::set_app_access, app::app_access, app::course_app_access, app::app_courses, app::invite, app::settings, app::set_settings,
        crate::scim::leaver::get, crate::scim::leaver::set,
        imports::create, imports::job, imports::export,
        teams::create, teams::list, teams::get, teams::update, teams::delete, teams::members,
        teams::add_member, teams::remove_member, teams::results,
        deployments::deploy, deployments::list, deployments::withdraw,
        deployments::catalogue_courses, deployments::self_enroll,
        invitations::invite, invitations::list, invitations::accept,
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
