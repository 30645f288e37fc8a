//! The vocabulary of acts: every question a surface (JSON API, SCIM, CSV import, exports, the
//! CLI, the admin UI) asks the engine is one of these, never a permission and an object picked by
//! the caller. Which permission an act needs, on what, and what else decides it (oneself, an
//! "either grant" rule, an approval hidden in a status edit) is written here once.

use time::Date;

use super::catalog::Permission;
use super::error::AccessError;
use super::explain::{Allowance, Decision, Explanation, Via};
use super::model::AccessModel;
use super::object::{EnrollmentStatus, ObjectId, ObjectKind, ObjectRef};
use super::role::Scope;
use crate::ids::{GroupId, UserId};

/// An act someone asks to do. People and groups are named by id; learning objects by their
/// reference, whose kind picks the permission (viewing an event is `events.view`, a session
/// `sessions.view`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Seeing a person (oneself always).
    ViewUser(UserId),
    /// Creating a person in the tenant.
    CreateUser,
    /// Changing a person's details (name, login, status, labels, password).
    EditUser(UserId),
    /// Setting a person's password: one's own always (whoever asks for it proves the current
    /// one), anyone else's with `users.edit` on them and under the takeover rule.
    ChangePassword(UserId),
    /// Removing a person (SCIM `DELETE`: the leaver is deactivated).
    DeleteUser(UserId),
    /// Setting or removing the managers of this person.
    SetManager(UserId),
    /// Switching a person's learner-app access, or whether a course shows there for them.
    ManageAppAccess(UserId),
    /// Reading a person's learner-app access: whoever sees them (oneself always).
    ViewAppAccess(UserId),
    /// Sending a person their invitation (login details).
    SendInvitation(UserId),

    /// Seeing a group.
    ViewGroup(GroupId),
    /// Creating a group inside `parent`, or at the top of the tenant.
    CreateGroup { parent: Option<GroupId> },
    /// Changing a group (its name, its confidentiality).
    EditGroup(GroupId),
    /// Moving a group under another, or to the top of the tenant (`to: None`): editing it, the
    /// group it leaves and the one it joins, or creating groups at the top.
    MoveGroup { group: GroupId, to: Option<GroupId> },
    /// Adding people to a group or taking them out.
    ManageMembers(GroupId),
    /// Inviting someone by email to join a group (seed 004): creating people, and adding
    /// members to the group. The roles the invitation carries are checked as grants.
    InviteToGroup(GroupId),
    /// Deleting a group.
    DeleteGroup(GroupId),

    /// Seeing a learning object.
    View(ObjectRef),
    /// Creating a learning object of `kind` at `place` (a course in a group, a lesson or a
    /// session in a course).
    Create { kind: ObjectKind, place: ObjectRef },
    /// Changing a learning object.
    Edit(ObjectRef),
    /// Recording a learning object as it is now: editing it where it is, creating it where it is
    /// new or where it moves to (moving it is creating it in its new place).
    Put {
        object: ObjectRef,
        parent: Option<ObjectRef>,
    },
    /// Deleting a learning object.
    Delete(ObjectRef),
    /// Opening a course as a learner (what the learner app shows).
    Take(ObjectRef),

    /// Reading a learner's results (their enrollments, progress and completions): one's own
    /// always, anyone else's with `enrollments.view` on them.
    ViewResults(UserId),
    /// Reporting on a learner (their enrollments, progress and completions in a report over a
    /// team, a group or a course): oneself always, anyone else with `reports.run` on them, so
    /// that a report is cut by the reach of whoever runs it.
    ReportOn(UserId),
    /// Reporting on `learner`'s enrollment in `course`: reporting on the learner, or
    /// `reports.run` on the course (a tutor reports on the courses they tutor).
    ReportOnEnrollment { learner: UserId, course: ObjectRef },
    /// Seeing who is enrolled in (or booked onto) an object.
    ViewEnrollments(ObjectRef),
    /// Enrolling or unenrolling `learner` in `object` (the learner's manager or the object's
    /// tutor).
    ManageEnrollment { object: ObjectRef, learner: UserId },
    /// Moving `learner`'s enrollment in `object` from one status to another by hand: never
    /// one's own (that follows one's learning), managing enrollments there, and approving them
    /// when the move lets someone off the waiting list or confirms a booking.
    ChangeEnrollmentStatus {
        object: ObjectRef,
        learner: UserId,
        from: EnrollmentStatus,
        to: EnrollmentStatus,
    },
    /// Approving (or refusing) enrollments in an object.
    ApproveEnrollments(ObjectRef),
    /// Booking `learner` onto a session or event, or cancelling that booking.
    Book { session: ObjectRef, learner: UserId },
    /// Marking attendance of a session.
    TakeAttendance(ObjectRef),
    /// Recording learning activity of `learner` in a course.
    RecordActivity { course: ObjectRef, learner: UserId },
    /// Adding `person` to a team or taking them out: filling the team (`teams.members`, its
    /// creator's) and seeing the person, so nobody learns of people through a team.
    ManageTeamMember { team: ObjectRef, person: UserId },
    /// Deploying a course to a group (its members are enrolled, and whoever joins later) or to
    /// a catalogue (where learners may enroll themselves), or withdrawing it: managing the
    /// course's enrollments, and managing the group's members or what the catalogue offers.
    Deploy { course: ObjectRef, to: ObjectRef },
    /// Enrolling oneself in a course offered in `catalogues` (those it is deployed to): seeing
    /// one of them. Someone who manages the course's enrollments may enroll themselves anyway.
    SelfEnroll {
        course: ObjectRef,
        catalogues: Vec<ObjectRef>,
    },
    /// Reading `learner`'s status in a learning plan made of `courses`.
    ReadPlanStatus {
        plan: ObjectRef,
        courses: Vec<ObjectId>,
        learner: UserId,
    },

    /// Reading roles, grants and policies.
    ViewRoles,
    /// Creating, changing, copying and deleting roles.
    EditRoles,
    /// Creating and changing policies and attaching them.
    EditPolicies,
    /// Asking who may do what (the access review, checks about others).
    ReviewAccess,
    /// Reading the audit log.
    ViewAudit,
    /// Following an import as it runs and reading what it found (its refused rows name
    /// people): one's own always, anyone else's with `audit.view`, as the audit log will hold it.
    FollowImport { importer: UserId },
    /// Reading billing information, such as the legal representative on the invoices.
    ViewBilling,
    /// Changing tenant settings: features, automations, tokens, the leaver policy.
    Configure,
}

