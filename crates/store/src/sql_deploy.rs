//! [`DeploymentStore`] on the same generic SQL store: where a course is deployed (seed 001).
//! A course deployed to a group enrolls the group's members (members of the groups nested in
//! it are its members too) and, through [`SqlStore::enroll_deployed`], whoever joins later, in
//! the transaction that adds them. A course deployed to a catalogue is offered there for
//! learners to enroll themselves, under the course's enrollment policy.

use async_trait::async_trait;
use registrar_domain::access::{ObjectId, ObjectKind, ObjectRef};
use registrar_domain::course::{Course, Enrollment};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use crate::backend::Backend;
use crate::rows::{corrupt, from_millis, to_millis, uuid};
use crate::sql::{Entry, SqlStore, now};
use crate::{Actor, StoreError, StoreResult};

/// Where a course is deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub course: ObjectId,
    /// A group or a catalogue.
    pub target: ObjectRef,
    pub deployed_at: time::OffsetDateTime,
}

/// Deployments of courses to groups and catalogues.
#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Deploys `course` to a group (enrolling its members who are not enrolled yet, and
    /// answering with those enrollments) or to a catalogue; 409 when it is deployed there
    /// already.
    async fn deploy(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        target: ObjectRef,
    ) -> StoreResult<Vec<Enrollment>>;
    /// Withdraws the deployment; enrollments it made stay. 404 when there is none.
    async fn withdraw(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        target: ObjectRef,
    ) -> StoreResult<()>;
    async fn deployments(&self, tenant: TenantId, course: ObjectId)
    -> StoreResult<Vec<Deployment>>;
    /// The courses deployed to `target`, by title.
    async fn deployed_to(&self, tenant: TenantId, target: ObjectRef) -> StoreResult<Vec<Course>>;
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB>,
    String: Type<DB>,
    i64: Type<DB>,
    bool: Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> bool: Decode<'r, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
{
    /// Enrolls `user`, who has just joined `group`, in every course deployed to that group or
    /// to a group it nests in, where they are not enrolled yet. Called by every path that adds
    /// a member, inside its transaction.
    pub(crate) async fn enroll_deployed(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<()> {
        let courses: Vec<(String,)> = sqlx::query_as::<DB, (String,)>(
            "WITH RECURSIVE up (id) AS ( \
                 SELECT id FROM groups WHERE tenant_id = $1 AND id = $2 \
                 UNION SELECT g.parent_id FROM groups g JOIN up ON g.id = up.id \
                 WHERE g.tenant_id = $1 AND g.parent_id IS NOT NULL) \
             SELECT DISTINCT d.course_id FROM course_deployments d \
             WHERE d.tenant_id = $1 AND d.target IN (SELECT 'group:' || id FROM up) \
             AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.tenant_id = $1 \
                 AND e.course_id = d.course_id AND e.user_id = $3) \
             ORDER BY d.course_id",
        )
        .bind(tenant.to_string())
        .bind(group.to_string())
        .bind(user.to_string())
        .fetch_all(&mut *tx)
        .await?;
        for (course,) in courses {
            let course = ObjectId::from_uuid(uuid("deployment", &course)?);
            Self::enroll_in(&mut *tx, actor, tenant, course, user).await?;
        }
        Ok(())
    }

    /// Whether any course of the tenant is deployed to a group, so that a large import into
    /// groups without deployments asks nothing per person.
    pub(crate) async fn deploys_to_groups(
        tx: &mut DB::Connection,
        tenant: TenantId,
    ) -> StoreResult<bool> {
        let found: Option<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT course_id FROM course_deployments \
             WHERE tenant_id = $1 AND target LIKE 'group:%' LIMIT 1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        Ok(found.is_some())
    }

    fn deployment_entry<'a>(
        tenant: TenantId,
        actor: &'a Actor,
        action: &'static str,
        course: ObjectId,
        target: ObjectRef,
    ) -> Entry<'a> {
        let what = Some(serde_json::json!({ "target": target.to_string() }));
        let (before, after) = if action == "course.deployed" {
            (None, what)
        } else {
            (what, None)
        };
        Entry {
            tenant: Some(tenant),
            actor,
            action,
            entity: "course",
            entity_id: course.to_string(),
            before,
            after,
            access: Vec::new(),
        }
    }
}

