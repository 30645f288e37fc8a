//! [`SessionStore`] on the same generic SQL store: sessions and events of a course, bookings,
//! approvals and attendance. The booking rules (`domain::session`) run inside the transaction,
//! and every booking change that moves the course enrollment writes that enrollment too, with
//! its engine change, so the decision engine's enrollment vetoes follow.

use async_trait::async_trait;
use registrar_domain::access::{Change, ObjectId, ObjectKind, ObjectRef};
use registrar_domain::course::Enrollment;
use registrar_domain::ids::{TenantId, UserId};
use registrar_domain::lifecycle::{self, Activity, CourseType, Progress};
use registrar_domain::session::{self, Booking, BookingStatus, Session, SessionKind};
use registrar_domain::text::Name;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

use crate::backend::Backend;
use crate::rows::{corrupt, from_millis, to_millis, uuid};
use crate::sql::{Entry, SqlStore, convert, now};
use crate::{
    Actor, BookingOutcome, LearningItem, NewMail, NewSession, SessionPatch, SessionStore,
    StoreError, StoreResult,
};

const SESSION_COLUMNS: &str =
    "id, tenant_id, course_id, kind, title, starts_at, ends_at, capacity, approval_required";
const BOOKING_COLUMNS: &str = "session_id, user_id, status, booked_at, updated_at";

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    tenant_id: String,
    course_id: String,
    kind: String,
    title: String,
    starts_at: i64,
    ends_at: i64,
    capacity: Option<i64>,
    approval_required: bool,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        let c = |e: registrar_domain::ValidationError| corrupt("session", e);
        Ok(Session {
            id: ObjectId::from_uuid(uuid("session", &r.id)?),
            tenant_id: TenantId::from_uuid(uuid("session", &r.tenant_id)?),
            course: ObjectId::from_uuid(uuid("session", &r.course_id)?),
            kind: SessionKind::parse(&r.kind).map_err(c)?,
            title: Name::parse("title", &r.title).map_err(c)?,
            starts_at: from_millis("session", r.starts_at)?,
            ends_at: from_millis("session", r.ends_at)?,
            capacity: r
                .capacity
                .map(|n| u32::try_from(n).map_err(|e| corrupt("session", e)))
                .transpose()?,
            approval_required: r.approval_required,
        })
    }
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    session_id: String,
    user_id: String,
    status: String,
    booked_at: i64,
    updated_at: i64,
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;
    fn try_from(r: BookingRow) -> Result<Self, StoreError> {
        Ok(Booking {
            session: ObjectId::from_uuid(uuid("booking", &r.session_id)?),
            user: UserId::from_uuid(uuid("booking", &r.user_id)?),
            status: BookingStatus::parse(&r.status).map_err(|e| corrupt("booking", e))?,
            booked_at: from_millis("booking", r.booked_at)?,
            updated_at: from_millis("booking", r.updated_at)?,
        })
    }
}

/// A session or event as the engine names it, from its stored id and kind.
pub(crate) fn session_ref(id: &str, kind: &str) -> StoreResult<ObjectRef> {
    let kind = SessionKind::parse(kind).map_err(|e| corrupt("session", e))?;
    Ok(ObjectRef::new(
        kind.object_kind(),
        ObjectId::from_uuid(uuid("session", id)?),
    ))
}

fn session_json(s: &Session) -> serde_json::Value {
    serde_json::json!({
        "id": s.id, "course": s.course, "kind": s.kind.code(), "title": s.title,
        "starts_at": to_millis(s.starts_at), "ends_at": to_millis(s.ends_at),
        "capacity": s.capacity, "approval_required": s.approval_required,
    })
}

