//! The plugin author's journey from an empty directory outside Plaza's workspace: `plaza
//! plugin new` for every stage, `cargo test` in each new crate (its own tests pass out of
//! the box), `plaza plugin build` (a module Plaza's sandbox takes), `plaza plugin test`
//! (its fixtures pass in the sandbox; a changed answer fails with a diff until recorded),
//! then each uploaded to a real server, its scaffolded plan applied and the example cart
//! quoted through it.

use plaza_tests::server::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const PLAZA: &str = env!("CARGO_BIN_EXE_plaza-e2e");

/// Builds of the scaffolded crates share one target directory under the workspace's, so
/// their dependencies compile once (and once per checkout, not per run).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffolded")
}

/// A command in `dir` as a shell would run it: without the variables the outer cargo set
/// for this test's own build.
fn command(program: &str, dir: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(dir).env("CARGO_TARGET_DIR", target_dir());
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MANIFEST_DIR",
    ] {
        c.env_remove(var);
    }
    c
}

fn run(c: Command) -> String {
    let (ok, stdout, stderr) = attempt(c);
    assert!(ok, "{stdout}\n{stderr}");
    stdout
}

/// Run `c`: whether it succeeded, its stdout and its stderr.
fn attempt(mut c: Command) -> (bool, String, String) {
    let out = c.output().expect("running a command");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn plugin_test(root: &Path, update: bool) -> (bool, String, String) {
    let mut t = command(PLAZA, root);
    t.args(["plugin", "test"]);
    if update {
        t.arg("--update");
    }
    attempt(t)
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const STAGES: [&str; 6] = [
    "item-price",
    "store-promotion",
    "coupon",
    "points",
    "shipping",
    "commission",
];

#[test]
fn a_rule_scaffolded_outside_the_workspace_tests_builds_uploads_and_quotes() {
    let home = tempfile::tempdir().unwrap();
    assert!(!home.path().starts_with(env!("CARGO_MANIFEST_DIR")));
    let server = Server::start();
    let shop = server.operator().create_tenant("my-shop", "merchant");
    // The fixture cart names its promoter; this merchant trusts the checkout's word for it.
    let mut attribution = shop.get("/v1/settings/attribution").body;
    attribution["source"] = json!("checkout");
    let saved = shop.put("/v1/settings/attribution", &attribution);
    assert_eq!(saved.status, 200, "{}", saved.text);
    for stage in STAGES {
        let name = format!("my-{stage}");
        let mut new = command(PLAZA, home.path());
        new.args(["plugin", "new", &name, "--stage", stage]);
        let created: Value = serde_json::from_str(&run(new)).unwrap();
        let root = PathBuf::from(created["created"].as_str().unwrap());
        assert_eq!(root, home.path().join(&name));

        let tested = run({
            let mut t = command("cargo", &root);
            t.args(["test", "--quiet"]);
            t
        });
        assert!(tested.contains("test result: ok"), "{stage}: {tested}");

        let mut build = command(PLAZA, &root);
        build.args(["plugin", "build"]);
        let built: Value = serde_json::from_str(&run(build)).unwrap();
        assert_eq!(built["name"], name.as_str(), "{built}");
        assert_eq!(built["stage"], stage.replace('-', "_"));
        assert!(built["bytes"].as_u64().unwrap() <= built["max_bytes"].as_u64().unwrap());

        let (passed, report, progress) = plugin_test(&root, false);
        assert!(passed, "{stage}: {report}\n{progress}");
        let report: Value = serde_json::from_str(&report).unwrap();
        let fixtures = report["fixtures"].as_array().unwrap();
        assert_eq!(fixtures.len(), 2, "{report}");
        assert!(
            fixtures.iter().all(|f| f["verdict"] == "passed"),
            "{report}"
        );
        let example = &fixtures[0];
        assert_eq!(example["fixture"], "example.json");
        assert!(example["fuel"].as_u64().unwrap() > 0, "{report}");
        assert!(example["output_bytes"].as_u64().unwrap() > 0, "{report}");
        assert!(
            progress.contains("passed  example.json  fuel "),
            "{progress}"
        );
        if stage == "store-promotion" {
            changed_answers_fail_with_a_diff_until_recorded(&root);
        }

        let wasm = std::fs::read(root.join(format!("{name}.wasm"))).unwrap();
        let uploaded = shop.post_bytes("/v1/plugins", &wasm, "application/wasm");
        assert_eq!(uploaded.status, 201, "{stage}: {}", uploaded.text);
        assert_eq!(uploaded.body["version"], "0.1.0");

        shop.apply(&json_file(&root.join("plan.json")));
        let cart = json_file(&root.join("cart.json"));
        let quote = shop.post(&format!("/v1/plans/{name}-plan/quote"), &cart);
        assert_eq!(quote.status, 200, "{stage}: {}", quote.text);
        check(stage, &quote.body);
    }
}

/// An expectation that no longer matches fails `plaza plugin test` with a diff of the
/// answers; `--update` records the rule's answer, after which it passes.
fn changed_answers_fail_with_a_diff_until_recorded(root: &Path) {
    let path = root.join("fixtures/example.json");
    let mut fixture = json_file(&path);
    let discount = &mut fixture["expect"]["effects"][0]["order_adjustment"]["discount"];
    assert_eq!(*discount, 1_000);
    *discount = json!(999);
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();

    let (passed, _, progress) = plugin_test(root, false);
    assert!(!passed, "{progress}");
    assert!(progress.contains("failed  example.json"), "{progress}");
    assert!(
        progress.contains("-        \"discount\": 999,"),
        "{progress}"
    );
    assert!(
        progress.contains("+        \"discount\": 1000,"),
        "{progress}"
    );
    assert!(progress.contains("1 of 2 fixtures failed"), "{progress}");

    let (passed, _, progress) = plugin_test(root, true);
    assert!(passed, "{progress}");
    assert!(progress.contains("updated example.json"), "{progress}");
    let recorded = json_file(&path);
    assert_eq!(
        recorded["expect"]["effects"][0]["order_adjustment"]["discount"],
        1_000
    );
    assert_eq!(recorded["config"], fixture["config"], "the rest is kept");
    let (passed, _, progress) = plugin_test(root, false);
    assert!(passed, "{progress}");
}

/// What each stage's scaffolded rule, with its scaffolded configuration, does to the
/// fixture cart (2 × ¥68 tea and a ¥39 cup for a gold member, ¥8 shipping, coupon
/// WELCOME10, promoter p-1).
fn check(stage: &str, quote: &Value) {
    let step = &quote["explanation"][0];
    let discount = &quote["total"]["discount"];
    match stage {
        // Tea at the gold price: 2 × (68 − 58).
        "item-price" => assert_eq!(discount, 2_000, "{quote}"),
        // ¥10 off from ¥100 (¥175 spent), and the coupon's the same.
        "store-promotion" | "coupon" => assert_eq!(discount, 1_000, "{quote}"),
        // The ¥8 fee waived from ¥99.
        "shipping" => assert_eq!(quote["shipping"]["payable"], 0, "{quote}"),
        // The merchant runs no points program: the offer comes to nothing.
        "points" => assert_eq!(discount, 0, "{quote}"),
        // 5 % of each line to the promoter: ¥6.80 and ¥1.95.
        "commission" => {
            let amounts: Vec<&Value> = (quote["commissions"].as_array().unwrap().iter())
                .map(|c| &c["amount"])
                .collect();
            assert_eq!(amounts, [680, 195], "{quote}");
        }
        _ => unreachable!(),
    }
    assert_eq!(step["plugin"], format!("my-{stage}@0.1.0"), "{quote}");
    assert_eq!(step["stage"], stage.replace('-', "_"), "{quote}");
}
