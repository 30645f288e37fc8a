//! The permission catalog: every action the platform asks Registrar about, as a fixed set.
//!
//! The catalog is closed on purpose: a role editor can only combine entries of it, so a typo in a
//! role definition is an error at the edge and never a silently dead permission.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::AccessError;
use super::object::ObjectKind;

/// What holding a permission risks, shown by the access review and the role editor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Risk {
    /// Reveals or changes data about people.
    pub personal_data: bool,
    /// Changes how the tenant itself behaves.
    pub config: bool,
    /// Can destroy data that is not trivially restored.
    pub data_loss: bool,
    /// Can widen someone's access, including the holder's own.
    pub privilege: bool,
}

impl Risk {
    pub fn any(self) -> bool {
        self.personal_data || self.config || self.data_loss || self.privilege
    }
}

/// A tenant-level switch that makes part of the catalog exist at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Channels, experts and peer review of learner content.
    SocialLearning,
    /// The learner app and its per-learner access switch.
    LearnerApp,
    /// The e-learning integration: learner-app set-up also gives e-learning access.
    ELearning,
}

impl Feature {
    pub const ALL: [Feature; 3] = [
        Feature::SocialLearning,
        Feature::LearnerApp,
        Feature::ELearning,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Feature::SocialLearning => "social_learning",
            Feature::LearnerApp => "learner_app",
            Feature::ELearning => "elearning",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

// Flags shorthand for the table below.
const NONE: Risk = Risk {
    personal_data: false,
    config: false,
    data_loss: false,
    privilege: false,
};
const PD: Risk = Risk {
    personal_data: true,
    ..NONE
};
const CFG: Risk = Risk {
    config: true,
    ..NONE
};
const LOSS: Risk = Risk {
    data_loss: true,
    ..NONE
};
const PD_LOSS: Risk = Risk {
    personal_data: true,
    data_loss: true,
    ..NONE
};
const PRIV: Risk = Risk {
    privilege: true,
    ..NONE
};
const PRIV_CFG: Risk = Risk {
    privilege: true,
    config: true,
    ..NONE
};

use ObjectKind as K;

macro_rules! catalog {
    ($($variant:ident = $code:literal, $risk:expr, [$($kind:ident),+ $(,)?], $about:literal;)+) => {
        /// One entry of the catalog. `Copy` and one byte, so that effective permission sets are
        /// dense and cheap to compare.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Permission {
            $(#[doc = $about] $variant,)+
        }

        impl Permission {
            /// Every permission, in catalog order (the order of the `repr(u8)` discriminants).
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)+];

            pub fn code(self) -> &'static str {
                match self {
                    $(Permission::$variant => $code,)+
                }
            }

            pub fn risk(self) -> Risk {
                match self {
                    $(Permission::$variant => $risk,)+
                }
            }

            /// The kinds of object this permission is checked against. Checking it against any
            /// other kind is a caller bug, reported as [`AccessError::NotApplicable`].
            pub fn applies_to(self) -> &'static [ObjectKind] {
                match self {
                    $(Permission::$variant => &[$(K::$kind),+],)+
                }
            }

            pub fn describe(self) -> &'static str {
                match self {
                    $(Permission::$variant => $about,)+
                }
            }
        }
    };
}

