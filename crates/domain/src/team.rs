//! Named teams (seed 003): cohorts a learner manager puts together ("Company A Team") to follow
//! their learners. A team is a learning object of kind `team` to the engine, created by whoever
//! made it (so the creator edits, fills and deletes it; others read it), and a scope for reports.
//! Unlike a group, a team carries no roles and nests in nothing.

use time::OffsetDateTime;

use crate::access::{LearningObject, ObjectId, ObjectKind, ObjectRef};
use crate::ids::{TenantId, UserId};
use crate::text::Name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub name: Name,
    /// Who made it; `None` once that person is deleted (the team stays, read-only to others).
    pub created_by: Option<UserId>,
    /// How many people belong to it.
    pub members: u32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Team {
    pub fn object(&self) -> ObjectRef {
        ObjectRef::new(ObjectKind::Team, self.id)
    }

    /// What the engine knows of the team: that it exists and who made it.
    pub fn learning_object(&self) -> LearningObject {
        LearningObject {
            object: self.object(),
            parent: None,
            created_by: self.created_by,
            published: false,
            instructor_led: false,
        }
    }
}
