//! Courses: the list the viewer may see, and a course's enrollments with their statuses, where
//! an approve button appears only for whoever may approve there (a course tutor; never a course
//! administrator) and the approval is the JSON API's.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use registrar_domain::access::{Act, EnrollmentStatus, ObjectKind, ObjectRef};
use registrar_domain::ids::UserId;
use serde::Deserialize;

use super::{Frame, Page, PageResult, Viewer, fail};
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
}

#[derive(Template)]
#[template(path = "course.html")]
struct CoursePage {
    frame: Frame,
    id: String,
    details: Vec<(String, String)>,
    enrollments: Option<Vec<EnrollmentRow>>,
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
            rows.push(EnrollmentRow {
                user: e.user.to_string(),
                name: format!("{} ({})", person.display_name, person.username),
                status: e.status.code().to_owned(),
                approvable: may_approve
                    && matches!(
                        e.status,
                        EnrollmentStatus::Waiting | EnrollmentStatus::ToConfirm
                    ),
            });
        }
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        Some(rows)
    } else {
        None
    };
    let mut frame = viewer.frame(state, c.title.to_string(), "/courses");
    frame.notice = notice;
    frame.problem = problem;
    Ok(Page::render(&CoursePage {
        frame,
        id: id.to_string(),
        details,
        enrollments,
    }))
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    csrf: String,
}

/// Approves a waiting enrollment: the engine's `ApproveEnrollments`, then the store's approval
/// (a free place is needed), as `POST /api/v1/courses/{id}/enrollments/{user}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, user)): Path<(String, String)>,
    Form(form): Form<ApproveForm>,
) -> PageResult {
    viewer.verify(&form.csrf)?;
    let id = path_object(&id).map_err(fail)?;
    let user = path_id(UserId::parse, &user).map_err(fail)?;
    let member = &viewer.member;
    let outcome = async {
        let by = state
            .authorize(
                member,
                Act::ApproveEnrollments(ObjectRef::new(ObjectKind::Course, id)),
            )
            .await?;
        state
            .store
            .approve_enrollment(&by.into(), member.tenant, id, user)
            .await
            .map_err(crate::error::ApiError::from)
    }
    .await;
    match outcome {
        Ok(e) => {
            render(
                &state,
                &viewer,
                id,
                Some(format!("Approved: now {}.", e.status.code())),
                None,
            )
            .await
        }
        Err(e) => render(&state, &viewer, id, None, Some(e.to_string())).await,
    }
}
