//! Every example plugin's fixtures (`plugins/*/fixtures`), run as `plaza plugin test` runs
//! them: in the real sandbox with the production limits, from the built component. They
//! hold good and bad configurations for each plugin, so passing them proves the schema
//! each plugin serves refuses exactly what its `validate` refuses on that set (the one
//! rule JSON Schema cannot say is named by its fixture), and that every effect is as
//! recorded.

use plaza::examples::EXAMPLE_PLUGINS;
use plaza::fixtures::{Outcome, run_dir};
use plaza_tests::{plugin, sandbox};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fixtures_of(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../plugins/{name}/fixtures"))
}

fn run(name: &str, dir: &Path, update: bool) -> Vec<Outcome> {
    run_dir(sandbox(), plugin(name), dir, update).unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_example_plugin_passes_its_fixtures_and_its_schema_agrees_with_its_validate() {
    for (name, _) in EXAMPLE_PLUGINS {
        let dir = fixtures_of(name);
        let outcomes = run(name, &dir, false);
        let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.verdict != "passed").collect();
        assert!(failed.is_empty(), "{name}: {failed:#?}");
        // A real set: configurations refused and accepted, carts with effects.
        let expects: Vec<Value> = (outcomes.iter())
            .map(|o| read(&dir.join(&o.fixture))["expect"].clone())
            .collect();
        let refused = expects
            .iter()
            .filter(|e| e.get("refused").is_some())
            .count();
        let effects = (expects.iter())
            .filter(|e| e["effects"].as_array().is_some_and(|e| !e.is_empty()))
            .count();
        assert!(
            refused >= 2 && effects >= 1,
            "{name}: {refused} refused, {effects} with effects"
        );
        let ran = outcomes.iter().filter(|o| o.fuel > 0).count();
        assert!(ran >= 2, "{name}: {ran} fixtures evaluated");
    }
}

#[test]
fn every_example_schema_is_derived_and_closed_where_its_type_denies_unknown_fields() {
    fn closed(schema: &Value, at: &str) {
        if let Some(object) = schema.as_object() {
            if object.contains_key("properties") {
                assert_eq!(object["additionalProperties"], false, "{at}: {schema}");
            }
            for (key, child) in object {
                closed(child, &format!("{at}/{key}"));
            }
        } else if let Some(items) = schema.as_array() {
            for (i, child) in items.iter().enumerate() {
                closed(child, &format!("{at}/{i}"));
            }
        }
    }
    for (name, _) in EXAMPLE_PLUGINS {
        let schema: Value = serde_json::from_str(&plugin(name).descriptor.config_schema).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        // `if` branches of a schema's conditions list properties without closing them.
        let mut without_conditions = schema.clone();
        without_conditions.as_object_mut().unwrap().remove("allOf");
        without_conditions.as_object_mut().unwrap().remove("anyOf");
        closed(&without_conditions, name);
    }
}

#[test]
fn a_changed_answer_fails_with_a_diff_and_update_records_it_keeping_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiers.json");
    let original = read(&fixtures_of("threshold-discount").join("tiers-highest-reached.json"));
    let mut fixture = original.clone();
    fixture["expect"]["effects"][0]["order_adjustment"]["discount"] = json!(5_999);
    std::fs::write(&path, serde_json::to_string(&fixture).unwrap()).unwrap();

    let failed = run("threshold-discount", dir.path(), false);
    assert_eq!(failed[0].verdict, "failed");
    let diff = failed[0].failure.as_deref().unwrap();
    assert!(diff.contains("-        \"discount\": 5999,"), "{diff}");
    assert!(diff.contains("+        \"discount\": 6000,"), "{diff}");
    assert!(
        failed[0].fuel > 0 && failed[0].output_bytes > 0,
        "{failed:?}"
    );

    assert_eq!(
        run("threshold-discount", dir.path(), true)[0].verdict,
        "updated"
    );
    assert_eq!(
        read(&path),
        original,
        "the recorded answer, everything else kept"
    );
    assert_eq!(
        run("threshold-discount", dir.path(), false)[0].verdict,
        "passed"
    );
}

#[test]
fn a_schema_that_accepts_what_the_rule_refuses_fails_and_update_does_not_hide_it() {
    let dir = tempfile::tempdir().unwrap();
    let refused = json!({
        "config": {"mode": "tiers", "tiers": [{"threshold": 100, "discount": 200}]},
        "expect": {"refused": "exceeds"}
    });
    std::fs::write(dir.path().join("a.json"), refused.to_string()).unwrap();
    // A `schema_cannot_say` where schema and rule agree is stale.
    let stale = json!({
        "config": {"mode": "tiers", "tiers": []},
        "schema_cannot_say": "nothing",
        "expect": {"refused": "at least one tier"}
    });
    std::fs::write(dir.path().join("b.json"), stale.to_string()).unwrap();
    for update in [false, true] {
        let outcomes = run("threshold-discount", dir.path(), update);
        assert!(
            outcomes.iter().all(|o| o.verdict == "failed"),
            "{outcomes:?}"
        );
        let why = outcomes[0].failure.as_deref().unwrap();
        assert!(
            why.contains("schema accepts a configuration the rule refuses"),
            "{why}"
        );
        let why = outcomes[1].failure.as_deref().unwrap();
        assert!(why.contains("stale"), "{why}");
    }
}

#[test]
fn a_cart_the_host_would_refuse_is_an_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = json!({
        "config": {"mode": "repeat", "every": 100, "discount": 10},
        "cart": {"lines": [], "buyer": {"id": "b-1"}, "now_ms": 0},
        "expect": {"effects": []}
    });
    std::fs::write(dir.path().join("a.json"), fixture.to_string()).unwrap();
    let err = run_dir(sandbox(), plugin("threshold-discount"), dir.path(), false).unwrap_err();
    assert!(format!("{err:#}").contains("cart"), "{err:#}");
}
