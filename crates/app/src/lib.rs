//! plumb's use cases and output formats, for every front end (the CLI today; the HTTP API, the
//! web UI and the MCP server next): `app` holds one use case per file over a `Context`
//! (configuration, store, principal), `report` renders records and findings (table, JSON,
//! CSV, SARIF, JUnit, HTML), `config` reads `plumb.toml`, `error` classifies failures into exit
//! codes. No terminal and no command-line type lives here: front ends implement
//! `app::progress::Progress` and choose a `report::Format`.

pub mod app;
pub mod config;
pub mod error;
pub mod report;
