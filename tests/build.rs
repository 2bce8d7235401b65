//! Builds the test programs in `tests/programs/` (hostile guests: loops, bombs, forbidden
//! imports, broken commission) into wasm components, the way wasmtime's own tests build
//! their guests. They belong to the tests, not to the production crate: `plaza` never
//! builds or embeds them. Writes `$OUT_DIR/test_programs.rs`: each one's name and bytes.

use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf();
    // The same directory as the host's example plugins, so both builds share the compiled
    // SDK and bindings (cargo serializes them on the directory's lock).
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("plaza-plugins");
    for watched in [
        "tests/programs",
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
    let built =
        plaza_plugin_sdk::build::build_plugins(&cargo, &workspace, "tests/programs", &target_dir)
            .unwrap_or_else(|e| panic!("building the test programs: {e}"));
    let mut out = String::from(
        "/// Test programs built from `tests/programs/`: (crate name, component bytes).\n",
    );
    out.push_str("pub const TEST_PROGRAMS: &[(&str, &[u8])] = &[\n");
    for program in built {
        out.push_str(&format!(
            "    ({:?}, include_bytes!({:?})),\n",
            program.name,
            program.component.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("test_programs.rs");
    std::fs::write(dest, out).expect("writing test_programs.rs");
}
