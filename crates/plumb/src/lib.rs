//! plumb as a library: the composition root behind the `plumb` binary (and, later, the HTTP
//! API). Front ends live in `cli`; use cases in `app`; output formats in `report`.

pub mod app;
pub mod cli;
pub mod config;
pub mod error;
pub mod report;
