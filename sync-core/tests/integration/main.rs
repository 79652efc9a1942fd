//! The integration tests of `sync-core`, in one binary: each file was a test binary of its own, and
//! linking a copy of the crate and its dependencies per file took minutes of every CI run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
mod bad_input;
mod convergence;
mod protocol_fixtures;
mod review;
mod rules_table;
mod sync_fuzz;
