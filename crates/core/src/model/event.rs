//! Events: the append-only history of every change to every record.

use serde::Serialize;
use serde_json::Value;

use crate::enums::word_enum;
use crate::event_chain::canonical_json;
use crate::time::Timestamp;

word_enum! {
    /// The kind of record an event is about.
    pub enum Entity {
        Asset = "asset",
        Relationship = "relationship",
        Run = "run",
        Finding = "finding",
        Sink = "sink",
        Scope = "scope",
        Exception = "exception",
        Reminder = "reminder",
        Token = "token",
        Sanitization = "sanitization",
        Chain = "chain",
    }
}

/// A change about to be recorded: what changed, before and after, already in canonical JSON
/// text (the costly part, which can be done away from the writing transaction). The store seals
/// it into an [`Event`] (sequence number, id, time, actor, hashes) in the same transaction as
/// the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDraft {
    /// The kind of record changed.
    pub entity: Entity,
    /// The changed record's id.
    pub entity_id: String,
    /// What happened: `created`, `updated`, `transitioned`, `linked`, `reassigned`, ….
    pub action: &'static str,
    /// The changed fields before the change (absent for a creation), canonical JSON.
    pub before: Option<String>,
    /// The changed fields after the change, canonical JSON.
    pub after: Option<String>,
}

impl EventDraft {
    /// A draft with `before` and `after` in canonical form.
    pub fn new(
        entity: Entity,
        entity_id: String,
        action: &'static str,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> Self {
        EventDraft {
            entity,
            entity_id,
            action,
            before: before.map(canonical_json),
            after: after.map(canonical_json),
        }
    }
}

/// A recorded event, exactly as stored. `before` and `after` are kept as the JSON text that was
/// hashed, so verification never depends on re-serialising.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// A ULID.
    pub id: String,
    /// When the change was committed.
    pub at: Timestamp,
    /// Who made it (`--actor`, `PLUMB_ACTOR`, or the OS user).
    pub actor: String,
    /// The kind of record changed.
    pub entity: String,
    /// The changed record's id.
    pub entity_id: String,
    /// What happened.
    pub action: String,
    /// Changed fields before, as canonical JSON text.
    #[serde(serialize_with = "raw_json")]
    pub before: Option<String>,
    /// Changed fields after, as canonical JSON text.
    #[serde(serialize_with = "raw_json")]
    pub after: Option<String>,
    /// The hash of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over this event's canonical encoding, hex.
    pub hash: String,
}

/// Emits stored JSON text as JSON, not as a string, so `-o json` shows objects.
fn raw_json<S: serde::Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match text {
        None => s.serialize_none(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => value.serialize(s),
            Err(_) => s.serialize_str(text),
        },
    }
}
