//! Builds the example plugins in `plugins/` into wasm components, so the `plaza` demo, the
//! end-to-end tests and the benchmarks all run real plugins built from source.
//! Writes `$OUT_DIR/example_plugins.rs`: each one's name and its component's bytes,
//! embedded (`include_bytes!`), so the binary runs anywhere it is copied or installed.
//! Only the examples: the hostile test guests are the tests crate's own (`tests/programs`).

use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("plaza-plugins");
    for watched in [
        "plugins",
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
    let built = plaza_plugin_sdk::build::build_plugins(&cargo, &workspace, "plugins", &target_dir)
        .unwrap_or_else(|e| panic!("building the example plugins: {e}"));
    let mut out =
        String::from("/// Example plugins built from `plugins/`: (crate name, component bytes).\n");
    out.push_str("pub const EXAMPLE_PLUGINS: &[(&str, &[u8])] = &[\n");
    for plugin in built {
        out.push_str(&format!(
            "    ({:?}, include_bytes!({:?})),\n",
            plugin.name,
            plugin.component.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("example_plugins.rs");
    std::fs::write(dest, out).expect("writing example_plugins.rs");
}
