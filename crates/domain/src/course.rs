//! Courses, their materials, enrollments and learning plans as the store keeps them. The rules
//! that move them are in `lifecycle`; what decisions need of them is mirrored into the access
//! model as learning objects and enrollment statuses.

use time::OffsetDateTime;

use crate::access::{EnrollmentStatus, LearningObject, ObjectId, ObjectKind, ObjectRef};
use crate::ids::{GroupId, TenantId, UserId};
use crate::lifecycle::{CourseType, EnrollmentPolicy};
use crate::text::Name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub title: Name,
    pub course_type: CourseType,
    /// No longer a draft: learners can find it, reviewers may be given it.
    pub published: bool,
    /// Places; enrollments beyond it wait.
    pub capacity: Option<u32>,
    pub policy: EnrollmentPolicy,
    /// The group the course belongs to, if any (its scope for group roles).
    pub group: Option<GroupId>,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Course {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new(ObjectKind::Course, self.id)
    }

    /// What the decision engine needs to know of the course.
    pub fn learning_object(&self) -> LearningObject {
        LearningObject {
            object: self.object(),
            parent: self.group.map(ObjectRef::group),
            created_by: self.created_by,
            published: self.published,
            instructor_led: self.course_type == CourseType::InstructorLed,
        }
    }
}

/// One piece of training material in a course; completing all of them completes e-learning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub id: ObjectId,
    pub course: ObjectId,
    pub title: Name,
    pub position: u32,
}

impl Material {
    /// Materials are lessons to the decision engine, inside their course.
    pub fn learning_object(&self) -> LearningObject {
        LearningObject::new(ObjectRef::new(ObjectKind::Lesson, self.id))
            .with_parent(ObjectRef::new(ObjectKind::Course, self.course))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub user: UserId,
    pub course: ObjectId,
    pub status: EnrollmentStatus,
    /// Whether the course shows in the learner app (SPEC 3.3), switched per enrollment.
    pub show_in_app: bool,
    pub enrolled_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Whether an enrollment in this status takes one of the course's places. Waiting learners do
/// not: they are the queue for a place.
pub fn takes_a_place(status: EnrollmentStatus) -> bool {
    status != EnrollmentStatus::Waiting
}

/// An ordered set of courses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearningPlan {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub title: Name,
    pub courses: Vec<ObjectId>,
}

impl LearningPlan {
    pub fn learning_object(&self) -> LearningObject {
        LearningObject::new(ObjectRef::new(ObjectKind::LearningPlan, self.id))
    }
}
