//! The circuit breaker: a plugin version that fails many times in a row is switched off
//! for a cool-down, so a broken rule costs one cheap check per quote instead of a full
//! run to its fuel limit. After the cool-down one evaluation is let through; a success
//! closes the breaker, a failure opens it again.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Consecutive failures that open the breaker.
pub const DEFAULT_BREAKER_FAILURES: u32 = 20;
/// How long an open breaker keeps the plugin off.
pub const DEFAULT_BREAKER_COOL_DOWN_MS: u64 = 30_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    pub failures: u32,
    pub cool_down_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: DEFAULT_BREAKER_FAILURES,
            cool_down_ms: DEFAULT_BREAKER_COOL_DOWN_MS,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    open_until: Option<Instant>,
}

/// Breaker state per plugin version (by sha256).
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    plugins: Mutex<HashMap<String, State>>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            plugins: Mutex::default(),
        }
    }

    /// `Err(failures)` while the plugin's breaker is open.
    pub fn check(&self, plugin: &str) -> Result<(), u32> {
        let plugins = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        match plugins.get(plugin) {
            Some(State {
                consecutive,
                open_until: Some(until),
            }) if Instant::now() < *until => Err(*consecutive),
            _ => Ok(()),
        }
    }

    /// Record an evaluation's outcome. True when this failure opened the breaker.
    pub fn record(&self, plugin: &str, failed: bool) -> bool {
        let mut plugins = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        if !failed {
            plugins.remove(plugin);
            return false;
        }
        let state = plugins.entry(plugin.to_owned()).or_default();
        state.consecutive += 1;
        let now = Instant::now();
        let open = state.open_until.is_some_and(|u| now < u);
        if !open && state.consecutive >= self.config.failures {
            state.open_until = Some(now + Duration::from_millis(self.config.cool_down_ms));
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cool_down_ms: u64) -> Breaker {
        Breaker::new(BreakerConfig {
            failures: 3,
            cool_down_ms,
        })
    }

    #[test]
    fn opens_after_the_configured_run_of_failures_and_not_before() {
        let b = breaker(60_000);
        assert!(!b.record("p", true));
        assert!(!b.record("p", true));
        assert!(b.check("p").is_ok());
        assert!(b.record("p", true));
        assert_eq!(b.check("p"), Err(3));
        assert!(b.check("other").is_ok());
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = breaker(60_000);
        b.record("p", true);
        b.record("p", true);
        b.record("p", false);
        b.record("p", true);
        assert!(b.check("p").is_ok());
    }

    #[test]
    fn after_the_cool_down_one_failure_opens_it_again() {
        let b = breaker(0);
        for _ in 0..3 {
            b.record("p", true);
        }
        assert!(b.check("p").is_ok(), "cool-down of 0 ms is over at once");
        assert!(
            b.record("p", true),
            "the trial failure re-opens the breaker"
        );
    }
}
