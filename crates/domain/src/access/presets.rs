//! The four presets of SPEC section 2, as data a tenant is created from.
//!
//! After creation these are ordinary roles: copied, edited or deleted like any other. The preset
//! only decides the starting point.

use std::collections::BTreeSet;

use super::catalog::{Feature, Permission as P};
use super::data::{AccessData, AccessGroup, AccessSettings, Change};
use super::error::AccessError;
use super::grant::{Policy, PolicyId, PolicyItem, Principal};
use super::model::AccessModel;
use super::object::ObjectRef;
use super::reach::Reach;
use super::role::{
    Capability, Constraints, Precondition, Role, RoleCode, RoleId, Scope, ScopeKind,
};
use crate::ids::{GroupId, TenantId};
use crate::tenant::Preset;

/// Everything a preset creates in a new tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetData {
    pub preset: Preset,
    pub roles: Vec<Role>,
    /// Groups the preset makes, with their display names.
    pub groups: Vec<(AccessGroup, String)>,
    pub policies: Vec<Policy>,
    pub attachments: Vec<(PolicyId, Principal)>,
    pub settings: AccessSettings,
    pub features: BTreeSet<Feature>,
}

impl PresetData {
    pub fn for_preset(preset: Preset) -> Self {
        match preset {
            Preset::ClassicLms => classic_lms(),
            Preset::Levels => levels(),
            Preset::ManagementGroups => management_groups(),
            Preset::GroupRoles => group_roles(),
        }
    }

    pub fn role(&self, code: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.code.as_str() == code)
    }

    /// The changes that create this preset in an empty tenant, in an order that applies.
    pub fn changes(&self) -> Vec<Change> {
        let mut out: Vec<Change> = self.roles.iter().cloned().map(Change::UpsertRole).collect();
        out.extend(self.groups.iter().map(|(g, _)| Change::UpsertGroup(*g)));
        out.extend(self.policies.iter().cloned().map(Change::UpsertPolicy));
        out.extend(
            self.attachments
                .iter()
                .map(|(policy, principal)| Change::AttachPolicy {
                    policy: *policy,
                    principal: *principal,
                }),
        );
        out.extend(self.features.iter().map(|f| Change::SetFeature {
            feature: *f,
            on: true,
        }));
        out.push(Change::SetSettings(self.settings));
        out
    }

    /// A new tenant's data, created from this preset.
    pub fn data(&self, tenant: TenantId) -> Result<AccessData, AccessError> {
        let mut d = AccessData::new(tenant);
        for c in self.changes() {
            d.apply(&c)?;
        }
        Ok(d)
    }

    pub fn model(&self, tenant: TenantId) -> Result<AccessModel, AccessError> {
        Ok(AccessModel::from_data(self.data(tenant)?))
    }
}

/// A small builder so the preset tables below read like tables.
struct R(Role);

impl R {
    fn new(code: &'static str, name: &str) -> Self {
        R(Role {
            id: RoleId::new(),
            code: RoleCode::from_static(code),
            name: name.to_owned(),
            level: false,
            capabilities: BTreeSet::new(),
            scopes: BTreeSet::new(),
            constraints: Constraints::default(),
            assigns: false,
            makes_team: false,
            owner: false,
            feature: None,
        })
    }
    fn level(mut self) -> Self {
        self.0.level = true;
        self.0.scopes.insert(ScopeKind::Platform);
        self
    }
    fn at(mut self, kinds: &[ScopeKind]) -> Self {
        self.0.scopes.extend(kinds.iter().copied());
        self
    }
    fn with(mut self, reach: Reach, perms: &[P]) -> Self {
        self.0
            .capabilities
            .extend(perms.iter().map(|p| Capability::new(*p, reach)));
        self
    }
    fn like(mut self, other: &Role) -> Self {
        self.0
            .capabilities
            .extend(other.capabilities.iter().copied());
        self
    }
    /// Everything `other` holds, moved to one reach (a group admin holds a learner's own
    /// rights over the whole group).
    fn like_at(mut self, other: &Role, reach: Reach) -> Self {
        self.0.capabilities.extend(
            other
                .capabilities
                .iter()
                .map(|c| Capability::new(c.permission, reach)),
        );
        self
    }
    fn all_but(mut self, reach: Reach, except: &[P]) -> Self {
        self.0.capabilities.extend(
            P::ALL
                .iter()
                .filter(|p| !except.contains(p))
                .map(|p| Capability::new(*p, reach)),
        );
        self
    }
    fn assigns(mut self) -> Self {
        self.0.assigns = true;
        self
    }
    fn makes_team(mut self) -> Self {
        self.0.makes_team = true;
        self
    }
    fn eligible(mut self, roles: &[&Role]) -> Self {
        self.0.constraints.eligible = roles.iter().map(|r| r.id).collect();
        self
    }
    fn prerequisite(mut self, role: &Role) -> Self {
        self.0.constraints.prerequisite = Some(role.id);
        self
    }
    fn max_holders(mut self, n: u32) -> Self {
        self.0.constraints.max_holders = Some(n);
        self
    }
    fn precondition(mut self, p: Precondition) -> Self {
        self.0.constraints.precondition = Some(p);
        self
    }
    fn feature(mut self, f: Feature) -> Self {
        self.0.feature = Some(f);
        self
    }
    fn course_level(mut self) -> Self {
        self.0.constraints.course_level = true;
        self
    }
    fn given_to_creator(mut self) -> Self {
        self.0.constraints.to_creator = true;
        self
    }
    fn owner(mut self) -> Self {
        self.0.owner = true;
        self
    }
    fn done(self) -> Role {
        self.0
    }
}

