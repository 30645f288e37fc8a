//! A deliberately naive evaluator over the plain `AccessData`, written from the rules in
//! `access/mod.rs` and `Reach`'s docs, sharing nothing with the engine's indexes. It recomputes
//! everything from scratch on every call: slow, short, and easy to check by reading.
#![allow(dead_code)]

use std::collections::BTreeSet;

use registrar_domain::access::*;
use registrar_domain::ids::{GroupId, UserId};
use time::Date;

fn uid(o: &ObjectRef) -> UserId {
    UserId::from_uuid(o.id.as_uuid())
}

fn gid(o: &ObjectRef) -> GroupId {
    GroupId::from_uuid(o.id.as_uuid())
}

/// Every object in the tenant.
pub fn all_objects(d: &AccessData) -> Vec<ObjectRef> {
    let mut v = vec![ObjectRef::tenant(d.tenant)];
    v.extend(d.users.keys().map(|u| ObjectRef::user(*u)));
    v.extend(d.groups.keys().map(|g| ObjectRef::group(*g)));
    v.extend(d.objects.keys().copied());
    v
}

/// The groups a user is in, directly or because a group they are in nests in another.
pub fn groups_of(d: &AccessData, u: UserId) -> BTreeSet<GroupId> {
    let mut out = BTreeSet::new();
    for (m, g) in &d.memberships {
        if *m != u {
            continue;
        }
        let mut cur = Some(*g);
        while let Some(c) = cur {
            if !out.insert(c) {
                break;
            }
            cur = d.groups.get(&c).and_then(|gr| gr.parent);
        }
    }
    out
}

/// The object, and everything it sits inside.
pub fn ancestors(d: &AccessData, o: ObjectRef) -> Vec<ObjectRef> {
    let mut out = vec![o];
    match o.kind {
        ObjectKind::User => out.extend(groups_of(d, uid(&o)).into_iter().map(ObjectRef::group)),
        ObjectKind::Tenant => {}
        _ => {
            let mut cur = o;
            loop {
                let parent = if cur.kind == ObjectKind::Group {
                    d.groups
                        .get(&gid(&cur))
                        .and_then(|g| g.parent)
                        .map(ObjectRef::group)
                } else {
                    d.objects.get(&cur).and_then(|x| x.parent)
                };
                match parent {
                    Some(p) if !out.contains(&p) => {
                        out.push(p);
                        cur = p;
                    }
                    _ => break,
                }
            }
        }
    }
    out
}

/// The (role, scope) pairs a user holds, by any route.
pub fn sources(d: &AccessData, u: UserId) -> Vec<(&Role, Scope)> {
    let mut principals = vec![Principal::User(u)];
    principals.extend(groups_of(d, u).into_iter().map(Principal::Group));
    let mut out = Vec::new();
    for g in d.grants.values() {
        if principals.contains(&g.principal) {
            out.extend(d.roles.get(&g.role).map(|r| (r, g.scope)));
        }
    }
    for (pid, principal) in &d.attachments {
        if principals.contains(principal) {
            for item in d
                .policies
                .get(pid)
                .map(|p| p.items.as_slice())
                .unwrap_or(&[])
            {
                out.extend(d.roles.get(&item.role).map(|r| (r, item.scope)));
            }
        }
    }
    // Whoever the feed names as someone's manager holds the tenant's feed-manager role.
    if d.feed_managers.iter().any(|(m, _)| *m == u)
        && let Some(r) = d.settings.feed_manager_role.and_then(|r| d.roles.get(&r))
    {
        out.push((r, Scope::Platform));
    }
    if !out.iter().any(|(r, s)| r.level && *s == Scope::Platform)
        && let Some(r) = d.settings.default_role.and_then(|r| d.roles.get(&r))
    {
        out.push((r, Scope::Platform));
    }
    out
}

fn is_public_group(d: &AccessData, o: &ObjectRef) -> bool {
    o.kind == ObjectKind::Group && d.groups.get(&gid(o)).is_some_and(|g| g.public)
}

