//! Rules in JavaScript: `plugins/js/threshold-discount`, built from source with the JS SDK
//! (componentize-js from npm), runs in the large plugins' lane and answers the Rust
//! twin's fixtures with byte-identical effects, through the sandbox and through a real
//! server. Skipped, saying why, where node is not installed. A test binary of its own (see
//! `tests/Cargo.toml`).

use plaza::examples;
use plaza::fixtures::{Expect, run_dir};
use plaza::sandbox::{ArtifactCache, Limits, Sandbox};
use plaza_tests::server::*;
use plaza_tests::{js, plugin, sandbox};
use serde_json::json;
use std::path::Path;

fn twin_fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/threshold-discount/fixtures")
}

#[test]
fn the_js_rule_answers_its_rust_twins_fixtures_with_byte_identical_effects() {
    let Some(bytes) = js::component("plugins/js/threshold-discount") else {
        return;
    };
    let js = sandbox().load(&bytes).unwrap();
    assert!(
        js.large,
        "{} bytes run in the large plugins' lane",
        bytes.len()
    );
    assert!(bytes.len() > Limits::default().max_module_bytes);
    assert_eq!(js.contract(), "0.2");
    assert_eq!(js.descriptor.name, "threshold-discount-js");

    let rust = run_dir(
        sandbox(),
        plugin("threshold-discount"),
        &twin_fixtures(),
        false,
    )
    .unwrap();
    let ran = run_dir(sandbox(), &js, &twin_fixtures(), false).unwrap();
    assert_eq!(rust.len(), ran.len());
    let mut compared = 0;
    for (r, j) in rust.iter().zip(&ran) {
        assert_eq!(r.fixture, j.fixture);
        match (&r.actual, &j.actual) {
            (Expect::Effects(a), Expect::Effects(b)) => {
                let (a, b) = (
                    serde_json::to_string(a).unwrap(),
                    serde_json::to_string(b).unwrap(),
                );
                assert_eq!(a, b, "{}", r.fixture);
                assert_eq!(j.verdict, "passed", "{j:?}");
                assert!(j.fuel > 0, "{j:?}");
                compared += 1;
            }
            // Both refuse the configuration (each in its own words for what the schema says).
            (Expect::Refused(_), Expect::Refused(_)) | (Expect::Accepted, Expect::Accepted) => {}
            (a, b) => panic!(
                "{}: the Rust rule {a:?}, the JavaScript rule {b:?}",
                r.fixture
            ),
        }
    }
    assert!(compared >= 4, "{compared} fixtures with effects");

    // Its own fixtures: the twin's, linked, and its refusals in its own words.
    let own =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/js/threshold-discount/fixtures");
    let own = run_dir(sandbox(), &js, &own, false).unwrap();
    assert_eq!(own.len(), ran.len());
    assert!(own.iter().all(|o| o.verdict == "passed"), "{own:#?}");
}

#[test]
fn a_js_rule_compiles_once_and_loads_from_the_artifact_cache() {
    let Some(bytes) = js::component("plugins/js/threshold-discount") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = || Some(ArtifactCache::new(dir.path().to_path_buf()).unwrap());
    let first = Sandbox::new(Limits::default(), cache())
        .unwrap()
        .load(&bytes)
        .unwrap();
    assert!(!first.from_cache && first.large);
    let again = Sandbox::new(Limits::default(), cache())
        .unwrap()
        .load(&bytes)
        .unwrap();
    assert!(
        again.from_cache && again.large,
        "a new sandbox loads the cached artifact"
    );
    assert_eq!(again.descriptor, first.descriptor);
}

#[test]
fn a_js_rule_uploaded_to_a_real_server_quotes_like_its_twin() {
    let Some(bytes) = js::component("plugins/js/threshold-discount") else {
        return;
    };
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    let uploaded = shop.post_bytes("/v1/plugins", &bytes, "application/wasm");
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    let twin = examples::EXAMPLE_PLUGINS
        .iter()
        .find(|(n, _)| *n == "threshold-discount")
        .unwrap();
    let rust = shop.post_bytes("/v1/plugins", twin.1, "application/wasm");
    assert_eq!(rust.status, 201, "{}", rust.text);
    let tiers = json!({"mode": "tiers", "tiers": [
        {"threshold": 30000, "discount": 3000}, {"threshold": 50000, "discount": 6000}]});
    for (plan, name) in [
        ("js", "threshold-discount-js"),
        ("rust", "threshold-discount"),
    ] {
        shop.apply(&json!({
            "id": plan,
            "steps": [{"id": "tiers", "plugin": {"name": name, "version": "1.0.0"}, "config": tiers}]
        }));
    }
    let cart = json!({
        "lines": [
            {"id": "a", "sku": "tea", "merchant": "m-1", "quantity": 2, "unit_price": 26000},
            {"id": "b", "sku": "cup", "merchant": "m-1", "quantity": 1, "unit_price": 3900}
        ],
        "buyer": {"id": "b-1"},
        "now_ms": 1_795_000_000_000_i64
    });
    let js = shop.post("/v1/plans/js/quote", &cart);
    let rust = shop.post("/v1/plans/rust/quote", &cart);
    assert_eq!(js.status, 200, "{}", js.text);
    assert_eq!(
        js.body["total"], rust.body["total"],
        "{}\n{}",
        js.text, rust.text
    );
    assert_eq!(js.body["lines"], rust.body["lines"]);
    assert_eq!(js.body["total"]["discount"], 6_000);
    let step = &js.body["explanation"][0];
    assert_eq!(step["plugin"], "threshold-discount-js@1.0.0", "{step}");
    // A configuration the schema refuses is refused at save, with the field named.
    let refused = shop.post(
        "/v1/plans",
        &json!({"id": "js", "steps": [{"id": "tiers",
            "plugin": {"name": "threshold-discount-js", "version": "1.0.0"},
            "config": {"mode": "tiers", "tiers": []}}]}),
    );
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("/tiers"), "{}", refused.text);
}

