//! SPEC 2, levels and course roles.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use registrar_domain::access::*;
use registrar_domain::tenant::Preset;
use registrar_domain::user::UserStatus;

use Permission as P;

#[test]
fn a_superadmin_cannot_be_restricted() {
    let mut w = World::new(Preset::Levels);
    w.apply(Change::SetFeature {
        feature: Feature::SocialLearning,
        on: true,
    });
    let g = w.group(None, false);
    let c = w.course(Some(g));
    let someone = w.user();
    let objects = [
        w.tenant_ref(),
        obj(someone),
        ObjectRef::group(g),
        c,
        w.object(ObjectKind::Lesson, Some(c)),
        w.object(ObjectKind::Channel, None),
        w.object(ObjectKind::Team, None),
    ];
    let sa = w.superadmin();
    // Even with every role deleted.
    let roles: Vec<RoleId> = w.model.data().roles.keys().copied().collect();
    for r in roles {
        w.apply(Change::RemoveRole { role: r });
    }
    for p in Permission::ALL {
        for o in objects.iter().filter(|o| p.applies(o.kind)) {
            assert!(w.can(sa, *p, *o), "{p} on {o}");
        }
    }
    let d = w
        .model
        .check(sa, P::SystemConfigure, &w.tenant_ref(), TODAY)
        .unwrap();
    assert!(d.to_string().contains("superadmin"), "{d}");
    // A superadmin grants anything without holding it through roles.
    assert!(w.model.is_exempt(sa));
}

#[test]
fn a_power_user_acts_only_on_the_users_groups_and_courses_assigned_to_them() {
    let mut w = World::new(Preset::Levels);
    let sa = w.superadmin();
    let pu = w.user();
    w.platform(pu, "power-user");
    let (g, g2) = (w.group(None, false), w.group(None, false));
    let (a, b, x) = (w.user(), w.user(), w.user());
    w.member(a, g);
    w.member(x, g2);
    let (c1, c2) = (w.course(None), w.course(None));
    for scope in [ObjectRef::group(g), c1, obj(b)] {
        w.delegate(sa, pu, "power-user-assignment", Scope::Object(scope))
            .unwrap();
    }
    assert_eq!(
        w.list(pu, P::UsersEdit, ObjectKind::User),
        sorted(vec![obj(a), obj(b)])
    );
    assert!(!w.can(pu, P::UsersEdit, obj(x)));
    assert!(w.can(pu, P::CoursesEdit, c1));
    assert!(!w.can(pu, P::CoursesEdit, c2));
    assert!(w.can(pu, P::GroupsView, ObjectRef::group(g)));
    assert!(!w.can(pu, P::GroupsView, ObjectRef::group(g2)));
    assert!(!w.can(pu, P::SystemConfigure, w.tenant_ref()));
    // Only power users can be assigned objects.
    let plain = w.user();
    let err = w
        .delegate(sa, plain, "power-user-assignment", Scope::Object(c1))
        .unwrap_err();
    assert!(matches!(err, AccessError::Ineligible { .. }), "{err}");
}

#[test]
fn a_power_user_cannot_widen_another_power_users_assignments() {
    let mut w = World::new(Preset::Levels);
    let sa = w.superadmin();
    let (pu, other) = (w.user(), w.user());
    w.platform(pu, "power-user");
    w.platform(other, "power-user");
    let (c1, c2) = (w.course(None), w.course(None));
    w.delegate(sa, pu, "power-user-assignment", Scope::Object(c1))
        .unwrap();
    // pu holds roles.assign and every power-user permission on c1, but nothing on c2.
    w.delegate(pu, other, "power-user-assignment", Scope::Object(c1))
        .unwrap();
    let err = w
        .delegate(pu, other, "power-user-assignment", Scope::Object(c2))
        .unwrap_err();
    assert!(
        matches!(err, AccessError::MissingPermission { .. }),
        "{err}"
    );
}

