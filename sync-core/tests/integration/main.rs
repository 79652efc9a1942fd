//! The integration tests of `sync-core`, in one binary: each file was a test binary of its own, and
//! linking a copy of the crate and its dependencies per file took minutes of every CI run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
mod bad_input;
mod convergence;
mod conversation_convergence;
mod conversation_rules;
mod protocol_fixtures;
mod review;
mod review_batches;
mod rules_table;
mod sync_fuzz;

// The fuzz targets' "one input" functions (fuzz/inputs), replayed here on the kept corpus.
#[path = "../../../fuzz/inputs/corpus.rs"]
mod fuzz_corpus;
#[path = "../../../fuzz/inputs/frame.rs"]
mod fuzz_frame;
#[path = "../../../fuzz/inputs/load.rs"]
mod fuzz_load;
#[path = "../../../fuzz/inputs/sync.rs"]
mod fuzz_sync;
