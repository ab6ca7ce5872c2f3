//! Turning what collectors report (resources) into inventory assets, purely.
//!
//! A collector yields [`Resource`]s. Sync looks each up by [`Resource::key`]: a new one becomes
//! a `discovered` asset ([`discovered`]); a known one whose [`Resource::content_hash`] changed is
//! refreshed ([`refreshed`]), and the store records the changed fields as one event; an
//! unchanged one costs nothing. Inventory fields come from tags through the configured
//! [`TagMapping`]; production assets always get the role holders as owner and manager, and a
//! conflicting owner tag stays a tag (the inventory checks report it), never the owner.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::event_chain::{canonical_json, write_canonical, write_plain};
use crate::model::{Asset, AssetId, Kind, Status, Tags};
use crate::provenance::{self, Observed};
use crate::rules::InventoryRules;
use crate::time::Timestamp;

/// What a collector yields (spec §2): one resource of one provider, with its configuration
/// document and tags.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The collector that saw it: `aws`, `terraform`, `file`, ….
    pub source: String,
    /// What the collector covered, such as `aws:111122223333:eu-west-1:ec2`.
    pub scope: String,
    /// The provider: `aws`, `terraform`, or a file source's name.
    pub provider: String,
    /// The inventory type, such as `aws.ec2.instance`.
    pub resource_type: String,
    /// The inventory kind.
    pub kind: Kind,
    /// The provider's own id (instance id, bucket name, serial number).
    pub native_id: String,
    /// A key the source chooses (a Terraform address); when absent, the key is the ARN, else
    /// composed from provider, type, account, region and id.
    pub natural_key: Option<String>,
    /// The ARN, for AWS resources that have one.
    pub arn: Option<String>,
    /// The account (or cluster) it lives in.
    pub account: Option<String>,
    /// The region (or namespace).
    pub region: Option<String>,
    /// A human-readable name (the `Name` tag, a device name).
    pub name: Option<String>,
    /// The configuration document.
    pub attributes: Value,
    /// Tags as the provider reports them.
    pub tags: Tags,
    /// Inventory fields a source gives directly rather than through tags (a file source's
    /// mapped columns): `owner`, `location`, `classification`, ….
    pub fields: BTreeMap<String, String>,
}

impl Resource {
    /// The asset key: the ARN when there is one, else `provider:type:account:region:id`
    /// without the empty parts.
    pub fn key(&self) -> String {
        if let Some(key) = self.natural_key.as_deref().filter(|k| !k.is_empty()) {
            return key.to_owned();
        }
        if let Some(arn) = self.arn.as_deref().filter(|a| !a.is_empty()) {
            return arn.to_owned();
        }
        let parts = [
            Some(self.provider.as_str()),
            Some(self.resource_type.as_str()),
            self.account.as_deref(),
            self.region.as_deref(),
            Some(self.native_id.as_str()),
        ];
        parts.into_iter().flatten().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(":")
    }

    /// SHA-256 of everything sync derives an asset from, plus the mapping's fingerprint, so an
    /// unchanged resource under unchanged configuration is recognised without comparing
    /// fields.
    pub fn content_hash(&self, mapping_fingerprint: &str) -> String {
        // The canonical encoding of {account, attributes, fields, kind, mapping, name, region,
        // scope, tags, type}, written in key order without copying the document first: sync
        // hashes every resource it receives.
        let mut out = Vec::with_capacity(1024);
        field(&mut out, "account", &self.account);
        name(&mut out, "attributes");
        write_canonical(&self.attributes, &mut out);
        field(&mut out, "fields", &self.fields);
        field(&mut out, "kind", self.kind.as_str());
        field(&mut out, "mapping", mapping_fingerprint);
        field(&mut out, "name", &self.name);
        field(&mut out, "region", &self.region);
        field(&mut out, "scope", &self.scope);
        field(&mut out, "tags", &self.tags);
        field(&mut out, "type", &self.resource_type);
        out.push(b'}');
        hex::encode(Sha256::digest(&out))
    }
}

/// Opens the object or separates members, then writes `"name":`.
fn name(out: &mut Vec<u8>, name: &str) {
    out.push(if out.is_empty() { b'{' } else { b',' });
    write_plain(name, out);
    out.push(b':');
}

/// Writes `"name":value` for a value whose plain encoding is canonical.
fn field(out: &mut Vec<u8>, field: &str, value: &(impl serde::Serialize + ?Sized)) {
    name(out, field);
    write_plain(value, out);
}

