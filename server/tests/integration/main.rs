//! The integration tests of `server`, in one binary: each file was a test binary of its own, and
//! linking a copy of the crate and its dependencies per file took minutes of every CI run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;
mod adviser_views;
mod api;
mod auth_limits;
mod conversations;
mod crash;
mod delivery;
mod demo;
mod departures;
mod edges;
mod instances;
mod notifications;
mod offline_client;
mod plan_writes;
mod sessions;
mod sync;
mod web_app;
mod web_push;