pub fn in_scope(d: &AccessData, scope: Scope, o: ObjectRef) -> bool {
    match scope {
        Scope::Platform => true,
        Scope::PublicGroups => ancestors(d, o).iter().any(|a| is_public_group(d, a)),
        Scope::Object(s) => ancestors(d, o).contains(&s),
    }
}

fn assigned(d: &AccessData, u: UserId, o: ObjectRef) -> bool {
    sources(d, u)
        .iter()
        .any(|(r, s)| r.assigns && *s != Scope::Platform && in_scope(d, *s, o))
}

fn team(d: &AccessData, u: UserId, o: ObjectRef) -> bool {
    if o.kind != ObjectKind::User {
        return false;
    }
    let v = uid(&o);
    if d.managers.contains(&(u, v)) {
        return true;
    }
    let vg = groups_of(d, v);
    sources(d, u).iter().any(|(r, s)| {
        r.makes_team
            && matches!(s, Scope::Object(g) if g.kind == ObjectKind::Group && vg.contains(&gid(g)))
    })
}

fn own(d: &AccessData, u: UserId, o: ObjectRef) -> bool {
    ancestors(d, o).iter().any(|a| {
        *a == ObjectRef::user(u)
            || d.objects.get(a).is_some_and(|x| x.created_by == Some(u))
            || (a.kind == ObjectKind::Course && d.enrollments.contains_key(&(u, a.id)))
    })
}

fn reach_covers(d: &AccessData, u: UserId, reach: Reach, o: ObjectRef) -> bool {
    match reach {
        Reach::Tenant => true,
        Reach::Assigned => assigned(d, u, o),
        Reach::Team => team(d, u, o),
        Reach::Own => own(d, u, o),
    }
}

pub fn allows(d: &AccessData, u: UserId, p: Permission, o: ObjectRef, today: Date) -> bool {
    let Some(user) = d.users.get(&u) else {
        return false;
    };
    if !user.effective_status(today).may_log_in() {
        return false;
    }
    let feature = p
        .feature()
        .or((o.kind == ObjectKind::Channel).then_some(Feature::SocialLearning));
    if feature.is_some_and(|f| !d.features.contains(&f)) {
        return false;
    }
    if user.superadmin {
        return true;
    }
    if p.is_learner_access() {
        let course = ancestors(d, o)
            .into_iter()
            .find(|a| a.kind == ObjectKind::Course);
        if let Some(c) = course
            && let Some(status) = d.enrollments.get(&(u, c.id))
        {
            let ilt = d.objects.get(&c).is_some_and(|x| x.instructor_led);
            use EnrollmentStatus as S;
            use registrar_domain::session::BookingStatus as B;
            // Attending a session: its booking, when there is one, decides.
            let booking = if p == Permission::SessionsAttend {
                d.bookings.get(&(u, o))
            } else {
                None
            };
            let ok = match (booking, status) {
                (Some(B::ToConfirm | B::Waiting), _) => false,
                (Some(B::Booked | B::Attended), S::ToConfirm) => true,
                (_, status) => match status {
                    S::Enrolled | S::InProgress | S::Completed => true,
                    S::Waiting | S::Suspended | S::Overbooked => false,
                    // Material of an instructor-led course, but no attending; e-learning: none.
                    S::ToConfirm => ilt && p == Permission::CoursesAccess,
                },
            };
            if !ok {
                return false;
            }
        }
    }
    sources(d, u).iter().any(|(role, scope)| {
        role.grants(p).any(|reach| {
            in_scope(d, *scope, o)
                && ((*scope != Scope::Platform && matches!(reach, Reach::Tenant | Reach::Assigned))
                    || reach_covers(d, u, reach, o))
        })
    })
}

/// Whether `u` may do `p` on `o` and everything inside it through a scope (tenant reach, a
/// grant at or above `o`, or an assigned object at or above `o`), not through a relation to
/// themselves. Vetoes are ignored: this measures authority held, not exercised.
pub fn through_scope(d: &AccessData, u: UserId, p: Permission, o: ObjectRef) -> bool {
    sources(d, u).iter().any(|(role, scope)| {
        role.grants(p).any(|reach| match (scope, reach) {
            (Scope::Platform, Reach::Tenant) => true,
            (Scope::Platform, Reach::Assigned) => assigned(d, u, o),
            (Scope::Platform, _) => false,
            (s, Reach::Tenant | Reach::Assigned) => in_scope(d, *s, o),
            _ => false,
        })
    })
}

