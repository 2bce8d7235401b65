//! Per-tenant request rate limits (GCRA, from the `governor` crate), on the host's clock so
//! that tests move time instead of sleeping. A tenant over its rate gets 429 `rate_limited`
//! with `Retry-After`; other tenants are not affected. The operator is not limited. Each
//! host counts its own requests: several hosts behind a balancer allow a tenant up to their
//! number times the rate.

use crate::clock::SharedClock;
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::time::Duration;

/// Requests per second one tenant may make, sustained.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 20_000;
/// Requests one tenant may make at once above its rate.
pub const DEFAULT_BURST: u32 = 20_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// 0 turns rate limiting off.
    pub requests_per_second: u32,
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            burst: DEFAULT_BURST,
        }
    }
}

/// The host clock as governor's clock.
#[derive(Debug, Clone)]
struct HostClock(SharedClock);

impl governor::clock::Clock for HostClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let ms = u64::try_from(self.0.now_ms()).unwrap_or(0);
        Duration::from_millis(ms).into()
    }
}

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, HostClock, NoOpMiddleware<Nanos>>;

/// The limiter, keyed by tenant.
#[derive(Debug)]
pub struct Limiter {
    limiter: Option<Keyed>,
    clock: HostClock,
}

impl Limiter {
    pub fn new(config: &RateLimitConfig, clock: SharedClock) -> Limiter {
        let clock = HostClock(clock);
        let limiter = NonZeroU32::new(config.requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(config.burst).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock.clone())
        });
        Limiter { limiter, clock }
    }

    /// `Err(wait)` when `tenant` is over its rate.
    pub fn check(&self, tenant: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(&tenant.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn a_tenant_over_its_rate_waits_and_others_do_not() {
        let clock = ManualClock::at(1_000_000);
        let limiter = Limiter::new(
            &RateLimitConfig {
                requests_per_second: 2,
                burst: 3,
            },
            Arc::new(clock.clone()),
        );
        for _ in 0..3 {
            assert_eq!(limiter.check("busy"), Ok(()));
        }
        let wait = limiter.check("busy").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500));
        assert_eq!(limiter.check("quiet"), Ok(()));
        clock.advance(500);
        assert_eq!(
            limiter.check("busy"),
            Ok(()),
            "one request's worth refilled"
        );
        assert!(limiter.check("busy").is_err());
    }

    #[test]
    fn a_rate_of_zero_turns_limiting_off() {
        let limiter = Limiter::new(
            &RateLimitConfig {
                requests_per_second: 0,
                burst: 0,
            },
            Arc::new(ManualClock::at(0)),
        );
        for _ in 0..10_000 {
            assert_eq!(limiter.check("t"), Ok(()));
        }
    }
}
