//! Deploying a course (seed 001: "deploy the Course to Users, Groups and Catalogues"). To a
//! group: its members are enrolled now and whoever joins it later. To a catalogue: learners who
//! see the catalogue enroll themselves, and the course's enrollment policy (approval, capacity)
//! decides whether they wait. Deploying to users is enrolling them (`/courses/{id}/enrollments`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::{Act, ObjectKind, ObjectRef};
use registrar_store::Deployment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::courses::{CourseOut, EnrollmentOut, course_ref, path_object};
use crate::dto::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployIn {
    /// `group:<id>` or `catalogue:<id>`.
    pub target: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentOut {
    pub course: String,
    pub target: String,
    pub deployed_at: String,
}

impl From<Deployment> for DeploymentOut {
    fn from(d: Deployment) -> Self {
        DeploymentOut {
            course: d.course.to_string(),
            target: d.target.to_string(),
            deployed_at: timestamp(d.deployed_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeployedOut {
    pub deployment: DeploymentOut,
    /// The enrollments the deployment made (a group's members not enrolled before).
    pub enrollments: Vec<EnrollmentOut>,
}

/// A deployment target named in a request: a group or catalogue the tenant has.
fn target(state: &AppState, member: &Member, raw: &str) -> ApiResult<ObjectRef> {
    let target = ObjectRef::parse(raw).map_err(|e| ApiError::invalid("target", e.to_string()))?;
    let known = state.access.read(member.tenant, |m| match target.kind {
        ObjectKind::Group => {
            m.data()
                .groups
                .contains_key(&registrar_domain::ids::GroupId::from_uuid(
                    target.id.as_uuid(),
                ))
        }
        ObjectKind::Catalogue => m.data().objects.contains_key(&target),
        _ => false,
    });
    match target.kind {
        ObjectKind::Group | ObjectKind::Catalogue if known => Ok(target),
        ObjectKind::Group | ObjectKind::Catalogue => Err(ApiError::invalid(
            "target",
            format!("{target} does not exist"),
        )),
        _ => Err(ApiError::invalid(
            "target",
            format!(
                "a course is deployed to a group or a catalogue, not to a {}",
                target.kind
            ),
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/courses/{id}/deployments", tag = "courses", request_body = DeployIn,
    responses((status = 201, body = DeployedOut), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn deploy(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<DeployIn>,
) -> ApiResult<(StatusCode, Json<DeployedOut>)> {
    let course = path_object(&id)?;
    let to = target(&state, &member, &body.target)?;
    let by = state
        .authorize(
            &member,
            Act::Deploy {
                course: course_ref(course),
                to,
            },
        )
        .await?;
    let enrollments = state
        .store
        .deploy(&by.into(), member.tenant, course, to)
        .await?;
    let deployment = state
        .store
        .deployments(member.tenant, course)
        .await?
        .into_iter()
        .find(|d| d.target == to)
        .ok_or_else(|| ApiError::NotFound(format!("course {course} is not deployed to {to}")))?;
    Ok((
        StatusCode::CREATED,
        Json(DeployedOut {
            deployment: deployment.into(),
            enrollments: enrollments.into_iter().map(Into::into).collect(),
        }),
    ))
}

/// Where the course is deployed, to whoever sees the course.
#[utoipa::path(get, path = "/api/v1/courses/{id}/deployments", tag = "courses",
    responses((status = 200, body = Vec<DeploymentOut>), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DeploymentOut>>> {
    let course = path_object(&id)?;
    state
        .authorize(&member, Act::View(course_ref(course)))
        .await?;
    let deployments = state.store.deployments(member.tenant, course).await?;
    Ok(Json(deployments.into_iter().map(Into::into).collect()))
}

/// Withdraws a deployment; the enrollments it made stay.
#[utoipa::path(delete, path = "/api/v1/courses/{id}/deployments/{target}", tag = "courses",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    member: Member,
    Path((id, raw)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let course = path_object(&id)?;
    let to = target(&state, &member, &raw)?;
    let by = state
        .authorize(
            &member,
            Act::Deploy {
                course: course_ref(course),
                to,
            },
        )
        .await?;
    state
        .store
        .withdraw(&by.into(), member.tenant, course, to)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a catalogue offers: the courses deployed to it, to whoever sees the catalogue.
#[utoipa::path(get, path = "/api/v1/catalogues/{id}/courses", tag = "courses",
    responses((status = 200, body = Vec<CourseOut>), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn catalogue_courses(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<CourseOut>>> {
    let catalogue = ObjectRef::new(ObjectKind::Catalogue, path_object(&id)?);
    state.authorize(&member, Act::View(catalogue)).await?;
    let courses = state.store.deployed_to(member.tenant, catalogue).await?;
    Ok(Json(courses.into_iter().map(Into::into).collect()))
}

/// Enrolls the caller in a course offered in a catalogue they see. The course's enrollment
/// policy and capacity decide the status: `waiting` when it asks for approval or is full.
#[utoipa::path(post, path = "/api/v1/courses/{id}/self-enrollment", tag = "enrollments",
    responses((status = 201, body = EnrollmentOut), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn self_enroll(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<EnrollmentOut>)> {
    let course = path_object(&id)?;
    let catalogues = state
        .store
        .deployments(member.tenant, course)
        .await?
        .into_iter()
        .map(|d| d.target)
        .filter(|t| t.kind == ObjectKind::Catalogue)
        .collect();
    let by = state
        .authorize(
            &member,
            Act::SelfEnroll {
                course: course_ref(course),
                catalogues,
            },
        )
        .await?;
    let enrollment = state
        .store
        .enroll(&by.into(), member.tenant, course, member.user.id)
        .await?;
    Ok((StatusCode::CREATED, Json(enrollment.into())))
}
