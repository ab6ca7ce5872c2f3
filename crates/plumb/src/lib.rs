//! The `plumb` command line: a thin front end over the use cases and output formats of
//! `plumb-app` (re-exported here under the names the front end uses).

pub mod api;
pub mod cli;

pub use plumb_app::{app, config, error, report};
