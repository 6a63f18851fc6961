//! Per-client rate limiting: the generic cell rate algorithm (GCRA), one
//! theoretical arrival time per client, in memory. Each replica limits on
//! its own; a client spread over N replicas gets up to N times the rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sweep forgotten clients once the table holds this many.
const SWEEP_AT: usize = 10_000;

/// How many requests a client may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests allowed at once above the sustained rate.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_minute: 1_200,
            burst: 100,
        }
    }
}

/// The limiter shared by every request.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    clients: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// A limiter for `limit`.
    pub fn new(limit: RateLimit) -> Self {
        let interval = Duration::from_secs(60) / limit.per_minute.max(1);
        Self {
            interval,
            tolerance: interval * limit.burst,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request by `client`; 429 with the wait when over the limit.
    pub fn check(&self, client: &str) -> Result<(), RateLimited> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: &str, now: Instant) -> Result<(), RateLimited> {
        let Ok(mut clients) = self.clients.lock() else {
            // A panic elsewhere while holding the lock: let requests through
            // rather than fail them all.
            return Ok(());
        };
        if clients.len() >= SWEEP_AT {
            clients.retain(|_, tat| *tat > now);
        }
        let tat = clients.get(client).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > self.tolerance {
            let wait = ahead - self.tolerance;
            return Err(RateLimited {
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            });
        }
        clients.insert(client.to_owned(), tat + self.interval);
        Ok(())
    }
}

/// A client over its limit, and how long until its next request is let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests; retry in {retry_after} s")]
pub struct RateLimited {
    /// Seconds until the next request is allowed.
    pub retry_after: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_paces_to_the_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        let t0 = Instant::now();
        // One at the rate plus a burst of three.
        for _ in 0..4 {
            limiter.check_at("a", t0).unwrap();
        }
        let err = limiter.check_at("a", t0).unwrap_err();
        assert!(matches!(err, RateLimited { retry_after: 1 }), "{err:?}");
        // Another client is not affected.
        limiter.check_at("b", t0).unwrap();
        // A second later one more request is allowed, and only one.
        let t1 = t0 + Duration::from_secs(1);
        limiter.check_at("a", t1).unwrap();
        assert!(limiter.check_at("a", t1).is_err());
        // After a quiet minute the full burst is back.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..4 {
            limiter.check_at("a", t2).unwrap();
        }
        assert!(limiter.check_at("a", t2).is_err());
    }
}
