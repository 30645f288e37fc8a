use std::sync::Arc;

use registrar_domain::access::{
    AccessError, AccessModel, Act, Authorized, Decision, Explanation, ObjectKind,
};
use registrar_domain::ids::UserId;
use registrar_store::{Actor, Store};

use crate::error::{ApiError, ApiResult};
use crate::extract::Member;
use crate::readmodel::ReadModel;

use crate::metrics::Metrics;
use crate::ratelimit::LoginLimiter;

/// Settings the HTTP edge needs; everything else is in the store.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Adds `Secure` to the session cookie. Browsers accept secure cookies on http://localhost,
    /// so this stays on unless a deployment serves plain HTTP on another host.
    pub secure_cookies: bool,
    /// How long a browser session lasts.
    pub session_hours: i64,
    /// Where the mail sender delivers (a mailbox file or SMTP); no sender when `None`.
    pub mail: Option<crate::mail::Transport>,
    /// The same refusal (caller, permission, object) is audited once per this window.
    pub refusal_audit_window: std::time::Duration,
    /// Sends `Strict-Transport-Security`: for deployments served over HTTPS only.
    pub hsts: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            secure_cookies: true,
            session_hours: 12,
            mail: None,
            refusal_audit_window: std::time::Duration::from_secs(60),
            hsts: false,
        }
    }
}

/// Shared by every handler; passed explicitly, never global.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The decision engine's view of every tenant; the only thing that decides access.
    pub access: Arc<ReadModel>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<LoginLimiter>,
    /// Holds back repeats of the same refusal from the audit log (see `authorize`).
    pub refusals: Arc<crate::ratelimit::RepeatFilter>,
    /// Imports running in the background, and those that ended lately.
    pub imports: Arc<crate::import_jobs::ImportJobs>,
    pub settings: Arc<Settings>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.backend())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Today, as decisions see it (expiry dates are whole days, in UTC).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

impl AppState {
    /// Asks the engine whether the caller may do `act`: the one place the server asks. Allowed,
    /// the answer is the proof the store's writes take; refused, it carries the engine's
    /// explanation.
    pub async fn authorize(&self, member: &Member, act: Act) -> ApiResult<Authorized> {
        self.require(member, |m, actor, today| m.decide(actor, &act, today))
            .await
    }

    /// Asks the engine a question about the caller (a check, or a named act such as
    /// `decide_manage_enrollment`) and turns its decision into an answer: a refusal carries the
    /// engine's explanation and is audited. A user or object this server has not seen yet
    /// triggers one catch-up with the change log before the answer.
    pub async fn require(
        &self,
        member: &Member,
        ask: impl Fn(&AccessModel, UserId, time::Date) -> Result<Decision, AccessError>,
    ) -> ApiResult<Authorized> {
        self.require_then(member, |m, actor, today| Ok((ask(m, actor, today)?, ())))
            .await
            .map(|(proof, ())| proof)
    }