pub fn objects_for(
    d: &AccessData,
    u: UserId,
    p: Permission,
    kind: ObjectKind,
    today: Date,
) -> Vec<ObjectRef> {
    let mut v: Vec<ObjectRef> = all_objects(d)
        .into_iter()
        .filter(|o| o.kind == kind && allows(d, u, p, *o, today))
        .collect();
    v.sort();
    v
}

pub fn holders(d: &AccessData, p: Permission, o: ObjectRef, today: Date) -> Vec<UserId> {
    let mut v: Vec<UserId> = d
        .users
        .keys()
        .copied()
        .filter(|u| allows(d, *u, p, o, today))
        .collect();
    v.sort();
    v
}

/// Managing `learner`'s enrollment in `o`: the permission on the learner or on the object.
pub fn manage_enrollment(
    d: &AccessData,
    u: UserId,
    o: ObjectRef,
    learner: UserId,
    today: Date,
) -> bool {
    let em = Permission::EnrollmentsManage;
    (d.users.contains_key(&learner) && allows(d, u, em, ObjectRef::user(learner), today))
        || allows(d, u, em, o, today)
}

/// Booking `learner` onto `o`: on a session, managing their enrollment there; on an event,
/// managing its enrollments, or booking onto it for oneself or for someone whose enrollments
/// one manages.
pub fn booking(d: &AccessData, u: UserId, o: ObjectRef, learner: UserId, today: Date) -> bool {
    if o.kind != ObjectKind::Event {
        return manage_enrollment(d, u, o, learner, today);
    }
    let em = Permission::EnrollmentsManage;
    let for_whom = u == learner
        || (d.users.contains_key(&learner) && allows(d, u, em, ObjectRef::user(learner), today));
    allows(d, u, em, o, today) || (for_whom && allows(d, u, Permission::EventsBook, o, today))
}

/// Recording `o` under `parent`: edit on it when it exists, create where it goes when it is new
/// or moves. `None` for what is no learning object.
pub fn put_object(
    d: &AccessData,
    u: UserId,
    o: ObjectRef,
    parent: Option<ObjectRef>,
    today: Date,
) -> Option<bool> {
    use Permission as P;
    let (create, edit) = match o.kind {
        ObjectKind::Course => (P::CoursesCreate, P::CoursesEdit),
        ObjectKind::Lesson => (P::LessonsCreate, P::LessonsEdit),
        ObjectKind::Event => (P::CoursesEdit, P::EventsManage),
        ObjectKind::Session => (P::CoursesEdit, P::SessionsManage),
        ObjectKind::LearningPlan => (P::CoursesCreate, P::LearningPlansManage),
        ObjectKind::Catalogue => (P::CoursesCreate, P::CataloguesManage),
        ObjectKind::Channel => (P::SystemConfigure, P::ChannelsManage),
        ObjectKind::Team => (P::TeamsCreate, P::TeamsEdit),
        ObjectKind::Report => (P::ReportsRun, P::ReportsRun),
        ObjectKind::Tenant | ObjectKind::User | ObjectKind::Group => return None,
    };
    let place = match parent {
        Some(p) if create.applies(p.kind) => p,
        _ => ObjectRef::tenant(d.tenant),
    };
    // Asking a permission of an object it does not apply to is an error, not a refusal.
    let creating = || {
        create
            .applies(place.kind)
            .then(|| allows(d, u, create, place, today))
    };
    match d.objects.get(&o) {
        Some(_) if !allows(d, u, edit, o, today) => Some(false),
        Some(old) if old.parent == parent => Some(true),
        _ => creating(),
    }
}

/// Seeing a person: oneself, or `users.view` on them.
pub fn sees(d: &AccessData, u: UserId, target: UserId, today: Date) -> bool {
    u == target
        || (d.users.contains_key(&target)
            && allows(d, u, Permission::UsersView, ObjectRef::user(target), today))
}