/// Which tags fill which inventory fields, and how tag values map onto configured words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagMapping {
    /// Tag keys, in order of preference, for each inventory field (`owner`, `manager`,
    /// `environment`, `classification`, `location`, `financial_ref`).
    pub fields: BTreeMap<String, Vec<String>>,
    /// Tag value (any case) → environment.
    pub environment_values: BTreeMap<String, String>,
    /// Tag value (any case) → classification.
    pub classification_values: BTreeMap<String, String>,
}

/// The inventory fields a sync may fill.
pub const SYNCED_FIELDS: &[&str] =
    &["owner", "manager", "environment", "classification", "location", "financial_ref"];

impl TagMapping {
    /// A fingerprint of the mapping and the rules it is applied with; part of every content
    /// hash, so changing the configuration re-derives every asset once.
    pub fn fingerprint(&self, rules: &InventoryRules) -> String {
        let document = json!({
            "fields": self.fields,
            "environment_values": self.environment_values,
            "classification_values": self.classification_values,
            "environments": rules.environments,
            "classifications": rules.classifications,
            "production": rules.production,
            "head_of_product": rules.head_of_product,
            "sre_lead": rules.sre_lead,
        });
        hex::encode(Sha256::digest(canonical_json(&document).as_bytes()))
    }

    /// The value a resource gives for an inventory field, and where it comes from: the
    /// source's own field first, then the first mapped tag present. Environment and
    /// classification values are mapped onto the configured words; a value that maps to nothing
    /// is no value (it stays in the tags).
    fn observe(&self, resource: &Resource, field: &str, rules: &InventoryRules) -> Option<Observed> {
        let (raw, origin, said) = match resource.fields.get(field) {
            Some(value) => (value.clone(), provenance::SOURCE.to_owned(), format!("{field}={value}")),
            None => {
                let keys = self.fields.get(field)?;
                let (key, value) = keys.iter().find_map(|key| resource.tags.get(key).map(|v| (key, v)))?;
                (value.clone(), provenance::tag(key), format!("{key}={value}"))
            }
        };
        let raw = raw.trim().to_owned();
        let value = match field {
            "environment" => word(&raw, &self.environment_values, &rules.environments),
            "classification" => word(&raw, &self.classification_values, &rules.classifications),
            _ => (!raw.is_empty()).then_some(raw),
        }?;
        Some(Observed { value, origin, said })
    }
}

fn word(raw: &str, values: &BTreeMap<String, String>, allowed: &[String]) -> Option<String> {
    let lower = raw.to_lowercase();
    let mapped = values.iter().find(|(k, _)| k.to_lowercase() == lower).map(|(_, v)| v.clone());
    let candidate = mapped.unwrap_or_else(|| raw.to_owned());
    allowed.contains(&candidate).then_some(candidate)
}

/// A resource seen for the first time, as a `discovered` asset (never silently `registered`).
pub fn discovered(
    resource: &Resource,
    mapping: &TagMapping,
    rules: &InventoryRules,
    id: AssetId,
    now: Timestamp,
) -> Asset {
    let mut asset = Asset {
        id,
        key: resource.key(),
        name: String::new(),
        kind: resource.kind,
        asset_type: resource.resource_type.clone(),
        environment: None,
        owner: None,
        manager: None,
        classification: None,
        location: None,
        status: Status::Discovered,
        source: resource.source.clone(),
        financial_ref: None,
        tags: Tags::new(),
        attributes: Value::Null,
        first_seen: now,
        last_seen: now,
        scope: None,
        absent_since: None,
        provenance: Default::default(),
    };
    apply(&mut asset, resource, mapping, rules, now);
    asset
}

/// A known asset brought up to date with a changed resource. Collected fields (name, type,
/// attributes, tags) follow the resource; a field tags fill changes only when tags (or the
/// source) set it before, never when a person did (a disagreeing tag is noted as a conflict);
/// production ownership follows the roles.
pub fn refreshed(
    stored: &Asset,
    resource: &Resource,
    mapping: &TagMapping,
    rules: &InventoryRules,
    now: Timestamp,
) -> Asset {
    let mut asset = stored.clone();
    apply(&mut asset, resource, mapping, rules, now);
    asset
}

