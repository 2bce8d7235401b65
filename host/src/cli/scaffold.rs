//! `plaza plugin new` and `plaza plugin build`: a rule crate of its own, anywhere (and
//! `plaza plugin stats`: how a server's quotes ran the tenant's plugins).
//!
//! `new` writes a crate outside any workspace (templates in `host/scaffold/`): the SDK by
//! path, the toolchain and wasm flags Plaza's own plugins build with, a rule for the chosen
//! stage with its tests, a fixture cart and a plan that runs it. `build` compiles it to the
//! module a server takes and loads that into Plaza's sandbox with the production limits,
//! so what it prints (name, version, stage, size) is what an upload would register.

use crate::sandbox::{Limits, Plugin, Sandbox};
use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Subcommand)]
pub(super) enum PluginCommand {
    /// Create a rule crate NAME (in the current directory, or `--dir`) for a stage.
    New {
        /// The plugin's name: lowercase letters, digits and dashes.
        name: String,
        /// item-price, store-promotion, coupon, points, shipping or commission.
        #[arg(long)]
        stage: String,
        /// Where to create the crate's folder [default: the current directory].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Plaza's `plugin-sdk` folder [default: the one this plaza was built from].
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build the rule crate in DIR (default: the current directory) to `<name>.wasm` and
    /// check it in Plaza's sandbox.
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Build the rule crate in DIR and run its fixtures (`fixtures/*.json`) in Plaza's
    /// sandbox with the production limits: each fixture's effects against what it
    /// expects, its configuration against the plugin's schema, and the fuel and output
    /// each evaluation used. Fails when any fixture does.
    Test {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Rewrite each fixture's `expect` to what the rule did (snapshot update).
        #[arg(long)]
        update: bool,
        /// Test this module instead of building the crate.
        #[arg(long)]
        wasm: Option<PathBuf>,
    },
    /// Each plugin the tenant's quotes ran on a running server since it started: runs,
    /// failures by kind, fuel and latency.
    Stats {
        #[command(flatten)]
        server: super::ServerArgs,
    },
}

/// Each stage's rule template and the configuration its plan uses.
const STAGES: [(&str, &str, &str, &str); 6] = [
    (
        "item-price",
        include_str!("../../scaffold/rules/item-price.rs"),
        r#"{"tier": "gold", "prices": {"tea": 5800}}"#,
        "会员价: a member tier's fixed unit prices",
    ),
    (
        "store-promotion",
        include_str!("../../scaffold/rules/store-promotion.rs"),
        r#"{"threshold": 10000, "discount": 1000}"#,
        "满减: a fixed amount off an order that spends enough",
    ),
    (
        "coupon",
        include_str!("../../scaffold/rules/coupon.rs"),
        r#"{"code": "WELCOME10", "min_spend": 10000, "discount": 1000}"#,
        "A store coupon code: a fixed amount off from a minimum spend",
    ),
    (
        "points",
        include_str!("../../scaffold/rules/points.rs"),
        r#"{"max_points": 500}"#,
        "积分抵扣: pay part of an order with member points",
    ),
    (
        "shipping",
        include_str!("../../scaffold/rules/shipping.rs"),
        r#"{"threshold": 9900}"#,
        "包邮: free shipping from a threshold",
    ),
    (
        "commission",
        include_str!("../../scaffold/rules/commission.rs"),
        r#"{"rate": 50000}"#,
        "推客佣金: the promoter's share of each line",
    ),
];

const MANIFEST: &str = include_str!("../../scaffold/Cargo.toml.in");
const README: &str = include_str!("../../scaffold/README.md.in");
const CART: &str = include_str!("../../scaffold/cart.json");
/// Each stage's fixtures, by file name (expectations recorded with `plaza plugin test --update`).
const FIXTURES: &str = include_str!("../../scaffold/fixtures.json");
const PLAN: &str = include_str!("../../scaffold/plan.json.in");
const TOOLCHAIN: &str = include_str!("../../../rust-toolchain.toml");
const CARGO_CONFIG: &str = include_str!("../../../.cargo/config.toml");
/// Where this plaza's SDK was, when it was built from source.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-sdk");

pub(super) fn plugin(command: PluginCommand) -> anyhow::Result<Value> {
    match command {
        PluginCommand::New {
            name,
            stage,
            dir,
            sdk,
        } => {
            let parent = match dir {
                Some(d) => d,
                None => std::env::current_dir()?,
            };
            let created = new(&name, &stage, &parent, sdk.as_deref())?;
            Ok(json!({"created": created, "stage": stage,
                      "next": "cd into it, then: cargo test && plaza plugin test && plaza plugin build"}))
        }
        PluginCommand::Build { dir } => build(&dir).map(|built| built.summary),
        PluginCommand::Test { dir, update, wasm } => test(&dir, update, wasm.as_deref()),
        PluginCommand::Stats { server } => server.client().get("/v1/plugin-stats"),
    }
}

/// The rule's type name: `my-rule` → `MyRule`.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Create crate `name` for `stage` in `parent`; returns its folder.
pub(super) fn new(
    name: &str,
    stage: &str,
    parent: &Path,
    sdk: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    if !valid_name(name) {
        bail!("{name:?}: a plugin name is lowercase letters, digits and single dashes");
    }
    let Some((_, rule, config, description)) = STAGES.iter().find(|(s, ..)| *s == stage) else {
        let known: Vec<&str> = STAGES.iter().map(|(s, ..)| *s).collect();
        bail!("unknown stage {stage:?}: one of {}", known.join(", "));
    };
    let sdk = match sdk {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(BUILT_SDK),
    };
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "Plaza's plugin SDK is not at {}: pass --sdk <plaza>/plugin-sdk",
            sdk.display()
        )
    })?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!(
            "{} holds no Cargo.toml: not Plaza's plugin SDK",
            sdk.display()
        );
    }
    let root = parent.join(name);
    if root.exists() {
        bail!("{} exists already", root.display());
    }
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{Type}}", &type_name(name))
            .replace("{{stage}}", stage)
            .replace("{{description}}", description)
            .replace("{{config}}", config)
            .replace("{{sdk}}", &sdk.display().to_string().replace('\\', "/"))
    };
    let files = [
        ("Cargo.toml", fill(MANIFEST)),
        ("README.md", fill(README)),
        ("rust-toolchain.toml", TOOLCHAIN.to_owned()),
        (".cargo/config.toml", CARGO_CONFIG.to_owned()),
        (".gitignore", "/target\n*.wasm\n".to_owned()),
        ("src/lib.rs", fill(rule)),
        ("cart.json", CART.to_owned()),
        ("plan.json", fill(PLAN)),
    ];
    let fixtures: serde_json::Map<String, Value> = serde_json::from_str(FIXTURES)?;
    let fixtures = fixtures.get(stage).and_then(Value::as_object).map(|files| {
        files.iter().map(|(file, fixture)| {
            let text = serde_json::to_string_pretty(fixture).unwrap_or_default() + "\n";
            (format!("fixtures/{file}"), text)
        })
    });
    let files = files.into_iter().map(|(p, t)| (p.to_owned(), t));
    for (path, text) in files.chain(fixtures.into_iter().flatten()) {
        let path = root.join(path);
        let folder = path.parent().expect("every file is in the crate");
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(root)
}

