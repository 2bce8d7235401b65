//! Builds the example plugins in `plugins/` into wasm components, so the `plaza` demo, the
//! end-to-end tests and the benchmarks all run real plugins built from source. They are
//! embedded (`$OUT_DIR/example_plugins.rs`: each one's name and bytes), so the binary runs
//! anywhere it is copied or installed. Only the examples: the hostile test guests are the
//! tests crate's own (`tests/programs`).

fn main() {
    let manifest = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest.parent().expect("host/ sits in the workspace");
    plaza_plugin_sdk::build::embed_plugins(
        workspace,
        "plugins",
        "EXAMPLE_PLUGINS",
        "example_plugins.rs",
    );
}
