//! Sessions and events of a course, their bookings, approvals and attendance (SPEC 1, 3.2).
//! The engine decides who may: editing the course creates them, `sessions.manage` or
//! `events.manage` changes them, `enrollments.approve` there confirms bookings (a course tutor,
//! an event administrator), `events.attendance` marks attendance (an instructor). The booking
//! rules run in the store's transaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use registrar_domain::access::{Act, ObjectId};
use registrar_domain::ids::UserId;
use registrar_domain::lifecycle::capacity;
use registrar_domain::session::{Booking, Session, SessionKind};
use registrar_domain::text::Name;
use registrar_store::{BookingOutcome, NewMail, NewSession, SessionPatch};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::courses::{EnrollmentOut, course_ref, path_object};
use crate::dto::double_option;
use crate::dto::timestamp;
use crate::error::ApiResult;
use crate::extract::{Json, Member};
use crate::state::{AppState, today};

fn instant(field: &'static str, raw: &str) -> ApiResult<OffsetDateTime> {
    Ok(registrar_domain::session::parse_instant(field, raw)?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: String,
    /// `session:<id>` or `event:<id>`, as checks name it.
    pub object: String,
    pub course: String,
    /// `session` (of an instructor-led course) or `event`.
    pub kind: &'static str,
    pub title: String,
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: Option<u32>,
    pub approval_required: bool,
}

impl From<Session> for SessionOut {
    fn from(s: Session) -> Self {
        Self {
            id: s.id.to_string(),
            object: s.object().to_string(),
            course: s.course.to_string(),
            kind: s.kind.code(),
            title: s.title.to_string(),
            starts_at: timestamp(s.starts_at),
            ends_at: timestamp(s.ends_at),
            capacity: s.capacity,
            approval_required: s.approval_required,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionOut,
    /// Who may approve its bookings (holders of `enrollments.approve` there), as far as the
    /// caller may see them.
    pub approvers: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionIn {
    /// `session` (instructor-led courses only) or `event`.
    pub kind: String,
    pub title: String,
    /// RFC 3339, e.g. `2027-03-01T09:00:00Z`.
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: Option<u32>,
    #[serde(default)]
    pub approval_required: bool,
}

/// Adds a session or event to a course; needs `courses.edit` on the course.
#[utoipa::path(post, path = "/api/v1/courses/{id}/sessions", tag = "sessions", request_body = SessionIn,
    responses((status = 201, body = SessionOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<SessionIn>,
) -> ApiResult<(StatusCode, Json<SessionOut>)> {
    let course = path_object(&id)?;
    let new = NewSession {
        course,
        kind: SessionKind::parse(&body.kind)?,
        title: Name::parse("title", &body.title)?,
        starts_at: instant("starts_at", &body.starts_at)?,
        ends_at: instant("ends_at", &body.ends_at)?,
        capacity: body.capacity.map(capacity).transpose()?,
        approval_required: body.approval_required,
    };
    let by = state
        .authorize(
            &member,
            Act::Create {
                kind: new.kind.object_kind(),
                place: course_ref(course),
            },
        )
        .await?;
    let s = state
        .store
        .create_session(&by.into(), member.tenant, new)
        .await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

#[utoipa::path(get, path = "/api/v1/courses/{id}/sessions", tag = "sessions",
    responses((status = 200, body = Vec<SessionOut>)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SessionOut>>> {
    let course = path_object(&id)?;
    state
        .authorize(&member, Act::View(course_ref(course)))
        .await?;
    let sessions = state.store.course_sessions(member.tenant, course).await?;
    Ok(Json(sessions.into_iter().map(Into::into).collect()))
}

/// The session's object for checks, after making sure it exists in the caller's tenant.
async fn session_of(state: &AppState, member: &Member, raw: &str) -> ApiResult<Session> {
    let id: ObjectId = path_object(raw)?;
    Ok(state.store.session(member.tenant, id).await?)
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions",
    responses((status = 200, body = SessionDetail), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionDetail>> {
    let s = session_of(&state, &member, &id).await?;
    state.authorize(&member, Act::View(s.object())).await?;
    let holders = state
        .access
        .read(member.tenant, |m| m.approvers(&s.object(), today()))?;
    let approvers = holders
        .into_iter()
        .filter(|u| state.sees(&member, *u))
        .map(|u| u.to_string())
        .collect();
    Ok(Json(SessionDetail {
        session: s.into(),
        approvers,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatchIn {
    pub title: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// A number, or null for no limit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub capacity: Option<Option<u32>>,
    pub approval_required: Option<bool>,
}

/// Changes a session (`sessions.manage`) or event (`events.manage`).
#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "sessions", request_body = SessionPatchIn,
    responses((status = 200, body = SessionOut), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<SessionPatchIn>,
) -> ApiResult<Json<SessionOut>> {
    let s = session_of(&state, &member, &id).await?;
    let patch = SessionPatch {
        title: body
            .title
            .as_deref()
            .map(|t| Name::parse("title", t))
            .transpose()?,
        starts_at: body
            .starts_at
            .as_deref()
            .map(|t| instant("starts_at", t))
            .transpose()?,
        ends_at: body
            .ends_at
            .as_deref()
            .map(|t| instant("ends_at", t))
            .transpose()?,
        capacity: body
            .capacity
            .map(|c| c.map(capacity).transpose())
            .transpose()?,
        approval_required: body.approval_required,
    };
    let by = state.authorize(&member, Act::Edit(s.object())).await?;
    let s = state
        .store
        .update_session(&by.into(), member.tenant, s.id, patch)
        .await?;
    Ok(Json(s.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingOut {
    pub session: String,
    pub user: String,
    /// booked, to_confirm, waiting or attended.
    pub status: &'static str,
    pub booked_at: String,
    pub updated_at: String,
}

impl From<Booking> for BookingOut {
    fn from(b: Booking) -> Self {
        Self {
            session: b.session.to_string(),
            user: b.user.to_string(),
            status: b.status.code(),
            booked_at: timestamp(b.booked_at),
            updated_at: timestamp(b.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingResult {
    pub booking: BookingOut,
    /// The course enrollment, which follows its bookings (to_confirm, completed).
    pub enrollment: EnrollmentOut,
}

impl From<BookingOutcome> for BookingResult {
    fn from(o: BookingOutcome) -> Self {
        Self {
            booking: o.booking.into(),
            enrollment: o.enrollment.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LearnerIn {
    /// User id or username.
    pub user: String,
}

/// Books an enrolled learner. A session: whoever manages enrollments there or of the learner.
/// An event: whoever may book onto it (`events.book`), for themselves or for people whose
/// enrollments they manage (a manager books their team), or whoever manages its enrollments.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/bookings", tag = "sessions", request_body = LearnerIn,
    responses((status = 201, body = BookingResult), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn book(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<LearnerIn>,
) -> ApiResult<(StatusCode, Json<BookingResult>)> {
    let s = session_of(&state, &member, &id).await?;
    let person = super::person(&state, &member, &body.user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let by = state
                .authorize(
                    &member,
                    Act::Book {
                        session: s.object(),
                        learner: user,
                    },
                )
                .await?;
            let notify =
                approval_notices(state.store.as_ref(), &state.access, member.tenant, &s, user)
                    .await?;
            let outcome = state
                .store
                .book(&by.into(), member.tenant, s.id, user, notify)
                .await?;
            Ok((StatusCode::CREATED, Json(outcome.into())))
        }
        .await,
    )
}

/// The mails that tell a session's responsible approvers (its event administrator, the
/// course tutor: seed 001) of a booking to confirm; the store queues them only if the booking
/// does await approval. None when the session asks for no approval. Shared with the demo data.
pub async fn approval_notices(
    store: &dyn registrar_store::Store,
    access: &crate::readmodel::ReadModel,
    tenant: registrar_domain::ids::TenantId,
    s: &Session,
    learner: UserId,
) -> ApiResult<Vec<NewMail>> {
    if !s.approval_required {
        return Ok(vec![]);
    }
    let approvers = access.read(tenant, |m| m.responsible_approvers(&s.object(), today()))?;
    let who = store.user(tenant, learner).await?;
    let mut mails = vec![];
    for approver in approvers {
        let Some(email) = store.user(tenant, approver).await?.email else {
            continue;
        };
        mails.push(NewMail {
            recipient: email,
            subject: format!("A booking to confirm: {}", s.title),
            body: format!(
                "{} booked onto {} ({}) and waits for your approval.\n\
                 Approve it: POST /api/v1/sessions/{}/bookings/{}/approve",
                who.display_name,
                s.title,
                s.starts_at.date(),
                s.id,
                who.username,
            ),
        });
    }
    Ok(mails)
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}/bookings", tag = "sessions",
    responses((status = 200, body = Vec<BookingOut>)), security(("bearer" = [])))]
pub async fn bookings(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<BookingOut>>> {
    let s = session_of(&state, &member, &id).await?;
    state
        .authorize(&member, Act::ViewEnrollments(s.object()))
        .await?;
    let rows = state.store.bookings(member.tenant, s.id).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Confirms a booking to confirm, or one waiting for a place, if there is room; needs
/// `enrollments.approve` on the session or event (course tutors, event administrators).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/bookings/{user}/approve", tag = "sessions",
    responses((status = 200, body = BookingResult), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<BookingResult>> {
    let s = session_of(&state, &member, &id).await?;
    let person = super::person(&state, &member, &user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let by = state
                .authorize(&member, Act::ApproveEnrollments(s.object()))
                .await?;
            let outcome = state
                .store
                .approve_booking(&by.into(), member.tenant, s.id, user)
                .await?;
            Ok(Json(outcome.into()))
        }
        .await,
    )
}

/// Marks attendance (`events.attendance` on the session or event). Shared with the activity
/// API's `attended_session`.
pub(crate) async fn attend(
    state: &AppState,
    member: &Member,
    session: ObjectId,
    user: UserId,
) -> ApiResult<BookingOutcome> {
    let s = state.store.session(member.tenant, session).await?;
    let by = state
        .authorize(member, Act::TakeAttendance(s.object()))
        .await?;
    Ok(state
        .store
        .record_attendance(&by.into(), member.tenant, s.id, user)
        .await?)
}

/// Marks a learner's attendance; attending every session booked completes an instructor-led
/// course. A booking still to confirm, or waiting for a place, cannot be attended.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/attendance", tag = "sessions", request_body = LearnerIn,
    responses((status = 200, body = BookingResult), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn attendance(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
    Json(body): Json<LearnerIn>,
) -> ApiResult<Json<BookingResult>> {
    let session = path_object(&id)?;
    let person = super::person(&state, &member, &body.user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async { Ok(Json(attend(&state, &member, session, user).await?.into())) }.await,
    )
}

/// Deletes a session (`sessions.manage`) or event (`events.manage`) with its bookings.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    responses((status = 204), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    member: Member,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let s = session_of(&state, &member, &id).await?;
    let by = state.authorize(&member, Act::Delete(s.object())).await?;
    state
        .store
        .delete_session(&by.into(), member.tenant, s.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels a booking, by whoever could have made it (see `book`); an enrollment that was to
/// confirm only because of it moves back to enrolled. Answers the booking as it was.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/bookings/{user}", tag = "sessions",
    responses((status = 200, body = BookingResult), (status = 403, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    member: Member,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<BookingResult>> {
    let s = session_of(&state, &member, &id).await?;
    let person = super::person(&state, &member, &user).await?;
    let user = person.id;
    person.conceal(
        &member,
        async {
            let by = state
                .authorize(
                    &member,
                    Act::Book {
                        session: s.object(),
                        learner: user,
                    },
                )
                .await?;
            let outcome = state
                .store
                .cancel_booking(&by.into(), member.tenant, s.id, user)
                .await?;
            Ok(Json(outcome.into()))
        }
        .await,
    )
}