/// A rule crate built and loaded.
struct Built {
    sandbox: Sandbox,
    plugin: Plugin,
    summary: Value,
}

/// Run the fixtures of the crate in `dir` (built, unless `wasm` names the module).
fn test(dir: &Path, update: bool, wasm: Option<&Path>) -> anyhow::Result<Value> {
    let (sandbox, plugin) = match wasm {
        Some(path) => {
            let module =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let sandbox = Sandbox::new(Limits::default(), None)?;
            let plugin = (sandbox.load(&module))
                .map_err(|e| anyhow::anyhow!("Plaza's sandbox refuses the module: {e}"))?;
            (sandbox, plugin)
        }
        None => {
            let built = build(dir)?;
            (built.sandbox, built.plugin)
        }
    };
    let outcomes = crate::fixtures::run_dir(&sandbox, &plugin, &dir.join("fixtures"), update)?;
    for o in &outcomes {
        eprintln!(
            "{:<7} {}  fuel {} ({}% of the limit)  output {} B ({}%)  log {} B",
            o.verdict,
            o.fixture,
            o.fuel,
            o.fuel_used_percent,
            o.output_bytes,
            o.output_used_percent,
            o.log_bytes
        );
        if let Some(failure) = &o.failure {
            eprintln!("{failure}");
        }
    }
    let failed = outcomes.iter().filter(|o| o.verdict == "failed").count();
    if failed > 0 {
        bail!("{failed} of {} fixtures failed", outcomes.len());
    }
    let limits = sandbox.limits_for(plugin.size);
    Ok(json!({
        "plugin": format!("{}@{}", plugin.descriptor.name, plugin.descriptor.version),
        "fixtures": outcomes,
        "limits": {"fuel": limits.fuel, "max_output_bytes": limits.max_output_bytes},
    }))
}