impl AccessModel {
    /// Decides `act` for `actor`, with the same structured explanation as a check.
    pub fn decide(&self, actor: UserId, act: &Act, today: Date) -> Result<Decision, AccessError> {
        use Permission as P;
        let tenant = ObjectRef::tenant(self.data.tenant);
        let (permission, object) = match act {
            Act::ViewUser(user) => return self.decide_view_user(actor, *user, today),
            Act::CreateUser => (P::UsersCreate, tenant),
            Act::EditUser(user) => (P::UsersEdit, ObjectRef::user(*user)),
            Act::ChangePassword(user) => {
                if actor == *user {
                    return Ok(super::acts::oneself(
                        actor,
                        P::UsersEdit,
                        ObjectRef::user(*user),
                    ));
                }
                let editing = self.check(actor, P::UsersEdit, &ObjectRef::user(*user), today)?;
                if editing.allowed() {
                    self.validate_takeover(actor, *user, today)?;
                }
                return Ok(editing);
            }
            Act::DeleteUser(user) => (P::UsersDelete, ObjectRef::user(*user)),
            Act::SetManager(user) => (P::ManagersEdit, ObjectRef::user(*user)),
            Act::ManageAppAccess(user) => (P::LearnerAppManage, ObjectRef::user(*user)),
            Act::ViewAppAccess(user) => return self.decide_view_user(actor, *user, today),
            Act::SendInvitation(user) => (P::InvitationsSend, ObjectRef::user(*user)),
            Act::ViewGroup(group) => (P::GroupsView, ObjectRef::group(*group)),
            Act::CreateGroup { parent } => {
                (P::GroupsCreate, parent.map_or(tenant, ObjectRef::group))
            }
            Act::EditGroup(group) => (P::GroupsEdit, ObjectRef::group(*group)),
            Act::MoveGroup { group, to } => {
                return self.decide_move_group(actor, *group, *to, today);
            }
            Act::ManageMembers(group) => (P::GroupsMembers, ObjectRef::group(*group)),
            Act::InviteToGroup(group) => {
                let creating = self.check(actor, P::UsersCreate, &tenant, today)?;
                if !creating.allowed() {
                    return Ok(creating);
                }
                (P::GroupsMembers, ObjectRef::group(*group))
            }
            Act::DeleteGroup(group) => (P::GroupsDelete, ObjectRef::group(*group)),
            Act::View(object) => (rights_of(object)?.view, *object),
            Act::Create { kind, place } => {
                let object = ObjectRef {
                    kind: *kind,
                    id: place.id,
                };
                (rights_of(&object)?.create, *place)
            }
            Act::Edit(object) => (rights_of(object)?.edit, *object),
            Act::Put { object, parent } => {
                return self.decide_put_object(actor, object, *parent, today);
            }
            Act::Delete(object) => (rights_of(object)?.delete, *object),
            Act::Take(object) => (P::CoursesAccess, *object),
            Act::ViewResults(user) if actor == *user => {
                return Ok(super::acts::oneself(
                    actor,
                    P::EnrollmentsView,
                    ObjectRef::user(*user),
                ));
            }
            Act::ViewResults(user) => (P::EnrollmentsView, ObjectRef::user(*user)),
            Act::ReportOn(user) if actor == *user => {
                return Ok(super::acts::oneself(
                    actor,
                    P::ReportsRun,
                    ObjectRef::user(*user),
                ));
            }
            Act::ReportOn(user) => (P::ReportsRun, ObjectRef::user(*user)),
            Act::ReportOnEnrollment { learner, course } => {
                let on_learner = self.decide(actor, &Act::ReportOn(*learner), today)?;
                if on_learner.allowed() {
                    return Ok(on_learner);
                }
                (P::ReportsRun, *course)
            }
            Act::ViewEnrollments(object) => (P::EnrollmentsView, *object),
            Act::ManageEnrollment { object, learner } => {
                return self.decide_manage_enrollment(actor, object, *learner, today);
            }
            Act::ChangeEnrollmentStatus {
                object,
                learner,
                from,
                to,
            } => {
                self.validate_enrollment_status_change(actor, *learner)?;
                let managing = self.check(actor, P::EnrollmentsManage, object, today)?;
                if !managing.allowed() || !crate::lifecycle::is_approval(*from, *to) {
                    return Ok(managing);
                }
                (P::EnrollmentsApprove, *object)
            }
            Act::ApproveEnrollments(object) => (P::EnrollmentsApprove, *object),
            Act::Book { session, learner } => {
                return self.decide_booking(actor, session, *learner, today);
            }
            Act::TakeAttendance(session) => (P::EventsAttendance, *session),
            Act::RecordActivity { course, learner } => {
                return self.decide_record_activity(actor, course, *learner, today);
            }
            Act::ReadPlanStatus {
                plan,
                courses,
                learner,
            } => return self.decide_read_plan_status(actor, plan, courses, *learner, today),
            Act::ManageTeamMember { team, person } => {
                let seeing = self.decide_view_user(actor, *person, today)?;
                if !seeing.allowed() {
                    return Ok(seeing);
                }
                (P::TeamsMembers, *team)
            }
            Act::Deploy { course, to } => return self.decide_deploy(actor, course, to, today),
            Act::SelfEnroll { course, catalogues } => {
                return self.decide_self_enroll(actor, course, catalogues, today);
            }
            Act::ViewRoles => (P::RolesView, tenant),
            Act::EditRoles => (P::RolesEdit, tenant),
            Act::EditPolicies => (P::PoliciesEdit, tenant),
            Act::ReviewAccess => (P::AccessReview, tenant),
            Act::ViewAudit => (P::AuditView, tenant),
            Act::FollowImport { importer } if actor == *importer => {
                return Ok(super::acts::oneself(actor, P::AuditView, tenant));
            }
            Act::FollowImport { .. } => (P::AuditView, tenant),
            Act::ViewBilling => (P::BillingView, tenant),
            Act::Configure => (P::SystemConfigure, tenant),
        };
        self.check(actor, permission, &object, today)
    }

