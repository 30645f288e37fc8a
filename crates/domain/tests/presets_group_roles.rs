//! SPEC 2, group roles: per-group roles, advanced course roles, coach scopes and the owner.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use registrar_domain::access::*;
use registrar_domain::tenant::Preset;

use Permission as P;

fn with_owner() -> (World, registrar_domain::ids::UserId) {
    let mut w = World::new(Preset::GroupRoles);
    let owner = w.user();
    w.platform(owner, "owner");
    (w, owner)
}

#[test]
fn a_co_author_needs_the_author_role() {
    let (mut w, owner) = with_owner();
    let g = w.group(None, false);
    let c = w.course_with(Some(g), false, false, None);
    let x = w.user();
    let err = w
        .delegate(owner, x, "co-author", Scope::Object(c))
        .unwrap_err();
    assert!(
        matches!(err, AccessError::PrerequisiteMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("\"author\""), "{err}");
    w.grant(x, "author", Scope::Object(ObjectRef::group(g)));
    w.delegate(owner, x, "co-author", Scope::Object(c)).unwrap();
    assert!(w.can(x, P::CoursesEdit, c));
}

#[test]
fn a_reviewer_needs_a_published_course() {
    let (mut w, owner) = with_owner();
    let draft = w.course_with(None, false, false, None);
    let published = w.course_with(None, true, false, None);
    let r = w.user();
    let err = w
        .delegate(owner, r, "reviewer", Scope::Object(draft))
        .unwrap_err();
    assert!(
        matches!(err, AccessError::CourseNotPublished { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&draft.to_string()), "{err}");
    w.delegate(owner, r, "reviewer", Scope::Object(published))
        .unwrap();
    assert!(w.can(r, P::ContentReview, published));
    assert!(!w.can(r, P::CoursesEdit, published));
}

#[test]
fn authors_create_in_their_group_and_add_co_authors_and_reviewers_to_their_course() {
    let (mut w, owner) = with_owner();
    let (g, other) = (w.group(None, false), w.group(None, false));
    let (a, b, rv) = (w.user(), w.user(), w.user());
    for u in [a, b] {
        w.grant(u, "author", Scope::Object(ObjectRef::group(g)));
    }
    assert!(w.can(a, P::CoursesCreate, ObjectRef::group(g)));
    assert!(!w.can(a, P::CoursesCreate, ObjectRef::group(other)));
    // The creator of a course is its author.
    let c = w.course_with(Some(g), true, false, Some(a));
    w.delegate(owner, a, "course-author", Scope::Object(c))
        .unwrap();
    let c_other = w.course_with(Some(g), true, false, None);
    assert!(w.can(a, P::CoursesEdit, c));
    assert!(!w.can(a, P::CoursesEdit, c_other));
    w.delegate(a, b, "co-author", Scope::Object(c)).unwrap();
    w.delegate(b, rv, "reviewer", Scope::Object(c)).unwrap();
    // A co-author cannot make anyone the author: that would give courses.delete.
    let err = w
        .delegate(b, rv, "course-author", Scope::Object(c))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AccessError::Delegation { .. } | AccessError::TooManyHolders { .. }
        ),
        "{err}"
    );
}

#[test]
fn a_deleted_authors_courses_stay_visible_and_editable() {
    let (mut w, _owner) = with_owner();
    let g = w.group(None, false);
    let (author, admin) = (w.user(), w.user());
    w.grant(author, "author", Scope::Object(ObjectRef::group(g)));
    w.grant(admin, "admin", Scope::Object(ObjectRef::group(g)));
    let c = w.course_with(Some(g), true, false, Some(author));
    w.grant(author, "course-author", Scope::Object(c));
    w.apply(Change::RemoveUser { user: author });
    assert!(w.can(admin, P::CoursesEdit, c));
    assert!(w.can(admin, P::CoursesView, c));
}

