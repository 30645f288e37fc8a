//! Learning objects and the relations between them that decisions need.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::error::AccessError;
use crate::ids::{GroupId, TenantId, UserId};

crate::ids::uuid_id!(
    /// Any object a permission is checked against. Users and groups use their own ids here, so
    /// `user:<id>` names the same person as the `UserId` does.
    ObjectId,
    "object id"
);

impl From<UserId> for ObjectId {
    fn from(id: UserId) -> Self {
        ObjectId::from_uuid(id.as_uuid())
    }
}

impl From<GroupId> for ObjectId {
    fn from(id: GroupId) -> Self {
        ObjectId::from_uuid(id.as_uuid())
    }
}

impl From<TenantId> for ObjectId {
    fn from(id: TenantId) -> Self {
        ObjectId::from_uuid(id.as_uuid())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Tenant,
    User,
    Group,
    Team,
    Course,
    Lesson,
    Event,
    Session,
    LearningPlan,
    Catalogue,
    Channel,
    Report,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 12] = [
        ObjectKind::Tenant,
        ObjectKind::User,
        ObjectKind::Group,
        ObjectKind::Team,
        ObjectKind::Course,
        ObjectKind::Lesson,
        ObjectKind::Event,
        ObjectKind::Session,
        ObjectKind::LearningPlan,
        ObjectKind::Catalogue,
        ObjectKind::Channel,
        ObjectKind::Report,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ObjectKind::Tenant => "tenant",
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Team => "team",
            ObjectKind::Course => "course",
            ObjectKind::Lesson => "lesson",
            ObjectKind::Event => "event",
            ObjectKind::Session => "session",
            ObjectKind::LearningPlan => "learning_plan",
            ObjectKind::Catalogue => "catalogue",
            ObjectKind::Channel => "channel",
            ObjectKind::Report => "report",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AccessError> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == input.trim())
            .ok_or_else(|| AccessError::UnknownObjectKind(input.to_owned()))
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The kinds an object of this kind may sit inside (its `parent`). Users and groups are not
    /// listed: users sit in groups through memberships, groups nest through `parent` on the
    /// group itself.
    pub fn parent_kinds(self) -> &'static [ObjectKind] {
        use ObjectKind as K;
        match self {
            K::Lesson | K::Event => &[K::Course],
            K::Session => &[K::Course, K::LearningPlan],
            K::Course | K::LearningPlan | K::Catalogue | K::Channel | K::Team => &[K::Group],
            K::Report => &[K::Group, K::Course, K::Event, K::Session, K::LearningPlan],
            K::Tenant | K::User | K::Group => &[],
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A typed reference to one object, written `kind:uuid` (`course:0190...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub id: ObjectId,
}

impl ObjectRef {
    pub fn new(kind: ObjectKind, id: ObjectId) -> Self {
        Self { kind, id }
    }

    pub fn user(id: UserId) -> Self {
        Self::new(ObjectKind::User, id.into())
    }

    pub fn group(id: GroupId) -> Self {
        Self::new(ObjectKind::Group, id.into())
    }

    pub fn tenant(id: TenantId) -> Self {
        Self::new(ObjectKind::Tenant, id.into())
    }

    pub fn parse(input: &str) -> Result<Self, AccessError> {
        let s = input.trim();
        let Some((kind, id)) = s.split_once(':') else {
            return Err(AccessError::BadObjectRef {
                input: input.to_owned(),
                reason: "expected kind:uuid, like course:0190c0de-...",
            });
        };
        let kind = ObjectKind::parse(kind)?;
        let id = Uuid::parse_str(id).map_err(|_| AccessError::BadObjectRef {
            input: input.to_owned(),
            reason: "the part after the colon is not a UUID",
        })?;
        Ok(Self::new(kind, ObjectId::from_uuid(id)))
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

impl FromStr for ObjectRef {
    type Err = AccessError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A learning object as decisions see it: where it sits, who made it, and the few flags rules
/// depend on. Users, groups and the tenant are not learning objects; they have their own changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearningObject {
    pub object: ObjectRef,
    /// The object this one sits inside: a lesson's or event's course, a session's course or
    /// program, a course's group, a report's subject.
    pub parent: Option<ObjectRef>,
    /// Who created it; their `own` reach covers it (ad hoc teams are edited by their creators).
    pub created_by: Option<UserId>,
    /// Courses: whether it is published (no longer a draft). Reviewers need it.
    pub published: bool,
    /// Courses: instructor-led (sessions) rather than e-learning. Changes what `to_confirm` means.
    pub instructor_led: bool,
}

impl LearningObject {
    pub fn new(object: ObjectRef) -> Self {
        Self {
            object,
            parent: None,
            created_by: None,
            published: false,
            instructor_led: false,
        }
    }

    pub fn with_parent(mut self, parent: ObjectRef) -> Self {
        self.parent = Some(parent);
        self
    }
}

/// A learner's status in one course (SPEC 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    Enrolled,
    InProgress,
    Completed,
    Waiting,
    ToConfirm,
    Suspended,
    Overbooked,
}

impl EnrollmentStatus {
    pub const ALL: [EnrollmentStatus; 7] = [
        EnrollmentStatus::Enrolled,
        EnrollmentStatus::InProgress,
        EnrollmentStatus::Completed,
        EnrollmentStatus::Waiting,
        EnrollmentStatus::ToConfirm,
        EnrollmentStatus::Suspended,
        EnrollmentStatus::Overbooked,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EnrollmentStatus::Enrolled => "enrolled",
            EnrollmentStatus::InProgress => "in_progress",
            EnrollmentStatus::Completed => "completed",
            EnrollmentStatus::Waiting => "waiting",
            EnrollmentStatus::ToConfirm => "to_confirm",
            EnrollmentStatus::Suspended => "suspended",
            EnrollmentStatus::Overbooked => "overbooked",
        }
    }

    pub fn parse(input: &str) -> Result<Self, AccessError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == input.trim())
            .ok_or_else(|| AccessError::UnknownEnrollmentStatus(input.to_owned()))
    }

    /// Whether a learner in this status may use `permission` (a learner-access permission) on a
    /// course of the given type. `to_confirm` on an instructor-led course lets the learner see
    /// the material but not attend; on e-learning it behaves like `waiting`.
    pub fn allows(self, opening_material: bool, instructor_led: bool) -> bool {
        match self {
            EnrollmentStatus::Enrolled
            | EnrollmentStatus::InProgress
            | EnrollmentStatus::Completed => true,
            EnrollmentStatus::Waiting
            | EnrollmentStatus::Suspended
            | EnrollmentStatus::Overbooked => false,
            EnrollmentStatus::ToConfirm => instructor_led && opening_material,
        }
    }
}

impl fmt::Display for EnrollmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_refs_round_trip() {
        let r = ObjectRef::new(ObjectKind::LearningPlan, ObjectId::new());
        assert_eq!(ObjectRef::parse(&r.to_string()).ok(), Some(r));
        let json = serde_json::to_string(&r).ok();
        assert_eq!(json, Some(format!("\"learning_plan:{}\"", r.id)));
    }

    #[test]
    fn bad_object_refs_say_what_is_wrong() {
        let unknown = ObjectRef::parse("spaceship:0190c0de-0000-7000-8000-000000000000");
        assert_eq!(
            unknown.err().map(|e| e.to_string()),
            Some("unknown object kind \"spaceship\"".to_owned())
        );
        let bad_id = ObjectRef::parse("course:42").err().map(|e| e.to_string());
        assert!(bad_id.is_some_and(|m| m.contains("\"course:42\"") && m.contains("not a UUID")));
        assert!(ObjectRef::parse("course").is_err());
    }

    #[test]
    fn to_confirm_shows_material_of_instructor_led_courses_only() {
        use EnrollmentStatus as S;
        assert!(S::ToConfirm.allows(true, true));
        assert!(!S::ToConfirm.allows(false, true));
        assert!(!S::ToConfirm.allows(true, false));
        for s in [S::Waiting, S::Suspended, S::Overbooked] {
            assert!(!s.allows(true, false) && !s.allows(true, true));
        }
    }
}