    /// Whether `actor` may do `act`, for cutting lists: an act on something the model does not
    /// know is refused.
    pub fn may(&self, actor: UserId, act: &Act, today: Date) -> bool {
        self.decide(actor, act, today).is_ok_and(|d| d.allowed())
    }

    /// Whether `actor` sees every person of the tenant (superadmin, or `users.view` over the
    /// whole tenant): only then may an answer reveal that someone does not exist.
    pub fn sees_everyone(&self, actor: UserId) -> bool {
        self.reaches_everything(actor, Permission::UsersView)
    }

    /// Who answers for approvals in `object`: the holders of `enrollments.approve` there
    /// through a responsibility at it or at what it sits in (an event administrator, a course
    /// tutor), not through a platform-wide role. They are told of a booking to confirm.
    pub fn responsible_approvers(
        &self,
        object: &ObjectRef,
        today: Date,
    ) -> Result<Vec<UserId>, AccessError> {
        let responsible = |u: &UserId| {
            self.check(*u, Permission::EnrollmentsApprove, object, today)
                .is_ok_and(|d| match d.explanation() {
                    Explanation::Allowed(Allowance {
                        via: Via::Grant { basis, .. },
                        ..
                    }) => basis.scope != Scope::Platform,
                    _ => false,
                })
        };
        Ok(self
            .approvers(object, today)?
            .into_iter()
            .filter(responsible)
            .collect())
    }

