//! plumb's domain core: the words of the product specification (assets, lifecycle, events,
//! relationships) and the pure rules over them.
//!
//! Nothing here does I/O, talks to a database or reads the clock: callers pass the current time
//! and fresh ids in. That keeps every rule testable with plain values and lets the store, the
//! CLI and the API share one implementation of each rule.

pub mod authz;
pub mod controls;
pub mod coverage;
pub mod decommission;
pub mod drift;
pub mod enums;
pub mod event_chain;
pub mod evidence;
pub mod exception;
pub mod glob;
pub mod lifecycle;
pub mod model;
pub mod provenance;
pub mod record;
pub mod register;
pub mod rules;
pub mod schedule;
pub mod scope;
pub mod secrets;
pub mod sync;
pub mod time;
pub mod token;

pub use model::{Asset, AssetId, Event, EventDraft, Kind, NewAsset, RelationKind, Relationship, Status};
pub use rules::InventoryRules;
pub use time::Timestamp;