use Reach::{Assigned, Own, Team, Tenant};
use ScopeKind as S;

/// What every learner has over their own account and the courses they are enrolled in. No
/// enrollment lists or reports: `own` covers the whole enrolled course, and a course report is
/// about everyone in it. A learner's own results are their own user record.
const LEARNER_OWN: &[P] = &[
    P::UsersView,
    P::CoursesView,
    P::CoursesAccess,
    P::LessonsView,
    P::EventsView,
    P::SessionsView,
    P::SessionsAttend,
    P::LearningPlansView,
    P::ForumPost,
];

/// What a course tutor and a course administrator share over their course (SPEC 2).
const COURSE_ADMIN: &[P] = &[
    P::CoursesView,
    P::CoursesEdit,
    P::CoursesDeploy,
    P::LessonsView,
    P::LessonsEdit,
    P::LessonsAssign,
    P::EventsView,
    P::EventsManage,
    P::EventsBook,
    P::EventsAttendance,
    P::SessionsView,
    P::SessionsManage,
    P::EnrollmentsView,
    P::EnrollmentsManage,
    P::ReportsRun,
    P::AnalyticsView,
];

/// Six platform roles from Student to LMS Administrator, and five responsibilities.
pub fn classic_lms() -> PresetData {
    let student = R::new("student", "Student")
        .level()
        .with(Own, LEARNER_OWN)
        .with(Tenant, &[P::CataloguesView])
        .done();
    // A tutor sees nothing in admin until given a responsibility: the responsibility carries
    // the rights, so that a course administrator cannot approve what a course tutor can.
    let tutor = R::new("tutor", "Tutor").level().like(&student).done();
    let manager = R::new("manager", "Manager")
        .level()
        .like(&student)
        .with(
            Team,
            &[
                P::UsersView,
                P::ReportsRun,
                P::EnrollmentsView,
                P::EnrollmentsManage,
            ],
        )
        .with(Assigned, &[P::GroupsView])
        .with(
            Tenant,
            &[
                P::CoursesView,
                P::LessonsView,
                P::EventsView,
                P::EventsBook,
                P::SessionsView,
                P::LearningPlansView,
            ],
        )
        .done();
    let manager_tutor = R::new("manager-tutor", "Manager/Tutor")
        .level()
        .like(&manager)
        .like(&tutor)
        .with(Assigned, &[P::GroupsEdit])
        .done();
    let coordinator = R::new("training-coordinator", "Training Coordinator")
        .level()
        .all_but(Tenant, &[P::SystemConfigure])
        .done();
    let admin = R::new("lms-admin", "LMS Administrator")
        .level()
        .all_but(Tenant, &[])
        .done();
    let course_side = [&tutor, &manager_tutor, &coordinator, &admin];
    let group_side = [&manager, &manager_tutor, &coordinator, &admin];
    let course_tutor = R::new("course-tutor", "Course Tutor")
        .at(&[S::Course])
        .with(Assigned, COURSE_ADMIN)
        .with(Assigned, &[P::EnrollmentsApprove, P::CompetencySignOff])
        .assigns()
        .max_holders(1)
        .eligible(&course_side)
        .done();
    let course_admin = R::new("course-admin", "Course Administrator")
        .at(&[S::Course])
        .with(Assigned, COURSE_ADMIN)
        .assigns()
        .eligible(&course_side)
        .done();
    let event_admin = R::new("event-admin", "Event Administrator")
        .at(&[S::Event])
        .with(
            Assigned,
            &[
                P::EventsView,
                P::EventsManage,
                P::EventsBook,
                P::EventsAttendance,
                P::EnrollmentsView,
                P::EnrollmentsManage,
                P::EnrollmentsApprove,
                P::ReportsRun,
            ],
        )
        .assigns()
        .eligible(&course_side)
        .done();
    let group_admin = R::new("group-admin", "Group Administrator")
        .at(&[S::Group])
        .with(Assigned, &[P::GroupsView, P::ReportsRun])
        .assigns()
        .makes_team()
        .eligible(&group_side)
        .done();
    let group_manager = R::new("group-manager", "Group Manager")
        .at(&[S::Group])
        .with(Assigned, &[P::GroupsView])
        .assigns()
        .makes_team()
        .eligible(&group_side)
        .done();
    let settings = AccessSettings {
        default_role: Some(student.id),
        former_owner_role: None,
        // Whoever the feed names as someone's manager is a Manager (seed 001).
        feed_manager_role: Some(manager.id),
        default_group: None,
    };
    PresetData {
        preset: Preset::ClassicLms,
        roles: vec![
            student,
            tutor,
            manager,
            manager_tutor,
            coordinator,
            admin,
            course_tutor,
            course_admin,
            event_admin,
            group_admin,
            group_manager,
        ],
        groups: Vec::new(),
        policies: Vec::new(),
        attachments: Vec::new(),
        settings,
        features: [Feature::LearnerApp].into(),
    }
}

