//! SPEC 2, classic LMS roles: six platform roles and five responsibilities, as tables.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use registrar_domain::access::*;
use registrar_domain::ids::{GroupId, UserId};
use registrar_domain::tenant::Preset;
use registrar_domain::user::UserStatus;
use time::macros::date;

use Permission as P;

struct Catalogue {
    w: World,
    c1: ObjectRef,
    c2: ObjectRef,
    l1: ObjectRef,
    l2: ObjectRef,
    e1: ObjectRef,
    e2: ObjectRef,
}

fn two_courses() -> Catalogue {
    let mut w = World::new(Preset::ClassicLms);
    let c1 = w.course(None);
    let c2 = w.course(None);
    let l1 = w.object(ObjectKind::Lesson, Some(c1));
    let l2 = w.object(ObjectKind::Lesson, Some(c2));
    let e1 = w.object(ObjectKind::Event, Some(c1));
    let e2 = w.object(ObjectKind::Event, Some(c2));
    Catalogue {
        w,
        c1,
        c2,
        l1,
        l2,
        e1,
        e2,
    }
}

#[test]
fn a_tutor_sees_exactly_the_courses_they_tutor_with_their_lessons_events_and_reports() {
    let Catalogue {
        mut w,
        c1,
        c2,
        l1,
        l2,
        e1,
        e2,
    } = two_courses();
    let t = w.user();
    w.platform(t, "tutor");
    w.grant(t, "course-tutor", Scope::Object(c1));

    assert_eq!(w.list(t, P::CoursesView, ObjectKind::Course), vec![c1]);
    assert_eq!(w.list(t, P::LessonsView, ObjectKind::Lesson), vec![l1]);
    assert_eq!(w.list(t, P::EventsView, ObjectKind::Event), vec![e1]);
    let table = [
        (P::ReportsRun, c1, true),
        (P::ReportsRun, c2, false),
        (P::CoursesEdit, c1, true),
        (P::CoursesDeploy, c1, true),
        (P::LessonsAssign, c1, true),
        (P::LessonsEdit, l1, true),
        (P::LessonsEdit, l2, false),
        (P::EventsManage, e1, true),
        (P::EventsManage, e2, false),
        (P::CoursesDelete, c1, false),
        (P::LessonsDelete, l1, false),
        (P::EnrollmentsApprove, c1, true),
        (P::CompetencySignOff, c1, true),
    ];
    for (p, o, expected) in table {
        assert_eq!(w.can(t, p, o), expected, "{p} on {o}");
    }
    let tenant = w.tenant_ref();
    assert!(!w.can(t, P::CoursesCreate, tenant));
    assert!(!w.can(t, P::LessonsCreate, tenant));
    assert!(!w.can(t, P::SystemConfigure, tenant));
}

#[test]
fn a_tutor_without_responsibilities_sees_nothing_in_admin() {
    let Catalogue { mut w, c1, .. } = two_courses();
    let t = w.user();
    w.platform(t, "tutor");
    assert!(w.list(t, P::CoursesView, ObjectKind::Course).is_empty());
    assert!(!w.can(t, P::CoursesEdit, c1));
}

#[test]
fn a_manager_lists_only_their_team_and_may_book_team_members_onto_any_event() {
    let Catalogue { mut w, c1, e2, .. } = two_courses();
    let m = w.user();
    w.platform(m, "manager");
    let (a, b, outsider) = (w.user(), w.user(), w.user());
    w.manages(m, a);
    // A manager who administers a primary group sees its members as team.
    let g = w.group(None, false);
    w.member(b, g);
    w.grant(m, "group-admin", Scope::Object(ObjectRef::group(g)));

    let expected = sorted(vec![obj(m), obj(a), obj(b)]);
    assert_eq!(w.list(m, P::UsersView, ObjectKind::User), expected);
    assert!(!w.can(m, P::UsersView, obj(outsider)));
    // Booking = events.book on the event and enrollments.manage on the person.
    assert!(w.can(m, P::EventsBook, e2));
    assert!(w.can(m, P::EnrollmentsManage, obj(a)));
    assert!(w.can(m, P::EnrollmentsManage, obj(b)));
    assert!(!w.can(m, P::EnrollmentsManage, obj(outsider)));
    // Everything in the catalogue read-only.
    assert!(w.can(m, P::CoursesView, c1));
    assert!(!w.can(m, P::CoursesEdit, c1));
    assert!(!w.can(m, P::EventsManage, e2));
    // Groups they administer read-only; reports on the team only.
    let gr = ObjectRef::group(g);
    assert!(w.can(m, P::GroupsView, gr));
    assert!(!w.can(m, P::GroupsEdit, gr));
    assert!(w.can(m, P::ReportsRun, obj(a)));
    assert!(!w.can(m, P::ReportsRun, obj(outsider)));
}