/// Recording `learner`'s activity in `course`: one's own, or `enrollments.manage` on the course.
pub fn record_activity(
    d: &AccessData,
    u: UserId,
    course: ObjectRef,
    learner: UserId,
    today: Date,
) -> bool {
    u == learner || allows(d, u, Permission::EnrollmentsManage, course, today)
}

/// Reading `learner`'s status in `plan` (made of `courses`): seeing them, then being them and
/// enrolled in one of the courses, or `learning_plans.view` on the plan.
pub fn read_plan_status(
    d: &AccessData,
    u: UserId,
    plan: ObjectRef,
    courses: &[ObjectId],
    learner: UserId,
    today: Date,
) -> bool {
    let enrolled = courses
        .iter()
        .any(|c| d.enrollments.contains_key(&(learner, *c)));
    sees(d, u, learner, today)
        && ((u == learner && enrolled) || allows(d, u, Permission::LearningPlansView, plan, today))
}

/// Per kind of learning object: the permissions to view, create (where it goes), edit and
/// delete one. `None` for what is no learning object.
fn kind_rights(kind: ObjectKind) -> Option<[Permission; 4]> {
    use Permission as P;
    Some(match kind {
        ObjectKind::Course => [
            P::CoursesView,
            P::CoursesCreate,
            P::CoursesEdit,
            P::CoursesDelete,
        ],
        ObjectKind::Lesson => [
            P::LessonsView,
            P::LessonsCreate,
            P::LessonsEdit,
            P::LessonsDelete,
        ],
        ObjectKind::Event => [
            P::EventsView,
            P::CoursesEdit,
            P::EventsManage,
            P::EventsManage,
        ],
        ObjectKind::Session => [
            P::SessionsView,
            P::CoursesEdit,
            P::SessionsManage,
            P::SessionsManage,
        ],
        ObjectKind::LearningPlan => [
            P::LearningPlansView,
            P::CoursesCreate,
            P::LearningPlansManage,
            P::LearningPlansManage,
        ],
        ObjectKind::Catalogue => [
            P::CataloguesView,
            P::CoursesCreate,
            P::CataloguesManage,
            P::CataloguesManage,
        ],
        ObjectKind::Channel => [
            P::ChannelsView,
            P::SystemConfigure,
            P::ChannelsManage,
            P::ChannelsManage,
        ],
        ObjectKind::Team => [P::TeamsView, P::TeamsCreate, P::TeamsEdit, P::TeamsDelete],
        ObjectKind::Report => [P::ReportsRun; 4],
        ObjectKind::Tenant | ObjectKind::User | ObjectKind::Group => return None,
    })
}

