//! Courses: the list the viewer may see, and a course's enrollments with their statuses, where
//! an approve button appears only for whoever may approve there (a course tutor; never a course
//! administrator) and the approval is the JSON API's.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use registrar_domain::access::{Act, EnrollmentStatus, ObjectRef};
use registrar_domain::ids::UserId;
use serde::Deserialize;

use super::{Frame, Page, PageResult, Viewer, fail, field, fields_named};
use crate::routes::courses::{course_ref, path_object};
use crate::routes::{path_id, visible_page};
use crate::state::AppState;

pub struct CourseRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub published: bool,
    pub capacity: String,
    pub policy: String,
}

#[derive(Template)]
#[template(path = "courses.html")]
struct CoursesPage {
    frame: Frame,
    courses: Vec<CourseRow>,
}

pub async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let member = &viewer.member;
    let tenant = member.tenant;
    let store = &state.store;
    let page = visible_page(
        registrar_store::PageRequest::first(200),
        |r| async move { store.list_courses(tenant, &r).await },
        |c| state.allows(member, &Act::View(c.object())),
        |c| c.id.to_string(),
    )
    .await
    .map_err(fail)?;
    let mut courses: Vec<CourseRow> = page
        .items
        .into_iter()
        .map(|c| CourseRow {
            id: c.id.to_string(),
            title: c.title.to_string(),
            kind: c.course_type.code().replace('_', "-"),
            published: c.published,
            capacity: c
                .capacity
                .map_or_else(|| "unlimited".into(), |n| n.to_string()),
            policy: c.policy.code().replace('_', " "),
        })
        .collect();
    courses.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(Page::render(&CoursesPage {
        frame: viewer.frame(&state, "Courses", "/courses"),
        courses,
    }))
}

pub struct EnrollmentRow {
    pub user: String,
    pub name: String,
    pub status: String,
    /// Waiting or to confirm, and the viewer may approve here.
    pub approvable: bool,
    /// The statuses the viewer may move this enrollment to by hand (the engine's answer for
    /// each), empty when none.
    pub moves: Vec<String>,
    /// Whether the viewer may set up this learner's app access.
    pub app: bool,
}

pub struct SessionView {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub when: String,
    pub bookings: Vec<BookingRow>,
}

pub struct BookingRow {
    pub user: String,
    pub name: String,
    pub status: String,
    pub approvable: bool,
    pub attendable: bool,
}

#[derive(Template)]
#[template(path = "course.html")]
struct CoursePage {
    frame: Frame,
    id: String,
    details: Vec<(String, String)>,
    enrollments: Option<Vec<EnrollmentRow>>,
    may_enroll: bool,
    any_app: bool,
    sessions: Vec<SessionView>,
}

pub async fn detail(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_object(&id).map_err(fail)?;
    render(&state, &viewer, id, None, None).await
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    id: registrar_domain::access::ObjectId,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let member = &viewer.member;
    let course = course_ref(id);
    state
        .authorize(member, Act::View(course))
        .await
        .map_err(fail)?;
    let c = state.store.course(member.tenant, id).await.map_err(fail)?;
    let details = vec![
        ("Type".to_owned(), c.course_type.code().replace('_', "-")),
        (
            "Published".to_owned(),
            if c.published {
                "yes".into()
            } else {
                "no (draft)".into()
            },
        ),
        (
            "Places".to_owned(),
            c.capacity
                .map_or_else(|| "unlimited".into(), |n| n.to_string()),
        ),
        ("Enrollment".to_owned(), c.policy.code().replace('_', " ")),
    ];
    let enrollments = if state.allows(member, &Act::ViewEnrollments(course)) {
        let may_approve = state.allows(member, &Act::ApproveEnrollments(course));
        let tenant = member.tenant;
        // Seeing who is enrolled is what `enrollments.view` on the course gives, as the API's
        // list of the course's enrollments.
        let page = state
            .store
            .course_enrollments(tenant, id, &registrar_store::PageRequest::first(500))
            .await
            .map_err(fail)?;
        let mut rows = Vec::with_capacity(page.items.len());
        for e in page.items {
            let person = state.store.user(tenant, e.user).await.map_err(fail)?;
            let moves = EnrollmentStatus::ALL
                .into_iter()
                .filter(|to| *to != e.status)
                .filter(|to| {
                    state.allows(
                        member,
                        &Act::ChangeEnrollmentStatus {
                            object: course,
                            learner: e.user,
                            from: e.status,
                            to: *to,
                        },
                    )
                })
                .map(|to| to.code().to_owned())
                .collect();
            rows.push(EnrollmentRow {
                user: e.user.to_string(),
                name: format!("{} ({})", person.display_name, person.username),
                status: e.status.code().to_owned(),
                approvable: may_approve && registrar_domain::lifecycle::awaits_approval(e.status),
                moves,
                app: state.allows(member, &Act::ManageAppAccess(e.user)),
            });
        }
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        Some(rows)
    } else {
        None
    };
    let sessions = sessions(state, viewer, id).await?;
    let may_enroll = state.allows(
        member,
        &Act::ManageEnrollment {
            object: course,
            learner: member.user.id,
        },
    );
    let any_app = enrollments
        .as_ref()
        .is_some_and(|rows| rows.iter().any(|r| r.app));
    let mut frame = viewer.frame(state, c.title.to_string(), "/courses");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&CoursePage {
        frame,
        id: id.to_string(),
        details,
        enrollments,
        may_enroll,
        any_app,
        sessions,
    }))
}

