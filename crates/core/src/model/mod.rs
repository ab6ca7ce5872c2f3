//! The nouns of the product specification (§2), as plain data.
//!
//! These types serialize with the specification's field names, which are also the CSV headers,
//! the JSON keys of `-o json` and the HTTP API: one spelling everywhere. Golden tests in the
//! binary crate pin that contract.

pub(crate) mod asset;
mod event;
pub(crate) mod finding;
mod relationship;
mod run;

pub use asset::{Asset, AssetId, FIELDS, Kind, NewAsset, Status, Tags};
pub use event::{Entity, Event, EventDraft};
pub use finding::{Finding, FindingStatus, PREVIOUS_STATUS, Severity};
pub use relationship::{RelationKind, Relationship};
pub use run::{Run, RunKind, RunOutcome};