    /// Like [`Self::require`], for a question whose read of the model also yields what the
    /// caller wants once allowed (the decision about someone else, say): one read for both.
    pub async fn require_then<T>(
        &self,
        member: &Member,
        ask: impl Fn(&AccessModel, UserId, time::Date) -> Result<(Decision, T), AccessError>,
    ) -> ApiResult<(Authorized, T)> {
        let decide = || {
            self.access
                .read(member.tenant, |m| ask(m, member.user.id, today()))
        };
        let decision = match decide() {
            Err(AccessError::UnknownUser(_) | AccessError::UnknownObject(_)) => {
                self.access.sync().await?;
                decide()
            }
            other => other,
        };
        let decision = match decision {
            Ok(d) => d,
            // An act on a person: a missing one and a hidden one get the same answer.
            Err(AccessError::UnknownUser(u)) if !self.sees_all_users(member) => {
                return Err(crate::routes::hidden_person(member, &u.to_string()));
            }
            Err(AccessError::UnknownObject(o))
                if o.kind == ObjectKind::User && !self.sees_all_users(member) =>
            {
                return Err(crate::routes::hidden_person(member, &o.id.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        let (decision, then) = decision;
        if let Some(proof) = decision.authorized() {
            return Ok((proof, then));
        }
        let Explanation::Denied(denial) = decision.explanation() else {
            return Err(ApiError::Internal("a refusal without its reason".into()));
        };
        let (permission, object) = (denial.permission, denial.object);
        // Refusals are audited too: who tried what, and why they were refused. An audit-only
        // row (no engine change), so it never moves the read model. Repeats of the same refusal
        // within the window are counted into the next row rather than written one by one: a
        // flood of refused requests must not queue every tenant's writes behind the write lock.
        self.metrics.count_refusal(permission);
        let key = format!("{}|{}|{permission}|{object}", member.tenant, member.user.id);
        if let Some(repeated) = self.refusals.admit(&key, std::time::Instant::now()) {
            let refusal = registrar_store::LogEntry {
                action: "access.denied",
                entity: "access",
                entity_id: object.to_string(),
                before: None,
                after: Some(serde_json::json!({
                    "permission": permission.code(),
                    "reason": decision.explanation().to_string(),
                    "repeated_since_last": repeated,
                })),
                access: vec![],
            };
            let refused = Actor::refused(&decision)
                .ok_or_else(|| ApiError::Internal("a refusal names nobody".into()))?;
            if let Err(e) = self
                .store
                .append(&refused, member.tenant, None, vec![refusal])
                .await
            {
                tracing::warn!(error = %e, "could not audit an access refusal");
            }
        }
        if object.kind == ObjectKind::User
            && self.hides(member, UserId::from_uuid(object.id.as_uuid()))
        {
            return Err(crate::routes::hidden_person(member, &object.id.to_string()));
        }
        Err(ApiError::Forbidden(format!(
            "user {:?} may not {permission} on {object}: {}",
            member.user.username.as_str(),
            decision.explanation()
        )))
    }

    /// Seeing a person: the engine's `decide_view_user` (oneself always, anyone else with
    /// `users.view` on them).
    pub async fn may_see_user(
        &self,
        member: &Member,
        user: registrar_domain::ids::UserId,
    ) -> ApiResult<Authorized> {
        self.authorize(member, Act::ViewUser(user)).await
    }

    /// The engine's guard on superadmin accounts: see `validate_superadmin_reach`.
    pub fn superadmin_guard(
        &self,
        member: &Member,
        target: Option<registrar_domain::ids::UserId>,
        makes_superadmin: bool,
    ) -> ApiResult<()> {
        self.access.read(member.tenant, |m| {
            m.validate_superadmin_reach(member.user.id, target, makes_superadmin)
        })?;
        Ok(())
    }

    /// The engine's guard on taking over an account: see `validate_takeover`.
    pub fn takeover_guard(
        &self,
        member: &Member,
        target: registrar_domain::ids::UserId,
    ) -> ApiResult<()> {
        self.access.read(member.tenant, |m| {
            m.validate_takeover(member.user.id, target, today())
        })?;
        Ok(())
    }

    /// Whether the caller sees `user` (the engine's `sees`), for cutting lists.
    pub fn sees(&self, member: &Member, user: UserId) -> bool {
        self.access
            .read(member.tenant, |m| m.sees(member.user.id, user, today()))
    }

    /// Whether `user` is hidden from the caller: someone else whom they may not see.
    pub fn hides(&self, member: &Member, user: UserId) -> bool {
        !self.sees(member, user)
    }

    /// Whether the caller may see every user of the tenant (superadmin, or `users.view` with
    /// tenant reach at platform scope): only then may answers reveal that a user does not exist.
    pub fn sees_all_users(&self, member: &Member) -> bool {
        self.access
            .read(member.tenant, |m| m.sees_everyone(member.user.id))
    }

    /// Like [`Self::authorize`] but only answers; for cutting lists.
    pub fn allows(&self, member: &Member, act: &Act) -> bool {
        self.access
            .read(member.tenant, |m| m.may(member.user.id, act, today()))
    }
}
