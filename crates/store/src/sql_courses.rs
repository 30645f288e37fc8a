//! [`CourseStore`] on the same generic SQL store: courses, materials, enrollments and plans.

use async_trait::async_trait;
use registrar_domain::access::{
    Change, EnrollmentStatus, Grant, ObjectId, ObjectKind, ObjectRef, Principal, Scope,
};
use registrar_domain::course::{Course, Enrollment, LearningPlan, Material, takes_a_place};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::lifecycle::{
    self, Activity, CourseType, EnrollmentPolicy, Progress, user_after_activity,
};
use registrar_domain::text::Name;
use registrar_domain::user::User;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use crate::backend::Backend;
use crate::rows::{corrupt, from_millis, to_millis, user_json, uuid};
use crate::sql::{Entry, SqlStore, convert, limit, now, paginate};
use crate::sql_sessions::session_ref;
use crate::{
    Actor, CoursePatch, CourseResult, CourseStore, LogEntry, NewCourse, Page, PageRequest,
    StoreError, StoreResult,
};

const COURSE_COLUMNS: &str = "id, tenant_id, title, course_type, published, capacity, policy, \
     group_id, created_by, created_at, updated_at";
const ENROLLMENT_COLUMNS: &str = "course_id, user_id, status, show_in_app, enrolled_at, updated_at";

