//! Courses and their materials, enrollments and their statuses, learning activity, and learning
//! plans (SPEC 3.2). The engine decides who may; the lifecycle rules in the store decide what
//! may happen to an enrollment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::{
    Act, Change, EnrollmentStatus, Grant, GrantId, ObjectId, ObjectKind, ObjectRef, Principal,
    Scope,
};
use registrar_domain::course::{Course, Enrollment, LearningPlan, Material};
use registrar_domain::ids::GroupId;
use registrar_domain::lifecycle::{
    Activity, CourseType, EnrollmentPolicy, PlanStatus, capacity, plan_status,
};
use registrar_domain::text::Name;
use registrar_store::{CoursePatch, LogEntry, NewCourse, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::{PageQuery, double_option, timestamp};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Member, Query};
use crate::state::AppState;

pub(crate) fn course_ref(id: ObjectId) -> ObjectRef {
    ObjectRef::new(ObjectKind::Course, id)
}

pub(crate) fn object_id(field: &'static str, raw: &str) -> ApiResult<ObjectId> {
    uuid::Uuid::parse_str(raw.trim())
        .map(ObjectId::from_uuid)
        .map_err(|_| {
            ApiError::invalid(
                field,
                format!("invalid {field} id {raw:?}: expected a UUID"),
            )
        })
}