#[test]
fn a_manager_tutor_may_edit_the_groups_they_manage_and_only_those() {
    let Catalogue { mut w, c1, c2, .. } = two_courses();
    let mt = w.user();
    w.platform(mt, "manager-tutor");
    let (g, other) = (w.group(None, false), w.group(None, false));
    w.grant(mt, "group-manager", Scope::Object(ObjectRef::group(g)));
    w.grant(mt, "course-admin", Scope::Object(c1));
    assert!(w.can(mt, P::GroupsEdit, ObjectRef::group(g)));
    assert!(!w.can(mt, P::GroupsEdit, ObjectRef::group(other)));
    assert!(w.can(mt, P::CoursesView, c2));
    assert!(w.can(mt, P::CoursesEdit, c1));
    assert!(!w.can(mt, P::CoursesEdit, c2));
    assert!(!w.can(mt, P::CoursesCreate, w.tenant_ref()));
}

#[test]
fn a_group_is_administered_by_whoever_may_change_it_and_managed_by_its_group_managers() {
    let mut w = World::new(Preset::ClassicLms);
    let company = w.group(None, false);
    let team = w.group(Some(company), false);
    let other = w.group(None, false);
    let (learner, mt, ga, coordinator, outsider) =
        (w.user(), w.user(), w.user(), w.user(), w.user());
    w.member(learner, team);
    let boss = w.superadmin();
    // A manager-tutor who is the company's group manager: manages its people, edits it and the
    // groups inside it.
    w.platform(mt, "manager-tutor");
    w.grant(
        mt,
        "group-manager",
        Scope::Object(ObjectRef::group(company)),
    );
    // A manager who administers the team's group sees it read-only: neither list names her as
    // its administrator, but she manages its people.
    w.platform(ga, "manager");
    w.grant(ga, "group-admin", Scope::Object(ObjectRef::group(team)));
    // A training coordinator administers every group.
    w.platform(coordinator, "training-coordinator");
    w.platform(outsider, "manager");
    w.grant(
        outsider,
        "group-manager",
        Scope::Object(ObjectRef::group(other)),
    );

    let today = date!(2026 - 06 - 01);
    let stewards = w.model.group_stewards(team, today).unwrap();
    // Exactly those who may rename the group or change its members, superadmins left out.
    let mut expected: Vec<UserId> = [learner, mt, ga, coordinator, outsider]
        .into_iter()
        .filter(|u| {
            w.can(*u, P::GroupsEdit, ObjectRef::group(team))
                || w.can(*u, P::GroupsMembers, ObjectRef::group(team))
        })
        .collect();
    expected.sort();
    assert_eq!(stewards.administrators, expected);
    assert!(stewards.administrators.contains(&mt));
    assert!(stewards.administrators.contains(&coordinator));
    assert!(!stewards.administrators.contains(&boss));
    assert!(!stewards.administrators.contains(&outsider));
    // Managers: the group managers at the team's group and at the company it sits in.
    let mut managers = vec![mt, ga];
    managers.sort();
    assert_eq!(stewards.managers, managers);
    let other_stewards = w.model.group_stewards(other, today).unwrap();
    assert_eq!(other_stewards.managers, vec![outsider]);
    assert!(w.model.group_stewards(GroupId::new(), today).is_err());
}

#[test]
fn moving_a_group_edits_the_group_it_leaves_and_the_one_it_joins() {
    let mut w = World::new(Preset::ClassicLms);
    let company = w.group(None, false);
    let team = w.group(Some(company), false);
    let other = w.group(None, false);
    // Edits the team and the other group, not the company the team sits in.
    let (inner, outer) = (w.user(), w.user());
    w.platform(inner, "manager-tutor");
    w.grant(
        inner,
        "group-manager",
        Scope::Object(ObjectRef::group(team)),
    );
    w.grant(
        inner,
        "group-manager",
        Scope::Object(ObjectRef::group(other)),
    );
    // Edits the company (so the team in it) and the other group.
    w.platform(outer, "manager-tutor");
    w.grant(
        outer,
        "group-manager",
        Scope::Object(ObjectRef::group(company)),
    );
    w.grant(
        outer,
        "group-manager",
        Scope::Object(ObjectRef::group(other)),
    );
    let today = date!(2026 - 06 - 01);
    let may = |u, to| {
        w.model
            .decide(u, &Act::MoveGroup { group: team, to }, today)
            .unwrap()
            .allowed()
    };
    // Staying is only editing it.
    assert!(may(inner, Some(company)));
    // Taking it out of the company needs the company too.
    assert!(!may(inner, Some(other)));
    assert!(may(outer, Some(other)));
    // To the top: creating groups there.
    let creates_at_top = w.can(outer, P::GroupsCreate, w.tenant_ref());
    assert_eq!(may(outer, None), creates_at_top);
    assert!(!may(inner, None));
    assert!(
        w.model
            .decide(
                inner,
                &Act::MoveGroup {
                    group: GroupId::new(),
                    to: None
                },
                today
            )
            .is_err()
    );
}

