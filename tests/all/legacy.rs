//! Contract 0.1 keeps working: `legacy-threshold-discount`, a component built from source
//! against the frozen 0.1 WIT, quotes exactly as the 0.2 `threshold-discount` example.

use plaza_tests::{assert_reconciles, plugin, prepare, quote, sample_cart};
use serde_json::{Value, json};

fn plan(rule: &str, version: &str, base: &str) -> plaza::executor::PreparedPlan {
    prepare(json!({"id": "p", "steps": [
        {"id": "member", "plugin": {"name": "member-price", "version": "1.0.0"},
         "config": {"tiers": {"gold": {"rate": 950000}}}},
        {"id": "manjian", "plugin": {"name": rule, "version": version}, "threshold_base": base,
         "config": {"mode": "tiers", "tiers": [{"threshold": 30000, "discount": 3000}, {"threshold": 60000, "discount": 7000}]}}
    ]}))
}

/// The quote as JSON without what legitimately differs between the two plugins: the plan
/// it names, the plugin a step names, the instructions used and what a step logged.
fn comparable(q: &plaza::executor::Quote) -> Value {
    let mut value = serde_json::to_value(q).unwrap();
    for field in ["plan", "fuel"] {
        value.as_object_mut().unwrap().remove(field);
    }
    for step in value["explanation"].as_array_mut().unwrap() {
        for field in ["plugin", "fuel", "log", "log_truncated"] {
            step.as_object_mut().unwrap().remove(field);
        }
    }
    value
}

#[test]
fn the_legacy_plugin_is_a_0_1_component_and_the_example_a_0_2_module() {
    assert_eq!(plugin("legacy-threshold-discount").contract(), "0.1");
    assert_eq!(plugin("threshold-discount").contract(), "0.2");
}

#[test]
fn a_0_1_plugin_quotes_exactly_as_its_0_2_twin() {
    let mut discounted = 0;
    for base in ["original", "current"] {
        let legacy = plan("legacy-threshold-discount", "0.1.0", base);
        let current = plan("threshold-discount", "1.0.0", base);
        for lines in [1, 3, 8, 20, 60] {
            let cart = sample_cart(lines);
            let (old, new) = (
                quote(&legacy, &cart).unwrap(),
                quote(&current, &cart).unwrap(),
            );
            assert_reconciles(&old);
            assert_eq!(comparable(&old), comparable(&new), "{base}, {lines} lines");
            let step = &old.explanation[1];
            // The 0.1 `log` import still reaches the explanation.
            assert!(step.log.starts_with("judged "), "{:?}", step.log);
            discounted += usize::from(step.discount.0 > 0);
        }
    }
    assert!(discounted >= 4, "the carts reach the tiers: {discounted}");
}

#[test]
fn a_0_1_plugin_still_validates_its_configuration() {
    let error = plaza_tests::prepare_in(
        plaza_tests::sandbox(),
        json!({"id": "p", "steps": [{"id": "s", "plugin": {"name": "legacy-threshold-discount", "version": "0.1.0"},
               "config": {"mode": "tiers", "tiers": []}}]}),
    )
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("at least one tier"),
        "{error:#}"
    );
}