catalog! {
    UsersView = "users.view", PD, [User], "See a person's profile and list them.";
    UsersCreate = "users.create", PD, [Tenant, Group], "Create accounts (in the tenant or a group).";
    UsersEdit = "users.edit", PD, [User], "Change a person's profile, username, email, labels and expiry.";
    UsersStatus = "users.status", PD, [User], "Activate or deactivate a person.";
    UsersDelete = "users.delete", PD_LOSS, [User], "Delete a person and their data.";
    ManagersEdit = "managers.edit", PRIV, [User], "Set who manages a person (line management).";
    RolesView = "roles.view", NONE, [Tenant], "Read role definitions and the permission matrix.";
    RolesEdit = "roles.edit", PRIV_CFG, [Tenant], "Create, copy and change roles.";
    RolesAssign = "roles.assign", PRIV, [Tenant, Group, Course, Event, Session, Channel, User], "Grant and revoke roles at a scope.";
    PoliciesEdit = "policies.edit", PRIV_CFG, [Tenant], "Create policies and attach them to users or groups.";
    GroupsView = "groups.view", NONE, [Group], "See a group and its properties.";
    GroupsCreate = "groups.create", NONE, [Tenant, Group], "Create a group (at top level or nested).";
    GroupsEdit = "groups.edit", NONE, [Group], "Change a group's properties.";
    GroupsDelete = "groups.delete", LOSS, [Group], "Delete a group.";
    GroupsMembers = "groups.members", PD, [Group], "Add people to or remove people from a group.";
    TeamsView = "teams.view", PD, [Team], "See a team and who belongs to it.";
    TeamsCreate = "teams.create", NONE, [Tenant], "Create an ad hoc team.";
    TeamsEdit = "teams.edit", NONE, [Team], "Rename or change a team.";
    TeamsDelete = "teams.delete", LOSS, [Team], "Delete a team.";
    TeamsMembers = "teams.members", PD, [Team], "Add people to or remove people from a team.";
    CoursesView = "courses.view", NONE, [Course], "See a course and its administrative properties.";
    CoursesAccess = "courses.access", NONE, [Course, Lesson], "Open a course's material as a learner.";
    CoursesCreate = "courses.create", NONE, [Tenant, Group], "Create a course (in the tenant or a group).";
    CoursesEdit = "courses.edit", NONE, [Course], "Change a course's content, layout and settings.";
    CoursesDelete = "courses.delete", LOSS, [Course], "Delete a course.";
    CoursesDeploy = "courses.deploy", NONE, [Course], "Deploy a course to users, groups or catalogues.";
    LessonsView = "lessons.view", NONE, [Lesson], "See a lesson and its properties.";
    LessonsCreate = "lessons.create", NONE, [Tenant, Course], "Create a lesson.";
    LessonsEdit = "lessons.edit", NONE, [Lesson], "Change a lesson.";
    LessonsDelete = "lessons.delete", LOSS, [Lesson], "Delete a lesson.";
    LessonsAssign = "lessons.assign", NONE, [Course], "Assign lessons to a course.";
    EnrollmentsView = "enrollments.view", PD, [Course, Event, Session, LearningPlan, User], "See who is enrolled and their status.";
    EnrollmentsManage = "enrollments.manage", PD, [Course, Event, Session, LearningPlan, User], "Enroll, unenroll and change enrollment status or course role.";
    EnrollmentsApprove = "enrollments.approve", NONE, [Course, Event, Session], "Approve waiting enrollment or booking requests.";
    EventsView = "events.view", NONE, [Event], "See an event and its properties.";
    EventsManage = "events.manage", NONE, [Event], "Change an event: dates, venue, capacity, notifications.";
    EventsBook = "events.book", NONE, [Event], "Book people onto an event (who may be booked is enrollments.manage on them).";
    EventsAttendance = "events.attendance", PD, [Event, Session], "Mark attendance.";
    SessionsView = "sessions.view", NONE, [Session], "See a session and its settings.";
    SessionsManage = "sessions.manage", NONE, [Session], "Change a session's settings, learners and instructors.";
    SessionsAttend = "sessions.attend", NONE, [Session, Event], "Attend a session or event as a learner.";
    LearningPlansView = "learning_plans.view", NONE, [LearningPlan], "See a learning plan or program.";
    LearningPlansManage = "learning_plans.manage", NONE, [LearningPlan], "Change a learning plan or program.";
    CataloguesView = "catalogues.view", NONE, [Catalogue], "See a catalogue.";
    CataloguesManage = "catalogues.manage", NONE, [Catalogue], "Change what a catalogue offers.";
    CompetencySignOff = "competency.sign_off", NONE, [Course, User], "Sign off a competency check.";
    AssessmentsGrade = "assessments.grade", PD, [Course, Session], "Evaluate learners, correct open questions and assessment steps.";
    ForumPost = "forum.post", NONE, [Course, Group], "Post in a course forum or group newsfeed.";
    ForumModerate = "forum.moderate", NONE, [Course, Group], "Moderate a forum or newsfeed.";
    ForumInternal = "forum.internal_comment", NONE, [Course], "Post internal comments that learners do not see.";
    ContentReview = "content.review", NONE, [Course, Channel], "Review content before learners see it; publish or reject it.";
    ChannelsView = "channels.view", NONE, [Channel], "See a knowledge-sharing channel.";
    ChannelsAnswer = "channels.answer", NONE, [Channel], "Answer learners' questions in a channel.";
    ChannelsManage = "channels.manage", NONE, [Channel], "Change a channel's settings and experts.";
    ReportsRun = "reports.run", PD, [Tenant, Group, Course, Event, Session, LearningPlan, User, Report], "Run reports; the result is cut by the reach that allowed it.";
    AnalyticsView = "analytics.view", NONE, [Tenant, Group, Course], "See analytics dashboards.";
    AnalyticsDownload = "analytics.download", PD, [Tenant, Group, Course], "Download enrollment, progress and completion reports.";
    LearnerAppManage = "learner_app.manage", PD, [User], "Switch a learner's app access and its per-course visibility.";
    InvitationsSend = "invitations.send", PD, [Tenant, Group, Course, User], "Send invitations and login details.";
    BadgesManage = "badges.manage", NONE, [Tenant, Group], "Create and award badges.";
    AuditView = "audit.view", PD, [Tenant], "Read the audit log.";
    AccessReview = "access.review", PRIV, [Tenant], "List everyone holding admin permissions.";
    BillingView = "billing.view", PD, [Tenant], "See billing information.";
    SystemConfigure = "system.configure", CFG, [Tenant], "Change tenant-wide settings, features and templates.";
}

