//! Login throttling, kept in memory (each server throttles on its own; a shared limit is not
//! needed to stop guessing).
//!
//! Guesses are slowed per (account, address) pair with a growing delay, and each address has a
//! budget per minute. Nothing is counted per account alone: that would let anyone lock any
//! account, administrators' included, by failing its password from anywhere. The owner's own
//! address is never slowed by an attacker's failures.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct LoginLimiter {
    /// Failures per (account, address): free up to `FREE_FAILURES`, then a delay that doubles
    /// with every further failure, up to `MAX_DELAY`.
    pairs: Mutex<HashMap<(String, String), Backoff>>,
    per_address: Window,
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    last: Instant,
}

/// Failures of one pair that cost nothing (typos).
const FREE_FAILURES: u32 = 5;
/// The longest delay between two guesses of one pair.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A pair with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

impl Backoff {
    /// How long after the last failure the next attempt must wait.
    fn delay(&self) -> Duration {
        match self.failures.checked_sub(FREE_FAILURES) {
            None => Duration::ZERO,
            Some(extra) => Duration::from_secs(1u64 << extra.min(20)).min(MAX_DELAY),
        }
    }
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
}

impl LoginLimiter {
    /// Thirty tries per address per minute; five free failures per account and address, then a
    /// delay of 1 s, 2 s, 4 s ... up to 15 minutes between guesses from that address.
    pub fn new() -> Self {
        Self {
            pairs: Mutex::new(HashMap::new()),
            per_address: Window::new(30, Duration::from_secs(60)),
        }
    }

    /// Call before checking a password: the attempt counts as a failure until
    /// [`Self::succeeded`] says otherwise. `Err` carries the seconds to wait.
    pub fn attempt(&self, account: &str, address: &str) -> Result<(), u64> {
        self.attempt_at(account, address, Instant::now())
    }

    fn attempt_at(&self, account: &str, address: &str, now: Instant) -> Result<(), u64> {
        let secs = |d: Duration| d.as_secs().max(1);
        if let Some(wait) = self.per_address.hit(address, now) {
            return Err(secs(wait));
        }
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        if pairs.len() > 100_000 {
            pairs.retain(|_, b| now.duration_since(b.last) < FORGET_AFTER);
        }
        let key = (account.to_owned(), address.to_owned());
        let entry = pairs.entry(key).or_insert(Backoff {
            failures: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.failures = 0;
        }
        let waited = now.duration_since(entry.last);
        let delay = entry.delay();
        if waited < delay {
            // Refused attempts do not lengthen the delay: only guesses that were checked do.
            return Err(secs(delay - waited));
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        Ok(())
    }

    /// A successful login clears that account's failures from that address.
    pub fn succeeded(&self, account: &str, address: &str) {
        self.pairs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(account.to_owned(), address.to_owned()));
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
    fn failures_from_one_address_slow_that_address_only_and_success_resets() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.attempt_at("acme/ann", "10.0.0.1", t0).is_ok());
        }
        // The sixth guess from the attacker's address waits; the owner elsewhere does not.
        assert_eq!(l.attempt_at("acme/ann", "10.0.0.1", t0), Err(1));
        assert!(l.attempt_at("acme/ann", "10.0.0.2", t0).is_ok());
        l.succeeded("acme/ann", "10.0.0.1");
        assert!(l.attempt_at("acme/ann", "10.0.0.1", t0).is_ok());
    }

    #[test]
    fn the_delay_doubles_with_each_failure_up_to_fifteen_minutes() {
        let l = LoginLimiter::new();
        let mut t = Instant::now();
        let mut delays = vec![];
        for _ in 0..40 {
            match l.attempt_at("acme/ann", "10.0.0.1", t) {
                Ok(()) => delays.push(0),
                Err(wait) => {
                    delays.push(wait);
                    t += Duration::from_secs(wait);
                    assert!(l.attempt_at("acme/ann", "10.0.0.1", t).is_ok());
                }
            }
            // Spread out so the address's own budget never bites.
            t += Duration::from_secs(3);
        }
        assert!(delays.iter().all(|d| *d <= 15 * 60), "{delays:?}");
        assert!(delays.contains(&(15 * 60 - 3)), "{delays:?}");
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
