//! Named acts that take more than one permission to decide, answered with the same structured
//! explanation as a check: every surface (JSON API, SCIM, CSV import, CLI) asks these instead of
//! assembling "either grant" rules of its own.

use time::Date;

use super::catalog::Permission;
use super::error::AccessError;
use super::explain::{Allowance, Decision, Explanation, Via};
use super::model::AccessModel;
use super::object::{ObjectKind, ObjectRef};
use crate::ids::{GroupId, UserId};

/// What [`AccessModel::decide_check`] answers: the asker's right to ask, and the decision when
/// they have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckAnswer {
    pub asking: Decision,
    pub answer: Option<Decision>,
}

/// What a feed does, in the request that creates them, to people who do not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNewPeople {
    /// Giving a new person their manager.
    SetManager,
    /// Creating a group with its members.
    AddToGroup,
}

impl AccessModel {
    /// Seeing a person: oneself always, with no grant needed; anyone else with `users.view` on
    /// them.
    pub fn decide_view_user(
        &self,
        actor: UserId,
        target: UserId,
        today: Date,
    ) -> Result<Decision, AccessError> {
        let object = ObjectRef::user(target);
        if actor == target {
            return Ok(oneself(actor, Permission::UsersView, object));
        }
        self.check(actor, Permission::UsersView, &object, today)
    }

    /// Whether `actor` sees `target`, as [`Self::decide_view_user`] decides, for cutting lists;
    /// a person the model does not know is seen by nobody.
    pub fn sees(&self, actor: UserId, target: UserId, today: Date) -> bool {
        self.decide_view_user(actor, target, today)
            .is_ok_and(|d| d.allowed)
    }

    /// "May `user` do `permission` to `object`?", asked by `asker`, in one read of the model:
    /// first whether the asker may ask about that person at all (seeing them, as
    /// [`Self::decide_view_user`] decides; the answer would name them), then, if so, the
    /// decision itself.
    pub fn decide_check(
        &self,
        asker: UserId,
        user: UserId,
        permission: Permission,
        object: &ObjectRef,
        today: Date,
    ) -> Result<CheckAnswer, AccessError> {
        let asking = self.decide_view_user(asker, user, today)?;
        let answer = if asking.allowed {
            Some(self.check(user, permission, object, today)?)
        } else {
            None
        };
        Ok(CheckAnswer { asking, answer })
    }

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

    /// Acting on people who do not exist yet (a feed creating a person together with their
    /// manager, or a group together with its members): they sit in nobody's team and no group,
    /// so only the act's permission over the whole tenant covers them.
    pub fn validate_on_new_people(
        &self,
        actor: UserId,
        act: OnNewPeople,
    ) -> Result<(), AccessError> {
        let permission = match act {
            OnNewPeople::SetManager => Permission::ManagersEdit,
            OnNewPeople::AddToGroup => Permission::GroupsMembers,
        };
        if self.reaches_everything(actor, permission) {
            return Ok(());
        }
        Err(AccessError::MissingPermission {
            user: actor,
            permission,
            target: "every person of the tenant (a new person is in nobody's team yet)".into(),
        })
    }

    /// Recording learning activity (opened a course, completed a material) of `learner` in
    /// `course`: one's own is reported by one's own app and needs no grant (the enrollment's
    /// status decides what it moves); anyone else's needs `enrollments.manage` on the course.
    pub fn decide_record_activity(
        &self,
        actor: UserId,
        course: &ObjectRef,
        learner: UserId,
        today: Date,
    ) -> Result<Decision, AccessError> {
        if actor == learner {
            return Ok(oneself(actor, Permission::CoursesAccess, *course));
        }
        self.check(actor, Permission::EnrollmentsManage, course, today)
    }

    /// Reading `learner`'s status in a learning plan made of `courses`: seeing the learner, and
    /// then either being that learner and enrolled in one of its courses, or holding
    /// `learning_plans.view` on the plan.
    pub fn decide_read_plan_status(
        &self,
        actor: UserId,
        plan: &ObjectRef,
        courses: &[super::object::ObjectId],
        learner: UserId,
        today: Date,
    ) -> Result<Decision, AccessError> {
        let seeing = self.decide_view_user(actor, learner, today)?;
        if !seeing.allowed {
            return Ok(seeing);
        }
        let enrolled = courses
            .iter()
            .any(|c| self.data.enrollments.contains_key(&(learner, *c)));
        if actor == learner && enrolled {
            return Ok(oneself(actor, Permission::LearningPlansView, *plan));
        }
        self.check(actor, Permission::LearningPlansView, plan, today)
    }