/// User / Power User levels (superadmin is a flag on the user), course-level roles given with
/// an enrollment, and channel experts.
pub fn levels() -> PresetData {
    // Anyone with team members is a manager: the team part is empty for everyone else.
    let user = R::new("user", "User")
        .level()
        .with(Own, LEARNER_OWN)
        .with(
            Team,
            &[
                P::UsersView,
                P::EnrollmentsView,
                P::EnrollmentsManage,
                P::ReportsRun,
            ],
        )
        .with(Tenant, &[P::CataloguesView])
        .done();
    let power_user = R::new("power-user", "Power User")
        .level()
        .like(&user)
        .with(
            Assigned,
            &[
                P::UsersView,
                P::UsersEdit,
                P::UsersStatus,
                P::GroupsView,
                P::GroupsMembers,
                P::CoursesView,
                P::CoursesEdit,
                P::EnrollmentsView,
                P::EnrollmentsManage,
                P::EnrollmentsApprove,
                P::SessionsView,
                P::SessionsManage,
                P::EventsView,
                P::EventsManage,
                P::ReportsRun,
                P::LearnerAppManage,
                P::RolesAssign,
            ],
        )
        .done();
    let assignment = R::new("power-user-assignment", "Power User assignment")
        .at(&[S::Group, S::Course, S::User])
        .assigns()
        .eligible(&[&power_user])
        .done();
    let learner = R::new("learner", "Learner")
        .at(&[S::Course])
        .with(
            Assigned,
            &[
                P::CoursesView,
                P::CoursesAccess,
                P::LessonsView,
                P::EventsView,
                P::SessionsView,
                P::SessionsAttend,
                P::ForumPost,
            ],
        )
        .course_level()
        .done();
    let tutor = R::new("tutor", "Tutor")
        .at(&[S::Course])
        .like(&learner)
        .with(Assigned, &[P::ForumModerate])
        .course_level()
        .done();
    // Instructors shape content and evaluate, but do not enroll anyone.
    let instructor = R::new("instructor", "Instructor")
        .at(&[S::Course, S::Session])
        .like(&learner)
        .with(
            Assigned,
            &[
                P::CoursesEdit,
                P::LessonsCreate,
                P::LessonsEdit,
                P::LessonsDelete,
                P::EnrollmentsView,
                P::ReportsRun,
                P::AssessmentsGrade,
                P::EventsAttendance,
                P::EventsManage,
            ],
        )
        .course_level()
        .done();
    let expert = R::new("expert", "Expert")
        .at(&[S::Channel])
        .with(
            Assigned,
            &[P::ChannelsView, P::ChannelsAnswer, P::ContentReview],
        )
        .feature(Feature::SocialLearning)
        .done();
    let settings = AccessSettings {
        default_role: Some(user.id),
        former_owner_role: None,
        feed_manager_role: None,
        default_group: None,
    };
    PresetData {
        preset: Preset::Levels,
        roles: vec![
            user, power_user, assignment, learner, tutor, instructor, expert,
        ],
        groups: Vec::new(),
        policies: Vec::new(),
        attachments: Vec::new(),
        settings,
        features: [Feature::LearnerApp].into(),
    }
}