/// The course's sessions and events with their bookings, as the API lists them to the viewer;
/// approve and attendance buttons where the engine allows them.
async fn sessions(
    state: &AppState,
    viewer: &Viewer,
    course: registrar_domain::access::ObjectId,
) -> Result<Vec<SessionView>, super::Refusal> {
    let member = &viewer.member;
    let at = || axum::extract::State(state.clone());
    let Ok(crate::extract::Json(list)) =
        crate::routes::sessions::list(at(), member.clone(), Path(course.to_string())).await
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let object = ObjectRef::parse(&s.object).map_err(fail)?;
        let bookings =
            match crate::routes::sessions::bookings(at(), member.clone(), Path(s.id.clone())).await
            {
                Ok(crate::extract::Json(b)) => b,
                Err(_) => Vec::new(),
            };
        let may_approve = state.allows(member, &Act::ApproveEnrollments(object));
        let may_attend = state.allows(member, &Act::TakeAttendance(object));
        let mut rows = Vec::with_capacity(bookings.len());
        for b in bookings {
            let user = path_id(UserId::parse, &b.user).map_err(fail)?;
            let status = registrar_domain::session::BookingStatus::parse(b.status).map_err(fail)?;
            let name = match state.store.user(member.tenant, user).await {
                Ok(u) if state.sees(member, user) => {
                    format!("{} ({})", u.display_name, u.username)
                }
                _ => "someone you may not see".to_owned(),
            };
            rows.push(BookingRow {
                user: b.user,
                name,
                approvable: may_approve && status.awaits_a_decision(),
                attendable: may_attend && status.attendable(),
                status: b.status.to_owned(),
            });
        }
        out.push(SessionView {
            id: s.id,
            title: s.title,
            kind: s.kind.to_owned(),
            when: format!(
                "{} to {}",
                s.starts_at
                    .get(..16)
                    .unwrap_or(&s.starts_at)
                    .replace('T', " "),
                s.ends_at.get(11..16).unwrap_or(&s.ends_at)
            ),
            bookings: rows,
        });
    }
    Ok(out)
}

/// The course page's forms, each the JSON API's handler: enrolling someone, moving an
/// enrollment by hand, approving a booking, marking attendance, and setting up learner-app
/// access for the checked learners (the bulk set-up, all or nothing).
pub async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let one = |name: &str| field(&fields, name);
    viewer.verify(&one("csrf"))?;
    let course = path_object(&id).map_err(fail)?;
    let member = viewer.member.clone();
    let at = || axum::extract::State(state.clone());
    use crate::extract::Json;
    let (user, session) = (one("user"), one("session"));
    let outcome: Result<String, crate::error::ApiError> = match one("part").as_str() {
        "enroll" => {
            let body = crate::routes::courses::EnrollIn {
                user: user.trim().to_owned(),
                role: None,
            };
            crate::routes::courses::enroll(at(), member, Path(id.clone()), Json(body))
                .await
                .map(|(_, Json(e))| format!("Enrolled: {}.", e.status))
        }
        "status" => {
            let body = crate::routes::courses::EnrollmentPatchIn {
                status: Some(one("status")),
                show_in_app: None,
                role: None,
            };
            crate::routes::courses::set_status(at(), member, Path((id.clone(), user)), Json(body))
                .await
                .map(|Json(e)| format!("Now {}.", e.status))
        }
        "book-approve" => crate::routes::sessions::approve(at(), member, Path((session, user)))
            .await
            .map(|Json(r)| format!("Booking {}.", r.booking.status)),
        "attend" => {
            let body = crate::routes::sessions::LearnerIn { user };
            crate::routes::sessions::attendance(at(), member, Path(session), Json(body))
                .await
                .map(|_| "Attendance marked.".to_owned())
        }
        "app" => {
            let users = fields_named(&fields, "learner");
            let until = one("until");
            let body = crate::routes::app::BulkAppAccessIn {
                users,
                until: (!until.trim().is_empty()).then(|| until.trim().to_owned()),
                elearning: false,
            };
            crate::routes::app::course_app_access(at(), member, Path(id.clone()), Json(body))
                .await
                .map(|Json(done)| format!("Learner-app access set up for {} learners.", done.len()))
        }
        other => Err(crate::error::ApiError::invalid(
            "part",
            format!("{other:?} is no part of the course page"),
        )),
    };
    match outcome {
        Ok(done) => render(&state, &viewer, course, Some(done), None).await,
        Err(e) => render(&state, &viewer, course, None, Some(e.to_string())).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    csrf: String,
}

/// Approves a waiting enrollment: `POST /api/v1/courses/{id}/enrollments/{user}/approve`
/// itself (the engine's `ApproveEnrollments`, then a free place).
pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, user)): Path<(String, String)>,
    Form(form): Form<ApproveForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let course = path_object(&id).map_err(fail)?;
    let outcome = crate::routes::courses::approve(
        axum::extract::State(state.clone()),
        viewer.member.clone(),
        Path((id, user)),
    )
    .await;
    match outcome {
        Ok(crate::extract::Json(e)) => {
            let done = format!("Approved: now {}.", e.status);
            render(&state, &viewer, course, Some(done), None).await
        }
        Err(e) => render(&state, &viewer, course, None, Some(e.to_string())).await,
    }
}
