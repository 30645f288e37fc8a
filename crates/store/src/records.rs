//! What goes into and comes out of the store besides the domain types themselves.

use std::fmt;

use registrar_domain::access::{Authorized, Decision};
use registrar_domain::ids::{GroupId, TenantId, TokenId, UserId};
use registrar_domain::tenant::{Preset, TenantSlug};
use registrar_domain::text::{Email, Labels, Name, Username};
use registrar_domain::user::UserStatus;
use time::{Date, OffsetDateTime};

/// Who made a change, as the audit log records it. A person appears here only through the
/// engine's proof that they were allowed ([`Authorized`]): the store's writes take an `Actor`,
/// so code that never asked the engine has nothing to write with. The other makers are named:
/// an operator token the server verified, the command line of whoever holds the database, a
/// person starting or ending their own session, and a refused person in the audit of the refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(Who);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    User(UserId),
    /// An operator token: manages tenants, sees nothing inside them.
    Operator(TokenId),
    /// The command line run by whoever holds the database (bootstrap, demo data).
    Cli,
}

impl Actor {
    /// The command line of whoever holds the database: bootstrap, demo data, maintenance.
    pub fn cli() -> Self {
        Actor(Who::Cli)
    }

    /// An operator token the server verified: it manages tenants and nothing inside them.
    pub fn operator(token: TokenId) -> Self {
        Actor(Who::Operator(token))
    }

    /// A person starting or ending their own browser session, proved by their password or by
    /// that session: it is theirs to record.
    pub fn session_owner(user: UserId) -> Self {
        Actor(Who::User(user))
    }

    /// The person a decision refused, for the audit row of that refusal (which changes nothing).
    pub fn refused(decision: &Decision) -> Option<Self> {
        decision.refused().map(|u| Actor(Who::User(u)))
    }
}

impl From<Authorized> for Actor {
    fn from(proof: Authorized) -> Self {
        Actor(Who::User(proof.by()))
    }
}

impl From<&Authorized> for Actor {
    fn from(proof: &Authorized) -> Self {
        Actor(Who::User(proof.by()))
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Who::User(id) => write!(f, "user:{id}"),
            Who::Operator(id) => write!(f, "operator:{id}"),
            Who::Cli => f.write_str("cli"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub name: Name,
    pub preset: Preset,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: Option<Email>,
    pub display_name: Name,
    pub labels: Labels,
    pub status: UserStatus,
    pub expires_on: Option<Date>,
    pub primary_group: Option<GroupId>,
    /// Other groups the person joins as they are created: the tenant's default group, so that
    /// they hold a role (`AccessModel::default_group_for_new`), or the group an invitation was
    /// to.
    pub also_joins: Vec<GroupId>,
    pub superadmin: bool,
    /// An argon2id PHC string; the store never sees a password.
    pub password_hash: Option<String>,
}

/// A partial update: `None` leaves a field alone; for optional fields `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<Username>,
    pub email: Option<Option<Email>>,
    pub display_name: Option<Name>,
    pub labels: Option<Labels>,
    pub status: Option<UserStatus>,
    pub expires_on: Option<Option<Date>>,
    pub primary_group: Option<Option<GroupId>>,
}

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub name: Name,
    pub description: String,
    pub parent: Option<GroupId>,
    /// Public (seen across the tenant) rather than private.
    pub public: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub public: Option<bool>,
    pub name: Option<Name>,
    pub description: Option<String>,
    pub parent: Option<Option<GroupId>>,
}

/// Where a line-management link came from, so a feed can replace its own links without touching
/// those an administrator made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerSource {
    /// Set by an administrator (managee lists, ad-hoc teams).
    Explicit,
    /// Set by the HR feed's manager attribute.
    Feed,
}

