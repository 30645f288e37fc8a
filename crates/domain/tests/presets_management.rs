//! SPEC 2, tenant management groups: preconfigured roles, a policy and a group.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use registrar_domain::access::*;
use registrar_domain::tenant::Preset;

use Permission as P;

#[test]
fn the_learner_management_group_creates_and_runs_its_own_teams_and_reads_the_rest() {
    let mut w = World::new(Preset::ManagementGroups);
    let group = w.model.data().groups.keys().next().copied().unwrap();
    let (lm, other, outsider) = (w.user(), w.user(), w.user());
    w.member(lm, group);
    w.member(other, group);
    let mine = w.created(ObjectKind::Team, lm);
    let theirs = w.created(ObjectKind::Team, other);
    let c = w.course(None);
    let tenant = w.tenant_ref();

    // (permission, object, allowed)
    let table = [
        (P::TeamsCreate, tenant, true),
        (P::TeamsEdit, mine, true),
        (P::TeamsMembers, mine, true),
        (P::TeamsDelete, mine, true),
        (P::TeamsView, theirs, true),
        (P::TeamsEdit, theirs, false),
        (P::TeamsDelete, theirs, false),
        (P::TeamsMembers, theirs, false),
        (P::UsersView, obj(outsider), true),
        (P::AnalyticsView, tenant, true),
        (P::AnalyticsDownload, tenant, true),
        (P::ReportsRun, tenant, true),
        (P::CoursesEdit, c, false),
        (P::CoursesView, c, false),
        (P::InvitationsSend, tenant, false),
        (P::UsersEdit, obj(outsider), false),
    ];
    for (p, o, expected) in table {
        assert_eq!(w.can(lm, p, o), expected, "{p} on {o}");
    }
    // It comes through the policy attached to the group.
    let d = w.model.check(lm, P::TeamsEdit, &mine, TODAY).unwrap();
    let Explanation::Allowed(a) = &d.explanation() else {
        panic!()
    };
    let Via::Grant { basis, chain, .. } = &a.via else {
        panic!()
    };
    assert!(
        matches!(basis.origin, Origin::Policy { principal: Principal::Group(g), .. } if g == group)
    );
    assert_eq!(chain[0].relation, Relation::Created);
    // Someone outside the group gets none of it.
    assert!(!w.can(outsider, P::TeamsCreate, tenant));
    // Leaving the group takes it away.
    w.apply(Change::RemoveMember { user: lm, group });
    assert!(!w.can(lm, P::TeamsEdit, mine));
}