/// One object of every kind, so that every permission has something to be checked on.
fn one_of_each(w: &mut World) -> Vec<ObjectRef> {
    let g = w.group(None, false);
    let u = w.user();
    w.member(u, g);
    let c = w.course(Some(g));
    let plan = w.object(ObjectKind::LearningPlan, Some(ObjectRef::group(g)));
    vec![
        w.tenant_ref(),
        obj(u),
        ObjectRef::group(g),
        w.object(ObjectKind::Team, None),
        c,
        w.object(ObjectKind::Lesson, Some(c)),
        w.object(ObjectKind::Event, Some(c)),
        w.object(ObjectKind::Session, Some(c)),
        plan,
        w.object(ObjectKind::Catalogue, None),
        w.object(ObjectKind::Channel, None),
        w.object(ObjectKind::Report, Some(c)),
    ]
}

#[test]
fn a_training_coordinator_has_everything_but_system_configuration() {
    let mut w = World::new(Preset::ClassicLms);
    w.apply(Change::SetFeature {
        feature: Feature::SocialLearning,
        on: true,
    });
    let objects = one_of_each(&mut w);
    let tc = w.user();
    w.platform(tc, "training-coordinator");
    let admin = w.user();
    w.platform(admin, "lms-admin");
    for p in Permission::ALL {
        for o in objects.iter().filter(|o| p.applies(o.kind)) {
            assert_eq!(w.can(tc, *p, *o), *p != P::SystemConfigure, "{p} on {o}");
            assert!(w.can(admin, *p, *o), "admin: {p} on {o}");
        }
    }
}

#[test]
fn a_course_administrator_cannot_approve_enrollments_or_sign_off_competency() {
    let Catalogue { mut w, c1, e1, .. } = two_courses();
    let (ca, ct) = (w.user(), w.user());
    w.platform(ca, "tutor");
    w.platform(ct, "tutor");
    w.grant(ca, "course-admin", Scope::Object(c1));
    w.grant(ct, "course-tutor", Scope::Object(c1));
    for p in [P::EnrollmentsApprove, P::CompetencySignOff] {
        assert!(!w.can(ca, p, c1), "course admin {p}");
        assert!(w.can(ct, p, c1), "course tutor {p}");
    }
    // Otherwise the same rights over the course.
    for p in [
        P::CoursesEdit,
        P::LessonsAssign,
        P::CoursesDeploy,
        P::ReportsRun,
    ] {
        assert!(w.can(ca, p, c1) && w.can(ct, p, c1), "{p}");
    }
    assert!(w.can(ca, P::EventsManage, e1));
}

#[test]
fn only_one_course_tutor_per_course_but_many_administrators() {
    let Catalogue { mut w, c1, .. } = two_courses();
    let admin = w.user();
    w.platform(admin, "lms-admin");
    let (t1, t2, t3) = (w.user(), w.user(), w.user());
    for t in [t1, t2, t3] {
        w.platform(t, "tutor");
    }
    w.delegate(admin, t1, "course-tutor", Scope::Object(c1))
        .unwrap();
    let err = w
        .delegate(admin, t2, "course-tutor", Scope::Object(c1))
        .unwrap_err();
    assert!(matches!(err, AccessError::TooManyHolders { max: 1, .. }));
    assert!(err.to_string().contains("\"course-tutor\""), "{err}");
    w.delegate(admin, t2, "course-admin", Scope::Object(c1))
        .unwrap();
    w.delegate(admin, t3, "course-admin", Scope::Object(c1))
        .unwrap();
}

