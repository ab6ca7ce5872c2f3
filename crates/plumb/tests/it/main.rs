//! Integration tests: they drive the real `plumb` binary against real databases. Every test in
//! `both_backends!` runs twice, on a SQLite file and on the real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected errors")]

mod fake_http;
mod support;

mod api;
mod assets;
mod check;
mod check_aws;
mod coverage_aws;
mod decommission;
mod demo;
mod drift;
mod drift_aws;
mod evidence;
mod exceptions;
mod gate;
mod import;
mod log;
mod moto;
mod register;
mod schedule;
mod schemathesis;
mod secrets;
mod serve;
mod sso;
mod sync;
mod sync_aws;
mod unseen;
