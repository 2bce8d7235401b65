//! What a tenant's quotes saw of each plugin on this host since it started: runs,
//! failures by kind, fuel and latency (`GET /v1/plugin-stats`, drawn by the console).
//! `/metrics` has the same figures for the operator, by plugin across every tenant; these
//! are each tenant's own. Like the metrics, they are per host and start empty at each
//! start: nothing here is stored.

use super::{Error, Principal, Role};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use utoipa::ToSchema;

/// Latencies are kept from 1 µs to a minute, to two significant figures.
const MAX_MICROS: u64 = 60_000_000;

/// By tenant, then plugin (`owner/name@version`): an evaluation finds its entry by the
/// two names it has, without building a key.
#[derive(Debug, Default)]
pub struct PluginStats {
    by: RwLock<HashMap<String, Plugins>>,
}

type Plugins = HashMap<String, Arc<Mutex<Entry>>>;

#[derive(Debug)]
struct Entry {
    runs: u64,
    failures: BTreeMap<String, u64>,
    fuel_total: u128,
    fuel_max: u64,
    micros: Histogram<u64>,
}

/// One plugin as one tenant's quotes ran it on this host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct PluginUsage {
    /// `owner/name@version`.
    pub plugin: String,
    /// Evaluations (a step held back by its circuit breaker is not one).
    pub runs: u64,
    /// Failed evaluations by kind (`out_of_fuel`, `trap` …).
    pub failures: BTreeMap<String, u64>,
    pub fuel_mean: u64,
    pub fuel_max: u64,
    /// Wall time of one evaluation, in microseconds.
    pub micros_p50: u64,
    pub micros_p99: u64,
    pub micros_max: u64,
}

impl PluginStats {
    /// Count one evaluation of `plugin` for `tenant`.
    pub fn record(
        &self,
        tenant: &str,
        plugin: &str,
        fuel: u64,
        elapsed: Duration,
        failure: Option<String>,
    ) {
        let found = (self.by.read().ok()).and_then(|m| {
            m.get(tenant)
                .and_then(|plugins| plugins.get(plugin))
                .cloned()
        });
        let entry = match found {
            Some(entry) => entry,
            None => {
                let Ok(mut map) = self.by.write() else { return };
                (map.entry(tenant.to_owned()).or_default())
                    .entry(plugin.to_owned())
                    .or_insert_with(new_entry)
                    .clone()
            }
        };
        let Ok(mut e) = entry.lock() else { return };
        e.runs = e.runs.saturating_add(1);
        e.fuel_total = e.fuel_total.saturating_add(u128::from(fuel));
        e.fuel_max = e.fuel_max.max(fuel);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        e.micros.saturating_record(micros.clamp(1, MAX_MICROS));
        if let Some(kind) = failure {
            *e.failures.entry(kind).or_default() += 1;
        }
    }

    /// Every plugin the tenant's quotes ran here, by name.
    pub fn of(&self, tenant: &str) -> Vec<PluginUsage> {
        let Ok(map) = self.by.read() else {
            return Vec::new();
        };
        let Some(plugins) = map.get(tenant) else {
            return Vec::new();
        };
        let mut out: Vec<PluginUsage> = (plugins.iter())
            .filter_map(|(plugin, entry)| {
                let e = entry.lock().ok()?;
                let mean = e.fuel_total / u128::from(e.runs.max(1));
                Some(PluginUsage {
                    plugin: plugin.clone(),
                    runs: e.runs,
                    failures: e.failures.clone(),
                    fuel_mean: u64::try_from(mean).unwrap_or(u64::MAX),
                    fuel_max: e.fuel_max,
                    micros_p50: e.micros.value_at_quantile(0.5),
                    micros_p99: e.micros.value_at_quantile(0.99),
                    micros_max: e.micros.max(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.plugin.cmp(&b.plugin));
        out
    }
}

fn new_entry() -> Arc<Mutex<Entry>> {
    Arc::new(Mutex::new(Entry {
        runs: 0,
        failures: BTreeMap::new(),
        fuel_total: 0,
        fuel_max: 0,
        // Bounds that are always valid: 1 ≤ 1 µs < a minute, two figures.
        micros: Histogram::new_with_bounds(1, MAX_MICROS, 2).unwrap_or_else(|_| {
            Histogram::new(2).unwrap_or_else(|_| unreachable!("two significant figures"))
        }),
    }))
}

impl super::Plaza {
    /// What the caller's quotes saw of each plugin on this host.
    pub fn plugin_stats(&self, who: &Principal) -> Result<Vec<PluginUsage>, Error> {
        let tenant = who.tenant(&[Role::Admin, Role::Author], "read plugin statistics")?;
        Ok(self.plugin_stats.of(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_sees_its_own_runs_with_their_failures_fuel_and_latency() {
        let stats = PluginStats::default();
        for micros in 1..=100 {
            stats.record(
                "a",
                "a/p@1",
                micros * 10,
                Duration::from_micros(micros),
                None,
            );
        }
        stats.record(
            "a",
            "a/p@1",
            7,
            Duration::from_micros(5),
            Some("trap".into()),
        );
        stats.record("b", "a/p@1", 1, Duration::from_micros(1), None);
        let a = stats.of("a");
        assert_eq!(a.len(), 1);
        let p = &a[0];
        assert_eq!((p.runs, p.fuel_max), (101, 1000));
        assert_eq!(p.fuel_mean, (5050 * 10 + 7) / 101);
        assert_eq!(p.failures.get("trap"), Some(&1));
        assert!((49..=51).contains(&p.micros_p50), "{}", p.micros_p50);
        assert!((98..=100).contains(&p.micros_p99), "{}", p.micros_p99);
        assert_eq!(stats.of("b")[0].runs, 1);
        assert!(stats.of("c").is_empty());
    }
}