fn apply(
    asset: &mut Asset,
    resource: &Resource,
    mapping: &TagMapping,
    rules: &InventoryRules,
    now: Timestamp,
) {
    asset.key = resource.key();
    asset.name =
        resource.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| resource.native_id.clone());
    asset.kind = resource.kind;
    asset.asset_type = resource.resource_type.clone();
    asset.attributes = resource.attributes.clone();
    asset.tags = resource.tags.clone();
    asset.scope = Some(resource.scope.clone());
    asset.absent_since = None;
    asset.last_seen = now;
    let observed: Vec<Option<Observed>> =
        SYNCED_FIELDS.iter().map(|field| mapping.observe(resource, field, rules)).collect();
    let mut sources = std::mem::take(&mut asset.provenance);
    for (field, observed) in SYNCED_FIELDS.iter().zip(&observed) {
        provenance::settle(field_slot(asset, field), &mut sources, field, observed.clone());
    }
    if asset.location.is_none() {
        let default = default_location(resource);
        provenance::set_by_rule(
            &mut asset.location,
            &mut sources,
            "location",
            default,
            provenance::DEFAULT,
            None,
        );
    }
    // Production assets belong to the role holders whatever the tags say; when the roles are
    // not assigned, the owner stays empty and the inventory checks report it.
    if rules.is_production(asset) {
        let seen =
            |field: &str| SYNCED_FIELDS.iter().position(|f| *f == field).and_then(|i| observed[i].as_ref());
        let (hop, sre) = (rules.head_of_product.clone(), rules.sre_lead.clone());
        provenance::set_by_rule(
            &mut asset.owner,
            &mut sources,
            "owner",
            hop,
            provenance::ROLES,
            seen("owner"),
        );
        provenance::set_by_rule(
            &mut asset.manager,
            &mut sources,
            "manager",
            sre,
            provenance::ROLES,
            seen("manager"),
        );
    }
    asset.provenance = sources;
}

/// The slot of one of [`SYNCED_FIELDS`].
pub fn field_slot<'a>(asset: &'a mut Asset, field: &str) -> &'a mut Option<String> {
    match field {
        "owner" => &mut asset.owner,
        "manager" => &mut asset.manager,
        "environment" => &mut asset.environment,
        "classification" => &mut asset.classification,
        "location" => &mut asset.location,
        _ => &mut asset.financial_ref,
    }
}