    /// Who may approve enrollments in `object`, to show a learner whom to ask.
    pub fn approvers(&self, object: &ObjectRef, today: Date) -> Result<Vec<UserId>, AccessError> {
        self.holders(Permission::EnrollmentsApprove, object, today)
    }
}

/// The permissions that view, create (where it goes), edit and delete a kind of learning
/// object.
pub(crate) struct Rights {
    pub view: Permission,
    pub create: Permission,
    pub edit: Permission,
    pub delete: Permission,
}

fn rights_of(object: &ObjectRef) -> Result<Rights, AccessError> {
    rights(object.kind).ok_or(AccessError::NotALearningObject { object: *object })
}

/// The rights table, one row per kind of learning object. People, groups and the tenant are no
/// learning objects: their acts are named apart.
pub(crate) fn rights(kind: ObjectKind) -> Option<Rights> {
    use Permission as P;
    let (view, create, edit, delete) = match kind {
        ObjectKind::Course => (
            P::CoursesView,
            P::CoursesCreate,
            P::CoursesEdit,
            P::CoursesDelete,
        ),
        ObjectKind::Lesson => (
            P::LessonsView,
            P::LessonsCreate,
            P::LessonsEdit,
            P::LessonsDelete,
        ),
        ObjectKind::Event => (
            P::EventsView,
            P::CoursesEdit,
            P::EventsManage,
            P::EventsManage,
        ),
        ObjectKind::Session => (
            P::SessionsView,
            P::CoursesEdit,
            P::SessionsManage,
            P::SessionsManage,
        ),
        ObjectKind::LearningPlan => (
            P::LearningPlansView,
            P::CoursesCreate,
            P::LearningPlansManage,
            P::LearningPlansManage,
        ),
        ObjectKind::Catalogue => (
            P::CataloguesView,
            P::CoursesCreate,
            P::CataloguesManage,
            P::CataloguesManage,
        ),
        ObjectKind::Channel => (
            P::ChannelsView,
            P::SystemConfigure,
            P::ChannelsManage,
            P::ChannelsManage,
        ),
        ObjectKind::Team => (P::TeamsView, P::TeamsCreate, P::TeamsEdit, P::TeamsDelete),
        ObjectKind::Report => (P::ReportsRun, P::ReportsRun, P::ReportsRun, P::ReportsRun),
        ObjectKind::Tenant | ObjectKind::User | ObjectKind::Group => return None,
    };
    Some(Rights {
        view,
        create,
        edit,
        delete,
    })
}
