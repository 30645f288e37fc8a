//! Bad input is a typed error naming what was wrong; decisions explain themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use registrar_domain::access::*;
use registrar_domain::tenant::Preset;

use Permission as P;

#[test]
fn bad_input_is_a_typed_error_that_names_it() {
    let mut w = World::new(Preset::ClassicLms);
    let admin = w.user();
    w.platform(admin, "lms-admin");
    let g = w.group(None, false);
    let draft_course = w.course(Some(g));

    let e = Permission::parse("courses.fly").unwrap_err();
    assert!(matches!(e, AccessError::UnknownPermission(_)));
    assert!(e.to_string().contains("\"courses.fly\""));

    let ghost = ObjectRef::new(ObjectKind::Course, ObjectId::new());
    let e = w
        .model
        .check(admin, P::CoursesEdit, &ghost, TODAY)
        .unwrap_err();
    assert_eq!(e, AccessError::UnknownObject(ghost));
    assert!(e.to_string().contains(&ghost.to_string()));

    let e = w
        .model
        .check(admin, P::CoursesEdit, &ObjectRef::user(admin), TODAY)
        .unwrap_err();
    assert!(matches!(e, AccessError::NotApplicable { .. }));
    assert!(e.to_string().contains("courses.edit") && e.to_string().contains("user"));

    let nobody = registrar_domain::ids::UserId::new();
    assert_eq!(
        w.model
            .check(nobody, P::CoursesEdit, &draft_course, TODAY)
            .unwrap_err(),
        AccessError::UnknownUser(nobody)
    );

    // A role granted at a scope kind it does not allow.
    let t = w.user();
    w.platform(t, "tutor");
    let e = w
        .delegate(admin, t, "course-tutor", Scope::Object(ObjectRef::group(g)))
        .unwrap_err();
    assert!(matches!(e, AccessError::ScopeNotAllowed { .. }));
    assert_eq!(
        e.to_string(),
        "role \"course-tutor\" cannot be granted at group scope (allowed: course)"
    );
    // A lesson is not a scope at all.
    let lesson = w.object(ObjectKind::Lesson, Some(draft_course));
    let e = w
        .delegate(admin, t, "course-tutor", Scope::Object(lesson))
        .unwrap_err();
    assert!(matches!(e, AccessError::NotAScope { .. }), "{e}");

    // An ineligible holder.
    let student = w.user();
    let e = w
        .delegate(admin, student, "course-tutor", Scope::Object(draft_course))
        .unwrap_err();
    assert!(matches!(e, AccessError::Ineligible { .. }));
    assert!(
        e.to_string().contains("\"course-tutor\"")
            && e.to_string().contains("tutor, manager-tutor")
    );

    // A second course tutor.
    w.delegate(admin, t, "course-tutor", Scope::Object(draft_course))
        .unwrap();
    let t2 = w.user();
    w.platform(t2, "tutor");
    let e = w
        .delegate(admin, t2, "course-tutor", Scope::Object(draft_course))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "role \"course-tutor\" allows at most 1 holder(s) at {draft_course}, and it has them"
        )
    );

    // Bad object references.
    assert!(matches!(
        ObjectRef::parse("rocket:1"),
        Err(AccessError::UnknownObjectKind(_))
    ));
    assert!(matches!(
        ObjectRef::parse("course:1"),
        Err(AccessError::BadObjectRef { .. })
    ));

    // Referential integrity of changes.
    let grant = Grant::new(Principal::User(t), RoleId::new(), Scope::Platform);
    assert!(matches!(
        w.model.apply(&Change::UpsertGrant(grant)),
        Err(AccessError::UnknownRole(_))
    ));
    let sub = w.group(Some(g), false);
    let cyc = AccessGroup {
        id: g,
        parent: Some(sub),
        public: false,
    };
    assert!(matches!(
        w.model.apply(&Change::UpsertGroup(cyc)),
        Err(AccessError::GroupCycle { .. })
    ));
    let dup = Role::new("lms-admin", "Copy").unwrap();
    assert!(matches!(
        w.model.apply(&Change::UpsertRole(dup)),
        Err(AccessError::DuplicateRoleCode(_))
    ));
}