#[test]
fn responsibilities_follow_the_eligibility_table() {
    let Catalogue { mut w, c1, e1, .. } = two_courses();
    let admin = w.user();
    w.platform(admin, "lms-admin");
    let g = Scope::Object(ObjectRef::group(w.group(None, false)));
    let course = Scope::Object(c1);
    let event = Scope::Object(e1);
    // (platform role, responsibility, scope, eligible)
    let table = [
        (None, "group-manager", g, false),
        (None, "course-tutor", course, false),
        (Some("manager"), "group-admin", g, true),
        (Some("manager"), "group-manager", g, true),
        (Some("manager"), "course-admin", course, false),
        (Some("tutor"), "course-admin", course, true),
        (Some("tutor"), "event-admin", event, true),
        (Some("tutor"), "group-admin", g, false),
        (Some("manager-tutor"), "group-admin", g, true),
        (Some("manager-tutor"), "event-admin", event, true),
        (Some("training-coordinator"), "group-manager", g, true),
        (Some("lms-admin"), "course-admin", course, true),
    ];
    for (level, resp, scope, eligible) in table {
        let u = w.user();
        if let Some(l) = level {
            w.platform(u, l);
        }
        let got = w.delegate(admin, u, resp, scope);
        match (eligible, got) {
            (true, Ok(_)) => {}
            (false, Err(AccessError::Ineligible { role, .. })) => assert_eq!(role, resp),
            (e, got) => panic!("{level:?} {resp}: expected eligible={e}, got {got:?}"),
        }
    }
}

#[test]
fn an_event_administrator_approves_bookings_of_their_event_only() {
    let Catalogue {
        mut w, c1, e1, e2, ..
    } = two_courses();
    let ea = w.user();
    w.platform(ea, "tutor");
    w.grant(ea, "event-admin", Scope::Object(e1));
    assert!(w.can(ea, P::EnrollmentsApprove, e1));
    assert!(w.can(ea, P::EventsManage, e1));
    assert!(!w.can(ea, P::EnrollmentsApprove, e2));
    assert!(!w.can(ea, P::CoursesEdit, c1));
}

#[test]
fn a_group_administrator_reports_on_every_member_including_nested_groups() {
    let mut w = World::new(Preset::ClassicLms);
    let ga = w.user();
    w.platform(ga, "manager");
    let g = w.group(None, false);
    let sub = w.group(Some(g), false);
    let (a, b, outsider) = (w.user(), w.user(), w.user());
    w.member(a, g);
    w.member(b, sub);
    w.grant(ga, "group-admin", Scope::Object(ObjectRef::group(g)));
    assert!(w.can(ga, P::ReportsRun, obj(a)));
    assert!(w.can(ga, P::ReportsRun, obj(b)));
    assert!(!w.can(ga, P::ReportsRun, obj(outsider)));
}

#[test]
fn a_user_without_a_role_is_a_student_of_their_own_courses() {
    let Catalogue {
        mut w, c1, c2, l1, ..
    } = two_courses();
    let s = w.user();
    w.enroll(s, c1, EnrollmentStatus::InProgress);
    assert!(w.can(s, P::CoursesAccess, c1));
    assert!(w.can(s, P::CoursesAccess, l1));
    assert!(!w.can(s, P::CoursesAccess, c2));
    assert!(w.can(s, P::UsersView, obj(s)));
    let d = w.model.check(s, P::CoursesAccess, &l1, TODAY).unwrap();
    let Explanation::Allowed(a) = &d.explanation() else {
        panic!("{d}")
    };
    let Via::Grant { basis, chain, .. } = &a.via else {
        panic!("{d}")
    };
    assert_eq!(basis.origin, Origin::DefaultRole);
    assert_eq!(basis.role_code.as_str(), "student");
    assert_eq!(chain.len(), 2, "{d}");
    assert_eq!(chain[1].relation, Relation::EnrolledIn);
    // Holding another platform role replaces the default.
    w.platform(s, "manager");
    assert!(
        w.model
            .effective(s)
            .unwrap()
            .iter()
            .all(|h| h.basis.origin != Origin::DefaultRole)
    );
}

