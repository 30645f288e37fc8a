use std::sync::Arc;

use registrar_store::Store;

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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            secure_cookies: true,
            session_hours: 12,
        }
    }
}

/// Shared by every handler; passed explicitly, never global.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<LoginLimiter>,
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