#[test]
fn an_allow_explains_grant_role_permission_reach_and_chain() {
    let mut w = World::new(Preset::ClassicLms);
    let g = w.group(None, false);
    let c = w.course(Some(g));
    let l = w.object(ObjectKind::Lesson, Some(c));
    let t = w.user();
    w.platform(t, "tutor");
    let gid = w.grant(t, "course-tutor", Scope::Object(c));
    let d = w.model.check(t, P::LessonsEdit, &l, TODAY).unwrap();
    assert!(d.allowed());
    let Explanation::Allowed(a) = &d.explanation() else {
        panic!()
    };
    let Via::Grant {
        basis,
        permission,
        reach,
        chain,
    } = &a.via
    else {
        panic!()
    };
    assert_eq!(basis.origin, Origin::Grant { grant: gid });
    assert_eq!(basis.role_code.as_str(), "course-tutor");
    assert_eq!(*permission, P::LessonsEdit);
    assert_eq!(*reach, Reach::Assigned);
    assert_eq!(
        chain,
        &vec![Link {
            from: l,
            relation: Relation::Inside,
            to: c
        }]
    );
    let text = d.to_string();
    assert!(text.starts_with("allowed:"), "{text}");
    assert!(
        text.contains(&gid.to_string()) && text.contains("course-tutor"),
        "{text}"
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["allowed"], true);
    assert_eq!(json["explanation"]["outcome"], "allowed");
    assert_eq!(json["explanation"]["role_code"], "course-tutor");
}

#[test]
fn a_deny_names_the_closest_grants_and_the_missing_link() {
    let mut w = World::new(Preset::ClassicLms);
    let (c1, c2) = (w.course(None), w.course(None));
    let l2 = w.object(ObjectKind::Lesson, Some(c2));
    let t = w.user();
    w.platform(t, "tutor");
    w.grant(t, "course-tutor", Scope::Object(c1));
    let d = w.model.check(t, P::LessonsEdit, &l2, TODAY).unwrap();
    assert!(!d.allowed());
    let Explanation::Denied(den) = &d.explanation() else {
        panic!()
    };
    assert!(den.vetoes.is_empty());
    assert_eq!(den.closest.len(), 1);
    assert_eq!(den.closest[0].basis.scope, Scope::Object(c1));
    assert_eq!(
        den.closest[0].missing,
        MissingLink::NotInScope {
            object: l2,
            scope: Scope::Object(c1)
        }
    );
    assert_eq!(
        den.closest[0].missing.to_string(),
        format!("{l2} is not inside {c1}")
    );
    assert!(
        den.roles_with_permission
            .iter()
            .any(|r| r.as_str() == "course-tutor")
    );
    // A permission no held role includes says so.
    let d = w.model.check(t, P::CoursesDelete, &c1, TODAY).unwrap();
    let Explanation::Denied(den) = &d.explanation() else {
        panic!()
    };
    assert_eq!(
        den.missing.to_string(),
        "no role held by the user includes courses.delete"
    );
    assert!(
        den.closest
            .iter()
            .any(|n| n.basis.role_code.as_str() == "course-tutor")
    );
    assert!(
        d.to_string()
            .contains("roles that include it: lms-admin, training-coordinator"),
        "{d}"
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["explanation"]["outcome"], "denied");
}

#[test]
fn holders_lists_who_may_act_on_an_object() {
    let mut w = World::new(Preset::ClassicLms);
    let c = w.course(None);
    let (t, a, s, other) = (w.user(), w.user(), w.user(), w.user());
    w.platform(t, "tutor");
    w.grant(t, "course-tutor", Scope::Object(c));
    w.platform(a, "lms-admin");
    let sa = w.superadmin();
    w.enroll(s, c, EnrollmentStatus::Enrolled);
    let mut expected = vec![t, a, sa];
    expected.sort();
    assert_eq!(
        w.model.holders(P::CoursesEdit, &c, TODAY).unwrap(),
        expected
    );
    let mut learners = vec![a, sa, s];
    learners.sort();
    // The tutor holds no learner access to the course they run, and `other` is not enrolled.
    assert_eq!(
        w.model.holders(P::CoursesAccess, &c, TODAY).unwrap(),
        learners
    );
    let _ = other;
}

#[test]
fn the_owner_role_cannot_become_the_default_role() {
    let preset = PresetData::for_preset(Preset::GroupRoles);
    let mut data = preset.data(registrar_domain::ids::TenantId::new()).unwrap();
    let owner = preset.role("owner").unwrap().id;
    let settings = AccessSettings {
        default_role: Some(owner),
        ..data.settings
    };
    let err = data.apply(&Change::SetSettings(settings)).unwrap_err();
    assert!(matches!(err, AccessError::OwnerAsSetting { .. }), "{err}");
    assert!(err.to_string().contains("\"owner\""));
}
