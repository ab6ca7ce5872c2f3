//! plumb's CI gates as plain parsing and evaluation: scanner reports (Trivy, Grype, SARIF,
//! CycloneDX) with ignore and VEX files, Dockerfile base images, Terraform version pins, and
//! GitHub pull-request reviews.
//!
//! Everything here except `github::client` is synchronous and pure: inputs are text and the
//! current time is passed in, so every rule is tested with plain values. The binary decides
//! exit codes, output formats and what is recorded in the database.

pub mod dockerfile;
pub mod error;
pub mod github;
pub mod iac;
pub mod ignore;
pub mod image;
pub mod scan;
pub mod vex;

pub use error::GateError;
