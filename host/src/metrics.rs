//! Prometheus metrics: one registry per service instance (no globals, so tests can run
//! several servers in one process), rendered in the text format at `/metrics`.

use crate::sandbox::StepError;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

/// A label value from outside the host (a plugin's name and version), escaped as the text
/// format requires: prometheus-client writes label values as they are, and a newline or
/// quote in one would corrupt `/metrics` or forge a metric. (Names and versions are also
/// validated at upload; this holds whatever reaches a label.)
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Escaped(pub String);

impl EncodeLabelValue for Escaped {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    pub plugin: Escaped,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub plugin: Escaped,
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub plugin_seconds: Family<PluginLabels, Histogram>,
    pub plugin_fuel: Family<PluginLabels, Histogram>,
    pub plugin_failures: Family<FailureLabels, Counter>,
    pub breaker_trips: Family<PluginLabels, Counter>,
    pub budget_rejections: Family<LimitLabels, Counter>,
    pub orders_committed: Counter,
    /// Commission shares paid by settlement runs.
    pub shares_settled: Counter,
    /// Plugins compiled by Cranelift (uploads and restarts without a cached artifact).
    pub compilations: Counter,
    /// Requests refused with 429: a tenant over its rate or its share of the pool.
    pub busy_refusals: Counter,
    /// Change feed entries this host could not apply and passed over (logged each).
    pub changes_skipped: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("plaza");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        let plugin_seconds = Family::<PluginLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_005, 2.0, 16))
        });
        let plugin_fuel = Family::<PluginLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1_000.0, 4.0, 10))
        });
        let plugin_failures = Family::<FailureLabels, Counter>::default();
        let breaker_trips = Family::<PluginLabels, Counter>::default();
        let budget_rejections = Family::<LimitLabels, Counter>::default();
        let orders_committed = Counter::default();
        let shares_settled = Counter::default();
        let compilations = Counter::default();
        let busy_refusals = Counter::default();
        let changes_skipped = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        registry.register(
            "plugin_evaluation_duration_seconds",
            "Time of one plugin evaluation",
            plugin_seconds.clone(),
        );
        registry.register(
            "plugin_fuel_instructions",
            "Instructions (fuel) one plugin evaluation used",
            plugin_fuel.clone(),
        );
        registry.register(
            "plugin_failures",
            "Plugin evaluations that failed (trap, out of fuel, invalid output ...)",
            plugin_failures.clone(),
        );
        registry.register(
            "circuit_breaker_trips",
            "Times a plugin's circuit breaker opened",
            breaker_trips.clone(),
        );
        registry.register(
            "budget_rejections",
            "Steps held back or commits refused because a budget or usage limit ran out",
            budget_rejections.clone(),
        );
        registry.register(
            "orders_committed",
            "Orders committed",
            orders_committed.clone(),
        );
        registry.register(
            "commission_shares_settled",
            "Commission shares paid by settlement runs",
            shares_settled.clone(),
        );
        registry.register(
            "plugin_compilations",
            "Plugins compiled with Cranelift (not loaded from the artifact cache)",
            compilations.clone(),
        );
        registry.register(
            "busy_refusals",
            "Requests refused with 429 (a tenant over its rate or its share of the evaluation pool)",
            busy_refusals.clone(),
        );
        registry.register(
            "changes_skipped",
            "Change feed entries (another host's plan, plugin or template change) this host could not apply and passed over",
            changes_skipped.clone(),
        );
        Metrics {
            busy_refusals,
            changes_skipped,
            registry,
            requests,
            request_seconds,
            plugin_seconds,
            plugin_fuel,
            plugin_failures,
            breaker_trips,
            budget_rejections,
            orders_committed,
            shares_settled,
            compilations,
        }
    }

    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn plugin_run(
        &self,
        plugin: &str,
        fuel: u64,
        elapsed: Duration,
        error: Option<&StepError>,
    ) {
        let labels = PluginLabels {
            plugin: Escaped(plugin.to_owned()),
        };
        self.plugin_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        #[allow(clippy::cast_precision_loss)]
        self.plugin_fuel.get_or_create(&labels).observe(fuel as f64);
        if let Some(error) = error {
            self.plugin_failures
                .get_or_create(&FailureLabels {
                    plugin: Escaped(plugin.to_owned()),
                    error: crate::error_type(error).unwrap_or_else(|| "unknown".to_owned()),
                })
                .inc();
        }
    }

    pub fn breaker_trip(&self, plugin: &str) {
        self.breaker_trips
            .get_or_create(&PluginLabels {
                plugin: Escaped(plugin.to_owned()),
            })
            .inc();
    }

    pub fn busy_refusal(&self) {
        self.busy_refusals.inc();
    }

    pub fn settlement(&self, shares: u64) {
        self.shares_settled.inc_by(shares);
    }

    pub fn budget_rejection(&self, limit: &str) {
        self.budget_rejections
            .get_or_create(&LimitLabels {
                limit: limit.to_owned(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_plugin_label_cannot_break_the_exposition_format() {
        let m = Metrics::new();
        m.breaker_trip("evil@1.0.0\"} 1\nforged_metric 42\n");
        let text = m.render();
        assert!(
            !text.lines().any(|l| l.starts_with("forged_metric")),
            "{text}"
        );
        assert!(
            text.contains(r#"plugin="evil@1.0.0\"} 1\nforged_metric 42\n""#),
            "{text}"
        );
    }
}
