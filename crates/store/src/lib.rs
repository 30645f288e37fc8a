//! Registrar's persistence.
//!
//! Architecture invariant: this is the only crate that speaks SQL. One [`Store`] trait; one
//! implementation, [`SqlStore`], generic over the sqlx backend and instantiated for SQLite and
//! PostgreSQL with the same statements, so the contract tests prove both. Every write happens in
//! one transaction together with its row in the change log, which is the audit log too.

mod backend;
mod error;
mod records;
mod rows;
mod sql;
mod sql_courses;
mod sql_deploy;
mod sql_import;
mod sql_invitations;
mod sql_mail;
mod sql_reports;
mod sql_scim;
mod sql_sessions;
mod sql_teams;
#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{Backend, connect};
pub use error::{StoreError, StoreResult};
pub use records::*;
pub use sql::SqlStore;
pub use sql_deploy::{Deployment, DeploymentStore};
pub use sql_import::{ImportOp, ImportSession, ImportStore};
pub use sql_invitations::{GroupInvitation, InvitationStore, NewGroupInvitation};
pub use sql_reports::{REPORT_ROWS, ReportFilter, ReportRow, ReportStore};
pub use sql_scim::{
    LeaverPolicy, ScimGroupRecord, ScimGroupWrite, ScimLookup, ScimStore, ScimUserRecord,
    ScimUserWrite,
};
pub use sql_teams::TeamStore;
/// The database error type inside [`StoreError::Database`], so callers can tell an outage from a
/// bug without depending on sqlx themselves.
pub use sqlx::Error as DatabaseError;

use async_trait::async_trait;
use registrar_domain::access::{EnrollmentStatus, ObjectId, ObjectRef};
use registrar_domain::course::{Course, Enrollment, LearningPlan, Material};
use registrar_domain::group::Group;
use registrar_domain::ids::{GroupId, TenantId, TokenId, UserId};
use registrar_domain::lifecycle::{Activity, AppAccess};
use registrar_domain::session::{Booking, Session};
use registrar_domain::tenant::{Tenant, TenantSlug};
use registrar_domain::text::{Name, Username};
use registrar_domain::user::User;

