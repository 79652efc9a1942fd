//! The corpus of a fuzz target, for the replay tests and the seed step: every file of
//! `fuzz/corpus/<target>/` (kept minimised by `scripts/fuzz`) and of `fuzz/regressions/<target>/`
//! (the reproducers of what the fuzzers found, kept whatever the minimisation drops).

use std::path::PathBuf;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Calls `one_input` on each file of the target's corpus and regressions; answers how many.
pub fn replay(target: &str, mut one_input: impl FnMut(&[u8])) -> usize {
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.iter().filter(|p| p.is_file()) {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| one_input(&bytes)));
            assert!(outcome.is_ok(), "fuzz input {} panicked", path.display());
            count += 1;
        }
    }
    count
}

/// Writes `seeds` into the target's corpus, as `seed-<n>` (the seed step of `scripts/fuzz`).
pub fn write_seeds(target: &str, seeds: &[Vec<u8>]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (n, seed) in seeds.iter().enumerate() {
        let path = dir.join(format!("seed-{n:03}"));
        std::fs::write(&path, seed).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
