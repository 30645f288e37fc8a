//! Named acts that take more than one permission to decide, answered with the same structured
//! explanation as a check: every surface (JSON API, SCIM, CSV import, CLI) asks these instead of
//! assembling "either grant" rules of its own.

use time::Date;

use super::catalog::Permission;
use super::error::AccessError;
use super::explain::Decision;
use super::model::AccessModel;
use super::object::{ObjectKind, ObjectRef};
use crate::ids::UserId;

impl AccessModel {
    /// Managing a learner's enrollment in `object` (enrolling, unenrolling, booking a session or
    /// cancelling that booking): `enrollments.manage` on the learner (a manager enrolls their
    /// team anywhere) or on the object (a course tutor enrolls anyone in their course, seeing
    /// them or not). A refusal explains the object's side, which is the same whoever the
    /// learner is, so it says nothing about them.
    pub fn decide_manage_enrollment(
        &self,
        actor: UserId,
        object: &ObjectRef,
        learner: UserId,
        today: Date,
    ) -> Result<Decision, AccessError> {
        if let Some(on_learner) =
            self.allowed_on_user(actor, Permission::EnrollmentsManage, learner, today)
        {
            return Ok(on_learner);
        }
        self.check(actor, Permission::EnrollmentsManage, object, today)
    }

    /// Booking `learner` onto `session` (or cancelling it). On a session of an instructor-led
    /// course this is managing the learner's enrollment there. On an event: whoever manages its
    /// enrollments; or whoever may book onto it (`events.book`), for themselves or for people
    /// whose enrollments they manage (a manager books their team).
    pub fn decide_booking(
        &self,
        actor: UserId,
        session: &ObjectRef,
        learner: UserId,
        today: Date,
    ) -> Result<Decision, AccessError> {
        if session.kind != ObjectKind::Event {
            return self.decide_manage_enrollment(actor, session, learner, today);
        }
        let managing = self.check(actor, Permission::EnrollmentsManage, session, today)?;
        if managing.allowed {
            return Ok(managing);
        }
        let for_whom = actor == learner
            || self
                .allowed_on_user(actor, Permission::EnrollmentsManage, learner, today)
                .is_some();
        if !for_whom {
            return Ok(managing);
        }
        self.check(actor, Permission::EventsBook, session, today)
    }

    /// The allowing decision of `permission` on `user`, if there is one. A person the model does
    /// not know is no one the actor may act on.
    fn allowed_on_user(
        &self,
        actor: UserId,
        permission: Permission,
        user: UserId,
        today: Date,
    ) -> Option<Decision> {
        self.check(actor, permission, &ObjectRef::user(user), today)
            .ok()
            .filter(|d| d.allowed)
    }
}
