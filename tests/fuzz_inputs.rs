//! The fuzz targets' inputs under the ordinary `cargo test` (no nightly,
//! no cargo-fuzz): every hand-written seed in fuzz/seeds/TARGET/ must get
//! through every stage of its target, and every input a fuzzer once
//! crashed berth with (tests/fuzz_regressions/TARGET/) must no longer
//! panic. The targets' bodies are the very ones cargo fuzz runs.

use std::path::{Path, PathBuf};

#[path = "../fuzz/targets.rs"]
mod targets;

type Target = fn(&[u8]) -> Result<(), String>;

const TARGETS: &[(&str, Target)] = &[
    ("config", targets::config),
    ("exec_process", targets::exec_process),
    ("state", targets::state),
    ("seccomp", targets::seccomp),
    ("mount_options", targets::mount_options),
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    out.sort();
    out
}

#[test]
fn seeds_get_through_every_stage() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (name, target) in TARGETS {
        let seeds = files(&root.join(name));
        assert!(!seeds.is_empty(), "no seeds for {name}");
        for seed in seeds {
            let data = std::fs::read(&seed).unwrap();
            if let Err(e) = target(&data) {
                panic!("{}: refused: {e}", seed.display());
            }
        }
    }
}

#[test]
fn saved_crashes_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for (name, target) in TARGETS {
        for input in files(&root.join(name)) {
            let data = std::fs::read(&input).unwrap();
            // Accepted or refused: either is fine, a panic is the bug.
            let _ = target(&data);
        }
    }
}