fn default_location(resource: &Resource) -> Option<String> {
    let parts: Vec<&str> =
        [Some(resource.provider.as_str()), resource.account.as_deref(), resource.region.as_deref()]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect();
    (parts.len() > 1).then(|| parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::rules;

    fn mapping() -> TagMapping {
        let list = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        TagMapping {
            fields: [
                ("owner".to_owned(), list(&["Owner", "owner"])),
                ("environment".to_owned(), list(&["Environment", "env"])),
                ("classification".to_owned(), list(&["Classification"])),
            ]
            .into_iter()
            .collect(),
            environment_values: [
                ("prod".to_owned(), "production".to_owned()),
                ("stg".to_owned(), "staging".to_owned()),
            ]
            .into_iter()
            .collect(),
            classification_values: BTreeMap::new(),
        }
    }

    /// The hash is the canonical encoding of the document below, written without building it:
    /// it must not change, or every stored asset would look changed to the next sync.
    #[test]
    fn content_hash_is_the_canonical_documents() {
        let mut resource = instance(&[("Owner", "ana@example.com"), ("a\"b", "ü")]);
        resource.fields.insert("location".into(), "rack 4".into());
        resource.attributes = json!({"z": [1, {"b": null, "a": 2.5}], "A": "x\ny"});
        let document = json!({
            "type": resource.resource_type, "kind": resource.kind.as_str(), "scope": resource.scope,
            "name": resource.name, "attributes": resource.attributes, "tags": resource.tags,
            "fields": resource.fields, "account": resource.account, "region": resource.region,
            "mapping": "fp",
        });
        let expected = hex::encode(Sha256::digest(canonical_json(&document).as_bytes()));
        assert_eq!(resource.content_hash("fp"), expected);
    }

    fn instance(tags: &[(&str, &str)]) -> Resource {
        Resource {
            source: "aws".into(),
            scope: "aws:111122223333:eu-west-1:ec2".into(),
            provider: "aws".into(),
            resource_type: "aws.ec2.instance".into(),
            kind: Kind::Cloud,
            native_id: "i-0abc".into(),
            natural_key: None,
            arn: Some("arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc".into()),
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            name: tags.iter().find(|(k, _)| *k == "Name").map(|(_, v)| (*v).to_owned()),
            attributes: json!({"InstanceType": "t3.micro"}),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            fields: BTreeMap::new(),
        }
    }

    fn now() -> Timestamp {
        "2026-05-01T00:00:00Z".parse().unwrap()
    }

    fn discover(resource: &Resource) -> Asset {
        discovered(resource, &mapping(), &rules(), AssetId(ulid::Ulid::nil()), now())
    }

    #[test]
    fn keys_prefer_the_arn() {
        let mut resource = instance(&[]);
        assert_eq!(resource.key(), "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc");
        resource.arn = None;
        assert_eq!(resource.key(), "aws:aws.ec2.instance:111122223333:eu-west-1:i-0abc");
        resource.account = None;
        resource.region = None;
        assert_eq!(resource.key(), "aws:aws.ec2.instance:i-0abc");
    }

    #[test]
    fn new_resources_are_discovered_with_fields_from_tags() {
        let asset = discover(&instance(&[("Name", "web-1"), ("owner", "dev@example.com"), ("env", "stg")]));
        assert_eq!(asset.status, Status::Discovered);
        assert_eq!(asset.name, "web-1");
        assert_eq!(asset.environment.as_deref(), Some("staging"));
        assert_eq!(asset.owner.as_deref(), Some("dev@example.com"));
        assert_eq!(asset.location.as_deref(), Some("aws:111122223333:eu-west-1"));
        assert_eq!(asset.scope.as_deref(), Some("aws:111122223333:eu-west-1:ec2"));
        assert_eq!(asset.source, "aws");
    }

    #[test]
    fn unknown_tag_values_stay_tags() {
        let asset = discover(&instance(&[("Environment", "sandbox"), ("Classification", "top-secret")]));
        assert_eq!(asset.environment, None);
        assert_eq!(asset.classification, None);
        assert_eq!(asset.tags.get("Environment").map(String::as_str), Some("sandbox"));
    }

    #[test]
    fn production_owner_comes_from_roles_never_from_tags() {
        let asset = discover(&instance(&[("Environment", "PROD"), ("Owner", "dev@example.com")]));
        assert_eq!(asset.environment.as_deref(), Some("production"));
        assert_eq!(asset.owner.as_deref(), Some("hop@example.com"));
        assert_eq!(asset.manager.as_deref(), Some("sre@example.com"));
        assert_eq!(asset.tags.get("Owner").map(String::as_str), Some("dev@example.com"));
    }

    #[test]
    fn refresh_keeps_what_people_registered_and_notes_tags_that_disagree() {
        let mut stored = discover(&instance(&[("env", "stg")]));
        stored.status = Status::InService;
        stored.owner = Some("ana@example.com".into());
        stored.classification = Some("internal".into());
        provenance::set_by_person(&mut stored.provenance, "owner", Some("ana@example.com"));
        provenance::set_by_person(&mut stored.provenance, "classification", Some("internal"));
        let retagged = refreshed(
            &stored,
            &instance(&[("env", "stg"), ("Owner", "mallory@example.com"), ("Classification", "public")]),
            &mapping(),
            &rules(),
            now(),
        );
        assert_eq!(retagged.owner.as_deref(), Some("ana@example.com"), "a tag never overwrites a person");
        assert_eq!(retagged.classification.as_deref(), Some("internal"));
        assert_eq!(
            retagged.provenance["owner"].conflicting_tag.as_deref(),
            Some("Owner=mallory@example.com")
        );
        assert_eq!(
            retagged.provenance["classification"].conflicting_tag.as_deref(),
            Some("Classification=public")
        );
        assert_eq!(retagged.provenance["environment"].set_by, "tag:env");
        let mut changed = instance(&[("env", "stg"), ("Name", "web-2")]);
        changed.attributes = json!({"InstanceType": "t3.large"});
        let later: Timestamp = "2026-05-02T00:00:00Z".parse().unwrap();
        let asset = refreshed(&stored, &changed, &mapping(), &rules(), later);
        assert_eq!(asset.status, Status::InService);
        assert_eq!(asset.owner.as_deref(), Some("ana@example.com"));
        assert_eq!(asset.classification.as_deref(), Some("internal"));
        assert_eq!(asset.name, "web-2");
        assert_eq!(asset.attributes["InstanceType"], "t3.large");
        assert_eq!(asset.last_seen, later);
        assert_eq!(asset.first_seen, stored.first_seen);
        let (old, new) = stored.diff(&asset).unwrap();
        assert_eq!(
            old.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["name", "tags", "attributes", "last_seen"]
        );
        assert_eq!(new["name"], "web-2");
    }

    #[test]
    fn hashes_change_with_content_and_configuration() {
        let resource = instance(&[("Name", "web-1")]);
        let same = resource.content_hash("m1");
        assert_eq!(same, instance(&[("Name", "web-1")]).content_hash("m1"));
        assert_ne!(same, resource.content_hash("m2"));
        let mut changed = resource.clone();
        changed.tags.insert("x".into(), "y".into());
        assert_ne!(same, changed.content_hash("m1"));
        assert_ne!(mapping().fingerprint(&rules()), TagMapping::default().fingerprint(&rules()));
    }
}