    /// Deploying `course` to a group or a catalogue: managing the course's enrollments, then
    /// managing the group's people (the deployment enrolls all of them, and whoever joins
    /// later, so it is the group administrator's power) or what the catalogue offers.
    pub fn decide_deploy(
        &self,
        actor: UserId,
        course: &ObjectRef,
        to: &ObjectRef,
        today: Date,
    ) -> Result<Decision, AccessError> {
        let target = match to.kind {
            ObjectKind::Group => Permission::GroupsMembers,
            ObjectKind::Catalogue => Permission::CataloguesManage,
            _ => return Err(AccessError::NotALearningObject { object: *to }),
        };
        let managing = self.check(actor, Permission::EnrollmentsManage, course, today)?;
        if !managing.allowed {
            return Ok(managing);
        }
        self.check(actor, target, to, today)
    }

    /// Moving `group` under `to` (or to the top of the tenant): editing the group, the group it
    /// leaves and the group it joins, whose subtrees change (and with them who reaches its
    /// people), or creating groups at the top when it goes there. Staying where it is is only
    /// editing it. What the move hands its members is checked apart (`validate_nesting`).
    pub fn decide_move_group(
        &self,
        actor: UserId,
        group: GroupId,
        to: Option<GroupId>,
        today: Date,
    ) -> Result<Decision, AccessError> {
        let from = self
            .data
            .groups
            .get(&group)
            .ok_or(AccessError::UnknownObject(ObjectRef::group(group)))?
            .parent;
        let editing = self.check(
            actor,
            Permission::GroupsEdit,
            &ObjectRef::group(group),
            today,
        )?;
        if !editing.allowed || from == to {
            return Ok(editing);
        }
        if let Some(from) = from {
            let leaving = self.check(
                actor,
                Permission::GroupsEdit,
                &ObjectRef::group(from),
                today,
            )?;
            if !leaving.allowed {
                return Ok(leaving);
            }
        }
        match to {
            Some(to) => self.check(actor, Permission::GroupsEdit, &ObjectRef::group(to), today),
            None => self.check(
                actor,
                Permission::GroupsCreate,
                &ObjectRef::tenant(self.data.tenant),
                today,
            ),
        }
    }

    /// Enrolling oneself in `course` through one of the `catalogues` it is offered in: seeing
    /// one of them is enough (the course's enrollment policy then decides whether one waits).
    /// Without a catalogue one can see, the answer is whether one manages the course's
    /// enrollments, with that refusal's explanation.
    pub fn decide_self_enroll(
        &self,
        actor: UserId,
        course: &ObjectRef,
        catalogues: &[ObjectRef],
        today: Date,
    ) -> Result<Decision, AccessError> {
        let mut first_refusal = None;
        for catalogue in catalogues {
            let seeing = self.check(actor, Permission::CataloguesView, catalogue, today)?;
            if seeing.allowed {
                return Ok(seeing);
            }
            first_refusal.get_or_insert(seeing);
        }
        let managing = self.decide_manage_enrollment(actor, course, actor, today)?;
        Ok(match first_refusal {
            Some(refusal) if !managing.allowed => refusal,
            _ => managing,
        })
    }

    /// Recording a learning object the platform holds, or changing it: its kind's edit
    /// permission on it when it exists, and its kind's create permission where it goes when it
    /// is new or moves (moving it is creating it in its new place).
    pub fn decide_put_object(
        &self,
        actor: UserId,
        object: &ObjectRef,
        parent: Option<ObjectRef>,
        today: Date,
    ) -> Result<Decision, AccessError> {
        let super::act::Rights { create, edit, .. } = super::act::rights(object.kind)
            .ok_or(AccessError::NotALearningObject { object: *object })?;
        let place = parent
            .filter(|p| create.applies_to().contains(&p.kind))
            .unwrap_or(ObjectRef::tenant(self.data.tenant));
        match self.data.objects.get(object) {
            Some(old) => {
                let editing = self.check(actor, edit, object, today)?;
                if !editing.allowed || old.parent == parent {
                    return Ok(editing);
                }
                self.check(actor, create, &place, today)
            }
            None => self.check(actor, create, &place, today),
        }
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

/// An act on oneself that needs no grant, explained as such.
pub(super) fn oneself(actor: UserId, permission: Permission, object: ObjectRef) -> Decision {
    Decision {
        allowed: true,
        explanation: Explanation::Allowed(Allowance {
            user: actor,
            permission,
            object,
            via: Via::Oneself,
        }),
    }
}