/// Whether `u` may do `act`, read straight from the vocabulary's documentation. `None` where
/// the act is not a question (no learning object, or changing one's own enrollment status,
/// which is refused outright).
pub fn act(d: &AccessData, u: UserId, act: &Act, today: Date) -> Option<bool> {
    use Permission as P;
    let t = ObjectRef::tenant(d.tenant);
    let on = |p: Permission, o: ObjectRef| allows(d, u, p, o, today);
    let user = |x: &UserId| ObjectRef::user(*x);
    let group = |g: &GroupId| ObjectRef::group(*g);
    let kind = |o: &ObjectRef, i: usize| kind_rights(o.kind).map(|r| r[i]);
    Some(match act {
        Act::ViewUser(x) => sees(d, u, *x, today),
        Act::CreateUser => on(P::UsersCreate, t),
        Act::EditUser(x) => on(P::UsersEdit, user(x)),
        // Someone else's also passes the takeover rule, which refuses with an error.
        Act::ChangePassword(x) => *x == u || on(P::UsersEdit, user(x)),
        Act::DeleteUser(x) => on(P::UsersDelete, user(x)),
        Act::SetManager(x) => on(P::ManagersEdit, user(x)),
        Act::ManageAppAccess(x) => on(P::LearnerAppManage, user(x)),
        Act::ViewAppAccess(x) => sees(d, u, *x, today),
        Act::SendInvitation(x) => on(P::InvitationsSend, user(x)),
        Act::ViewGroup(g) => on(P::GroupsView, group(g)),
        Act::CreateGroup { parent } => on(P::GroupsCreate, parent.as_ref().map_or(t, group)),
        Act::EditGroup(g) => on(P::GroupsEdit, group(g)),
        Act::MoveGroup { group: g, to } => {
            let from = d.groups.get(g)?.parent;
            on(P::GroupsEdit, group(g))
                && (from == *to
                    || (from.is_none_or(|f| on(P::GroupsEdit, group(&f)))
                        && match to {
                            Some(to) => on(P::GroupsEdit, group(to)),
                            None => on(P::GroupsCreate, t),
                        }))
        }
        Act::ManageMembers(g) => on(P::GroupsMembers, group(g)),
        Act::InviteToGroup(g) => on(P::UsersCreate, t) && on(P::GroupsMembers, group(g)),
        Act::DeleteGroup(g) => on(P::GroupsDelete, group(g)),
        Act::View(o) => on(kind(o, 0)?, *o),
        Act::Create { kind: k, place } => on(kind_rights(*k)?[1], *place),
        Act::Edit(o) => on(kind(o, 2)?, *o),
        Act::Put { object, parent } => put_object(d, u, *object, *parent, today)?,
        Act::Delete(o) => on(kind(o, 3)?, *o),
        Act::Take(o) => on(P::CoursesAccess, *o),
        Act::ViewResults(x) => *x == u || on(P::EnrollmentsView, user(x)),
        Act::ReportOn(x) => *x == u || on(P::ReportsRun, user(x)),
        Act::ReportOnEnrollment { learner, course } => {
            *learner == u || on(P::ReportsRun, user(learner)) || on(P::ReportsRun, *course)
        }
        Act::ViewEnrollments(o) => on(P::EnrollmentsView, *o),
        Act::ManageEnrollment { object, learner } => {
            manage_enrollment(d, u, *object, *learner, today)
        }
        Act::ChangeEnrollmentStatus { learner, .. } if *learner == u => return None,
        Act::ChangeEnrollmentStatus {
            object, from, to, ..
        } => {
            let approval = matches!(
                from,
                EnrollmentStatus::Waiting | EnrollmentStatus::ToConfirm
            ) && !matches!(
                to,
                EnrollmentStatus::Waiting
                    | EnrollmentStatus::ToConfirm
                    | EnrollmentStatus::Suspended
            );
            on(P::EnrollmentsManage, *object) && (!approval || on(P::EnrollmentsApprove, *object))
        }
        Act::ApproveEnrollments(o) => on(P::EnrollmentsApprove, *o),
        Act::Book { session, learner } => booking(d, u, *session, *learner, today),
        Act::TakeAttendance(o) => on(P::EventsAttendance, *o),
        Act::RecordActivity { course, learner } => record_activity(d, u, *course, *learner, today),
        Act::ReadPlanStatus {
            plan,
            courses,
            learner,
        } => read_plan_status(d, u, *plan, courses, *learner, today),
        Act::ManageTeamMember { team, person } => {
            sees(d, u, *person, today) && on(P::TeamsMembers, *team)
        }
        Act::Deploy { course, to } => {
            let target = match to.kind {
                ObjectKind::Group => P::GroupsMembers,
                ObjectKind::Catalogue => P::CataloguesManage,
                _ => return None,
            };
            on(P::EnrollmentsManage, *course) && on(target, *to)
        }
        Act::SelfEnroll { course, catalogues } => {
            catalogues.iter().any(|c| on(P::CataloguesView, *c))
                || manage_enrollment(d, u, *course, u, today)
        }
        Act::ViewRoles => on(P::RolesView, t),
        Act::EditRoles => on(P::RolesEdit, t),
        Act::EditPolicies => on(P::PoliciesEdit, t),
        Act::ReviewAccess => on(P::AccessReview, t),
        Act::ViewAudit => on(P::AuditView, t),
        Act::FollowImport { importer } => *importer == u || on(P::AuditView, t),
        Act::ViewBilling => on(P::BillingView, t),
        Act::Configure => on(P::SystemConfigure, t),
    })
}
