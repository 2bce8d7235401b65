//! JavaScript rules for the tests: built from source (`<folder>/rule.js`) with the
//! JS SDK's toolchain from npm (`plugin-sdk/js`: `npm ci`, then `node build.mjs`), once
//! per change of their sources (the component is kept in `target/plaza-js` with a hash of
//! what it was built from). Without node and npm the tests that need them are skipped, and
//! say so.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Why JavaScript rules cannot be built here, or `None` when they can.
pub fn unavailable() -> Option<String> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(|| {
        for tool in ["node", "npm"] {
            let found = Command::new(tool).arg("--version").output();
            if !found.is_ok_and(|o| o.status.success()) {
                return Some(format!(
                    "`{tool}` is not installed (Debian: apt-get install nodejs npm)"
                ));
            }
        }
        // rolldown, the bundler, needs node 20.19 or later.
        let version = (Command::new("node").arg("--version").output())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let parts: Vec<u32> = (version.trim_start_matches('v').split('.'))
            .filter_map(|p| p.parse().ok())
            .collect();
        match parts[..] {
            [major, minor, ..] if (major, minor) >= (20, 19) => None,
            _ => Some(format!(
                "node {version} is older than the 20.19 the JS toolchain needs"
            )),
        }
    })
    .clone()
}

/// The component built from `<folder>/rule.js` (`folder` relative to the workspace, like
/// `plugins/js/threshold-discount`), or `None` (after saying why) when node is absent.
pub fn component(folder: &str) -> Option<Vec<u8>> {
    if let Some(why) = unavailable() {
        eprintln!("skipped: JavaScript rules need node and npm: {why}");
        return None;
    }
    // One build at a time: they share the SDK's node_modules.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace();
    let sdk = root.join("plugin-sdk/js");
    let rule = root.join(folder).join("rule.js");
    let name = folder.rsplit('/').next().unwrap_or(folder);
    let out_dir = root.join("target/plaza-js");
    std::fs::create_dir_all(&out_dir).expect("creating target/plaza-js");
    let out = out_dir.join(format!("{name}.wasm"));
    let stamp = out_dir.join(format!("{name}.sources"));
    let sources = hash(&[
        &rule,
        &sdk.join("plaza-rules.js"),
        &sdk.join("build.mjs"),
        &sdk.join("package-lock.json"),
        &root.join("plugin-sdk/wit/component/rule.wit"),
    ]);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(sources.as_str())
        && let Ok(bytes) = std::fs::read(&out)
    {
        return Some(bytes);
    }
    // `npm ci` again whenever the lock file changed since the last install, so that a
    // package installed by hand and missing from the lock cannot hide here.
    let lock = hash(&[&sdk.join("package-lock.json")]);
    let installed = sdk.join("node_modules/.plaza-installed");
    if std::fs::read_to_string(&installed).ok().as_deref() != Some(lock.as_str()) {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&sdk));
        std::fs::write(&installed, &lock).expect("writing the install stamp");
    }
    run(Command::new("node")
        .arg("build.mjs")
        .arg(&rule)
        .arg(&out)
        .current_dir(&sdk));
    std::fs::write(&stamp, &sources).expect("writing the build stamp");
    Some(std::fs::read(&out).expect("the built component"))
}

fn hash(files: &[&Path]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
    }
    hex::encode(h.finalize())
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