#[async_trait]
impl<DB> DeploymentStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB>,
    String: Type<DB>,
    i64: Type<DB>,
    bool: Type<DB>,
    for<'r> String: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> bool: Decode<'r, DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
{
    async fn deploy(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        target: ObjectRef,
    ) -> StoreResult<Vec<Enrollment>> {
        let mut tx = self.begin().await?;
        Self::load_course(&mut tx, tenant, course).await?;
        let group = match target.kind {
            ObjectKind::Group => {
                let group = GroupId::from_uuid(target.id.as_uuid());
                Self::load_group(&mut tx, tenant, group).await?;
                Some(group)
            }
            ObjectKind::Catalogue => None,
            _ => {
                return Err(StoreError::Rule(format!(
                    "{target} is neither a group nor a catalogue: a course is deployed to those"
                )));
            }
        };
        let done = sqlx::query::<DB>(
            "INSERT INTO course_deployments (tenant_id, course_id, target, deployed_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (course_id, target) DO NOTHING",
        )
        .bind(tenant.to_string())
        .bind(course.to_string())
        .bind(target.to_string())
        .bind(to_millis(now()))
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::Conflict {
                field: "target",
                value: format!("course {course} is already deployed to {target}"),
            });
        }
        Self::record(
            &mut tx,
            Self::deployment_entry(tenant, actor, "course.deployed", course, target),
        )
        .await?;
        let mut made = Vec::new();
        if let Some(group) = group {
            let members: Vec<(String,)> = sqlx::query_as::<DB, (String,)>(
                "WITH RECURSIVE down (id) AS ( \
                     SELECT id FROM groups WHERE tenant_id = $1 AND id = $2 \
                     UNION SELECT g.id FROM groups g JOIN down ON g.parent_id = down.id \
                     WHERE g.tenant_id = $1) \
                 SELECT DISTINCT m.user_id FROM group_members m \
                 WHERE m.tenant_id = $1 AND m.group_id IN (SELECT id FROM down) \
                 AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.tenant_id = $1 \
                     AND e.course_id = $3 AND e.user_id = m.user_id) \
                 ORDER BY m.user_id",
            )
            .bind(tenant.to_string())
            .bind(group.to_string())
            .bind(course.to_string())
            .fetch_all(&mut *tx)
            .await?;
            for (user,) in members {
                let user = UserId::from_uuid(uuid("group member", &user)?);
                made.push(Self::enroll_in(&mut tx, actor, tenant, course, user).await?);
            }
        }
        tx.commit().await?;
        Ok(made)
    }

    async fn withdraw(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        target: ObjectRef,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM course_deployments WHERE tenant_id = $1 AND course_id = $2 AND target = $3",
        )
        .bind(tenant.to_string())
        .bind(course.to_string())
        .bind(target.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::not_found(
                "deployment",
                format!("{course} to {target}"),
            ));
        }
        Self::record(
            &mut tx,
            Self::deployment_entry(tenant, actor, "course.withdrawn", course, target),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn deployments(
        &self,
        tenant: TenantId,
        course: ObjectId,
    ) -> StoreResult<Vec<Deployment>> {
        let rows: Vec<(String, i64)> = sqlx::query_as::<DB, (String, i64)>(
            "SELECT target, deployed_at FROM course_deployments \
             WHERE tenant_id = $1 AND course_id = $2 ORDER BY deployed_at, target",
        )
        .bind(tenant.to_string())
        .bind(course.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(target, at)| {
                Ok(Deployment {
                    course,
                    target: ObjectRef::parse(&target).map_err(|e| corrupt("deployment", e))?,
                    deployed_at: from_millis("deployment", at)?,
                })
            })
            .collect()
    }

    async fn deployed_to(&self, tenant: TenantId, target: ObjectRef) -> StoreResult<Vec<Course>> {
        let rows: Vec<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT d.course_id FROM course_deployments d JOIN courses c \
             ON c.tenant_id = d.tenant_id AND c.id = d.course_id \
             WHERE d.tenant_id = $1 AND d.target = $2 ORDER BY c.title, c.id",
        )
        .bind(tenant.to_string())
        .bind(target.to_string())
        .fetch_all(&self.read)
        .await?;
        let mut tx = self.snapshot().await?;
        let mut courses = Vec::with_capacity(rows.len());
        for (id,) in rows {
            let id = ObjectId::from_uuid(uuid("deployment", &id)?);
            courses.push(Self::load_course(&mut tx, tenant, id).await?);
        }
        Ok(courses)
    }
}