fn booking_json(b: &Booking) -> serde_json::Value {
    serde_json::json!({ "session": b.session, "user": b.user, "status": b.status.code() })
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
    async fn load_session(
        tx: &mut DB::Connection,
        tenant: TenantId,
        id: ObjectId,
    ) -> StoreResult<Session> {
        let sql =
            format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2");
        sqlx::query_as::<DB, SessionRow>(&sql)
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::not_found("session", id))?
            .try_into()
    }

    async fn load_booking(
        tx: &mut DB::Connection,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<Booking> {
        let sql = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings \
             WHERE tenant_id = $1 AND session_id = $2 AND user_id = $3"
        );
        sqlx::query_as::<DB, BookingRow>(&sql)
            .bind(tenant.to_string())
            .bind(session.to_string())
            .bind(user.to_string())
            .fetch_optional(tx)
            .await?
            .ok_or_else(|| StoreError::Rule(format!("user {user} is not booked on {session}")))?
            .try_into()
    }

    /// The learner's enrollment in the session's course; booking needs one.
    async fn enrollment_for(
        tx: &mut DB::Connection,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment> {
        Self::load_enrollment(tx, tenant, course, user)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => StoreError::Rule(format!(
                    "user {user} is not enrolled in course {course}: enroll them before booking"
                )),
                other => other,
            })
    }

    /// Places taken on a session, by the domain's rule of which bookings hold one.
    async fn seats_taken(tx: &mut DB::Connection, session: ObjectId) -> StoreResult<u32> {
        let holding: Vec<String> = BookingStatus::ALL
            .into_iter()
            .filter(|s| s.takes_a_place())
            .map(|s| format!("'{}'", s.code()))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM bookings WHERE session_id = $1 AND status IN ({})",
            holding.join(", ")
        );
        let (n,): (i64,) = sqlx::query_as::<DB, (i64,)>(&sql)
            .bind(session.to_string())
            .fetch_one(tx)
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn write_session(tx: &mut DB::Connection, s: &Session, insert: bool) -> StoreResult<()> {
        let sql = if insert {
            "INSERT INTO sessions (id, tenant_id, course_id, kind, title, starts_at, ends_at, \
             capacity, approval_required, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        } else {
            "UPDATE sessions SET course_id = $3, kind = $4, title = $5, starts_at = $6, \
             ends_at = $7, capacity = $8, approval_required = $9 \
             WHERE id = $1 AND tenant_id = $2"
        };
        sqlx::query::<DB>(sql)
            .bind(s.id.to_string())
            .bind(s.tenant_id.to_string())
            .bind(s.course.to_string())
            .bind(s.kind.code().to_owned())
            .bind(s.title.to_string())
            .bind(to_millis(s.starts_at))
            .bind(to_millis(s.ends_at))
            .bind(s.capacity.map(i64::from))
            .bind(s.approval_required)
            .bind(to_millis(now()))
            .execute(tx)
            .await?;
        Ok(())
    }

    async fn write_booking(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        session_ref: ObjectRef,
        before: Option<&Booking>,
        after: &Booking,
        action: &'static str,
    ) -> StoreResult<()> {
        let sql = if before.is_some() {
            "UPDATE bookings SET status = $4, updated_at = $6 \
             WHERE tenant_id = $1 AND session_id = $2 AND user_id = $3"
        } else {
            "INSERT INTO bookings (tenant_id, session_id, user_id, status, booked_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        };
        sqlx::query::<DB>(sql)
            .bind(tenant.to_string())
            .bind(after.session.to_string())
            .bind(after.user.to_string())
            .bind(after.status.code().to_owned())
            .bind(to_millis(after.booked_at))
            .bind(to_millis(after.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::from_write(
                    e,
                    &[(
                        "session_id",
                        &format!("{} on {}", after.user, after.session),
                    )],
                    &[],
                )
            })?;
        Self::record(
            tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action,
                entity: "booking",
                entity_id: format!("{}:{}", after.session, after.user),
                before: before.map(booking_json),
                after: Some(booking_json(after)),
                access: vec![Change::SetBooking {
                    user: after.user,
                    session: session_ref,
                    status: after.status,
                }],
            },
        )
        .await?;
        Ok(())
    }

    /// Moves the course enrollment after a booking change: `to_confirm` while any of the
    /// learner's bookings in the course awaits approval (`domain::session`).
    async fn follow_bookings(
        tx: &mut DB::Connection,
        actor: &Actor,
        tenant: TenantId,
        before: Enrollment,
    ) -> StoreResult<Enrollment> {
        let awaiting = Self::course_bookings(&mut *tx, before.course, before.user)
            .await?
            .iter()
            .any(|(status, _)| status.awaits_approval());
        let to = session::enrollment_after_bookings(before.status, awaiting);
        if to == before.status {
            return Ok(before);
        }
        let after = Enrollment {
            status: to,
            updated_at: now(),
            ..before.clone()
        };
        Self::write_status(
            tx,
            actor,
            tenant,
            Some(&before),
            &after,
            "enrollment.status_from_bookings",
        )
        .await?;
        Ok(after)
    }

    /// Instructor-led progress: the learner's bookings in the course that count towards
    /// completing it, and those attended, as the domain's booking statuses say.
    async fn session_progress(
        tx: &mut DB::Connection,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Progress> {
        let counts = Self::course_bookings(tx, course, user).await?;
        let count = |keep: fn(BookingStatus) -> bool| {
            let n: i64 = counts
                .iter()
                .filter(|(s, _)| keep(*s))
                .map(|(_, n)| n)
                .sum();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        Ok(Progress {
            sessions: count(BookingStatus::counts_towards_completion),
            sessions_attended: count(|s| s == BookingStatus::Attended),
            ..Progress::default()
        })
    }

    /// The learner's bookings on the sessions of a course, counted per status.
    async fn course_bookings(
        tx: &mut DB::Connection,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Vec<(BookingStatus, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as::<DB, (String, i64)>(
            "SELECT b.status, COUNT(*) FROM bookings b JOIN sessions s ON s.id = b.session_id \
             WHERE s.course_id = $1 AND b.user_id = $2 GROUP BY b.status",
        )
        .bind(course.to_string())
        .bind(user.to_string())
        .fetch_all(tx)
        .await?;
        rows.into_iter()
            .map(|(status, n)| {
                BookingStatus::parse(&status)
                    .map(|s| (s, n))
                    .map_err(|e| corrupt("booking", e))
            })
            .collect()
    }
}

#[async_trait]
impl<DB> SessionStore for SqlStore<DB>
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
    async fn create_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewSession,
    ) -> StoreResult<Session> {
        session::check_dates(new.starts_at, new.ends_at)?;
        let mut tx = self.begin().await?;
        let course = Self::load_course(&mut tx, tenant, new.course).await?;
        session::check_kind(new.kind, course.course_type)?;
        let s = Session {
            id: ObjectId::from_uuid(uuid::Uuid::now_v7()),
            tenant_id: tenant,
            course: new.course,
            kind: new.kind,
            title: new.title,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            capacity: new.capacity,
            approval_required: new.approval_required,
        };
        Self::write_session(&mut tx, &s, true).await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "session.created",
                entity: s.kind.code(),
                entity_id: s.id.to_string(),
                before: None,
                after: Some(session_json(&s)),
                access: vec![Change::UpsertObject(s.learning_object())],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    async fn session(&self, tenant: TenantId, id: ObjectId) -> StoreResult<Session> {
        let mut tx = self.snapshot().await?;
        Self::load_session(&mut tx, tenant, id).await
    }

    async fn find_learning_items(
        &self,
        tenant: TenantId,
        search: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<LearningItem>> {
        let rows = sqlx::query_as::<DB, (String, String, String, String)>(
            "SELECT s.id, s.kind, s.title, c.title FROM sessions s \
             JOIN courses c ON c.tenant_id = s.tenant_id AND c.id = s.course_id \
             WHERE s.tenant_id = $1 AND LOWER(s.title) LIKE $2 ESCAPE '\\' \
             UNION ALL \
             SELECT m.id, 'lesson', m.title, c.title FROM materials m \
             JOIN courses c ON c.tenant_id = m.tenant_id AND c.id = m.course_id \
             WHERE m.tenant_id = $1 AND LOWER(m.title) LIKE $2 ESCAPE '\\' \
             ORDER BY 3, 1 LIMIT $3",
        )
        .bind(tenant.to_string())
        .bind(crate::sql::like_pattern(search))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, kind, title, course)| {
                let object = if kind == "lesson" {
                    ObjectRef::new(
                        ObjectKind::Lesson,
                        ObjectId::from_uuid(uuid("material", &id)?),
                    )
                } else {
                    session_ref(&id, &kind)?
                };
                Ok(LearningItem {
                    object,
                    title,
                    course,
                })
            })
            .collect()
    }

    async fn course_sessions(
        &self,
        tenant: TenantId,
        course: ObjectId,
    ) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 AND course_id = $2 \
             ORDER BY starts_at, id"
        );
        let rows = sqlx::query_as::<DB, SessionRow>(&sql)
            .bind(tenant.to_string())
            .bind(course.to_string())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn update_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
        patch: SessionPatch,
    ) -> StoreResult<Session> {
        let mut tx = self.begin().await?;
        let before = Self::load_session(&mut tx, tenant, id).await?;
        let mut after = before.clone();
        if let Some(v) = patch.title {
            after.title = v;
        }
        if let Some(v) = patch.starts_at {
            after.starts_at = v;
        }
        if let Some(v) = patch.ends_at {
            after.ends_at = v;
        }
        if let Some(v) = patch.capacity {
            after.capacity = v;
        }
        if let Some(v) = patch.approval_required {
            after.approval_required = v;
        }
        session::check_dates(after.starts_at, after.ends_at)?;
        if after == before {
            return Ok(before);
        }
        Self::write_session(&mut tx, &after, false).await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "session.updated",
                entity: after.kind.code(),
                entity_id: id.to_string(),
                before: Some(session_json(&before)),
                after: Some(session_json(&after)),
                access: vec![],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn book(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
        notify: Vec<NewMail>,
    ) -> StoreResult<BookingOutcome> {
        let mut tx = self.begin().await?;
        let s = Self::load_session(&mut tx, tenant, session).await?;
        let enrollment = Self::enrollment_for(&mut tx, tenant, s.course, user).await?;
        let taken = Self::seats_taken(&mut tx, session).await?;
        let status =
            session::new_booking(enrollment.status, s.approval_required, s.capacity, taken)?;
        let at = now();
        let booking = Booking {
            session,
            user,
            status,
            booked_at: at,
            updated_at: at,
        };
        Self::write_booking(
            &mut tx,
            actor,
            tenant,
            s.object(),
            None,
            &booking,
            "booking.created",
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => StoreError::Conflict {
                field: "user",
                value: format!("{user} is already booked on {session}"),
            },
            other => other,
        })?;
        let enrollment = Self::follow_bookings(&mut tx, actor, tenant, enrollment).await?;
        if booking.status.awaits_approval() {
            for mail in &notify {
                Self::queue(&mut tx, tenant, mail, None).await?;
            }
        }
        tx.commit().await?;
        Ok(BookingOutcome {
            booking,
            enrollment,
        })
    }

    async fn bookings(&self, tenant: TenantId, session: ObjectId) -> StoreResult<Vec<Booking>> {
        self.session(tenant, session).await?;
        let sql = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND session_id = $2 \
             ORDER BY booked_at, user_id"
        );
        let rows = sqlx::query_as::<DB, BookingRow>(&sql)
            .bind(tenant.to_string())
            .bind(session.to_string())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    async fn approve_booking(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<BookingOutcome> {
        let mut tx = self.begin().await?;
        let s = Self::load_session(&mut tx, tenant, session).await?;
        let before = Self::load_booking(&mut tx, tenant, session, user).await?;
        let taken = Self::seats_taken(&mut tx, session).await?;
        let after = Booking {
            status: session::approve_booking(before.status, s.capacity, taken)?,
            updated_at: now(),
            ..before.clone()
        };
        Self::write_booking(
            &mut tx,
            actor,
            tenant,
            s.object(),
            Some(&before),
            &after,
            "booking.approved",
        )
        .await?;
        let enrollment = Self::enrollment_for(&mut tx, tenant, s.course, user).await?;
        let enrollment = Self::follow_bookings(&mut tx, actor, tenant, enrollment).await?;
        tx.commit().await?;
        Ok(BookingOutcome {
            booking: after,
            enrollment,
        })
    }

    async fn record_attendance(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<BookingOutcome> {
        let mut tx = self.begin().await?;
        let s = Self::load_session(&mut tx, tenant, session).await?;
        let course = Self::load_course(&mut tx, tenant, s.course).await?;
        let before = Self::load_booking(&mut tx, tenant, session, user).await?;
        let enrollment = Self::enrollment_for(&mut tx, tenant, s.course, user).await?;
        let status_here = session::enrollment_for_attending(enrollment.status, before.status);
        let after = Booking {
            status: session::attend(before.status)?,
            updated_at: now(),
            ..before.clone()
        };
        let enrollment = if course.course_type == CourseType::InstructorLed {
            lifecycle::after_activity(
                course.course_type,
                status_here,
                Activity::AttendedSession,
                Progress::default(),
            )?;
            if after != before {
                Self::write_booking(
                    &mut tx,
                    actor,
                    tenant,
                    s.object(),
                    Some(&before),
                    &after,
                    "booking.attended",
                )
                .await?;
            }
            let progress = Self::session_progress(&mut tx, s.course, user).await?;
            let to = lifecycle::after_activity(
                course.course_type,
                status_here,
                Activity::AttendedSession,
                progress,
            )?;
            if to == enrollment.status {
                enrollment
            } else {
                let moved = Enrollment {
                    status: to,
                    updated_at: now(),
                    ..enrollment.clone()
                };
                Self::write_status(
                    &mut tx,
                    actor,
                    tenant,
                    Some(&enrollment),
                    &moved,
                    "enrollment.progressed",
                )
                .await?;
                moved
            }
        } else {
            // An event of an e-learning course: attendance is recorded; the course completes
            // by its materials.
            lifecycle::after_activity(
                course.course_type,
                status_here,
                Activity::OpenedCourse,
                Progress::default(),
            )?;
            if after != before {
                Self::write_booking(
                    &mut tx,
                    actor,
                    tenant,
                    s.object(),
                    Some(&before),
                    &after,
                    "booking.attended",
                )
                .await?;
            }
            enrollment
        };
        Self::activate_by_activity(&mut tx, actor, tenant, user).await?;
        tx.commit().await?;
        Ok(BookingOutcome {
            booking: after,
            enrollment,
        })
    }

    async fn cancel_booking(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<BookingOutcome> {
        let mut tx = self.begin().await?;
        let s = Self::load_session(&mut tx, tenant, session).await?;
        let booking = Self::load_booking(&mut tx, tenant, session, user).await?;
        sqlx::query::<DB>(
            "DELETE FROM bookings WHERE tenant_id = $1 AND session_id = $2 AND user_id = $3",
        )
        .bind(tenant.to_string())
        .bind(session.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "booking.cancelled",
                entity: "booking",
                entity_id: format!("{session}:{user}"),
                before: Some(booking_json(&booking)),
                after: None,
                access: vec![Change::RemoveBooking {
                    user,
                    session: s.object(),
                }],
            },
        )
        .await?;
        let enrollment = Self::enrollment_for(&mut tx, tenant, s.course, user).await?;
        let enrollment = Self::follow_bookings(&mut tx, actor, tenant, enrollment).await?;
        tx.commit().await?;
        Ok(BookingOutcome {
            booking,
            enrollment,
        })
    }

    async fn delete_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let s = Self::load_session(&mut tx, tenant, id).await?;
        let bookings: Vec<(String, String)> = sqlx::query_as::<DB, (String, String)>(
            "SELECT user_id, status FROM bookings WHERE session_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut awaiting = Vec::new();
        for (user, status) in bookings {
            let status = BookingStatus::parse(&status).map_err(|e| corrupt("booking", e))?;
            if status.awaits_approval() {
                awaiting.push((user,));
            }
        }
        sqlx::query::<DB>("DELETE FROM sessions WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        Self::record(
            &mut tx,
            Entry {
                tenant: Some(tenant),
                actor,
                action: "session.deleted",
                entity: s.kind.code(),
                entity_id: id.to_string(),
                before: Some(session_json(&s)),
                after: None,
                access: vec![Change::RemoveObject { object: s.object() }],
            },
        )
        .await?;
        for (user,) in awaiting {
            let user = UserId::from_uuid(uuid("booking", &user)?);
            let enrollment = Self::enrollment_for(&mut tx, tenant, s.course, user).await?;
            Self::follow_bookings(&mut tx, actor, tenant, enrollment).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
