//! Every committed fuzz corpus file (`fuzz/corpus/<target>/`), through the same check its
//! fuzz target runs (`plaza_tests::fuzz`), on the stable toolchain: an input that once
//! crashed Plaza keeps failing this test if the fix is undone.

use std::path::Path;

fn corpus(target: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let check = plaza_tests::fuzz::target(target);
    let files = corpus(target);
    assert!(!files.is_empty(), "the {target} corpus is empty");
    for file in files {
        let data = std::fs::read(&file).expect("a corpus file reads");
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            panic!("{}: {message}", file.display());
        }
    }
}

#[test]
fn cart() {
    replay("cart");
}

#[test]
fn plan() {
    replay("plan");
}

#[test]
fn dispose() {
    replay("dispose");
}

#[test]
fn wire() {
    replay("wire");
}

/// The wire target's structured seeds are in its corpus as the current encoders write
/// them (`PLAZA_WRITE_SEEDS=1` rewrites them after a deliberate format change).
#[test]
fn wire_seeds_are_committed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wire");
    for (name, bytes) in plaza_tests::fuzz::wire_seeds() {
        let file = dir.join(name);
        if std::env::var_os("PLAZA_WRITE_SEEDS").is_some() {
            std::fs::write(&file, &bytes).expect("the seed writes");
        }
        let committed = std::fs::read(&file).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} is not the current encoding",
            file.display()
        );
    }
}

#[test]
fn component() {
    replay("component");
}

#[test]
fn router() {
    replay("router");
}

#[test]
fn accrual() {
    replay("accrual");
}

#[test]
fn every_target_has_its_test() {
    let names: Vec<&str> = plaza_tests::fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "cart",
            "plan",
            "dispose",
            "wire",
            "component",
            "router",
            "accrual"
        ]
    );
}
