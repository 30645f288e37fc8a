//! Login throttling: a fixed window per account and per client address, kept in memory (each
//! server throttles on its own; a shared limit is not needed to stop guessing).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LoginLimiter {
    per_account: Window,
    per_address: Window,
}

#[derive(Debug)]
struct Window {
    max: u32,
    length: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Window {
    fn new(max: u32, length: Duration) -> Self {
        Self {
            max,
            length,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt; returns how long to wait when over the limit.
    fn hit(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.length);
        }
        let entry = hits.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.length {
            *entry = (now, 0);
        }
        entry.1 += 1;
        (entry.1 > self.max).then(|| self.length.saturating_sub(now.duration_since(entry.0)))
    }

    fn forget(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

impl LoginLimiter {
    /// Five tries per account per fifteen minutes, thirty per address per minute.
    pub fn new() -> Self {
        Self {
            per_account: Window::new(5, Duration::from_secs(15 * 60)),
            per_address: Window::new(30, Duration::from_secs(60)),
        }
    }

    /// Call before checking a password. `Err` carries the seconds to wait.
    pub fn attempt(&self, account: &str, address: &str) -> Result<(), u64> {
        let now = Instant::now();
        let wait = [
            self.per_address.hit(address, now),
            self.per_account.hit(account, now),
        ]
        .into_iter()
        .flatten()
        .max();
        match wait {
            Some(d) => Err(d.as_secs().max(1)),
            None => Ok(()),
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub fn succeeded(&self, account: &str) {
        self.per_account.forget(account);
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new()
    }
}

/// Lets the first of a run of identical events through per window and counts the rest, so a
/// flood of the same refused request writes one audit row a minute (carrying how many it
/// stands for) instead of taking the write lock once per request.
#[derive(Debug)]
pub struct RepeatFilter {
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u64)>>,
}

impl RepeatFilter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)` when this event is to be recorded, `n` being how many identical ones were
    /// held back since the last recorded one; `None` when it is held back.
    pub fn admit(&self, key: &str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (at, _)| now.duration_since(*at) < self.window);
        }
        match seen.get_mut(key) {
            Some((at, held)) if now.duration_since(*at) < self.window => {
                *held += 1;
                None
            }
            Some((at, held)) => {
                let repeated = *held;
                *at = now;
                *held = 0;
                Some(repeated)
            }
            None => {
                seen.insert(key.to_owned(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_try_on_one_account_is_refused_and_success_resets() {
        let l = LoginLimiter::new();
        for _ in 0..5 {
            assert!(l.attempt("acme/ann", "10.0.0.1").is_ok());
        }
        assert!(l.attempt("acme/ann", "10.0.0.2").is_err());
        l.succeeded("acme/ann");
        assert!(l.attempt("acme/ann", "10.0.0.3").is_ok());
    }

    #[test]
    fn one_address_cannot_spray_many_accounts() {
        let l = LoginLimiter::new();
        for i in 0..30 {
            assert!(l.attempt(&format!("acme/user{i}"), "10.0.0.9").is_ok());
        }
        assert!(l.attempt("acme/other", "10.0.0.9").is_err());
    }

    #[test]
    fn a_run_of_repeats_is_recorded_once_per_window_with_its_count() {
        let filter = RepeatFilter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(filter.admit("a", t0), Some(0));
        for i in 1..=5 {
            assert_eq!(filter.admit("a", t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(filter.admit("b", t0), Some(0), "other events pass");
        assert_eq!(filter.admit("a", t0 + Duration::from_secs(61)), Some(5));
        assert_eq!(filter.admit("a", t0 + Duration::from_secs(62)), None);
    }
}
