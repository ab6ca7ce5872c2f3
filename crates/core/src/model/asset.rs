//! An asset (a configuration item) and its closed vocabularies.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::enums::word_enum;
use crate::model::{Entity, EventDraft};
use crate::provenance::Provenance;
use crate::time::Timestamp;

/// Tags as key → value, sorted by key so their text form is canonical.
pub type Tags = BTreeMap<String, String>;

/// The field names of an asset, in the order of CSV columns and JSON keys.
pub const FIELDS: &[&str] = &[
    "id",
    "key",
    "name",
    "kind",
    "type",
    "environment",
    "owner",
    "manager",
    "classification",
    "location",
    "status",
    "source",
    "financial_ref",
    "tags",
    "attributes",
    "first_seen",
    "last_seen",
    "scope",
    "absent_since",
    "provenance",
];

/// An asset's id: a ULID, so ids sort by creation time and are unique without coordination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(pub ulid::Ulid);

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The text is not a ULID.
#[derive(Debug, thiserror::Error)]
#[error("expected a 26-character ULID such as 01JDQ8W8F4Z6S6YB4C4ZQXK3VQ, found {0:?}")]
pub struct AssetIdError(pub String);

impl FromStr for AssetId {
    type Err = AssetIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ulid::Ulid::from_string(s).map(AssetId).map_err(|_| AssetIdError(s.to_owned()))
    }
}

impl Serialize for AssetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AssetId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

word_enum! {
    /// The four kinds of asset the policy's scope names (§2).
    pub enum Kind {
        Hardware = "hardware",
        Software = "software",
        Data = "data",
        Cloud = "cloud",
    }
}

word_enum! {
    /// Lifecycle status; the allowed moves between them live in `lifecycle`.
    pub enum Status {
        Discovered = "discovered",
        Registered = "registered",
        InService = "in_service",
        Decommissioning = "decommissioning",
        Decommissioned = "decommissioned",
    }
}

/// A configuration item of the inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Stable identifier.
    pub id: AssetId,
    /// Natural key, unique: an ARN, a serial number, a Terraform address, ….
    pub key: String,
    /// Human-readable name.
    pub name: String,
    /// hardware, software, data or cloud.
    pub kind: Kind,
    /// Finer type, such as `aws.ec2.instance`, `laptop` or `container_image`.
    #[serde(rename = "type")]
    pub asset_type: String,
    /// One of the configured environments.
    pub environment: Option<String>,
    /// Accountable owner (for production: the Head of Product).
    pub owner: Option<String>,
    /// Day-to-day manager (for production: the SRE Lead).
    pub manager: Option<String>,
    /// One of the configured classification levels.
    pub classification: Option<String>,
    /// Where the asset is: a region, a site, a person's home office.
    pub location: Option<String>,
    /// Lifecycle status.
    pub status: Status,
    /// Where the record came from: manual, aws, terraform, file, ….
    pub source: String,
    /// Reference into the financial fixed-asset register.
    pub financial_ref: Option<String>,
    /// Tags as collected or set by people.
    pub tags: Tags,
    /// The resource's configuration document.
    pub attributes: Value,
    /// When the asset was first recorded.
    pub first_seen: Timestamp,
    /// When a source last reported the asset (or a person last confirmed it).
    pub last_seen: Timestamp,
    /// What a collector covered when it reported the asset, such as
    /// `aws:111122223333:eu-west-1:ec2`: a sync of that scope that no longer sees the asset
    /// marks it absent. Empty for assets people register.
    pub scope: Option<String>,
    /// Since when the source no longer reports the asset (absent, not deleted).
    pub absent_since: Option<Timestamp>,
    /// Who set each inventory field (a person, a tag, a rule); left out while empty. A tag
    /// never overwrites what a person set (see `provenance`).
    #[serde(default, skip_serializing_if = "Provenance::is_empty")]
    pub provenance: Provenance,
}

impl Asset {
    /// A tag of everything the asset says, for HTTP's `ETag`/`If-Match`: any change of any
    /// field changes it, so a write based on an older read can be refused.
    pub fn etag(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(crate::event_chain::canonical_json(&self.to_json()).as_bytes());
        hex::encode(&digest[..16])
    }