impl Permission {
    pub fn parse(input: &str) -> Result<Self, AccessError> {
        let code = input.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.code() == code)
            .ok_or_else(|| AccessError::UnknownPermission(input.to_owned()))
    }

    /// The dense index of this permission, `0..ALL.len()`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The tenant feature without which this permission does not exist.
    pub fn feature(self) -> Option<Feature> {
        match self {
            Permission::ChannelsView | Permission::ChannelsAnswer | Permission::ChannelsManage => {
                Some(Feature::SocialLearning)
            }
            Permission::LearnerAppManage => Some(Feature::LearnerApp),
            _ => None,
        }
    }

    /// Whether this is a learner's own use of a course, which an enrollment status can veto
    /// (SPEC 3.2). Administrative permissions on the same course are not affected.
    pub fn is_learner_access(self) -> bool {
        matches!(self, Permission::CoursesAccess | Permission::SessionsAttend)
    }

    pub fn applies(self, kind: ObjectKind) -> bool {
        self.applies_to().contains(&kind)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for (i, p) in Permission::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
            assert!(seen.insert(p.code()), "duplicate {}", p.code());
            assert_eq!(Permission::parse(p.code()).ok(), Some(*p));
            assert!(!p.applies_to().is_empty());
        }
    }

    #[test]
    fn an_unknown_code_is_named_in_the_error() {
        let err = Permission::parse("courses.teleport").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("unknown permission \"courses.teleport\"".to_owned())
        );
    }

    #[test]
    fn dangerous_permissions_carry_their_flags() {
        assert!(Permission::RolesAssign.risk().privilege);
        assert!(Permission::SystemConfigure.risk().config);
        assert!(Permission::CoursesDelete.risk().data_loss);
        assert!(Permission::UsersView.risk().personal_data);
        assert!(!Permission::CoursesView.risk().any());
    }
}
