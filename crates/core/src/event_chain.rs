//! The tamper-evident event chain.
//!
//! Every event carries the SHA-256 of the previous event and of its own canonical encoding, so
//! editing, deleting, inserting or reordering a stored event breaks the chain at that point.
//! The store keeps the chain head (last sequence number and hash) beside the events, which also
//! exposes removal of the newest events.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::{Event, EventDraft};
use crate::time::Timestamp;

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The end of the chain: the last event's sequence number and hash (0 and [`GENESIS`] when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number of the last event.
    pub seq: i64,
    /// Hash of the last event.
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> Self {
        ChainHead { seq: 0, hash: GENESIS.to_owned() }
    }
}

impl ChainHead {
    /// Turns a draft into the next event of the chain and advances the head past it.
    pub fn seal(&mut self, draft: &EventDraft, id: String, at: Timestamp, actor: &str) -> Event {
        let mut event = Event {
            seq: self.seq + 1,
            id,
            at,
            actor: actor.to_owned(),
            entity: draft.entity.as_str().to_owned(),
            entity_id: draft.entity_id.clone(),
            action: draft.action.to_owned(),
            before: draft.before.clone(),
            after: draft.after.clone(),
            prev_hash: self.hash.clone(),
            hash: String::new(),
        };
        event.hash = event_hash(&event);
        self.seq = event.seq;
        self.hash = event.hash.clone();
        event
    }
}

/// SHA-256 (hex) over the event's canonical encoding: a JSON array of a version tag and every
/// stored field but the hash itself, with `before`/`after` embedded as the stored text.
pub fn event_hash(event: &Event) -> String {
    let encoded = serde_json::to_string(&(
        "plumb-event-v1",
        event.seq,
        &event.id,
        event.at,
        &event.actor,
        &event.entity,
        &event.entity_id,
        &event.action,
        &event.before,
        &event.after,
        &event.prev_hash,
    ))
    .unwrap_or_default();
    hex::encode(Sha256::digest(encoded.as_bytes()))
}

/// JSON text with object keys sorted and no insignificant whitespace, independent of how
/// `serde_json` was built (its `preserve_order` feature changes map order).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only serde_json's output and ASCII punctuation were written: always UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the canonical encoding of `value` (see [`canonical_json`]).
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_plain(key, out);
                out.push(b':');
                write_canonical(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_plain(scalar, out),
    }
}

/// Appends serde_json's compact encoding of a value whose encoding is already canonical (a
/// string, a scalar, a map ordered by key).
pub(crate) fn write_plain(value: &(impl serde::Serialize + ?Sized), out: &mut Vec<u8>) {
    // Writing these into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Why verification stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// An event's stored hash does not match its content: it was edited.
    #[error("event {seq} ({id}) was altered: its content no longer matches its hash")]
    Altered {
        /// Sequence number of the event.
        seq: i64,
        /// Its id.
        id: String,
    },
    /// An event does not point at the one before it: events were removed, inserted or reordered.
    #[error(
        "event {seq} ({id}) does not follow event {expected_prev}: events before it were removed, inserted or reordered"
    )]
    Unlinked {
        /// Sequence number of the event.
        seq: i64,
        /// Its id.
        id: String,
        /// The sequence number it should follow.
        expected_prev: i64,
    },
    /// The chain ends before the recorded head: the newest events were removed.
    #[error(
        "the chain ends at event {last_seq} but the recorded head is event {head_seq}: the newest events were removed"
    )]
    Truncated {
        /// The last event found.
        last_seq: i64,
        /// The head recorded by the store.
        head_seq: i64,
    },
    /// The recorded head does not match the last event.
    #[error("the recorded chain head does not match event {seq}")]
    HeadMismatch {
        /// The last event found.
        seq: i64,
    },
}

impl ChainBreak {
    /// The sequence number where the break was found.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Altered { seq, .. }
            | ChainBreak::Unlinked { seq, .. }
            | ChainBreak::HeadMismatch { seq } => *seq,
            ChainBreak::Truncated { last_seq, .. } => *last_seq + 1,
        }
    }
}

/// Checks events one at a time in sequence order, so a chain of any length is verified in
/// constant memory.
#[derive(Debug, Default)]
pub struct Verifier {
    last: ChainHead,
}

impl Verifier {
    /// Checks the next event, in the order of the stored sequence numbers.
    pub fn push(&mut self, event: &Event) -> Result<(), ChainBreak> {
        if event.seq != self.last.seq + 1 || event.prev_hash != self.last.hash {
            return Err(ChainBreak::Unlinked {
                seq: event.seq,
                id: event.id.clone(),
                expected_prev: self.last.seq,
            });
        }
        if event_hash(event) != event.hash {
            return Err(ChainBreak::Altered { seq: event.seq, id: event.id.clone() });
        }
        self.last = ChainHead { seq: event.seq, hash: event.hash.clone() };
        Ok(())
    }

    /// Compares the end of the verified events with the head the store recorded; returns the
    /// number of verified events.
    pub fn finish(self, head: &ChainHead) -> Result<i64, ChainBreak> {
        if self.last.seq < head.seq {
            return Err(ChainBreak::Truncated { last_seq: self.last.seq, head_seq: head.seq });
        }
        if self.last != *head {
            return Err(ChainBreak::HeadMismatch { seq: self.last.seq });
        }
        Ok(self.last.seq)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Entity;

    fn chain(n: usize) -> (Vec<Event>, ChainHead) {
        let mut head = ChainHead::default();
        let events = (0..n)
            .map(|i| {
                let after = json!({"key": format!("k{i}"), "b": 1, "a": [1, {"z": 0, "y": null}]});
                let draft = EventDraft::new(Entity::Asset, format!("a{i}"), "created", None, Some(&after));
                head.seal(&draft, format!("id{i}"), Timestamp::UNIX_EPOCH, "ana@example.com")
            })
            .collect();
        (events, head)
    }

    fn verify(events: &[Event], head: &ChainHead) -> Result<i64, ChainBreak> {
        let mut verifier = Verifier::default();
        for event in events {
            verifier.push(event)?;
        }
        verifier.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        let (events, head) = chain(5);
        assert_eq!(verify(&events, &head), Ok(5));
        assert_eq!(verify(&[], &ChainHead::default()), Ok(0));
    }

    #[test]
    fn edited_event_is_named() {
        let (mut events, head) = chain(5);
        events[2].actor = "mallory@example.com".into();
        assert_eq!(verify(&events, &head), Err(ChainBreak::Altered { seq: 3, id: "id2".into() }));
    }

    #[test]
    fn deleted_event_is_named() {
        let (mut events, head) = chain(5);
        events.remove(1);
        assert_eq!(verify(&events, &head).unwrap_err().seq(), 3);
    }

    #[test]
    fn reordered_events_are_named() {
        let (mut events, head) = chain(5);
        events.swap(1, 3);
        (events[1].seq, events[3].seq) = (2, 4);
        assert_eq!(verify(&events, &head).unwrap_err().seq(), 2);
    }

    #[test]
    fn removed_tail_is_detected() {
        let (mut events, head) = chain(5);
        events.truncate(3);
        assert_eq!(verify(&events, &head), Err(ChainBreak::Truncated { last_seq: 3, head_seq: 5 }));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"d": [true, null], "c": "x\"y"}});
        assert_eq!(canonical_json(&value), r#"{"a":{"c":"x\"y","d":[true,null]},"b":1}"#);
    }
}