/// A one-line cart and a step whose configuration is `config`.
fn one_line(config: &str) -> (Vec<u8>, Vec<u8>) {
    let cart: plaza::executor::Cart = serde_json::from_value(json!({
        "lines": [{"id": "a", "sku": "tea", "merchant": "m-1", "quantity": 1, "unit_price": 10000}],
        "buyer": {"id": "b-1"}, "now_ms": 0
    }))
    .unwrap();
    let mut step = Vec::new();
    plaza_plugin_sdk::wire::encode_step(
        &plaza_plugin_sdk::wire::StepFields {
            visible: &[0],
            payable: &[10_000],
            shipping: 0,
            order_total: 10_000,
            threshold_base: plaza_plugin_sdk::ThresholdBase::Current,
            config,
        },
        &mut step,
    );
    (cart.encode(), step)
}

#[test]
fn a_hostile_js_rule_ends_in_typed_errors_within_the_large_lanes_limits() {
    use plaza::sandbox::StepError;
    let Some(bytes) = js::component("tests/js_rules/hostile") else {
        return;
    };
    let hostile = sandbox().load(&bytes).unwrap();
    let large = &Limits::default().large;
    let run = |mode: &str| {
        let (cart, step) = one_line(&json!({ "mode": mode }).to_string());
        sandbox().evaluate(&hostile, &cart, &step)
    };
    // A fresh instance every evaluation: the rule's counter never passes 1.
    for _ in 0..3 {
        let counted = run("counter").result.unwrap();
        assert_eq!(
            counted,
            vec![plaza_plugin_sdk::Effect::note("evaluation 1")]
        );
    }
    let looped = run("loop");
    assert!(
        matches!(looped.result, Err(StepError::OutOfFuel { limit }) if limit == large.fuel)
            || matches!(looped.result, Err(StepError::Timeout { limit_ms }) if limit_ms == large.timeout_ms),
        "{:?}",
        looped.result
    );
    match run("memory").result {
        Err(StepError::MemoryLimit { limit }) => assert_eq!(limit, large.max_memory_bytes),
        // The engine saw the failed grow as JavaScript's out-of-memory error.
        Err(StepError::PluginError { message }) => assert!(message.contains("memory"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run("throw").result,
        Err(StepError::PluginError {
            message: "hostile rule threw on purpose".into()
        })
    );
    assert!(matches!(
        run("huge-output").result,
        Err(StepError::OutputTooLarge { .. })
    ));
    // An answer past what the host copies out of one call is refused unread (a sandbox
    // copying at most ~66 KB: building a longer string costs the interpreter more fuel
    // than the lane allows).
    let small_copies = Sandbox::new(
        Limits {
            max_effects: 1,
            max_output_bytes: 1024,
            ..Limits::default()
        },
        None,
    )
    .unwrap();
    let (cart, step) = one_line(r#"{"mode":"huge-answer"}"#);
    let plugin = small_copies.load(&bytes).unwrap();
    let huge = small_copies.evaluate(&plugin, &cart, &step).result;
    assert!(
        matches!(huge, Err(StepError::OutputOverCopyLimit { .. })),
        "{huge:?}"
    );
    let bad = run("bad-effect").result;
    assert!(
        matches!(&bad, Err(StepError::InvalidOutput { message }) if message.contains("teleport")),
        "{bad:?}"
    );
    let flood = run("log-flood");
    assert_eq!(flood.result, Ok(vec![]));
    assert!(flood.log_truncated && flood.log.len() <= Limits::default().max_log_bytes);
    // After all that, the lane still serves.
    assert_eq!(run("counter").result.unwrap().len(), 1);
}