#[test]
fn group_coaches_facilitate_their_group_and_platform_coaches_see_public_groups() {
    let (mut w, _owner) = with_owner();
    let (public, private) = (w.group(None, true), w.group(None, false));
    let (p_member, q_member) = (w.user(), w.user());
    w.member(p_member, public);
    w.member(q_member, private);
    let (gc, pc) = (w.user(), w.user());
    w.grant(gc, "coach", Scope::Object(ObjectRef::group(private)));
    w.grant(pc, "coach", Scope::PublicGroups);
    assert!(w.can(gc, P::UsersView, obj(q_member)));
    assert!(!w.can(gc, P::UsersView, obj(p_member)));
    assert!(w.can(pc, P::UsersView, obj(p_member)));
    assert!(!w.can(pc, P::UsersView, obj(q_member)));
    assert_eq!(
        w.list(pc, P::UsersView, ObjectKind::User),
        vec![obj(p_member)]
    );
    assert!(!w.can(gc, P::GroupsEdit, ObjectRef::group(private)));
}

#[test]
fn group_admins_manage_their_group_platform_admins_the_platform_and_only_the_owner_sees_billing() {
    let (mut w, owner) = with_owner();
    let (g, other) = (w.group(None, false), w.group(None, false));
    let (ga, pa) = (w.user(), w.user());
    w.grant(ga, "admin", Scope::Object(ObjectRef::group(g)));
    w.platform(pa, "platform-admin");
    let c = w.course(Some(g));
    let c_other = w.course(Some(other));
    let tenant = w.tenant_ref();
    for (p, o, e_ga, e_pa, e_owner) in [
        (P::GroupsEdit, ObjectRef::group(g), true, true, true),
        (P::GroupsEdit, ObjectRef::group(other), false, true, true),
        (P::InvitationsSend, ObjectRef::group(g), true, true, true),
        (P::CoursesEdit, c, true, true, true),
        (P::CoursesEdit, c_other, false, true, true),
        (P::BillingView, tenant, false, false, true),
        (P::SystemConfigure, tenant, false, true, true),
    ] {
        assert_eq!(w.can(ga, p, o), e_ga, "group admin {p} {o}");
        assert_eq!(w.can(pa, p, o), e_pa, "platform admin {p} {o}");
        assert_eq!(w.can(owner, p, o), e_owner, "owner {p} {o}");
    }
}

#[test]
fn owner_hand_over_demotes_the_old_owner_to_admin() {
    let (mut w, owner) = with_owner();
    let heir = w.user();
    let tenant = w.tenant_ref();
    let third = w.user();
    // One owner at a time.
    let err = w
        .delegate(owner, third, "owner", Scope::Platform)
        .unwrap_err();
    assert!(matches!(err, AccessError::TooManyHolders { .. }), "{err}");
    assert!(matches!(
        w.model.hand_over_ownership(heir, third, TODAY),
        Err(AccessError::NotOwner(_))
    ));
    let (changes, _) = w.model.hand_over_ownership(owner, heir, TODAY).unwrap();
    w.model.apply_all(&changes).unwrap();
    assert!(w.can(heir, P::BillingView, tenant));
    assert!(!w.can(owner, P::BillingView, tenant));
    assert!(w.can(owner, P::SystemConfigure, tenant));
    let held: Vec<String> = w
        .model
        .effective(owner)
        .unwrap()
        .into_iter()
        .map(|h| h.basis.role_code.to_string())
        .collect();
    assert!(held.iter().all(|c| c == "platform-admin"), "{held:?}");
    assert!(w.model.is_exempt(heir));
    assert!(!w.model.is_exempt(owner));
}

#[test]
fn csv_role_digits_map_to_group_roles() {
    use registrar_domain::access::presets::group_role_csv_code;
    let w = World::new(Preset::GroupRoles);
    for (digit, code) in [
        ("0", "admin"),
        ("1", "coach"),
        ("2", "author"),
        ("3", "learner"),
    ] {
        assert_eq!(group_role_csv_code(digit).unwrap(), code);
        assert!(w.model.role_by_code(code).is_some());
    }
    assert!(
        group_role_csv_code("4")
            .unwrap_err()
            .to_string()
            .contains("\"4\"")
    );
}