#[test]
fn course_roles_learner_tutor_instructor() {
    let mut w = World::new(Preset::Levels);
    let c = w.course(None);
    let e = w.object(ObjectKind::Event, Some(c));
    let (l, t, i) = (w.user(), w.user(), w.user());
    for (u, role) in [(l, "learner"), (t, "tutor"), (i, "instructor")] {
        w.grant(u, role, Scope::Object(c));
        w.enroll(u, c, EnrollmentStatus::Enrolled);
    }
    // (permission, object, learner, tutor, instructor)
    let table = [
        (P::CoursesAccess, c, true, true, true),
        (P::ForumPost, c, true, true, true),
        (P::ForumModerate, c, false, true, false),
        (P::CoursesEdit, c, false, false, true),
        (P::EnrollmentsView, c, false, false, true),
        (P::ReportsRun, c, false, false, true),
        (P::AssessmentsGrade, c, false, false, true),
        (P::EventsAttendance, e, false, false, true),
        (P::EnrollmentsManage, c, false, false, false),
    ];
    for (p, o, el, et, ei) in table {
        assert_eq!(w.can(l, p, o), el, "learner {p}");
        assert_eq!(w.can(t, p, o), et, "tutor {p}");
        assert_eq!(w.can(i, p, o), ei, "instructor {p}");
    }
}

#[test]
fn anyone_with_team_members_is_a_manager_who_may_enroll_them() {
    let mut w = World::new(Preset::Levels);
    let (m, a, x) = (w.user(), w.user(), w.user());
    assert!(!w.can(m, P::EnrollmentsManage, obj(a)));
    w.model.validate_manager(m, a, TODAY).unwrap();
    w.manages(m, a);
    assert!(w.can(m, P::EnrollmentsManage, obj(a)));
    assert!(w.can(m, P::ReportsRun, obj(a)));
    assert!(!w.can(m, P::EnrollmentsManage, obj(x)));
    assert_eq!(
        w.list(m, P::EnrollmentsManage, ObjectKind::User),
        vec![obj(a)]
    );
    let d = w
        .model
        .check(m, P::EnrollmentsManage, &obj(a), TODAY)
        .unwrap();
    let Explanation::Allowed(al) = &d.explanation() else {
        panic!()
    };
    let Via::Grant { chain, reach, .. } = &al.via else {
        panic!()
    };
    assert_eq!(*reach, Reach::Team);
    assert_eq!(chain[0].relation, Relation::Manages);
}

#[test]
fn experts_exist_only_while_social_learning_is_on() {
    let mut w = World::new(Preset::Levels);
    let sa = w.superadmin();
    let ch = w.object(ObjectKind::Channel, None);
    let ex = w.user();
    let err = w.delegate(sa, ex, "expert", Scope::Object(ch)).unwrap_err();
    assert!(matches!(
        err,
        AccessError::FeatureOff {
            feature: Feature::SocialLearning,
            ..
        }
    ));
    assert!(err.to_string().contains("social_learning"), "{err}");
    w.apply(Change::SetFeature {
        feature: Feature::SocialLearning,
        on: true,
    });
    w.delegate(sa, ex, "expert", Scope::Object(ch)).unwrap();
    assert!(w.can(ex, P::ContentReview, ch));
    assert!(w.can(ex, P::ChannelsAnswer, ch));
    w.apply(Change::SetFeature {
        feature: Feature::SocialLearning,
        on: false,
    });
    let d = w.model.check(ex, P::ChannelsAnswer, &ch, TODAY).unwrap();
    assert!(!d.allowed());
    let Explanation::Denied(den) = &d.explanation() else {
        panic!()
    };
    assert_eq!(
        den.vetoes,
        vec![Veto::FeatureOff {
            feature: Feature::SocialLearning
        }]
    );
}

#[test]
fn managers_get_active_managees_only() {
    let mut w = World::new(Preset::Levels);
    let (m, a) = (w.user(), w.user());
    w.set_status(a, UserStatus::Deactivated, None);
    assert!(matches!(
        w.model.validate_manager(m, a, TODAY),
        Err(AccessError::InactiveManagee { .. })
    ));
    assert!(matches!(
        w.model.validate_manager(m, m, TODAY),
        Err(AccessError::SelfManager(_))
    ));
}
