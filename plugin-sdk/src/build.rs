//! Build plugin crates into uploadable modules (native only, feature `build`).
//!
//! A plugin crate compiles to a core wasm module for `wasm32-unknown-unknown`. A module
//! built with this SDK implements contract 0.2 and is uploaded as it is. A module built
//! against the frozen 0.1 contract (wit-bindgen over `wit/plaza-rules.wit`) carries its
//! type information in a custom section, and [`componentize`] turns it into the component
//! 0.1 is. [`build_plugins`] does this for every crate in a folder, with a target
//! directory of its own so that it can run from inside another cargo build.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo profile plugins are built with (small and fast: see the workspace manifest).
pub const PROFILE: &str = "plugin";
/// The wasm target plugins are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// One built plugin.
#[derive(Debug, Clone)]
pub struct BuiltPlugin {
    /// The crate (and folder) name, e.g. `threshold-discount`.
    pub name: String,
    /// The file to upload: a contract 0.2 module, or a 0.1 component.
    pub wasm: PathBuf,
}

/// True when `module` is a core module implementing contract 0.2 (it exports
/// `plaza_rules_0_2`).
pub fn is_contract_0_2(module: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(module).any(|payload| {
        matches!(payload, Ok(wasmparser::Payload::ExportSection(exports))
            if exports.clone().into_iter().any(|e| e.is_ok_and(|e| e.name == "plaza_rules_0_2")))
    })
}

/// Turn a core module built against the 0.1 contract (wit-bindgen) into a component.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, String> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| format!("{e:#}"))
}

/// The plugin crates under `plugins_dir`: every folder holding a `Cargo.toml`, sorted.
pub fn plugin_crates(plugins_dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(plugins_dir)
        .map_err(|e| format!("reading {}: {e}", plugins_dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.join("Cargo.toml").is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Build every crate in `workspace/<folder>` (e.g. `plugins`) to an uploadable file in
/// `target_dir/components`.
///
/// `cargo` is the cargo binary to run (a build script passes `$CARGO`). Variables that an
/// outer cargo sets for its own build are cleared, so the inner build is the same from a
/// build script as from a shell. Builds that share `target_dir` share their compiled
/// dependencies (cargo serializes them on the directory's lock).
pub fn build_plugins(
    cargo: &Path,
    workspace: &Path,
    folder: &str,
    target_dir: &Path,
) -> Result<Vec<BuiltPlugin>, String> {
    let names = plugin_crates(&workspace.join(folder))?;
    let mut command = plugin_cargo(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--locked",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    for name in &names {
        command.args(["-p", name]);
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .map_err(|e| format!("running {}: {e}", cargo.display()))?;
    if !status.success() {
        return Err(format!("building plugins failed: {status}"));
    }

    let components = target_dir.join("components");
    std::fs::create_dir_all(&components).map_err(|e| e.to_string())?;
    let mut built = Vec::new();
    for name in names {
        let module_path = target_dir
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", name.replace('-', "_")));
        let module = std::fs::read(&module_path)
            .map_err(|e| format!("reading {}: {e}", module_path.display()))?;
        let wasm = if is_contract_0_2(&module) {
            module
        } else {
            componentize(&module).map_err(|e| format!("componentizing {name}: {e}"))?
        };
        let out = components.join(format!("{name}.wasm"));
        // Rewrite only on change, so dependants are not rebuilt for nothing.
        if std::fs::read(&out).ok().as_deref() != Some(wasm.as_slice()) {
            std::fs::write(&out, &wasm).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        built.push(BuiltPlugin { name, wasm: out });
    }
    Ok(built)
}

/// The command that builds plugins: the outer build's own cargo, unless rustup was told to
/// run the outer build on another toolchain than the workspace pins (`cargo +nightly fuzz
/// …`, or `RUSTUP_TOOLCHAIN`). Plugins always build on the pinned toolchain, the one with
/// the wasm target: then rustup's `cargo` runs in the workspace with the outer toolchain's
/// choice and tools taken out of its environment, so `rust-toolchain.toml` decides.
fn plugin_cargo(cargo: &Path) -> Command {
    let overridden = matches!(
        std::env::var("RUSTUP_TOOLCHAIN_SOURCE").as_deref(),
        Ok("cli" | "env")
    );
    if !overridden {
        return Command::new(cargo);
    }
    let mut command = Command::new("cargo");
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTUP_TOOLCHAIN_SOURCE",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
    ] {
        command.env_remove(var);
    }
    command
}

/// The whole build script of a crate that embeds plugins: build every crate in
/// `workspace/<folder>` to its uploadable file (in `target/plaza-plugins`, shared by every such
/// build) and write `$OUT_DIR/<out_file>` declaring
/// `pub const <name>: &[(&str, &[u8])]`, each crate's name and its file's bytes
/// (`include_bytes!`). `workspace` is the directory holding the workspace manifest.
pub fn embed_plugins(workspace: &Path, folder: &str, name: &str, out_file: &str) {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("plaza-plugins");
    for watched in [
        folder,
        "plugin-sdk/src",
        "plugin-sdk/wit",
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let cargo = PathBuf::from(std::env::var_os("CARGO").expect("CARGO"));
    let built = build_plugins(&cargo, workspace, folder, &target_dir)
        .unwrap_or_else(|e| panic!("building {folder}: {e}"));
    let mut out = format!(
        "/// Built from `{folder}/`: (crate name, module or component bytes).\npub const {name}: &[(&str, &[u8])] = &[\n"
    );
    for plugin in built {
        out.push_str(&format!(
            "    ({:?}, include_bytes!({:?})),\n",
            plugin.name,
            plugin.wasm.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join(out_file);
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}