/// Build the crate in `dir` and check the module in the sandbox.
fn build(dir: &Path) -> anyhow::Result<Built> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {} (is this a rule crate?)", manifest.display()))?;
    let name = package_name(&text)
        .with_context(|| format!("{} has no [package] name", manifest.display()))?;
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(dir)
        .args([
            "build",
            "--release",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .status()
        .context("running cargo (is Rust installed? https://rustup.rs)")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    let target = cargo_target_dir(dir)?;
    let module_path = target
        .join("wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    let module = std::fs::read(&module_path)
        .with_context(|| format!("reading {}", module_path.display()))?;
    let sandbox = Sandbox::new(Limits::default(), None)?;
    let plugin = (sandbox.load(&module))
        .map_err(|e| anyhow::anyhow!("Plaza's sandbox refuses the module: {e}"))?;
    let out = dir.join(format!("{name}.wasm"));
    std::fs::write(&out, &module).with_context(|| format!("writing {}", out.display()))?;
    let d = &plugin.descriptor;
    let summary = json!({
        "wasm": out,
        "bytes": plugin.size,
        "max_bytes": Limits::default().max_module_bytes,
        "name": d.name,
        "version": d.version,
        "stage": d.stage,
        "sha256": plugin.sha256,
    });
    Ok(Built {
        sandbox,
        plugin,
        summary,
    })
}

/// The `name` of a manifest's `[package]`.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(rest) = line.strip_prefix("name") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

/// Where cargo puts `dir`'s build (its workspace's target folder, `CARGO_TARGET_DIR` …), as
/// `cargo metadata` says.
fn cargo_target_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(dir)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(type_name("my-rule-2"), "MyRule2");
        assert!(valid_name("spend-and-save"));
        for bad in ["", "Tea", "-a", "a-", "a--b", "a_b", "1a"] {
            assert!(!valid_name(bad), "{bad}");
        }
        let manifest = "[package]\nname = \"tea-deal\"\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("tea-deal"));
    }

    #[test]
    fn every_stage_scaffolds_and_a_taken_folder_or_bad_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (stage, ..) in STAGES {
            let root = new(&format!("r-{stage}"), stage, dir.path(), None).unwrap();
            let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
            assert!(!lib.contains("{{"), "{stage}: a placeholder left");
            let plan: Value =
                serde_json::from_str(&std::fs::read_to_string(root.join("plan.json")).unwrap())
                    .unwrap();
            assert_eq!(plan["steps"][0]["plugin"]["name"], format!("r-{stage}"));
        }
        assert!(new("r-coupon", "coupon", dir.path(), None).is_err());
        assert!(new("x", "discounts", dir.path(), None).is_err());
        assert!(new("X", "coupon", dir.path(), None).is_err());
    }
}