impl ManagerSource {
    pub fn code(self) -> &'static str {
        match self {
            ManagerSource::Explicit => "explicit",
            ManagerSource::Feed => "feed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "explicit" => Some(ManagerSource::Explicit),
            "feed" => Some(ManagerSource::Feed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagerLink {
    pub manager: UserId,
    pub managee: UserId,
    pub source: ManagerSource,
}

/// Keyset pagination with an optional case-insensitive substring search.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    pub limit: u32,
    pub search: Option<String>,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 500;

    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit,
            search: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A browser login; comes with a CSRF secret.
    Session,
    /// An integration's bearer token, acting as one user of one tenant.
    Api,
    /// Tenant management only; belongs to no tenant.
    Operator,
}

impl TokenKind {
    pub fn code(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
            TokenKind::Operator => "operator",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "session" => Some(TokenKind::Session),
            "api" => Some(TokenKind::Api),
            "operator" => Some(TokenKind::Operator),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub tenant: Option<TenantId>,
    pub user: Option<UserId>,
    pub kind: TokenKind,
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub csrf_hash: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub tenant: Option<TenantId>,
    pub user: Option<UserId>,
    pub kind: TokenKind,
    pub name: String,
    pub csrf_hash: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

/// One row of the change log: who did what to which entity, with before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    pub revision: i64,
    pub tenant: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub at: OffsetDateTime,
}

/// How the people list is cut and sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeopleQuery {
    /// Only people in this effective status.
    pub status: Option<registrar_domain::user::EffectiveStatus>,
    /// By display name (then username) rather than by username.
    pub by_name: bool,
}

impl PeopleQuery {
    /// The `after` cursor that continues a list of this order past `u`: the username, or by
    /// name the name's sort key and the username, apart by a unit separator (which no name
    /// holds). Whoever cuts a page of [`crate::Store::list_people`] short makes its cursor here.
    pub fn cursor(&self, u: &registrar_domain::user::User) -> String {
        if self.by_name {
            format!("{}\u{1f}{}", u.display_name.sort_key(), u.username)
        } else {
            u.username.to_string()
        }
    }

    /// Where a [`Self::cursor`] says to go on from: the key (username, or the name's sort key)
    /// and, by name, the username after it (empty for the first page).
    pub(crate) fn after(&self, cursor: Option<&str>) -> (String, String) {
        match (cursor, self.by_name) {
            (Some(c), true) => match c.split_once('\u{1f}') {
                Some((key, username)) => (key.to_owned(), username.to_owned()),
                None => (c.to_owned(), String::new()),
            },
            (Some(c), false) => (c.to_owned(), String::new()),
            (None, _) => (String::new(), String::new()),
        }
    }
}

/// Which audit rows to read: each field left `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// `user:<id>`, `operator:<token id>` or `cli`, as the log names actors.
    pub actor: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    /// From this moment on (inclusive).
    pub from: Option<OffsetDateTime>,
    /// Before this moment (exclusive).
    pub to: Option<OffsetDateTime>,
}

/// Where a page of the audit log starts: after a revision going forwards (oldest first), or
/// before one going backwards (newest first; `None` starts at the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCursor {
    After(i64),
    Before(Option<i64>),
}

/// A change the server has validated against the decision engine: what the audit log shows, and
/// what the engine applies.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub access: Vec<registrar_domain::access::Change>,
}

/// One change-log row as the read model replays it.
#[derive(Debug, Clone)]
pub struct AccessLogEntry {
    pub revision: i64,
    pub tenant: TenantId,
    pub changes: Vec<registrar_domain::access::Change>,
}

#[derive(Debug, Clone)]
pub struct NewCourse {
    pub title: Name,
    pub course_type: registrar_domain::lifecycle::CourseType,
    pub published: bool,
    pub capacity: Option<u32>,
    pub policy: registrar_domain::lifecycle::EnrollmentPolicy,
    pub group: Option<GroupId>,
    pub created_by: Option<UserId>,
    /// The roles the engine gives the creator at the new course
    /// (`AccessModel::creator_roles`), granted in the same transaction.
    pub creator_roles: Vec<registrar_domain::access::RoleId>,
}

#[derive(Debug, Clone, Default)]
pub struct CoursePatch {
    pub title: Option<Name>,
    pub published: Option<bool>,
    pub capacity: Option<Option<u32>>,
    pub policy: Option<registrar_domain::lifecycle::EnrollmentPolicy>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub course: registrar_domain::access::ObjectId,
    pub kind: registrar_domain::session::SessionKind,
    pub title: Name,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub capacity: Option<u32>,
    pub approval_required: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SessionPatch {
    pub title: Option<Name>,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub capacity: Option<Option<u32>>,
    pub approval_required: Option<bool>,
}

/// A booking with the course enrollment it moved (bookings and attendance move enrollments).
#[derive(Debug, Clone)]
pub struct BookingOutcome {
    pub booking: registrar_domain::session::Booking,
    pub enrollment: registrar_domain::course::Enrollment,
}

/// A mail to queue with the change that sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub recipient: Email,
    pub subject: String,
    pub body: String,
}

/// An invitation: fresh login details (the new password's hash) and the mail that carries them.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub password_hash: String,
    pub mail: NewMail,
}

/// One line of a learner's results: an enrollment with its course and progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseResult {
    pub course: registrar_domain::access::ObjectId,
    pub title: Name,
    pub status: registrar_domain::access::EnrollmentStatus,
    pub enrolled_at: OffsetDateTime,
    /// When the status last moved (the completion, for a completed course).
    pub updated_at: OffsetDateTime,
    /// The course's materials, and how many of them the learner completed.
    pub materials: u32,
    pub completed: u32,
}

pub use registrar_domain::tenant::LegalRepresentative;

/// Where a person's last invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationState {
    pub queued_at: OffsetDateTime,
    /// When the sender delivered it; `None` while it waits in the outbox.
    pub delivered_at: Option<OffsetDateTime>,
}

/// A queued mail waiting for the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub id: String,
    pub tenant: TenantId,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Tenant-wide settings for the learner app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    pub invitation: Option<registrar_domain::lifecycle::InvitationTemplate>,
    /// When app access is switched on, send the invitation.
    pub invite_on_app_access: bool,
    /// How long access given in bulk lasts when no end date is chosen; none for no end.
    pub default_access_days: Option<u32>,
}

/// One learner's app access to switch on, with the invitation to queue if any.
#[derive(Debug, Clone)]
pub struct AppAccessGrant {
    pub user: UserId,
    pub access: registrar_domain::lifecycle::AppAccess,
    pub invitation: Option<Invitation>,
}