    /// The asset as a JSON object with the specification's field names.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The fields that differ between `self` (before) and `after`, as two JSON objects holding
    /// only those fields; `None` when nothing changed.
    pub fn diff(&self, after: &Asset) -> Option<(Value, Value)> {
        let (Value::Object(before), Value::Object(after)) = (self.to_json(), after.to_json()) else {
            return None;
        };
        let mut old = serde_json::Map::new();
        let mut new = serde_json::Map::new();
        // A field left out of `after` (an emptied provenance is not serialized) was removed:
        // it is recorded as null, so the history folds to what the row holds.
        for (field, previous) in &before {
            if !after.contains_key(field) {
                old.insert(field.clone(), previous.clone());
                new.insert(field.clone(), Value::Null);
            }
        }
        for (field, value) in after {
            let previous = before.get(&field).cloned().unwrap_or(Value::Null);
            if previous != value {
                old.insert(field.clone(), previous);
                new.insert(field, value);
            }
        }
        (!new.is_empty()).then_some((Value::Object(old), Value::Object(new)))
    }

    /// The names of the fields the policy requires on every record (§3) that are missing.
    pub fn missing_required(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if is_blank(&self.owner) {
            missing.push("owner");
        }
        if is_blank(&self.classification) {
            missing.push("classification");
        }
        if is_blank(&self.location) {
            missing.push("location");
        }
        missing
    }
}

/// A new asset with the event that records its creation. The event is derived from the asset
/// here, so the two always agree, and the costly canonical JSON can be built before (and away
/// from) the writing transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAsset {
    asset: Asset,
    event: EventDraft,
}

impl NewAsset {
    /// Prepares the creation of `asset`.
    pub fn new(asset: Asset) -> Self {
        let event =
            EventDraft::new(Entity::Asset, asset.id.to_string(), "created", None, Some(&asset.to_json()));
        NewAsset { asset, event }
    }

    /// The asset.
    pub fn asset(&self) -> &Asset {
        &self.asset
    }

    /// The `created` event.
    pub fn event(&self) -> &EventDraft {
        &self.event
    }

    /// The asset, giving up the event.
    pub fn into_asset(self) -> Asset {
        self.asset
    }
}

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| v.trim().is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Asset {
        Asset {
            id: "01JDQ8W8F4Z6S6YB4C4ZQXK3VQ".parse().unwrap(),
            key: "SN-001".into(),
            name: "build laptop".into(),
            kind: Kind::Hardware,
            asset_type: "laptop".into(),
            environment: Some("corporate".into()),
            owner: Some("ana@example.com".into()),
            manager: None,
            classification: Some("internal".into()),
            location: Some("Copenhagen".into()),
            status: Status::Registered,
            source: "manual".into(),
            financial_ref: None,
            tags: Tags::new(),
            attributes: Value::Object(Default::default()),
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            scope: None,
            absent_since: None,
            provenance: Default::default(),
        }
    }

    #[test]
    fn etags_change_with_any_field_and_only_then() {
        let asset = sample();
        assert_eq!(asset.etag(), sample().etag());
        assert_eq!(asset.etag().len(), 32);
        let mut moved = sample();
        moved.location = Some("somewhere else".to_owned());
        assert_ne!(moved.etag(), asset.etag());
    }

    #[test]
    fn json_uses_specification_field_names_in_order() {
        let mut asset = sample();
        crate::provenance::set_by_person(&mut asset.provenance, "owner", Some("ana@example.com"));
        let json = serde_json::to_string(&asset).unwrap();
        let positions: Vec<usize> = FIELDS.iter().map(|f| json.find(&format!("\"{f}\":")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    }

    #[test]
    fn diff_holds_only_changed_fields() {
        let before = sample();
        let mut after = sample();
        after.owner = Some("bo@example.com".into());
        after.tags.insert("team".into(), "it".into());
        let (old, new) = before.diff(&after).unwrap();
        assert_eq!(old, serde_json::json!({"owner": "ana@example.com", "tags": {}}));
        assert_eq!(new, serde_json::json!({"owner": "bo@example.com", "tags": {"team": "it"}}));
        assert!(before.diff(&before.clone()).is_none());
    }

    #[test]
    fn diff_records_a_field_that_was_emptied() {
        let mut before = sample();
        crate::provenance::set_by_person(&mut before.provenance, "owner", Some("ana@example.com"));
        let after = sample();
        let (old, new) = before.diff(&after).unwrap();
        assert!(old["provenance"].is_object(), "{old}");
        assert_eq!(new, serde_json::json!({"provenance": null}));
    }

    #[test]
    fn required_fields() {
        let mut asset = sample();
        assert!(asset.missing_required().is_empty());
        asset.owner = Some("  ".into());
        asset.location = None;
        assert_eq!(asset.missing_required(), vec!["owner", "location"]);
    }

    #[test]
    fn words_parse_and_list_alternatives() {
        assert_eq!("in_service".parse::<Status>().unwrap(), Status::InService);
        let err = "live".parse::<Status>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected one of discovered, registered, in_service, decommissioning, decommissioned, found \"live\""
        );
    }
}
