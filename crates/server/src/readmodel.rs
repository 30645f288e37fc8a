//! The in-memory read model: one `AccessModel` per tenant, built from the change log at start
//! and kept current by replaying it. Several servers on one PostgreSQL converge because each
//! replays the same log in revision order.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use registrar_domain::access::{AccessData, AccessModel};
use registrar_domain::ids::TenantId;
use registrar_store::{AccessLogEntry, Actor, LogEntry, Store, StoreError, StoreResult};

use crate::error::{ApiError, ApiResult};

const BATCH: u32 = 10_000;
/// Optimistic writes retry this often when another writer got in between.
const WRITE_ATTEMPTS: usize = 8;

#[derive(Debug)]
struct TenantModel {
    model: AccessModel,
    /// The last engine-relevant revision applied to this tenant.
    revision: i64,
}

#[derive(Debug, Default)]
struct State {
    /// Every revision up to this one has been applied (or carried nothing for the engine).
    revision: i64,
    tenants: HashMap<TenantId, TenantModel>,
}

pub struct ReadModel {
    store: Arc<dyn Store>,
    state: RwLock<State>,
    /// One replay at a time; readers are never blocked by it for longer than one batch.
    syncing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModel")
            .field("revision", &self.revision())
            .finish_non_exhaustive()
    }
}

fn apply_logged(
    entry: &AccessLogEntry,
    mut apply: impl FnMut(
        &registrar_domain::access::Change,
    ) -> Result<(), registrar_domain::access::AccessError>,
) {
    for change in &entry.changes {
        // INVARIANT: the store only logs changes the engine validated against the same log, so
        // a failure here is a bug; it is logged loudly and the rest of the log still applies.
        if let Err(e) = apply(change) {
            tracing::error!(revision = entry.revision, tenant = %entry.tenant, error = %e, "change log entry does not apply");
        }
    }
}