#[test]
fn enrollment_statuses_veto_learner_access() {
    let mut w = World::new(Preset::ClassicLms);
    let elearning = w.course_with(None, true, false, None);
    let ilt = w.course_with(None, true, true, None);
    let session = w.object(ObjectKind::Session, Some(ilt));
    use EnrollmentStatus as S;
    // (status, e-learning access, ILT material, ILT session)
    let table = [
        (S::Enrolled, true, true, true),
        (S::InProgress, true, true, true),
        (S::Completed, true, true, true),
        (S::Waiting, false, false, false),
        (S::ToConfirm, false, true, false),
        (S::Suspended, false, false, false),
        (S::Overbooked, false, false, false),
    ];
    for (status, el, material, attend) in table {
        let s = w.user();
        w.enroll(s, elearning, status);
        w.enroll(s, ilt, status);
        assert_eq!(
            w.can(s, P::CoursesAccess, elearning),
            el,
            "{status} e-learning"
        );
        assert_eq!(
            w.can(s, P::CoursesAccess, ilt),
            material,
            "{status} material"
        );
        assert_eq!(
            w.can(s, P::SessionsAttend, session),
            attend,
            "{status} attend"
        );
        // Administrative reading of the same course is not a learner's access.
        assert!(w.can(s, P::CoursesView, ilt), "{status} view");
        if !el {
            let d = w
                .model
                .check(s, P::CoursesAccess, &elearning, TODAY)
                .unwrap();
            let Explanation::Denied(den) = &d.explanation() else {
                panic!()
            };
            assert_eq!(
                den.vetoes,
                vec![Veto::Enrollment {
                    course: elearning,
                    status
                }]
            );
        }
    }
}

#[test]
fn deactivated_and_expired_users_are_denied_with_the_reason() {
    let Catalogue { mut w, c1, .. } = two_courses();
    let admin = w.user();
    w.platform(admin, "lms-admin");
    assert!(w.can(admin, P::CoursesEdit, c1));
    w.set_status(admin, UserStatus::Deactivated, None);
    let d = w.model.check(admin, P::CoursesEdit, &c1, TODAY).unwrap();
    assert!(!d.allowed());
    assert!(d.to_string().contains("deactivated"), "{d}");
    w.set_status(admin, UserStatus::Active, Some(date!(2026 - 04 - 30)));
    let d = w.model.check(admin, P::CoursesEdit, &c1, TODAY).unwrap();
    assert!(!d.allowed());
    assert!(d.to_string().contains("expired"), "{d}");
    // Moving the expiry date into the future restores access.
    w.set_status(admin, UserStatus::Active, Some(date!(2027 - 01 - 01)));
    assert!(w.can(admin, P::CoursesEdit, c1));
}

#[test]
fn nobody_grants_more_than_they_hold_and_the_refusal_names_what_is_missing() {
    let Catalogue { mut w, c1, .. } = two_courses();
    let tc = w.user();
    w.platform(tc, "training-coordinator");
    let x = w.user();
    let err = w.delegate(tc, x, "lms-admin", Scope::Platform).unwrap_err();
    assert!(
        matches!(&err, AccessError::Delegation { missing, .. }
            if missing == &vec![Capability::new(P::SystemConfigure, Reach::Tenant)]),
        "{err}"
    );
    assert!(err.to_string().contains("system.configure@tenant"), "{err}");
    w.delegate(tc, x, "training-coordinator", Scope::Platform)
        .unwrap();
    // A manager holds no roles.assign at all.
    let m = w.user();
    w.platform(m, "manager");
    let y = w.user();
    let err = w.delegate(m, y, "student", Scope::Platform).unwrap_err();
    assert!(matches!(
        err,
        AccessError::MissingPermission {
            permission: P::RolesAssign,
            ..
        }
    ));
    // Nobody grants to themselves, not even through a group.
    let err = w
        .delegate(tc, tc, "lms-admin", Scope::Platform)
        .unwrap_err();
    assert!(matches!(err, AccessError::SelfGrant { .. }));
    let g = w.group(None, false);
    w.member(tc, g);
    let grant = Grant::new(
        Principal::Group(g),
        w.role("course-admin"),
        Scope::Object(c1),
    );
    assert!(matches!(
        w.model.validate_grant(tc, &grant, TODAY),
        Err(AccessError::SelfGrant { .. })
    ));
}

#[test]
fn nobody_changes_their_own_status() {
    let mut w = World::new(Preset::ClassicLms);
    let admin = w.user();
    w.platform(admin, "lms-admin");
    let other = w.user();
    assert!(matches!(
        w.model.validate_status_change(admin, admin, TODAY),
        Err(AccessError::SelfStatusChange { .. })
    ));
    w.model.validate_status_change(admin, other, TODAY).unwrap();
    let student = w.user();
    assert!(matches!(
        w.model.validate_status_change(student, other, TODAY),
        Err(AccessError::MissingPermission { .. })
    ));
    w.set_status(other, UserStatus::Active, Some(date!(2026 - 01 - 01)));
    assert!(matches!(
        w.model.validate_status_change(admin, other, TODAY),
        Err(AccessError::ExpiredStatusChange { .. })
    ));
}