/// Preconfigured roles bound by a policy to a "learner management" group.
pub fn management_groups() -> PresetData {
    let learner = R::new("learner", "Learner")
        .level()
        .with(Own, LEARNER_OWN)
        .done();
    let admin = R::new("tenant-admin", "Tenant Administrator")
        .level()
        .all_but(Tenant, &[])
        .done();
    let platform = [S::Platform];
    let analytics_viewer = R::new("analytics-viewer", "Analytics Viewer")
        .at(&platform)
        .with(Tenant, &[P::AnalyticsView])
        .done();
    let list_users = R::new("list-users", "List Users")
        .at(&platform)
        .with(Tenant, &[P::UsersView])
        .done();
    let list_teams = R::new("list-teams", "List Teams")
        .at(&platform)
        .with(Tenant, &[P::TeamsView])
        .done();
    let read_teams = R::new("read-teams", "Read Teams")
        .at(&platform)
        .with(Tenant, &[P::TeamsView])
        .done();
    // Creators edit, fill and delete the teams they made; everyone else's stay read-only.
    let create_teams = R::new("create-teams", "Create Teams")
        .at(&platform)
        .with(Tenant, &[P::TeamsCreate])
        .with(
            Own,
            &[P::TeamsView, P::TeamsEdit, P::TeamsMembers, P::TeamsDelete],
        )
        .done();
    let download = R::new("download-analytics", "Download Analytics Reports")
        .at(&platform)
        .with(
            Tenant,
            &[P::AnalyticsView, P::AnalyticsDownload, P::ReportsRun],
        )
        .done();
    let policy = Policy {
        id: PolicyId::new(),
        name: "Learner management".to_owned(),
        items: [
            &analytics_viewer,
            &list_users,
            &list_teams,
            &read_teams,
            &create_teams,
            &download,
        ]
        .iter()
        .map(|r| PolicyItem {
            role: r.id,
            scope: Scope::Platform,
        })
        .collect(),
    };
    let group = AccessGroup {
        id: GroupId::new(),
        parent: None,
        public: false,
    };
    let settings = AccessSettings {
        default_role: Some(learner.id),
        former_owner_role: None,
        feed_manager_role: None,
        default_group: None,
    };
    PresetData {
        preset: Preset::ManagementGroups,
        attachments: vec![(policy.id, Principal::Group(group.id))],
        roles: vec![
            learner,
            admin,
            analytics_viewer,
            list_users,
            list_teams,
            read_teams,
            create_teams,
            download,
        ],
        groups: vec![(group, "Learner management".to_owned())],
        policies: vec![policy],
        settings,
        features: [Feature::LearnerApp].into(),
    }
}

/// The role code the group-roles CSV format writes as a digit (Admin=0, Coach=1, Author=2,
/// Learner=3).
pub fn group_role_csv_code(digit: &str) -> Result<&'static str, AccessError> {
    match digit.trim() {
        "0" => Ok("admin"),
        "1" => Ok("coach"),
        "2" => Ok("author"),
        "3" => Ok("learner"),
        other => Err(AccessError::UnknownRole(format!(
            "{other:?} (group role codes are 0 admin, 1 coach, 2 author, 3 learner)"
        ))),
    }
}