/// Courses, materials, enrollments and learning plans. Lifecycle rules run inside the
/// transaction, so a status is never written without the rule that allows it.
#[async_trait]
pub trait CourseStore: Send + Sync {
    async fn create_course(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewCourse,
    ) -> StoreResult<Course>;
    async fn course(&self, tenant: TenantId, id: ObjectId) -> StoreResult<Course>;
    async fn list_courses(&self, tenant: TenantId, page: &PageRequest)
    -> StoreResult<Page<Course>>;
    async fn update_course(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
        patch: CoursePatch,
    ) -> StoreResult<Course>;
    /// Appends a material at the end of the course.
    async fn add_material(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        title: Name,
    ) -> StoreResult<Material>;
    async fn materials(&self, tenant: TenantId, course: ObjectId) -> StoreResult<Vec<Material>>;
    /// Enrolls, waiting when the course needs approval or is full; 409 when already enrolled.
    async fn enroll(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment>;
    /// Enrolls and, in the same transaction, writes the course-level role that comes with the
    /// enrollment, provided the tenant is still at the revision the role was validated at.
    async fn enroll_with_role(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        expected: i64,
        role: LogEntry,
    ) -> StoreResult<Enrollment>;
    async fn enrollment(
        &self,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment>;
    /// A course's enrollments, by user id.
    async fn course_enrollments(
        &self,
        tenant: TenantId,
        course: ObjectId,
        page: &PageRequest,
    ) -> StoreResult<Page<Enrollment>>;
    /// A learner's results: each of their enrollments with its course, status and how many of
    /// the course's materials they completed, by course title.
    async fn results(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<CourseResult>>;
    async fn user_enrollments(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<Enrollment>>;
    /// An administrator's edit, within the allowed transitions.
    async fn set_enrollment_status(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        to: EnrollmentStatus,
    ) -> StoreResult<Enrollment>;
    /// Shows or hides the course in the learner's app.
    async fn set_show_in_app(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        show: bool,
    ) -> StoreResult<Enrollment>;
    /// Lets a waiting learner (or a booking to confirm) in, if there is room.
    async fn approve_enrollment(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<Enrollment>;
    /// Records learning activity and moves the enrollment and the learner's status with it.
    async fn record_activity(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
        activity: Activity,
        material: Option<ObjectId>,
    ) -> StoreResult<Enrollment>;
    async fn create_plan(
        &self,
        actor: &Actor,
        tenant: TenantId,
        title: Name,
        courses: Vec<ObjectId>,
    ) -> StoreResult<LearningPlan>;
    async fn plan(&self, tenant: TenantId, id: ObjectId) -> StoreResult<LearningPlan>;
    /// Enrolls `user` in every course of the plan they are not enrolled in yet, each as a
    /// single enrollment would be (policy and capacity may put them on the waiting list), all in
    /// one transaction. Returns the new enrollments.
    async fn enroll_in_plan(
        &self,
        actor: &Actor,
        tenant: TenantId,
        plan: ObjectId,
        user: UserId,
    ) -> StoreResult<Vec<Enrollment>>;
    /// Deletes a course with its materials, sessions, enrollments and progress; the engine
    /// forgets it, its lessons and sessions, and the grants held there.
    async fn delete_course(&self, actor: &Actor, tenant: TenantId, id: ObjectId)
    -> StoreResult<()>;
    async fn delete_material(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        material: ObjectId,
    ) -> StoreResult<()>;
    /// Takes a learner out of a course, with their bookings and progress in it.
    async fn unenroll(
        &self,
        actor: &Actor,
        tenant: TenantId,
        course: ObjectId,
        user: UserId,
    ) -> StoreResult<()>;
    async fn delete_plan(&self, actor: &Actor, tenant: TenantId, id: ObjectId) -> StoreResult<()>;
}

/// A session, event or lesson found by its title, with its course's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearningItem {
    pub object: ObjectRef,
    pub title: String,
    pub course: String,
}

/// Sessions and events of a course, their bookings, approvals and attendance. Booking rules run
/// inside the transaction, and a booking that moves the course enrollment writes it too.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewSession,
    ) -> StoreResult<Session>;
    async fn session(&self, tenant: TenantId, id: ObjectId) -> StoreResult<Session>;
    /// Sessions, events and lessons of the tenant whose titles contain `search` (any case), by
    /// title, at most `limit`: what a picker suggests as someone types.
    async fn find_learning_items(
        &self,
        tenant: TenantId,
        search: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<LearningItem>>;
    /// A course's sessions and events, by start.
    async fn course_sessions(
        &self,
        tenant: TenantId,
        course: ObjectId,
    ) -> StoreResult<Vec<Session>>;
    async fn update_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
        patch: SessionPatch,
    ) -> StoreResult<Session>;
    /// Books an enrolled learner: to confirm when the session asks for approval, waiting when
    /// it is full; 409 when already booked.
    /// Books `user` onto the session. `notify` is queued in the same transaction when the
    /// booking awaits approval (seed 001: the event's administrators are told), and dropped
    /// otherwise.
    async fn book(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
        notify: Vec<NewMail>,
    ) -> StoreResult<BookingOutcome>;
    async fn bookings(&self, tenant: TenantId, session: ObjectId) -> StoreResult<Vec<Booking>>;
    /// Cancels a booking; an enrollment that was to confirm only because of it moves back.
    async fn cancel_booking(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<BookingOutcome>;
    /// Deletes a session or event with its bookings; enrollments that were to confirm only
    /// because of it move back.
    async fn delete_session(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: ObjectId,
    ) -> StoreResult<()>;
    async fn approve_booking(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<BookingOutcome>;
    /// Marks a confirmed booking attended; attending every session one holds a place on
    /// completes an instructor-led course, and the first activity activates the learner.
    async fn record_attendance(
        &self,
        actor: &Actor,
        tenant: TenantId,
        session: ObjectId,
        user: UserId,
    ) -> StoreResult<BookingOutcome>;
}

/// Learner-app access, invitations and the mail outbox.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// The learner's app access, `None` when switched off.
    async fn app_access(&self, tenant: TenantId, user: UserId) -> StoreResult<Option<AppAccess>>;
    /// The tenant's legal representative, if it has named one.
    async fn legal_representative(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Option<LegalRepresentative>>;
    /// Names the legal representative (or, with `None`, removes it), audited.
    async fn set_legal_representative(
        &self,
        actor: &Actor,
        tenant: TenantId,
        representative: Option<LegalRepresentative>,
    ) -> StoreResult<()>;
    /// The person's last invitation mail: when it was queued and, once the sender took it, when
    /// it was delivered. `None` if they were never invited.
    async fn last_invitation(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<InvitationState>>;
    /// Switches app access on (or moves its end date) for each learner and, where given, sets
    /// the invitation's login details and queues its mail: all of it in one transaction, or
    /// nothing.
    async fn enable_app_access(
        &self,
        actor: &Actor,
        tenant: TenantId,
        grants: Vec<AppAccessGrant>,
    ) -> StoreResult<()>;
    /// Switches app access off; `false` when it was off.
    async fn disable_app_access(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<bool>;
    /// Sets fresh login details and queues the mail that carries them, in one transaction.
    async fn send_invitation(
        &self,
        actor: &Actor,
        tenant: TenantId,
        user: UserId,
        invitation: Invitation,
    ) -> StoreResult<()>;
    async fn tenant_settings(&self, tenant: TenantId) -> StoreResult<TenantSettings>;
    async fn set_tenant_settings(
        &self,
        actor: &Actor,
        tenant: TenantId,
        settings: TenantSettings,
    ) -> StoreResult<()>;
    /// Queued mails not yet delivered, oldest first.
    async fn pending_mail(&self, limit: u32) -> StoreResult<Vec<OutgoingMail>>;
    /// Marks a mail delivered and blanks its body (it may carry login details).
    async fn mark_mail_sent(&self, id: &str) -> StoreResult<()>;
}

/// Everything the server asks of the database. Every tenant-owned read and write takes the tenant
/// explicitly: there is no way to name a row without saying whose it is.
#[async_trait]
pub trait Store:
    CourseStore
    + SessionStore
    + TeamStore
    + DeploymentStore
    + InvitationStore
    + ReportStore
    + MailStore
    + ScimStore
    + ImportStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for logs and metrics.
    fn backend(&self) -> &'static str;
    /// A round trip to the database, for health checks.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes every connection; later calls fail with a database error. For shutdown.
    async fn close(&self);

    /// Creates a tenant and, in the same transaction, its first administrator if one is given:
    /// there is never a tenant that nobody can administer because the second step failed.
    async fn create_tenant(
        &self,
        actor: &Actor,
        new: NewTenant,
        first_admin: Option<NewUser>,
    ) -> StoreResult<(Tenant, Option<User>)>;
    async fn tenant(&self, id: TenantId) -> StoreResult<Tenant>;
    async fn tenant_by_slug(&self, slug: &TenantSlug) -> StoreResult<Tenant>;
    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>>;
    async fn rename_tenant(&self, actor: &Actor, id: TenantId, name: Name) -> StoreResult<Tenant>;

    async fn create_user(&self, actor: &Actor, tenant: TenantId, new: NewUser)
    -> StoreResult<User>;
    /// Creates a person under `id` with the grants that come with them (validated by the
    /// engine for `id`), all in one transaction, provided the tenant is still at revision
    /// `expected`: otherwise nothing is written and the answer is `Stale`.
    async fn create_user_granted(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        new: NewUser,
        expected: i64,
        grants: Vec<LogEntry>,
    ) -> StoreResult<User>;
    async fn user(&self, tenant: TenantId, id: UserId) -> StoreResult<User>;
    async fn user_by_username(&self, tenant: TenantId, username: &Username) -> StoreResult<User>;
    async fn list_users(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<User>>;
    /// The people list: as [`Store::list_users`], optionally only the people whose status on
    /// `today` is `query.status` (an expired account is expired whatever its stored status) and
    /// sorted by name, all in the database, so a status few people have is found without
    /// reading everyone.
    async fn list_people(
        &self,
        tenant: TenantId,
        page: &PageRequest,
        query: &PeopleQuery,
        today: time::Date,
    ) -> StoreResult<Page<User>>;
    async fn update_user(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
    ) -> StoreResult<User>;
    /// A user and their version, read from one snapshot: the version is the revision of the
    /// last change-log row about them (their ETag, the same as the SCIM feed's `meta.version`).
    async fn versioned_user(&self, tenant: TenantId, id: UserId) -> StoreResult<(User, i64)>;
    /// [`Store::update_user`] that, given `expected`, writes only while the user is still at that
    /// version (else [`StoreError::VersionMismatch`], nothing written); checked inside the write
    /// transaction, so of two writers holding the same version one wins and one is told.
    /// Returns the user and their version afterwards.
    async fn update_user_at(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        patch: UserPatch,
        expected: Option<i64>,
    ) -> StoreResult<(User, i64)>;
    /// Sets the status of several users at once: every one exists in the tenant, or none changes.
    async fn set_statuses(
        &self,
        actor: &Actor,
        tenant: TenantId,
        users: &[UserId],
        status: registrar_domain::user::UserStatus,
    ) -> StoreResult<Vec<User>>;
    /// Sets the password hash and ends the user's browser sessions (API tokens stay: they are
    /// revoked one by one).
    async fn set_password_hash(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: UserId,
        hash: String,
    ) -> StoreResult<()>;
    async fn password_hash(&self, tenant: TenantId, id: UserId) -> StoreResult<Option<String>>;

    async fn create_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        new: NewGroup,
    ) -> StoreResult<Group>;
    async fn group(&self, tenant: TenantId, id: GroupId) -> StoreResult<Group>;
    async fn list_groups(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Group>>;
    async fn update_group(
        &self,
        actor: &Actor,
        tenant: TenantId,
        id: GroupId,
        patch: GroupPatch,
    ) -> StoreResult<Group>;
    /// Adds a direct member; `false` when they already were one.
    async fn add_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool>;
    /// Removes a direct member; `false` when they were not one.
    async fn remove_member(
        &self,
        actor: &Actor,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool>;
    /// Direct members, by username.
    async fn group_members(
        &self,
        tenant: TenantId,
        group: GroupId,
        page: &PageRequest,
    ) -> StoreResult<Page<User>>;
    /// Groups the user is a direct member of.
    async fn user_groups(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<Group>>;

    /// Makes `manager` a line manager of `managee`; `false` when they already were.
    async fn add_manager(
        &self,
        actor: &Actor,
        tenant: TenantId,
        link: ManagerLink,
    ) -> StoreResult<bool>;
    async fn remove_manager(
        &self,
        actor: &Actor,
        tenant: TenantId,
        manager: UserId,
        managee: UserId,
    ) -> StoreResult<bool>;
    async fn managers_of(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<ManagerLink>>;
    async fn managees_of(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<ManagerLink>>;

    async fn create_token(&self, actor: &Actor, new: NewToken) -> StoreResult<TokenRecord>;
    /// The live token whose secret hashes to `hash`, if any (expired ones are not returned).
    async fn token_by_secret_hash(&self, hash: &str) -> StoreResult<Option<TokenRecord>>;
    async fn revoke_token(
        &self,
        actor: &Actor,
        tenant: Option<TenantId>,
        id: TokenId,
    ) -> StoreResult<()>;
    /// API tokens of a tenant (never sessions), newest first.
    async fn list_api_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenRecord>>;

    /// The change log of one tenant (or of tenant management when `None`), oldest first.
    async fn changes(
        &self,
        tenant: Option<TenantId>,
        after_revision: i64,
        limit: u32,
    ) -> StoreResult<Vec<ChangeRecord>>;
    /// A page of one tenant's audit log, filtered.
    async fn audit(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        cursor: AuditCursor,
        limit: u32,
    ) -> StoreResult<Vec<ChangeRecord>>;
    /// The newest revision written, 0 on an empty database.
    async fn latest_revision(&self) -> StoreResult<i64>;
    /// The newest revision of one tenant that changed what the engine decides (audit-only rows
    /// such as a token minted do not count), 0 when there is none.
    async fn tenant_revision(&self, tenant: TenantId) -> StoreResult<i64>;

    /// Appends validated changes in one transaction, provided the tenant is still at revision
    /// `expected` (when given): validation against an older state would not hold. Returns the
    /// last revision written.
    async fn append(
        &self,
        actor: &Actor,
        tenant: TenantId,
        expected: Option<i64>,
        entries: Vec<LogEntry>,
    ) -> StoreResult<i64>;
    /// Change-log rows that carry engine changes, of every tenant, oldest first.
    async fn access_log(&self, after_revision: i64, limit: u32)
    -> StoreResult<Vec<AccessLogEntry>>;
}