pub(crate) fn path_object(raw: &str) -> ApiResult<ObjectId> {
    uuid::Uuid::parse_str(raw.trim())
        .map(ObjectId::from_uuid)
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid id {raw:?} in the URL path: expected a UUID"
            ))
        })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseOut {
    pub id: String,
    /// `course:<id>`, as checks name it.
    pub object: String,
    pub title: String,
    /// `e_learning` or `instructor_led`.
    pub course_type: &'static str,
    pub published: bool,
    pub capacity: Option<u32>,
    /// `open` or `approval_required`.
    pub policy: &'static str,
    pub group: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Course> for CourseOut {
    fn from(c: Course) -> Self {
        Self {
            id: c.id.to_string(),
            object: c.object().to_string(),
            title: c.title.to_string(),
            course_type: c.course_type.code(),
            published: c.published,
            capacity: c.capacity,
            policy: c.policy.code(),
            group: c.group.map(|g| g.to_string()),
            created_by: c.created_by.map(|u| u.to_string()),
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoursePage {
    pub items: Vec<CourseOut>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialOut {
    pub id: String,
    pub object: String,
    pub title: String,
    pub position: u32,
}

impl From<Material> for MaterialOut {
    fn from(m: Material) -> Self {
        Self {
            id: m.id.to_string(),
            object: m.learning_object().object.to_string(),
            title: m.title.to_string(),
            position: m.position,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentOut {
    pub user: String,
    pub course: String,
    /// enrolled, in_progress, completed, waiting, to_confirm, suspended or overbooked.
    pub status: &'static str,
    /// Whether the course shows in the learner app.
    pub show_in_app: bool,
    pub enrolled_at: String,
    pub updated_at: String,
}

impl From<Enrollment> for EnrollmentOut {
    fn from(e: Enrollment) -> Self {
        Self {
            user: e.user.to_string(),
            course: e.course.to_string(),
            status: e.status.code(),
            show_in_app: e.show_in_app,
            enrolled_at: timestamp(e.enrolled_at),
            updated_at: timestamp(e.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentPage {
    pub items: Vec<EnrollmentOut>,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseIn {
    pub title: String,
    /// `e_learning` (default) or `instructor_led`.
    pub course_type: Option<String>,
    #[serde(default)]
    pub published: bool,
    /// Places; later enrollments wait.
    pub capacity: Option<u32>,
    /// `open` (default) or `approval_required`.
    pub policy: Option<String>,
    /// The group the course belongs to.
    pub group: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoursePatchIn {
    pub title: Option<String>,
    pub published: Option<bool>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub capacity: Option<Option<u32>>,
    pub policy: Option<String>,
}

/// Creates a course, in a group when one is named (where the caller needs `courses.create`).
#[utoipa::path(post, path = "/api/v1/courses", tag = "courses", request_body = CourseIn,
    responses((status = 201, body = CourseOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CourseIn>,
) -> ApiResult<(StatusCode, Json<CourseOut>)> {
    let group = body
        .group
        .as_deref()
        .map(|g| GroupId::parse(g).map_err(|e| ApiError::invalid("group", e.to_string())))
        .transpose()?;
    let new = NewCourse {
        title: Name::parse("title", &body.title)?,
        course_type: body
            .course_type
            .as_deref()
            .map(CourseType::parse)
            .transpose()?
            .unwrap_or(CourseType::ELearning),
        published: body.published,
        capacity: body.capacity.map(capacity).transpose()?,
        policy: body
            .policy
            .as_deref()
            .map(EnrollmentPolicy::parse)
            .transpose()?
            .unwrap_or_default(),
        group,
        created_by: Some(member.user.id),
        // Whatever the engine gives a course's creator (its author, in the group-roles preset).
        creator_roles: state.access.read(member.tenant, |m| {
            m.creator_roles(member.user.id, ObjectKind::Course)
        }),
    };
    let place = group.map_or(ObjectRef::tenant(member.tenant), ObjectRef::group);
    let by = state
        .authorize(
            &member,
            Act::Create {
                kind: ObjectKind::Course,
                place,
            },
        )
        .await?;
    let course = state
        .store
        .create_course(&by.into(), member.tenant, new)
        .await?;
    Ok((StatusCode::CREATED, Json(course.into())))
}

#[utoipa::path(get, path = "/api/v1/courses", tag = "courses", params(PageQuery),
    responses((status = 200, body = CoursePage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<CoursePage>> {
    let tenant = member.tenant;
    let store = &state.store;
    let page = super::visible_page(
        page.request(),
        |request| async move { store.list_courses(tenant, &request).await },
        |c| state.allows(&member, &Act::View(c.object())),
        |c| c.id.to_string(),
    )
    .await?;
    Ok(Json(CoursePage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[utoipa::path(get, path = "/api/v1/courses/{id}", tag = "courses",
    responses((status = 200, body = CourseOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<CourseOut>> {
    let id = path_object(&id)?;
    state.authorize(&member, Act::View(course_ref(id))).await?;
    Ok(Json(state.store.course(member.tenant, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/courses/{id}", tag = "courses", request_body = CoursePatchIn,
    responses((status = 200, body = CourseOut), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<CoursePatchIn>,
) -> ApiResult<Json<CourseOut>> {
    let id = path_object(&id)?;
    let patch = CoursePatch {
        title: body
            .title
            .as_deref()
            .map(|t| Name::parse("title", t))
            .transpose()?,
        published: body.published,
        capacity: body
            .capacity
            .map(|c| c.map(capacity).transpose())
            .transpose()?,
        policy: body
            .policy
            .as_deref()
            .map(EnrollmentPolicy::parse)
            .transpose()?,
    };
    let by = state.authorize(&member, Act::Edit(course_ref(id))).await?;
    let course = state
        .store
        .update_course(&by.into(), member.tenant, id, patch)
        .await?;
    Ok(Json(course.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialIn {
    pub title: String,
}

/// Adds a material at the end of the course.
#[utoipa::path(post, path = "/api/v1/courses/{id}/materials", tag = "courses", request_body = MaterialIn,
    responses((status = 201, body = MaterialOut)), security(("bearer" = [])))]
pub async fn add_material(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<MaterialIn>,
) -> ApiResult<(StatusCode, Json<MaterialOut>)> {
    let id = path_object(&id)?;
    let title = Name::parse("title", &body.title)?;
    let by = state
        .authorize(
            &member,
            Act::Create {
                kind: ObjectKind::Lesson,
                place: course_ref(id),
            },
        )
        .await?;
    let material = state
        .store
        .add_material(&by.into(), member.tenant, id, title)
        .await?;
    Ok((StatusCode::CREATED, Json(material.into())))
}

#[utoipa::path(get, path = "/api/v1/courses/{id}/materials", tag = "courses",
    responses((status = 200, body = Vec<MaterialOut>)), security(("bearer" = [])))]
pub async fn materials(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MaterialOut>>> {
    let id = path_object(&id)?;
    state.authorize(&member, Act::View(course_ref(id))).await?;
    let all = state.store.materials(member.tenant, id).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollIn {
    /// User id or username.
    pub user: String,
    /// A course-level role given with the enrollment (e.g. `learner`, `tutor`, `instructor`),
    /// granted at this course in the same transaction, under the delegation rule.
    pub role: Option<String>,
}

/// One line of a learner's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOut {
    pub course: String,
    pub title: String,
    pub status: String,
    pub enrolled_at: String,
    /// When the status last moved: for a completed course, when it was completed.
    pub updated_at: String,
    pub completed: bool,
    /// Materials of the course, and how many of them the learner completed.
    pub materials: u32,
    pub materials_completed: u32,
}

/// A learner's results ("My Results"): each enrollment with its status and progress. One's own
/// always; anyone else's with `enrollments.view` on them (their manager, an administrator).
#[utoipa::path(get, path = "/api/v1/users/{id}/results", tag = "enrollments",
    responses((status = 200, body = Vec<ResultOut>), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn results(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ResultOut>>> {
    let id = super::path_id(registrar_domain::ids::UserId::parse, &id)?;
    state.authorize(&member, Act::ViewResults(id)).await?;
    let results = state.store.results(member.tenant, id).await?;
    Ok(Json(results.into_iter().map(Into::into).collect()))
}

impl From<registrar_store::CourseResult> for ResultOut {
    fn from(r: registrar_store::CourseResult) -> Self {
        ResultOut {
            course: r.course.to_string(),
            title: r.title.to_string(),
            status: r.status.code().to_owned(),
            enrolled_at: timestamp(r.enrolled_at),
            updated_at: timestamp(r.updated_at),
            completed: r.status == EnrollmentStatus::Completed,
            materials: r.materials,
            materials_completed: r.completed,
        }
    }
}

/// Enrolls a learner: whoever manages enrollments of the course, or of the learner (a manager
/// enrolls their team). The course's policy and capacity may put them on the waiting list.
#[utoipa::path(post, path = "/api/v1/courses/{id}/enrollments", tag = "enrollments", request_body = EnrollIn,
    responses((status = 201, body = EnrollmentOut), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn enroll(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<EnrollIn>,
) -> ApiResult<(StatusCode, Json<EnrollmentOut>)> {
    let course = path_object(&id)?;
    let person = super::person(&state, &member, &body.user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let by = state
                .authorize(
                    &member,
                    Act::ManageEnrollment {
                        object: course_ref(course),
                        learner: user,
                    },
                )
                .await?;
            let Some(role) = body.role else {
                let enrollment = state
                    .store
                    .enroll(&by.into(), member.tenant, course, user)
                    .await?;
                return Ok((StatusCode::CREATED, Json(enrollment.into())));
            };
            for _ in 0..5 {
                state.access.sync().await?;
                let (entry, expected) = state.access.read_at(member.tenant, |m| {
                    let role = crate::ops::role_in(m, &role)?;
                    let grant = Grant {
                        id: GrantId::new(),
                        principal: Principal::User(user),
                        role: role.id,
                        scope: Scope::Object(course_ref(course)),
                    };
                    m.validate_grant(member.user.id, &grant, crate::state::today())?;
                    Ok::<_, ApiError>(LogEntry {
                        action: "grant.created",
                        entity: "grant",
                        entity_id: grant.id.to_string(),
                        before: None,
                        after: Some(serde_json::json!({
                            "principal": grant.principal.to_string(),
                            "role": role.code.to_string(),
                            "scope": grant.scope.to_string(),
                            "with_enrollment": true,
                        })),
                        access: vec![Change::UpsertGrant(grant)],
                    })
                });
                match state
                    .store
                    .enroll_with_role(&by.into(), member.tenant, course, user, expected, entry?)
                    .await
                {
                    Ok(enrollment) => return Ok((StatusCode::CREATED, Json(enrollment.into()))),
                    Err(StoreError::Stale { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(ApiError::Conflict {
                field: "revision".into(),
                detail: "the tenant kept changing while the enrollment was validated; try again"
                    .into(),
            })
        }
        .await,
    )
}

#[utoipa::path(get, path = "/api/v1/courses/{id}/enrollments", tag = "enrollments", params(PageQuery),
    responses((status = 200, body = EnrollmentPage)), security(("bearer" = [])))]
pub async fn enrollments(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<EnrollmentPage>> {
    let course = path_object(&id)?;
    state
        .authorize(&member, Act::ViewEnrollments(course_ref(course)))
        .await?;
    let page = state
        .store
        .course_enrollments(member.tenant, course, &page.request())
        .await?;
    Ok(Json(EnrollmentPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentPatchIn {
    /// enrolled, in_progress, completed, waiting, to_confirm, suspended or overbooked.
    pub status: Option<String>,
    /// Whether the course shows in the learner's app (needs `learner_app.manage` on them).
    pub show_in_app: Option<bool>,
    /// Their level in the course (a course-level role such as `learner`, `tutor` or
    /// `instructor`): the one they held there is revoked and this one granted, each under the
    /// delegation rule.
    pub role: Option<String>,
}

/// An administrator's edit: the status (any, at any time; overbooked on e-learning only),
/// whether the course shows in the learner app, and the learner's level in the course.
/// Everything is decided before anything is written.
#[utoipa::path(patch, path = "/api/v1/courses/{id}/enrollments/{user}", tag = "enrollments", request_body = EnrollmentPatchIn,
    responses((status = 200, body = EnrollmentOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
    Json(body): Json<EnrollmentPatchIn>,
) -> ApiResult<Json<EnrollmentOut>> {
    let course = path_object(&id)?;
    let person = super::person(&state, &member, &user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let to = body
                .status
                .as_deref()
                .map(EnrollmentStatus::parse)
                .transpose()?;
            if to.is_none() && body.show_in_app.is_none() && body.role.is_none() {
                return Err(ApiError::invalid(
                    "status",
                    "give a status, show_in_app or a role",
                ));
            }
            let current = state.store.enrollment(member.tenant, course, user).await?;
            // The level is asked of the engine now, and again against the model it is written on.
            let level = |m: &registrar_domain::access::AccessModel, role: &str| {
                let role = crate::ops::role_in(m, role)
                    .map_err(|e| ApiError::invalid("role", e.to_string()))?;
                m.change_course_level(
                    member.user.id,
                    user,
                    course_ref(course),
                    role.id,
                    crate::state::today(),
                )
                .map_err(ApiError::from)
            };
            if let Some(role) = &body.role {
                state.access.sync().await?;
                state.access.read(member.tenant, |m| level(m, role))?;
            }
            let mut status = None;
            if let Some(to) = to {
                let act = Act::ChangeEnrollmentStatus {
                    object: course_ref(course),
                    learner: user,
                    from: current.status,
                    to,
                };
                status = Some((to, state.authorize(&member, act).await?));
            }
            let mut show = None;
            if let Some(on) = body.show_in_app {
                show = Some((
                    on,
                    state.authorize(&member, Act::ManageAppAccess(user)).await?,
                ));
            }
            let mut e = current;
            if let Some((to, by)) = status {
                e = state
                    .store
                    .set_enrollment_status(&by.into(), member.tenant, course, user, to)
                    .await?;
            }
            if let Some((on, by)) = show {
                e = state
                    .store
                    .set_show_in_app(&by.into(), member.tenant, course, user, on)
                    .await?;
            }
            if let Some(role) = &body.role {
                state
                    .access
                    .write(member.tenant, |m| {
                        let (change, by) = level(m, role)?;
                        let entries = level_entries(change, user, course);
                        Ok(crate::readmodel::Written::entries(by, entries))
                    })
                    .await?;
            }
            Ok(Json(e.into()))
        }
        .await,
    )
}

/// The change-log entries of changing a learner's level in a course.
fn level_entries(
    change: registrar_domain::access::CourseLevelChange,
    user: registrar_domain::ids::UserId,
    course: ObjectId,
) -> Vec<LogEntry> {
    let enrollment = format!("{course}:{user}");
    let mut entries: Vec<LogEntry> = change
        .revoked
        .into_iter()
        .map(|g| LogEntry {
            action: "grant.revoked",
            entity: "grant",
            entity_id: g.id.to_string(),
            before: serde_json::to_value(g).ok(),
            after: Some(serde_json::json!({ "level_changed_on": enrollment })),
            access: vec![Change::RemoveGrant { grant: g.id }],
        })
        .collect();
    entries.extend(change.granted.map(|g| LogEntry {
        action: "grant.created",
        entity: "grant",
        entity_id: g.id.to_string(),
        before: None,
        after: Some(serde_json::json!({
            "principal": g.principal.to_string(),
            "scope": g.scope.to_string(),
            "role": g.role.to_string(),
            "level_changed_on": enrollment,
        })),
        access: vec![Change::UpsertGrant(g)],
    }));
    entries
}

/// Approves a waiting enrollment or a booking to confirm; needs `enrollments.approve` on the
/// course (a course tutor has it, a course administrator does not).
#[utoipa::path(post, path = "/api/v1/courses/{id}/enrollments/{user}/approve", tag = "enrollments",
    responses((status = 200, body = EnrollmentOut), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<EnrollmentOut>> {
    let course = path_object(&id)?;
    let person = super::person(&state, &member, &user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let by = state
                .authorize(&member, Act::ApproveEnrollments(course_ref(course)))
                .await?;
            let e = state
                .store
                .approve_enrollment(&by.into(), member.tenant, course, user)
                .await?;
            Ok(Json(e.into()))
        }
        .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityIn {
    /// The learner; defaults to the caller.
    pub user: Option<String>,
    pub course: String,
    /// `opened_course`, `completed_material` or `attended_session`.
    pub activity: String,
    /// The material completed.
    pub material: Option<String>,
    /// The session or event attended.
    pub session: Option<String>,
}

/// Learning activity, reported by the learner's app for the learner, or by the platform for
/// anyone whose enrollments in the course it manages. Moves the enrollment (in progress,
/// completed) and makes an activated learner active. Attendance is marked by whoever holds
/// `events.attendance` on the session (an instructor), never by the learner.
#[utoipa::path(post, path = "/api/v1/activity", tag = "enrollments", request_body = ActivityIn,
    responses((status = 200, body = EnrollmentOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn activity(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<ActivityIn>,
) -> ApiResult<Json<EnrollmentOut>> {
    let course = object_id("course", &body.course)?;
    let activity = match body.activity.as_str() {
        "opened_course" => Activity::OpenedCourse,
        "completed_material" => Activity::CompletedMaterial,
        "attended_session" => Activity::AttendedSession,
        other => {
            return Err(ApiError::invalid(
                "activity",
                format!(
                    "unknown activity {other:?}: expected opened_course, completed_material or \
                     attended_session"
                ),
            ));
        }
    };
    let material = body
        .material
        .as_deref()
        .map(|m| object_id("material", m))
        .transpose()?;
    let session = body
        .session
        .as_deref()
        .map(|m| object_id("session", m))
        .transpose()?;
    let person = match body.user.as_deref() {
        Some(u) => super::person(&state, &member, u).await?,
        None => super::Person::me(&member),
    };
    let user = person.id;
    person.conceal(
        &member,
        async {
            if activity == Activity::AttendedSession {
                let Some(session) = session else {
                    return Err(ApiError::invalid(
                        "session",
                        "an attended_session activity names the session",
                    ));
                };
                if state.store.session(member.tenant, session).await?.course != course {
                    return Err(ApiError::invalid(
                        "session",
                        format!("session {session} is not a session of course {course}"),
                    ));
                }
                let outcome = super::sessions::attend(&state, &member, session, user).await?;
                return Ok(Json(outcome.enrollment.into()));
            }
            let object = course_ref(course);
            let by = state
                .require(&member, |m, actor, today| {
                    m.decide_record_activity(actor, &object, user, today)
                })
                .await?;
            let e = state
                .store
                .record_activity(&by.into(), member.tenant, course, user, activity, material)
                .await?;
            Ok(Json(e.into()))
        }
        .await,
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    pub title: String,
    /// Course ids, in order.
    pub courses: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    pub id: String,
    pub object: String,
    pub title: String,
    pub courses: Vec<String>,
}

impl From<LearningPlan> for PlanOut {
    fn from(p: LearningPlan) -> Self {
        Self {
            id: p.id.to_string(),
            object: p.learning_object().object.to_string(),
            title: p.title.to_string(),
            courses: p.courses.iter().map(ToString::to_string).collect(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/learning-plans", tag = "learning plans", request_body = PlanIn,
    responses((status = 201, body = PlanOut), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create_plan(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<PlanIn>,
) -> ApiResult<(StatusCode, Json<PlanOut>)> {
    let title = Name::parse("title", &body.title)?;
    let courses = body
        .courses
        .iter()
        .map(|c| object_id("courses", c))
        .collect::<ApiResult<Vec<_>>>()?;
    if courses.is_empty() {
        return Err(ApiError::invalid(
            "courses",
            "a learning plan needs at least one course",
        ));
    }
    let by = state
        .authorize(
            &member,
            Act::Create {
                kind: ObjectKind::Course,
                place: ObjectRef::tenant(member.tenant),
            },
        )
        .await?;
    let plan = state
        .store
        .create_plan(&by.into(), member.tenant, title, courses)
        .await?;
    Ok((StatusCode::CREATED, Json(plan.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanStatusQuery {
    /// User id or username; defaults to the caller.
    pub user: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanCourseStatus {
    pub course: String,
    /// The learner's enrollment status, or null when not enrolled.
    pub status: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanStatusOut {
    pub plan: String,
    pub user: String,
    /// not_enrolled, not_started, in_progress or completed.
    pub status: &'static str,
    pub courses: Vec<PlanCourseStatus>,
}

/// A learner's status in a plan, derived from their enrollments in its courses.
#[utoipa::path(get, path = "/api/v1/learning-plans/{id}/status", tag = "learning plans", params(PlanStatusQuery),
    responses((status = 200, body = PlanStatusOut), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn plan_status_of(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Query(q): Query<PlanStatusQuery>,
) -> ApiResult<Json<PlanStatusOut>> {
    let plan = path_object(&id)?;
    let person = match q.user.as_deref() {
        Some(u) => super::person(&state, &member, u).await?,
        None => super::Person::me(&member),
    };
    let user = person.id;
    person.conceal(
        &member,
        async {
            let plan = state.store.plan(member.tenant, plan).await?;
            let object = plan.learning_object().object;
            state
                .require(&member, |m, actor, today| {
                    m.decide_read_plan_status(actor, &object, &plan.courses, user, today)
                })
                .await?;
            let enrolled = state.store.user_enrollments(member.tenant, user).await?;
            let courses: Vec<(ObjectId, Option<EnrollmentStatus>)> = plan
                .courses
                .iter()
                .map(|c| {
                    (
                        *c,
                        enrolled.iter().find(|e| e.course == *c).map(|e| e.status),
                    )
                })
                .collect();
            let statuses: Vec<EnrollmentStatus> = courses.iter().filter_map(|(_, s)| *s).collect();
            let status = match plan_status(&statuses) {
                PlanStatus::NotEnrolled => "not_enrolled",
                PlanStatus::NotStarted => "not_started",
                PlanStatus::InProgress => "in_progress",
                PlanStatus::Completed => "completed",
            };
            Ok(Json(PlanStatusOut {
                plan: plan.id.to_string(),
                user: user.to_string(),
                status,
                courses: courses
                    .into_iter()
                    .map(|(c, s)| PlanCourseStatus {
                        course: c.to_string(),
                        status: s.map(EnrollmentStatus::code),
                    })
                    .collect(),
            }))
        }
        .await,
    )
}

/// Deletes a course with its materials, sessions, enrollments and progress (`courses.delete`,
/// a data-loss permission). Grants held at the course go with it.
#[utoipa::path(delete, path = "/api/v1/courses/{id}", tag = "courses",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let course = path_object(&id)?;
    let by = state
        .authorize(&member, Act::Delete(course_ref(course)))
        .await?;
    state
        .store
        .delete_course(&by.into(), member.tenant, course)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/courses/{id}/materials/{material}", tag = "courses",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn delete_material(
    State(state): State<AppState>,
    member: Member,
    Path((id, material)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let course = path_object(&id)?;
    let material = path_object(&material)?;
    // Deleting a lesson is its own right (seed: course tutors may not create or delete lessons).
    let by = state
        .authorize(
            &member,
            Act::Delete(ObjectRef::new(ObjectKind::Lesson, material)),
        )
        .await?;
    state
        .store
        .delete_material(&by.into(), member.tenant, course, material)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a learner out of a course, with their bookings and progress there: whoever manages
/// enrollments of the course, or of the learner.
#[utoipa::path(delete, path = "/api/v1/courses/{id}/enrollments/{user}", tag = "enrollments",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn unenroll(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let course = path_object(&id)?;
    let person = super::person(&state, &member, &user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let by = state
                .authorize(
                    &member,
                    Act::ManageEnrollment {
                        object: course_ref(course),
                        learner: user,
                    },
                )
                .await?;
            state
                .store
                .unenroll(&by.into(), member.tenant, course, user)
                .await?;
            Ok(StatusCode::NO_CONTENT)
        }
        .await,
    )
}

fn plan_ref(id: ObjectId) -> ObjectRef {
    ObjectRef::new(ObjectKind::LearningPlan, id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanEnrollIn {
    /// User id or username.
    pub user: String,
}

/// Enrolls a learner in a learning plan: in each of its courses they are not enrolled in yet,
/// all or none. Whoever manages the learner's enrollments (their manager: seed 002) or the
/// plan's may.
#[utoipa::path(post, path = "/api/v1/learning-plans/{id}/enrollments", tag = "learning plans",
    request_body = PlanEnrollIn,
    responses((status = 201, body = Vec<EnrollmentOut>, description = "the new enrollments"),
              (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn enroll_in_plan(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<PlanEnrollIn>,
) -> ApiResult<(StatusCode, Json<Vec<EnrollmentOut>>)> {
    let plan = path_object(&id)?;
    let person = super::person(&state, &member, &body.user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let act = Act::ManageEnrollment {
                object: plan_ref(plan),
                learner: user,
            };
            let by = state.authorize(&member, act).await?;
            let made = state
                .store
                .enroll_in_plan(&by.into(), member.tenant, plan, user)
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(made.into_iter().map(Into::into).collect()),
            ))
        }
        .await,
    )
}

#[utoipa::path(get, path = "/api/v1/learning-plans/{id}", tag = "learning plans",
    responses((status = 200, body = PlanOut), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get_plan(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<PlanOut>> {
    let id = path_object(&id)?;
    state.authorize(&member, Act::View(plan_ref(id))).await?;
    Ok(Json(state.store.plan(member.tenant, id).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/learning-plans/{id}", tag = "learning plans",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn delete_plan(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_object(&id)?;
    let by = state.authorize(&member, Act::Edit(plan_ref(id))).await?;
    state
        .store
        .delete_plan(&by.into(), member.tenant, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
