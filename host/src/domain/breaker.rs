//! The circuit breaker: a plugin that faults many times in a row for one tenant is
//! switched off for that tenant for a cool-down, so a broken rule costs one cheap check
//! per quote instead of a full run to its fuel limit. Each host keeps its own breakers: on
//! several hosts, a plugin is switched off on each host where it faulted.
//!
//! - Keyed by tenant and plugin: one tenant's bad carts never switch identical bytes off
//!   for another tenant.
//! - Only sandbox faults count (trap, out of fuel, timeout, memory, stack, instantiation,
//!   unreadable output). A plugin that returns its own error, or whose proposal the host
//!   refuses, ran correctly as far as the sandbox is concerned: that closes the breaker.
//! - After the cool-down the breaker is half-open: exactly one evaluation (the probe) is let
//!   through; everyone else is refused until it reports. A success closes the breaker, a
//!   fault opens it for another cool-down.

use crate::clock::SharedClock;
use crate::sandbox::StepError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

/// Consecutive faults that open the breaker.
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

/// Whether a step error is a fault of the sandboxed code (counts toward opening).
pub fn is_fault(error: &StepError) -> bool {
    matches!(
        error,
        StepError::OutOfFuel { .. }
            | StepError::Timeout { .. }
            | StepError::MemoryLimit { .. }
            | StepError::StackOverflow
            | StepError::Trap { .. }
            | StepError::Instantiate { .. }
            | StepError::InvalidOutput { .. }
    )
}

#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    open_until: Option<i64>,
    /// A probe is out after the cool-down; nobody else gets through until it reports.
    probing: bool,
}

/// What [`Breaker::check`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: run normally.
    Run,
    /// Half-open: this caller is the one probe.
    Probe,
}

/// Breaker state per (tenant, plugin sha256).
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    clock: SharedClock,
    plugins: Mutex<HashMap<(String, String), State>>,
}

impl Breaker {
    pub fn new(config: BreakerConfig, clock: SharedClock) -> Breaker {
        Breaker {
            config,
            clock,
            plugins: Mutex::default(),
        }
    }

    /// `Err(failures)` while the breaker is open (or half-open with a probe out).
    pub fn check(&self, tenant: &str, plugin: &str) -> Result<Admission, u32> {
        let mut plugins = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = plugins.get_mut(&(tenant.to_owned(), plugin.to_owned())) else {
            return Ok(Admission::Run);
        };
        let Some(until) = state.open_until else {
            return Ok(Admission::Run);
        };
        let now = self.clock.now_ms();
        if now < until {
            return Err(state.consecutive);
        }
        // The probe holds the breaker for one more cool-down: a probe that never reports
        // (its caller went away) is presumed lost then, and another one is let through.
        state.probing = true;
        state.open_until = Some(now.saturating_add(self.cool_down()));
        Ok(Admission::Probe)
    }

    /// Record an evaluation's outcome (`None`: it ran; else its error). True when this
    /// fault opened the breaker.
    pub fn record(&self, tenant: &str, plugin: &str, error: Option<&StepError>) -> bool {
        let mut plugins = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        let id = (tenant.to_owned(), plugin.to_owned());
        if !error.is_some_and(is_fault) {
            plugins.remove(&id);
            return false;
        }
        let state = plugins.entry(id).or_default();
        state.consecutive = state.consecutive.saturating_add(1);
        let was_probe = std::mem::take(&mut state.probing);
        if was_probe || (state.open_until.is_none() && state.consecutive >= self.config.failures) {
            state.open_until = Some(self.clock.now_ms().saturating_add(self.cool_down()));
            return true;
        }
        false
    }

    fn cool_down(&self) -> i64 {
        i64::try_from(self.config.cool_down_ms).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    fn trap() -> StepError {
        StepError::Trap {
            message: "boom".into(),
        }
    }

    fn breaker() -> (ManualClock, Breaker) {
        let clock = ManualClock::at(1_000);
        let b = Breaker::new(
            BreakerConfig {
                failures: 3,
                cool_down_ms: 60_000,
            },
            Arc::new(clock.clone()),
        );
        (clock, b)
    }

    #[test]
    fn opens_after_the_configured_run_of_faults_and_not_before() {
        let (_, b) = breaker();
        assert!(!b.record("t", "p", Some(&trap())));
        assert!(!b.record("t", "p", Some(&trap())));
        assert_eq!(b.check("t", "p"), Ok(Admission::Run));
        assert!(b.record("t", "p", Some(&trap())));
        assert_eq!(b.check("t", "p"), Err(3));
    }

    #[test]
    fn one_tenants_faults_never_switch_the_plugin_off_for_another() {
        let (_, b) = breaker();
        for _ in 0..3 {
            b.record("bad-carts", "p", Some(&trap()));
        }
        assert!(b.check("bad-carts", "p").is_err());
        assert_eq!(b.check("other", "p"), Ok(Admission::Run));
    }

    #[test]
    fn a_plugins_own_error_or_a_refused_proposal_is_not_a_fault() {
        let (_, b) = breaker();
        let own = StepError::PluginError {
            message: "no".into(),
        };
        let refused = StepError::InvariantBroken {
            violations: vec!["x".into()],
        };
        for _ in 0..10 {
            assert!(!b.record("t", "p", Some(&own)));
            assert!(!b.record("t", "p", Some(&refused)));
        }
        assert_eq!(b.check("t", "p"), Ok(Admission::Run));
        b.record("t", "p", Some(&trap()));
        b.record("t", "p", Some(&trap()));
        b.record("t", "p", Some(&own));
        b.record("t", "p", Some(&trap()));
        assert_eq!(b.check("t", "p"), Ok(Admission::Run), "the count restarted");
    }

    #[test]
    fn after_the_cool_down_exactly_one_probe_goes_through() {
        let (clock, b) = breaker();
        for _ in 0..3 {
            b.record("t", "p", Some(&trap()));
        }
        clock.advance(59_999);
        assert!(b.check("t", "p").is_err(), "still cooling down");
        clock.advance(1);
        assert_eq!(b.check("t", "p"), Ok(Admission::Probe));
        for _ in 0..5 {
            assert!(b.check("t", "p").is_err(), "one probe at a time");
        }
        assert!(b.record("t", "p", Some(&trap())), "a failed probe re-opens");
        assert!(b.check("t", "p").is_err());
        clock.advance(60_000);
        assert_eq!(b.check("t", "p"), Ok(Admission::Probe));
        assert!(!b.record("t", "p", None), "a good probe closes");
        assert_eq!(b.check("t", "p"), Ok(Admission::Run));
        assert_eq!(b.check("t", "p"), Ok(Admission::Run));
    }
}