impl ReadModel {
    /// Replays the whole log into plain data per tenant, then indexes each tenant once.
    pub async fn load(store: Arc<dyn Store>) -> StoreResult<Self> {
        let started = Instant::now();
        let latest = store.latest_revision().await?;
        let mut data: HashMap<TenantId, (AccessData, i64)> = HashMap::new();
        let mut after = 0;
        loop {
            let batch = store.access_log(after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.revision;
            for entry in &batch {
                let (d, r) = data
                    .entry(entry.tenant)
                    .or_insert_with(|| (AccessData::new(entry.tenant), 0));
                apply_logged(entry, |c| d.apply(c));
                *r = entry.revision;
            }
        }
        let tenants: HashMap<TenantId, TenantModel> = data
            .into_iter()
            .map(|(t, (d, revision))| {
                (
                    t,
                    TenantModel {
                        model: AccessModel::from_data(d),
                        revision,
                    },
                )
            })
            .collect();
        tracing::info!(
            tenants = tenants.len(),
            revision = latest.max(after),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read model loaded"
        );
        Ok(Self {
            store,
            state: RwLock::new(State {
                revision: latest.max(after),
                tenants,
            }),
            syncing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn revision(&self) -> i64 {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .revision
    }

    /// Applies whatever the log holds beyond what this server has seen.
    pub async fn sync(&self) -> StoreResult<i64> {
        let _one_at_a_time = self.syncing.lock().await;
        // Writers commit in revision order, so every row up to `latest` is visible now.
        let latest = self.store.latest_revision().await?;
        let mut after = self.revision();
        loop {
            let batch = self.store.access_log(after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.revision;
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            for entry in &batch {
                let tenant = state
                    .tenants
                    .entry(entry.tenant)
                    .or_insert_with(|| TenantModel {
                        model: AccessModel::new(entry.tenant),
                        revision: 0,
                    });
                tenant.model.apply_entry(&entry.changes, |_, e| {
                    // INVARIANT as in `apply_logged`.
                    tracing::error!(revision = entry.revision, tenant = %entry.tenant, error = %e, "change log entry does not apply");
                });
                tenant.revision = entry.revision;
            }
            state.revision = state.revision.max(after);
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.revision = state.revision.max(latest);
        Ok(state.revision)
    }

    /// Waits (syncing) until this server has applied `revision`, or refuses after `wait`.
    pub async fn at_least(&self, revision: i64, wait: Duration) -> ApiResult<i64> {
        let deadline = Instant::now() + wait;
        loop {
            let now_at = self.sync().await?;
            if now_at >= revision {
                return Ok(now_at);
            }
            if Instant::now() >= deadline {
                return Err(ApiError::Conflict {
                    field: "at_least_revision".into(),
                    detail: format!(
                        "revision {revision} has not been written (the newest is {now_at})"
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs `f` on the tenant's model. A tenant with no engine data yet gets an empty model.
    pub fn read<T>(&self, tenant: TenantId, f: impl FnOnce(&AccessModel) -> T) -> T {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        match state.tenants.get(&tenant) {
            Some(t) => f(&t.model),
            None => f(&AccessModel::new(tenant)),
        }
    }

    /// Like [`Self::read`], also returning the tenant's engine revision seen under the same
    /// lock, for writes that must be checked against exactly what was validated.
    pub fn read_at<T>(&self, tenant: TenantId, f: impl FnOnce(&AccessModel) -> T) -> (T, i64) {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        match state.tenants.get(&tenant) {
            Some(t) => (f(&t.model), t.revision),
            None => (f(&AccessModel::new(tenant)), 0),
        }
    }

    /// Validates against the current model and appends, retrying when another writer changed
    /// the tenant in between; then applies the result here before answering, so the caller reads
    /// its own write. `build` decides against the model it is given (so the decision and the
    /// write see the same revision) and says who writes, what and what it made; the answer is
    /// what it made and the revision written.
    pub async fn write<T>(
        &self,
        tenant: TenantId,
        build: impl Fn(&AccessModel) -> ApiResult<Written<T>>,
    ) -> ApiResult<(T, i64)> {
        for attempt in 0..WRITE_ATTEMPTS {
            if attempt > 0 {
                // Writers that collided must not collide again in lockstep: a random pause,
                // growing with each attempt (up to 2, 4, 8, 16 ms).
                let bound = 2u64 << attempt.min(4);
                let pause = rand_core::RngCore::next_u64(&mut rand_core::OsRng) % bound;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            self.sync().await?;
            let (written, seen) = {
                let state = self.state.read().unwrap_or_else(|p| p.into_inner());
                let empty;
                let (model, seen) = match state.tenants.get(&tenant) {
                    Some(t) => (&t.model, t.revision),
                    None => {
                        empty = AccessModel::new(tenant);
                        (&empty, 0)
                    }
                };
                (build(model)?, seen)
            };
            let Written { by, entries, made } = written;
            if entries.is_empty() {
                return Ok((made, self.revision()));
            }
            match self.store.append(&by, tenant, Some(seen), entries).await {
                Ok(_) => return Ok((made, self.sync().await?)),
                Err(StoreError::Stale { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Conflict {
            field: "revision".into(),
            detail: "the tenant kept changing while this change was validated; try again".into(),
        })
    }

    /// Keeps this server current with writes made by others.
    pub fn follow(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.sync().await {
                    tracing::warn!(error = %e, "read model sync failed; retrying");
                }
            }
        })
    }
}

/// What a validated write makes: who writes (the engine's proof, made into an [`Actor`]), the
/// change-log entries, and what the caller gets back.
#[derive(Debug)]
pub struct Written<T> {
    pub by: Actor,
    pub entries: Vec<LogEntry>,
    pub made: T,
}

impl Written<()> {
    /// Entries that answer nothing beyond the revision they make.
    pub fn entries(by: impl Into<Actor>, entries: Vec<LogEntry>) -> Self {
        Written {
            by: by.into(),
            entries,
            made: (),
        }
    }
}

/// After a request that may have written, applies the change log before the response leaves,
/// so that a client always reads its own writes from this server, and says which revision the
/// server is at.
pub async fn catch_up_after_writes(
    axum::extract::State(model): axum::extract::State<Arc<ReadModel>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Checks are POSTs that write nothing the model reads: no catch-up (a database round trip)
    // after each of them.
    let writes = !request.method().is_safe()
        && !matches!(
            request.uri().path(),
            "/api/v1/check" | "/api/v1/check/batch"
        );
    let mut response = next.run(request).await;
    if writes
        && response.status().is_success()
        && let Err(e) = model.sync().await
    {
        tracing::warn!(error = %e, "read model catch-up after a write failed");
    }
    // Clients pass this back as `at_least_revision` to read their writes on any server.
    if let Ok(v) = axum::http::HeaderValue::from_str(&model.revision().to_string()) {
        response.headers_mut().insert(REVISION_HEADER, v);
    }
    response
}

pub const REVISION_HEADER: &str = "x-registrar-revision";

/// Users and objects (of each kind) whose every decision goes into a digest; the other users
/// are covered by their effective holdings, which come from the same compiled indexes.
const DIGEST_SAMPLE: usize = 48;

/// A fingerprint of one tenant's read model, to tell whether two models (a server's, kept
/// current change by change, and a fresh replay of the change log) answer alike.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ModelDigest {
    #[schema(value_type = String)]
    pub tenant: TenantId,
    /// The tenant's last change-log revision that the model holds.
    pub revision: i64,
    /// SHA-256 (hex) over the model's access data; every user's superadmin flag and effective
    /// holdings; and the check of every permission by the first 48 users (id order) on the
    /// tenant, those users and the first 48 objects of every kind.
    pub digest: String,
    pub users: usize,
    pub objects: usize,
}

struct HashWriter(sha2::Sha256);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        sha2::Digest::update(&mut self.0, s.as_bytes());
        Ok(())
    }
}

/// The digest of one model as [`ModelDigest`] describes it; `today` as in every check.
pub fn fingerprint(model: &AccessModel, today: time::Date) -> String {
    use registrar_domain::access::{ObjectKind, ObjectRef, Permission};
    use std::fmt::Write;
    let data = model.data();
    let mut w = HashWriter(sha2::Sha256::default());
    // Writing to a hasher cannot fail.
    let _ = write!(w, "{data:?}");
    for &user in data.users.keys() {
        let _ = write!(
            w,
            "\n{user} {} {:?}",
            model.is_superadmin(user),
            model.effective(user)
        );
    }
    let users: Vec<_> = data.users.keys().copied().take(DIGEST_SAMPLE).collect();
    let mut objects = vec![ObjectRef::tenant(data.tenant)];
    objects.extend(users.iter().map(|u| ObjectRef::user(*u)));
    objects.extend(
        data.groups
            .keys()
            .take(DIGEST_SAMPLE)
            .map(|g| ObjectRef::group(*g)),
    );
    for kind in ObjectKind::ALL {
        objects.extend(
            data.objects
                .keys()
                .filter(|o| o.kind == kind)
                .take(DIGEST_SAMPLE)
                .copied(),
        );
    }
    for user in &users {
        let _ = write!(w, "\n{user}");
        for object in &objects {
            for &p in Permission::ALL {
                if p.applies_to().contains(&object.kind) {
                    let answer = match model.allows(*user, p, object, today) {
                        Ok(true) => '1',
                        Ok(false) => '0',
                        Err(_) => 'x',
                    };
                    let _ = w.write_char(answer);
                }
            }
        }
    }
    let hash = sha2::Digest::finalize(w.0);
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

impl ReadModel {
    /// The digest of the tenant's model as this server holds it now.
    pub fn digest(&self, tenant: TenantId, today: time::Date) -> ModelDigest {
        let ((digest, users, objects), revision) = self.read_at(tenant, |m| {
            (
                fingerprint(m, today),
                m.data().users.len(),
                m.data().objects.len(),
            )
        });
        ModelDigest {
            tenant,
            revision,
            digest,
            users,
            objects,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use registrar_domain::access::{AccessGroup, AccessModel, AccessUser, Change};
    use registrar_domain::ids::{GroupId, TenantId, UserId};

    use super::fingerprint;

    #[test]
    fn the_digest_follows_the_answers_not_the_way_the_model_was_built() {
        let today = time::macros::date!(2026 - 06 - 01);
        let (ann, group) = (UserId::new(), GroupId::new());
        let mut kept = AccessModel::new(TenantId::new());
        let empty = fingerprint(&kept, today);
        kept.apply_all(&[
            Change::UpsertUser(AccessUser::active(ann)),
            Change::UpsertGroup(AccessGroup {
                id: group,
                parent: None,
                public: true,
            }),
        ])
        .unwrap();
        let before = fingerprint(&kept, today);
        assert_ne!(before, empty);
        kept.apply(&Change::AddMember { user: ann, group }).unwrap();
        let after = fingerprint(&kept, today);
        assert_ne!(after, before, "a membership changes the digest");
        let rebuilt = AccessModel::from_data(kept.data().clone());
        assert_eq!(fingerprint(&rebuilt, today), after);
        kept.apply(&Change::RemoveMember { user: ann, group })
            .unwrap();
        assert_eq!(fingerprint(&kept, today), before);
    }
}