#[derive(sqlx::FromRow)]
struct CourseRow {
    id: String,
    tenant_id: String,
    title: String,
    course_type: String,
    published: bool,
    capacity: Option<i64>,
    policy: String,
    group_id: Option<String>,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<CourseRow> for Course {
    type Error = StoreError;
    fn try_from(r: CourseRow) -> Result<Self, StoreError> {
        let c = |e: registrar_domain::ValidationError| corrupt("course", e);
        Ok(Course {
            id: ObjectId::from_uuid(uuid("course", &r.id)?),
            tenant_id: TenantId::from_uuid(uuid("course", &r.tenant_id)?),
            title: Name::parse("title", &r.title).map_err(c)?,
            course_type: CourseType::parse(&r.course_type).map_err(c)?,
            published: r.published,
            capacity: r
                .capacity
                .map(|n| u32::try_from(n).map_err(|e| corrupt("course", e)))
                .transpose()?,
            policy: EnrollmentPolicy::parse(&r.policy).map_err(c)?,
            group: r
                .group_id
                .as_deref()
                .map(|g| uuid("course", g).map(GroupId::from_uuid))
                .transpose()?,
            created_by: r
                .created_by
                .as_deref()
                .map(|u| uuid("course", u).map(UserId::from_uuid))
                .transpose()?,
            created_at: from_millis("course", r.created_at)?,
            updated_at: from_millis("course", r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MaterialRow {
    id: String,
    course_id: String,
    title: String,
    position: i64,
}

impl TryFrom<MaterialRow> for Material {
    type Error = StoreError;
    fn try_from(r: MaterialRow) -> Result<Self, StoreError> {
        Ok(Material {
            id: ObjectId::from_uuid(uuid("material", &r.id)?),
            course: ObjectId::from_uuid(uuid("material", &r.course_id)?),
            title: Name::parse("title", &r.title).map_err(|e| corrupt("material", e))?,
            position: u32::try_from(r.position).map_err(|e| corrupt("material", e))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EnrollmentRow {
    course_id: String,
    user_id: String,
    status: String,
    show_in_app: bool,
    enrolled_at: i64,
    updated_at: i64,
}

impl TryFrom<EnrollmentRow> for Enrollment {
    type Error = StoreError;
    fn try_from(r: EnrollmentRow) -> Result<Self, StoreError> {
        Ok(Enrollment {
            user: UserId::from_uuid(uuid("enrollment", &r.user_id)?),
            course: ObjectId::from_uuid(uuid("enrollment", &r.course_id)?),
            status: EnrollmentStatus::parse(&r.status).map_err(|e| corrupt("enrollment", e))?,
            show_in_app: r.show_in_app,
            enrolled_at: from_millis("enrollment", r.enrolled_at)?,
            updated_at: from_millis("enrollment", r.updated_at)?,
        })
    }
}

fn course_json(c: &Course) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "title": c.title, "course_type": c.course_type.code(), "published": c.published,
        "capacity": c.capacity, "policy": c.policy.code(), "group": c.group,
    })
}

fn enrollment_json(e: &Enrollment) -> serde_json::Value {
    serde_json::json!({
        "user": e.user, "course": e.course, "status": e.status.code(), "show_in_app": e.show_in_app,
    })
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
    pub(crate) async fn load_course(
        tx: &mut DB::Connection,
        tenant: TenantId,
        id: ObjectId,
    ) -> StoreResult<Course> {
        let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE tenant_id = $1 AND id = $2");
        sqlx::query_as::<DB, CourseRow>(&sql)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("course", id))?
            .try_into()
    }

    pub(crate) async fn load_enrollment(
        tx: &mut DB::Connection,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment> {
        let sql = format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM enrollments \
             WHERE tenant_id = $1 AND course_id = $2 AND user_id = $3"
        );
        sqlx::query_as::<DB, EnrollmentRow>(&sql)
            .bind(tenant.to_string())
            .bind(course.to_string())
            .bind(user.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("enrollment", format!("{user} in {course}")))?
            .try_into()
    }

    /// Places taken in a course: the enrollments whose status takes one, as the domain's
    /// `takes_a_place` says (the store counts per status and holds no status rule).
    async fn places_taken(tx: &mut DB::Connection, course: ObjectId) -> StoreResult<u32> {
        let counts: Vec<(String, i64)> = sqlx::query_as::<DB, (String, i64)>(
            "SELECT status, COUNT(*) FROM enrollments WHERE course_id = $1 GROUP BY status",
        )
        .bind(course.to_string())
        .fetch_all(tx)
        .await?;
        let mut n = 0i64;
        for (status, count) in counts {
            let status = EnrollmentStatus::parse(&status).map_err(|e| corrupt("enrollment", e))?;
            if takes_a_place(status) {
                n += count;
            }
        }
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn write_course(tx: &mut DB::Connection, c: &Course, insert: bool) -> StoreResult<()> {
        let sql = if insert {
            "INSERT INTO courses (id, tenant_id, title, course_type, published, capacity, policy, \
             group_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        } else {
            "UPDATE courses SET title = $3, course_type = $4, published = $5, capacity = $6, \
             policy = $7, group_id = $8, created_by = $9, created_at = $10, updated_at = $11 \
             WHERE id = $1 AND tenant_id = $2"
        };
        let group = c.group.map(|g| g.to_string());
        sqlx::query::<DB>(sql)
            .bind(c.id.to_string())
            .bind(c.tenant_id.to_string())
            .bind(c.title.to_string())
            .bind(c.course_type.code().to_owned())
            .bind(c.published)
            .bind(c.capacity.map(i64::from))
            .bind(c.policy.code().to_owned())
            .bind(group.clone())
            .bind(c.created_by.map(|u| u.to_string()))
            .bind(to_millis(c.created_at))
            .bind(to_millis(c.updated_at))
            .execute(tx)
            .await
            .map_err(|e| {
                StoreError::from_write(
                    e,
                    &[],
                    &[("group_id", group.as_deref().unwrap_or_default())],
                )
            })?;
        Ok(())
    }

    /// Enrolls inside a transaction: waiting when the course needs approval or is full.
    pub(crate) async fn enroll_in(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment> {
        let c = Self::load_course(&mut *tx, tenant, course).await?;
        Self::load_user(&mut *tx, tenant, user).await?;
        let taken = Self::places_taken(&mut *tx, course).await?;
        let at = now();
        let enrollment = Enrollment {
            user,
            course,
            status: lifecycle::new_enrollment(c.policy, c.capacity, taken),
            show_in_app: true,
            enrolled_at: at,
            updated_at: at,
        };
        Self::write_status(tx, actor, tenant, None, &enrollment, "enrollment.created")
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    field: "user",
                    value: format!("{user} is already enrolled in course {course}"),
                },
                other => other,
            })?;
        Ok(enrollment)
    }

    /// Writes an enrollment's new status with its audit row and engine change.
    pub(crate) async fn write_status(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        before: Option<&Enrollment>,
        after: &Enrollment,
        action: &'static str,
    ) -> StoreResult<()> {
        let sql = if before.is_some() {
            "UPDATE enrollments SET status = $4, updated_at = $6 \
             WHERE tenant_id = $1 AND course_id = $2 AND user_id = $3"
        } else {
            "INSERT INTO enrollments (tenant_id, course_id, user_id, status, enrolled_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        };
        sqlx::query::<DB>(sql)
            .bind(tenant.to_string())
            .bind(after.course.to_string())
            .bind(after.user.to_string())
            .bind(after.status.code().to_owned())
            .bind(to_millis(after.enrolled_at))
            .bind(to_millis(after.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::from_write(
                    e,
                    &[("course_id", &format!("{} in {}", after.user, after.course))],
                    &[],
                )
            })?;
        Self::record(
            tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action,
                entity: "enrollment",
                entity_id: format!("{}:{}", after.course, after.user),
                before: before.map(enrollment_json),
                after: Some(enrollment_json(after)),
                access: vec![Change::SetEnrollment {
                    user: after.user,
                    course: after.course,
                    status: after.status,
                }],
            },
        )
        .await?;
        Ok(())
    }
    /// A learner's first learning activity makes their account active (SPEC 3.1).
    pub(crate) async fn activate_by_activity(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<()> {
        let learner: User = Self::load_user(&mut *tx, tenant, user).await?;
        let status = user_after_activity(learner.status);
        if status != learner.status {
            let updated = User {
                status,
                updated_at: now(),
                ..learner.clone()
            };
            Self::write_user(&mut *tx, &updated, false).await?;
            Self::record(
                tx,
                Entry {
                    tenant: Some(tenant),
                    actor,
                    action: "user.activated_by_activity",
                    entity: "user",
                    entity_id: user.to_string(),
                    before: Some(user_json(&learner)),
                    after: Some(user_json(&updated)),
                    access: vec![Change::UpsertUser((&updated).into())],
                },
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl<DB> CourseStore for SqlStore<DB>
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
    async fn create_course(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewCourse,
    ) -> StoreResult<Course> {
        let at = now();
        let course = Course {
            id: ObjectId::from_uuid(uuid::Uuid::now_v7()),
            tenant_id: tenant,
            title: new.title,
            course_type: new.course_type,
            published: new.published,
            capacity: new.capacity,
            policy: new.policy,
            group: new.group,
            created_by: new.created_by,
            created_at: at,
            updated_at: at,
        };
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        Self::write_course(&mut tx, &course, true).await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "course.created",
                entity: "course",
                entity_id: course.id.to_string(),
                before: None,
                after: Some(course_json(&course)),
                access: vec![Change::UpsertObject(course.learning_object())],
            },
        )
        .await?;
        if let Some(creator) = course.created_by {
            for role in new.creator_roles {
                let grant = Grant::new(
                    Principal::User(creator),
                    role,
                    Scope::Object(course.object()),
                );
                Self::record(
                    &mut tx,
                    Entry {
                        tenant: Some(tenant),
                        actor,
                        action: "grant.created",
                        entity: "grant",
                        entity_id: grant.id.to_string(),
                        before: None,
                        after: Some(serde_json::json!({
                            "principal": grant.principal.to_string(),
                            "role": role.to_string(),
                            "scope": grant.scope.to_string(),
                            "reason": "created the course",
                        })),
                        access: vec![Change::UpsertGrant(grant)],
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(course)
    }

    async fn course(&self, tenant: TenantId, id: ObjectId) -> StoreResult<Course> {
        let mut tx = self.snapshot().await?;
        Self::load_course(&mut tx, tenant, id).await
    }

    async fn list_courses(
        &self,
        tenant: TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<Course>> {
        let sql = format!(
            "SELECT {COURSE_COLUMNS} FROM courses WHERE tenant_id = $1 AND id > $2 \
             AND LOWER(title) LIKE $3 ESCAPE '\\' ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, CourseRow>(&sql)
            .bind(tenant.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(crate::sql::like_pattern(page.search.as_deref()))
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |c: &Course| {
            c.id.to_string()
        }))
    }

    async fn update_course(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
        patch: CoursePatch,
    ) -> StoreResult<Course> {
        let mut tx = self.begin().await?;
        let before = Self::load_course(&mut tx, tenant, id).await?;
        let mut after = before.clone();
        if let Some(v) = patch.title {
            after.title = v;
        }
        if let Some(v) = patch.published {
            after.published = v;
        }
        if let Some(v) = patch.capacity {
            after.capacity = v;
        }
        if let Some(v) = patch.policy {
            after.policy = v;
        }
        if after == before {
            return Ok(before);
        }
        after.updated_at = now();
        Self::write_course(&mut tx, &after, false).await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "course.updated",
                entity: "course",
                entity_id: id.to_string(),
                before: Some(course_json(&before)),
                after: Some(course_json(&after)),
                access: vec![Change::UpsertObject(after.learning_object())],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn add_material(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        title: Name,
    ) -> StoreResult<Material> {
        let mut tx = self.begin().await?;
        Self::load_course(&mut tx, tenant, course).await?;
        let (count,): (i64,) =
            sqlx::query_as::<DB, (i64,)>("SELECT COUNT(*) FROM materials WHERE course_id = $1")
                .bind(course.to_string())
                .fetch_one(&mut *tx)
                .await?;
        let material = Material {
            id: ObjectId::from_uuid(uuid::Uuid::now_v7()),
            course,
            title,
            position: u32::try_from(count).unwrap_or(u32::MAX),
        };
        sqlx::query::<DB>(
            "INSERT INTO materials (id, tenant_id, course_id, title, position) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(material.id.to_string())
        .bind(tenant.to_string())
        .bind(course.to_string())
        .bind(material.title.to_string())
        .bind(i64::from(material.position))
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "material.created",
                entity: "material",
                entity_id: material.id.to_string(),
                before: None,
                after: Some(serde_json::json!({ "course": course, "title": material.title })),
                access: vec![Change::UpsertObject(material.learning_object())],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(material)
    }

    async fn materials(&self, tenant: TenantId, course: ObjectId) -> StoreResult<Vec<Material>> {
        self.course(tenant, course).await?;
        let rows = sqlx::query_as::<DB, MaterialRow>(
            "SELECT id, course_id, title, position FROM materials \
             WHERE tenant_id = $1 AND course_id = $2 ORDER BY position",
        )
        .bind(tenant.to_string())
        .bind(course.to_string())
        .fetch_all(&self.read)
        .await?;
        convert(rows)
    }

    async fn enroll(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.begin().await?;
        let enrollment = Self::enroll_in(&mut tx, actor, tenant, course, user).await?;
        tx.commit().await?;
        Ok(enrollment)
    }

    async fn enroll_with_role(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        expected: i64,
        role: LogEntry,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.begin().await?;
        let actual = Self::revision_of(&mut tx, tenant).await?;
        if actual != expected {
            return Err(StoreError::Stale { expected, actual });
        }
        let enrollment = Self::enroll_in(&mut tx, actor, tenant, course, user).await?;
        Self::record(&mut tx, Entry::logged(tenant, actor, role)).await?;
        tx.commit().await?;
        Ok(enrollment)
    }

    async fn enrollment(
        &self,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.snapshot().await?;
        Self::load_enrollment(&mut tx, tenant, course, user).await
    }

    async fn course_enrollments(
        &self,
        tenant: TenantId,
        course: ObjectId,
        page: &PageRequest,
    ) -> StoreResult<Page<Enrollment>> {
        self.course(tenant, course).await?;
        let sql = format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE tenant_id = $1 AND course_id = $2 \
             AND user_id > $3 ORDER BY user_id LIMIT $4"
        );
        let rows = sqlx::query_as::<DB, EnrollmentRow>(&sql)
            .bind(tenant.to_string())
            .bind(course.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(limit(page) + 1)
            .fetch_all(&self.read)
            .await?;
        Ok(paginate(convert(rows)?, page, |e: &Enrollment| {
            e.user.to_string()
        }))
    }

    async fn results(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<CourseResult>> {
        type Row = (String, String, String, i64, i64, i64, i64);
        let rows: Vec<Row> = sqlx::query_as::<DB, Row>(
            "SELECT e.course_id, c.title, e.status, e.enrolled_at, e.updated_at, \
             (SELECT COUNT(*) FROM materials m WHERE m.tenant_id = e.tenant_id \
              AND m.course_id = e.course_id), \
             (SELECT COUNT(*) FROM material_progress p JOIN materials m \
              ON m.tenant_id = p.tenant_id AND m.id = p.material_id \
              WHERE p.tenant_id = e.tenant_id AND p.user_id = e.user_id \
              AND m.course_id = e.course_id) \
             FROM enrollments e JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id \
             WHERE e.tenant_id = $1 AND e.user_id = $2 ORDER BY c.title, c.id",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        let count = |n: i64| u32::try_from(n).map_err(|e| corrupt("enrollment", e));
        rows.into_iter()
            .map(
                |(course, title, status, enrolled, updated, materials, completed)| {
                    Ok(CourseResult {
                        course: ObjectId::from_uuid(uuid("enrollment", &course)?),
                        title: Name::parse("title", &title).map_err(|e| corrupt("course", e))?,
                        status: EnrollmentStatus::parse(&status)
                            .map_err(|e| corrupt("enrollment", e))?,
                        enrolled_at: from_millis("enrollment", enrolled)?,
                        updated_at: from_millis("enrollment", updated)?,
                        materials: count(materials)?,
                        completed: count(completed)?,
                    })
                },
            )
            .collect()
    }

    async fn user_enrollments(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<Enrollment>> {
        let sql = format!(
            "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY course_id"
        );
        let rows = sqlx::query_as::<DB, EnrollmentRow>(&sql)
            .bind(tenant.to_string())
            .bind(user.to_string())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn set_enrollment_status(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        to: EnrollmentStatus,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.begin().await?;
        let c = Self::load_course(&mut tx, tenant, course).await?;
        let before = Self::load_enrollment(&mut tx, tenant, course, user).await?;
        lifecycle::check_manual_status(c.course_type, before.status, to)?;
        if before.status == to {
            return Ok(before);
        }
        // Leaving the waiting list by hand still needs a place.
        if !takes_a_place(before.status) && takes_a_place(to) {
            let taken = Self::places_taken(&mut tx, course).await?;
            if let Some(capacity) = c.capacity.filter(|c| taken >= *c) {
                return Err(lifecycle::LifecycleError::Full { capacity }.into());
            }
        }
        let after = Enrollment {
            status: to,
            updated_at: now(),
            ..before.clone()
        };
        Self::write_status(
            &mut tx,
            actor,
            tenant,
            Some(&before),
            &after,
            "enrollment.status_set",
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_show_in_app(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        show: bool,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.begin().await?;
        let before = Self::load_enrollment(&mut tx, tenant, course, user).await?;
        if before.show_in_app == show {
            return Ok(before);
        }
        let after = Enrollment {
            show_in_app: show,
            updated_at: now(),
            ..before.clone()
        };
        sqlx::query::<DB>(
            "UPDATE enrollments SET show_in_app = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND course_id = $2 AND user_id = $3",
        )
        .bind(tenant.to_string())
        .bind(course.to_string())
        .bind(user.to_string())
        .bind(show)
        .bind(to_millis(after.updated_at))
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "enrollment.app_visibility_set",
                entity: "enrollment",
                entity_id: format!("{course}:{user}"),
                before: Some(enrollment_json(&before)),
                after: Some(enrollment_json(&after)),
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn approve_enrollment(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.begin().await?;
        let c = Self::load_course(&mut tx, tenant, course).await?;
        let before = Self::load_enrollment(&mut tx, tenant, course, user).await?;
        let taken = Self::places_taken(&mut tx, course).await?;
        let to = lifecycle::approve(before.status, c.capacity, taken)?;
        let after = Enrollment {
            status: to,
            updated_at: now(),
            ..before.clone()
        };
        Self::write_status(
            &mut tx,
            actor,
            tenant,
            Some(&before),
            &after,
            "enrollment.approved",
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn record_activity(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        activity: Activity,
        material: Option<ObjectId>,
    ) -> StoreResult<Enrollment> {
        let mut tx = self.begin().await?;
        let c = Self::load_course(&mut tx, tenant, course).await?;
        let before = Self::load_enrollment(&mut tx, tenant, course, user).await?;
        // Refused before anything is recorded when the learner has no access.
        lifecycle::after_activity(c.course_type, before.status, activity, Progress::default())?;
        if activity == Activity::CompletedMaterial {
            let Some(material) = material else {
                return Err(StoreError::Rule(
                    "a completed_material activity names the material".into(),
                ));
            };
            let (found,): (i64,) = sqlx::query_as::<DB, (i64,)>(
                "SELECT COUNT(*) FROM materials WHERE tenant_id = $1 AND course_id = $2 AND id = $3",
            )
            .bind(tenant.to_string())
            .bind(course.to_string())
            .bind(material.to_string())
            .fetch_one(&mut *tx)
            .await?;
            if found == 0 {
                return Err(StoreError::MissingReference {
                    field: "material",
                    value: material.to_string(),
                });
            }
            sqlx::query::<DB>(
                "INSERT INTO material_progress (tenant_id, material_id, user_id, completed_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (material_id, user_id) DO NOTHING",
            )
            .bind(tenant.to_string())
            .bind(material.to_string())
            .bind(user.to_string())
            .bind(to_millis(now()))
            .execute(&mut *tx)
            .await?;
        }
        let (materials, completed): (i64, i64) = sqlx::query_as::<DB, (i64, i64)>(
            "SELECT (SELECT COUNT(*) FROM materials WHERE course_id = $1), \
             (SELECT COUNT(*) FROM material_progress p JOIN materials m ON m.id = p.material_id \
              WHERE m.course_id = $1 AND p.user_id = $2)",
        )
        .bind(course.to_string())
        .bind(user.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let progress = Progress {
            materials: u32::try_from(materials).unwrap_or(u32::MAX),
            materials_completed: u32::try_from(completed).unwrap_or(u32::MAX),
            ..Progress::default()
        };
        let to = lifecycle::after_activity(c.course_type, before.status, activity, progress)?;
        let after = Enrollment {
            status: to,
            updated_at: now(),
            ..before.clone()
        };
        if to != before.status {
            Self::write_status(
                &mut tx,
                actor,
                tenant,
                Some(&before),
                &after,
                "enrollment.progressed",
            )
            .await?;
        }
        Self::activate_by_activity(&mut tx, actor, tenant, user).await?;
        tx.commit().await?;
        Ok(if to != before.status { after } else { before })
    }

    async fn create_plan(
        &self,
        actor: &Actor,
        tenant: TenantId,
        title: Name,
        courses: Vec<ObjectId>,
    ) -> StoreResult<LearningPlan> {
        let plan = LearningPlan {
            id: ObjectId::from_uuid(uuid::Uuid::now_v7()),
            tenant_id: tenant,
            title,
            courses,
        };
        let mut tx = self.begin().await?;
        Self::load_tenant(&mut tx, tenant).await?;
        sqlx::query::<DB>(
            "INSERT INTO learning_plans (id, tenant_id, title, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(plan.id.to_string())
        .bind(tenant.to_string())
        .bind(plan.title.to_string())
        .bind(to_millis(now()))
        .execute(&mut *tx)
        .await?;
        for (position, course) in plan.courses.iter().enumerate() {
            Self::load_course(&mut tx, tenant, *course)
                .await
                .map_err(|e| match e {
                    // Only a missing course is a bad reference; an outage stays an outage.
                    StoreError::NotFound { .. } => StoreError::MissingReference {
                        field: "courses",
                        value: course.to_string(),
                    },
                    other => other,
                })?;
            sqlx::query::<DB>(
                "INSERT INTO learning_plan_courses (tenant_id, plan_id, course_id, position) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant.to_string())
            .bind(plan.id.to_string())
            .bind(course.to_string())
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_write(e, &[("course_id", &course.to_string())], &[]))
            .map_err(|e| match e {
                StoreError::Conflict { value, .. } => StoreError::Conflict {
                    field: "courses",
                    value: format!("{value} appears twice"),
                },
                other => other,
            })?;
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "learning_plan.created",
                entity: "learning_plan",
                entity_id: plan.id.to_string(),
                before: None,
                after: Some(serde_json::json!({ "title": plan.title, "courses": plan.courses })),
                access: vec![Change::UpsertObject(plan.learning_object())],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(plan)
    }

    async fn enroll_in_plan(
        &self,
        actor: &Actor,
        tenant: TenantId,
        plan: ObjectId,
        user: UserId,
    ) -> StoreResult<Vec<Enrollment>> {
        let mut tx = self.begin().await?;
        let found: Option<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT id FROM learning_plans WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.to_string())
        .bind(plan.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        found.ok_or_else(|| StoreError::not_found("learning plan", plan))?;
        let courses: Vec<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT c.course_id FROM learning_plan_courses c WHERE c.tenant_id = $1 \
             AND c.plan_id = $2 AND NOT EXISTS (SELECT 1 FROM enrollments e \
             WHERE e.tenant_id = c.tenant_id AND e.course_id = c.course_id AND e.user_id = $3) \
             ORDER BY c.position",
        )
        .bind(tenant.to_string())
        .bind(plan.to_string())
        .bind(user.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut made = Vec::with_capacity(courses.len());
        for (course,) in courses {
            let course = ObjectId::from_uuid(uuid("learning plan", &course)?);
            made.push(Self::enroll_in(&mut tx, actor, tenant, course, user).await?);
        }
        tx.commit().await?;
        Ok(made)
    }

    async fn plan(&self, tenant: TenantId, id: ObjectId) -> StoreResult<LearningPlan> {
        let row: Option<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT title FROM learning_plans WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        let (title,) = row.ok_or_else(|| StoreError::not_found("learning plan", id))?;
        let courses: Vec<(String,)> = sqlx::query_as::<DB, (String,)>(
            "SELECT course_id FROM learning_plan_courses WHERE plan_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        Ok(LearningPlan {
            id,
            tenant_id: tenant,
            title: Name::parse("title", &title).map_err(|e| corrupt("learning plan", e))?,
            courses: courses
                .into_iter()
                .map(|(c,)| uuid("learning plan", &c).map(ObjectId::from_uuid))
                .collect::<StoreResult<_>>()?,
        })
    }

    async fn delete_course(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let course = Self::load_course(&mut tx, tenant, id).await?;
        let mut forget: Vec<ObjectRef> = Vec::new();
        let materials: Vec<(String,)> =
            sqlx::query_as::<DB, (String,)>("SELECT id FROM materials WHERE course_id = $1")
                .bind(id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        for (m,) in materials {
            forget.push(ObjectRef::new(
                ObjectKind::Lesson,
                ObjectId::from_uuid(uuid("material", &m)?),
            ));
        }
        let sessions: Vec<(String, String)> = sqlx::query_as::<DB, (String, String)>(
            "SELECT id, kind FROM sessions WHERE course_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        for (s, kind) in sessions {
            forget.push(session_ref(&s, &kind)?);
        }
        forget.push(course.object());
        // Progress rows hang off materials and bookings off sessions; both cascade.
        sqlx::query::<DB>("DELETE FROM courses WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "course.deleted",
                entity: "course",
                entity_id: id.to_string(),
                before: Some(course_json(&course)),
                after: None,
                access: forget
                    .into_iter()
                    .map(|object| Change::RemoveObject { object })
                    .collect(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_material(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        material: ObjectId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query::<DB>(
            "DELETE FROM materials WHERE tenant_id = $1 AND course_id = $2 AND id = $3",
        )
        .bind(tenant.to_string())
        .bind(course.to_string())
        .bind(material.to_string())
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::not_found("material", material));
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "material.deleted",
                entity: "material",
                entity_id: material.to_string(),
                before: Some(serde_json::json!({ "course": course })),
                after: None,
                access: vec![Change::RemoveObject {
                    object: ObjectRef::new(ObjectKind::Lesson, material),
                }],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unenroll(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let before = Self::load_enrollment(&mut tx, tenant, course, user).await?;
        let booked: Vec<(String, String)> = sqlx::query_as::<DB, (String, String)>(
            "SELECT s.id, s.kind FROM bookings b JOIN sessions s ON s.id = b.session_id \
             WHERE s.course_id = $1 AND b.user_id = $2",
        )
        .bind(course.to_string())
        .bind(user.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut forget = Vec::with_capacity(booked.len() + 1);
        for (session, kind) in booked {
            forget.push(Change::RemoveBooking {
                user,
                session: session_ref(&session, &kind)?,
            });
        }
        forget.push(Change::RemoveEnrollment { user, course });
        for statement in [
            "DELETE FROM bookings WHERE tenant_id = $1 AND user_id = $3 \
             AND session_id IN (SELECT id FROM sessions WHERE course_id = $2)",
            "DELETE FROM material_progress WHERE tenant_id = $1 AND user_id = $3 \
             AND material_id IN (SELECT id FROM materials WHERE course_id = $2)",
            "DELETE FROM enrollments WHERE tenant_id = $1 AND course_id = $2 AND user_id = $3",
        ] {
            sqlx::query::<DB>(statement)
                .bind(tenant.to_string())
                .bind(course.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "enrollment.deleted",
                entity: "enrollment",
                entity_id: format!("{course}:{user}"),
                before: Some(enrollment_json(&before)),
                after: None,
                access: forget,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_plan(&self, actor: &Actor, tenant: TenantId, id: ObjectId) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query::<DB>("DELETE FROM learning_plans WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if DB::rows_affected(&done) == 0 {
            return Err(StoreError::not_found("learning plan", id));
        }
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "learning_plan.deleted",
                entity: "learning_plan",
                entity_id: id.to_string(),
                before: None,
                after: None,
                access: vec![Change::RemoveObject {
                    object: ObjectRef::new(ObjectKind::LearningPlan, id),
                }],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
