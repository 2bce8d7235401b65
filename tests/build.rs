//! Builds the test programs in `tests/programs/` (hostile guests: loops, bombs, forbidden
//! imports, broken commission) into wasm components, the way wasmtime's own tests build
//! their guests. They belong to the tests, not to the production crate: `plaza` never
//! builds or embeds them. Writes `$OUT_DIR/test_programs.rs`: each one's name and bytes.

fn main() {
    let manifest = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest.parent().expect("tests/ sits in the workspace");
    plaza_plugin_sdk::build::embed_plugins(
        workspace,
        "tests/programs",
        "TEST_PROGRAMS",
        "test_programs.rs",
    );
}
