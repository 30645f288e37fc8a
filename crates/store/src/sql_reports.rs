//! [`ReportStore`] on the same generic SQL store: the enrollment rows reports are made of, cut
//! to a course, a group (with the groups nested in it) or a team and a range of enrollment
//! dates. Who may see which row is the engine's answer, asked by the caller row by row.

use async_trait::async_trait;
use registrar_domain::access::{EnrollmentStatus, ObjectId};
use registrar_domain::ids::{GroupId, TenantId, UserId};
use registrar_domain::text::{Name, Username};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::rows::{corrupt, from_millis, to_millis, uuid};
use crate::sql::SqlStore;
use crate::{StoreError, StoreResult};

/// Which enrollments a report covers; `None` leaves a dimension open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub course: Option<ObjectId>,
    /// Members of the group or of a group nested in it.
    pub group: Option<GroupId>,
    pub team: Option<ObjectId>,
    /// Enrolled from this moment on (inclusive).
    pub from: Option<OffsetDateTime>,
    /// Enrolled before this moment (exclusive).
    pub to: Option<OffsetDateTime>,
}

/// One enrollment with its learner, course and progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub user: UserId,
    pub username: Username,
    pub display_name: Name,
    pub course: ObjectId,
    pub title: Name,
    pub status: EnrollmentStatus,
    pub enrolled_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub materials: u32,
    pub completed: u32,
}

/// Most rows one report reads; a report over more is cut (and says so).
pub const REPORT_ROWS: usize = 200_000;

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// The enrollments `filter` covers, by username then course title; at most
    /// [`REPORT_ROWS`] + 1, so that the caller can tell a report was cut.
    async fn report(&self, tenant: TenantId, filter: &ReportFilter) -> StoreResult<Vec<ReportRow>>;
    /// Every (team, team name, member) of the tenant, for reports by team.
    async fn team_memberships(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<(ObjectId, Name, UserId)>>;
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
);

#[async_trait]
impl<DB> ReportStore for SqlStore<DB>
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
    async fn report(&self, tenant: TenantId, filter: &ReportFilter) -> StoreResult<Vec<ReportRow>> {
        let text = |v: Option<String>| v.unwrap_or_default();
        let rows: Vec<Row> = sqlx::query_as::<DB, Row>(
            "WITH RECURSIVE down (id) AS ( \
                 SELECT id FROM groups WHERE tenant_id = $1 AND id = $2 \
                 UNION SELECT g.id FROM groups g JOIN down ON g.parent_id = down.id \
                 WHERE g.tenant_id = $1) \
             SELECT e.user_id, u.username, u.display_name, e.course_id, c.title, e.status, \
             e.enrolled_at, e.updated_at, \
             (SELECT COUNT(*) FROM materials m WHERE m.tenant_id = e.tenant_id \
              AND m.course_id = e.course_id), \
             (SELECT COUNT(*) FROM material_progress p JOIN materials m \
              ON m.tenant_id = p.tenant_id AND m.id = p.material_id \
              WHERE p.tenant_id = e.tenant_id AND p.user_id = e.user_id \
              AND m.course_id = e.course_id) \
             FROM enrollments e \
             JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id \
             JOIN courses c ON c.tenant_id = e.tenant_id AND c.id = e.course_id \
             WHERE e.tenant_id = $1 AND ($3 = '' OR e.course_id = $3) \
             AND ($2 = '' OR e.user_id IN (SELECT user_id FROM group_members \
                 WHERE tenant_id = $1 AND group_id IN (SELECT id FROM down))) \
             AND ($4 = '' OR e.user_id IN (SELECT user_id FROM team_members \
                 WHERE tenant_id = $1 AND team_id = $4)) \
             AND e.enrolled_at >= $5 AND e.enrolled_at < $6 \
             ORDER BY u.username, c.title, c.id LIMIT $7",
        )
        .bind(tenant.to_string())
        .bind(text(filter.group.map(|g| g.to_string())))
        .bind(text(filter.course.map(|c| c.to_string())))
        .bind(text(filter.team.map(|t| t.to_string())))
        .bind(filter.from.map_or(i64::MIN, to_millis))
        .bind(filter.to.map_or(i64::MAX, to_millis))
        .bind(i64::try_from(REPORT_ROWS + 1).unwrap_or(i64::MAX))
        .fetch_all(&self.read)
        .await?;
        const E: &str = "enrollment";
        let count = |n: i64| u32::try_from(n).map_err(|e| corrupt(E, e));
        rows.into_iter()
            .map(
                |(user, username, display, course, title, status, at, updated, m, done)| {
                    Ok(ReportRow {
                        user: UserId::from_uuid(uuid(E, &user)?),
                        username: Username::parse(&username).map_err(|e| corrupt("user", e))?,
                        display_name: Name::parse("display name", &display)
                            .map_err(|e| corrupt("user", e))?,
                        course: ObjectId::from_uuid(uuid(E, &course)?),
                        title: Name::parse("title", &title).map_err(|e| corrupt("course", e))?,
                        status: EnrollmentStatus::parse(&status).map_err(|e| corrupt(E, e))?,
                        enrolled_at: from_millis(E, at)?,
                        updated_at: from_millis(E, updated)?,
                        materials: count(m)?,
                        completed: count(done)?,
                    })
                },
            )
            .collect::<Result<_, StoreError>>()
    }

    async fn team_memberships(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<(ObjectId, Name, UserId)>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as::<DB, (String, String, String)>(
            "SELECT t.id, t.name, m.user_id FROM teams t JOIN team_members m \
             ON m.tenant_id = t.tenant_id AND m.team_id = t.id \
             WHERE t.tenant_id = $1 ORDER BY t.name, t.id",
        )
        .bind(tenant.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(team, name, user)| {
                Ok((
                    ObjectId::from_uuid(uuid("team", &team)?),
                    Name::parse("name", &name).map_err(|e| corrupt("team", e))?,
                    UserId::from_uuid(uuid("team", &user)?),
                ))
            })
            .collect()
    }
}
