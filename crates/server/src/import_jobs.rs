//! Imports that run in the background. The upload is spooled first (as for any import), then the
//! import runs on a task of its own while whoever started it follows how far it got (the bytes
//! of the file checked so far) and reads the outcome when it ends: the admin page polls it for
//! its progress bar, and integrators get the same with `POST /api/v1/imports?background=true`
//! and `GET /api/v1/imports/jobs/{id}`. Following a job is the engine's `Act::FollowImport`.
//!
//! Jobs live in this server's memory. A restart ends a running one, whose transaction is then
//! rolled back, so nothing of it is written (the crash tests show imports are all or nothing);
//! it forgets ended ones too. An ended job is kept for [`KEEP_ENDED`], and at most [`KEPT`] jobs
//! are kept, the oldest ended ones dropped first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use registrar_domain::ids::{TenantId, UserId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::import::{ImportError, ImportOptions, ImportReport, run};
use crate::state::AppState;

/// How long an ended job stays readable.
pub const KEEP_ENDED: Duration = Duration::from_secs(3600);
/// The most jobs kept at once, running and ended.
pub const KEPT: usize = 64;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Reading and checking the file (and, unless a dry run, writing it in its transaction).
    Running,
    /// Every row checked; imported unless it was a dry run.
    Done,
    /// Some rows were refused: nothing was written. The report names each one.
    Refused,
    /// The file as a whole could not be read, or the import could not run.
    Failed,
}

/// A background import as its follower sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobOut {
    pub id: String,
    pub state: JobState,
    pub dry_run: bool,
    /// The size of the file, and how much of it has been checked.
    pub bytes_total: u64,
    pub bytes_read: u64,
    /// Done or refused: what the import did, or would do, row by row.
    pub report: Option<ImportReport>,
    /// Failed: why.
    pub problem: Option<String>,
}

#[derive(Debug)]
enum Ended {
    Done(ImportReport),
    Refused(ImportReport),
    Failed(String),
}

/// One background import.
#[derive(Debug)]
pub struct Job {
    pub id: Uuid,
    pub tenant: TenantId,
    pub importer: UserId,
    dry_run: bool,
    total: u64,
    read: AtomicU64,
    ended: Mutex<Option<(Instant, Ended)>>,
}

impl Job {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Ended)>> {
        self.ended.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn running(&self) -> bool {
        self.lock().is_none()
    }

    /// The job as its follower reads it.
    pub fn view(&self) -> JobOut {
        let ended = self.lock();
        let (state, report, problem) = match ended.as_ref().map(|(_, e)| e) {
            None => (JobState::Running, None, None),
            Some(Ended::Done(r)) => (JobState::Done, Some(r.clone()), None),
            Some(Ended::Refused(r)) => (JobState::Refused, Some(r.clone()), None),
            Some(Ended::Failed(p)) => (JobState::Failed, None, Some(p.clone())),
        };
        JobOut {
            id: self.id.to_string(),
            state,
            dry_run: self.dry_run,
            bytes_total: self.total,
            // Once ended, all of it was read (or none of it will be).
            bytes_read: if state == JobState::Running {
                self.read.load(Ordering::Relaxed).min(self.total)
            } else {
                self.total
            },
            report,
            problem,
        }
    }

    fn end(&self, outcome: Ended) {
        *self.lock() = Some((Instant::now(), outcome));
    }
}

/// The jobs of this server.
#[derive(Debug, Default)]
pub struct ImportJobs {
    jobs: Mutex<HashMap<Uuid, Arc<Job>>>,
}

impl ImportJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts importing `file` into `tenant` as `importer`, on a task of its own. One running
    /// import per person: a second is refused (409) until the first ends.
    pub fn start(
        &self,
        state: &AppState,
        tenant: TenantId,
        importer: UserId,
        file: std::fs::File,
        options: ImportOptions,
    ) -> ApiResult<Arc<Job>> {
        let total = file
            .metadata()
            .map_err(|e| ApiError::Internal(format!("cannot read the spooled upload: {e}")))?
            .len();
        let job = {
            let mut jobs = self.lock();
            if let Some(running) = running_of(&jobs, tenant, importer) {
                return Err(ApiError::Conflict {
                    field: "import".into(),
                    detail: format!(
                        "an import of yours is still running (job {running}); start another when it ends"
                    ),
                });
            }
            let now = Instant::now();
            jobs.retain(|_, j| {
                j.lock()
                    .as_ref()
                    .is_none_or(|(at, _)| now.duration_since(*at) < KEEP_ENDED)
            });
            while jobs.len() >= KEPT {
                let oldest = jobs
                    .values()
                    .filter_map(|j| j.lock().as_ref().map(|(at, _)| (*at, j.id)))
                    .min();
                match oldest {
                    Some((_, id)) => {
                        jobs.remove(&id);
                    }
                    None => {
                        return Err(ApiError::Unavailable(format!(
                            "{KEPT} imports are running; try again when one has ended"
                        )));
                    }
                }
            }
            let job = Arc::new(Job {
                id: Uuid::new_v4(),
                tenant,
                importer,
                dry_run: options.dry_run,
                total,
                read: AtomicU64::new(0),
                ended: Mutex::new(None),
            });
            jobs.insert(job.id, job.clone());
            job
        };
        let (store, access) = (state.store.clone(), state.access.clone());
        let task = job.clone();
        tokio::spawn(async move {
            let progress = |bytes: u64| task.read.store(bytes, Ordering::Relaxed);
            let outcome = std::panic::AssertUnwindSafe(run(
                store.as_ref(),
                &access,
                tenant,
                importer,
                file,
                &options,
                &progress,
            ))
            .catch_unwind()
            .await;
            task.end(match outcome {
                Ok(Ok(report)) => Ended::Done(report),
                Ok(Err(ImportError::Refused(report))) => Ended::Refused(*report),
                Ok(Err(ImportError::Api(e))) => Ended::Failed(e.to_string()),
                Err(_) => {
                    tracing::error!(job = %task.id, "an import job panicked");
                    Ended::Failed("the import stopped unexpectedly; nothing was written".into())
                }
            });
        });
        Ok(job)
    }

    /// The import `importer` is running, if any.
    pub fn running_for(&self, tenant: TenantId, importer: UserId) -> Option<Uuid> {
        running_of(&self.lock(), tenant, importer)
    }

    /// The job `id` of `tenant`, if this server has it.
    pub fn get(&self, tenant: TenantId, id: &str) -> Option<Arc<Job>> {
        let id = Uuid::parse_str(id).ok()?;
        self.lock().get(&id).filter(|j| j.tenant == tenant).cloned()
    }
}

fn running_of(jobs: &HashMap<Uuid, Arc<Job>>, tenant: TenantId, importer: UserId) -> Option<Uuid> {
    jobs.values()
        .find(|j| j.tenant == tenant && j.importer == importer && j.running())
        .map(|j| j.id)
}