/// Roles held per group, advanced course roles, platform admin and a single owner.
pub fn group_roles() -> PresetData {
    let learner = R::new("learner", "Learner")
        .at(&[S::Group])
        .with(
            Assigned,
            &[
                P::GroupsView,
                P::CoursesView,
                P::CoursesAccess,
                P::LessonsView,
                P::SessionsView,
                P::SessionsAttend,
                P::LearningPlansView,
                P::CataloguesView,
                P::ForumPost,
            ],
        )
        .with(Own, &[P::UsersView, P::UsersEdit])
        .done();
    let author = R::new("author", "Author")
        .at(&[S::Group])
        .like(&learner)
        .with(Assigned, &[P::CoursesCreate, P::ForumInternal])
        .assigns()
        .done();
    let course_side = &[
        P::CoursesView,
        P::CoursesAccess,
        P::CoursesEdit,
        P::LessonsView,
        P::LessonsCreate,
        P::LessonsEdit,
        P::LessonsDelete,
        P::ForumInternal,
        P::ContentReview,
        P::RolesAssign,
    ];
    // The creator of a course holds this at the course; it moves when the author changes.
    let course_author = R::new("course-author", "Course Author")
        .at(&[S::Course])
        .with(Assigned, course_side)
        .with(
            Assigned,
            &[
                P::CoursesDelete,
                P::CoursesDeploy,
                P::AnalyticsView,
                P::ReportsRun,
            ],
        )
        .assigns()
        .max_holders(1)
        .prerequisite(&author)
        .given_to_creator()
        .done();
    let co_author = R::new("co-author", "Co-Author")
        .at(&[S::Course])
        .with(Assigned, course_side)
        .assigns()
        .prerequisite(&author)
        .done();
    let reviewer = R::new("reviewer", "Reviewer")
        .at(&[S::Course])
        .with(
            Assigned,
            &[
                P::CoursesView,
                P::CoursesAccess,
                P::ContentReview,
                P::ForumInternal,
            ],
        )
        .precondition(Precondition::CoursePublished)
        .done();
    let coach = R::new("coach", "Coach")
        .at(&[S::Group, S::PublicGroups])
        .like(&learner)
        .with(
            Assigned,
            &[
                P::UsersView,
                P::ReportsRun,
                P::AnalyticsView,
                P::SessionsManage,
                P::LearningPlansManage,
                P::CataloguesManage,
            ],
        )
        .assigns()
        .done();
    let admin = R::new("admin", "Admin")
        .at(&[S::Group])
        .like_at(&author, Assigned)
        .like_at(&coach, Assigned)
        .like_at(&course_author, Assigned)
        .with(
            Assigned,
            &[
                P::GroupsEdit,
                P::GroupsCreate,
                P::GroupsMembers,
                P::UsersCreate,
                P::InvitationsSend,
                P::BadgesManage,
                P::EnrollmentsView,
                P::EnrollmentsManage,
                P::EnrollmentsApprove,
                P::AnalyticsDownload,
                P::ForumModerate,
            ],
        )
        .assigns()
        .done();
    let platform_admin = R::new("platform-admin", "Platform Admin")
        .level()
        .all_but(Tenant, &[P::BillingView])
        .done();
    let owner = R::new("owner", "Owner")
        .level()
        .all_but(Tenant, &[])
        .owner()
        .max_holders(1)
        .done();
    let manager = R::new("manager", "Manager")
        .at(&[S::Platform])
        .with(Team, &[P::UsersView, P::ReportsRun, P::EnrollmentsView])
        .done();
    let instructor = R::new("instructor", "Instructor")
        .at(&[S::Session])
        .with(
            Assigned,
            &[
                P::SessionsView,
                P::SessionsManage,
                P::EnrollmentsView,
                P::EnrollmentsManage,
                P::EnrollmentsApprove,
                P::AssessmentsGrade,
                P::ReportsRun,
                P::RolesAssign,
            ],
        )
        .assigns()
        .done();
    // Appointing a manager is choosing their managees (seed 004): whoever has managees monitors
    // them through the tenant's default role, which reaches one's team only.
    let member = R::new("member", "Member")
        .level()
        .with(Team, &[P::UsersView, P::ReportsRun, P::EnrollmentsView])
        .done();
    // Every user holds at least one role in some group (seed 004): whoever is given none
    // joins Learners, where they are a Learner.
    let learners = AccessGroup {
        id: GroupId::new(),
        parent: None,
        public: false,
    };
    let learners_policy = Policy {
        id: PolicyId::new(),
        name: "Learners".to_owned(),
        items: vec![PolicyItem {
            role: learner.id,
            scope: Scope::Object(ObjectRef::group(learners.id)),
        }],
    };
    let learners_policy_id = learners_policy.id;
    let settings = AccessSettings {
        default_role: Some(member.id),
        former_owner_role: Some(platform_admin.id),
        feed_manager_role: None,
        default_group: Some(learners.id),
    };
    PresetData {
        preset: Preset::GroupRoles,
        roles: vec![
            member,
            learner,
            author,
            course_author,
            co_author,
            reviewer,
            coach,
            admin,
            platform_admin,
            owner,
            manager,
            instructor,
        ],
        groups: vec![(learners, "Learners".to_owned())],
        policies: vec![learners_policy],
        attachments: vec![(learners_policy_id, Principal::Group(learners.id))],
        settings,
        features: [Feature::LearnerApp].into(),
    }
}
