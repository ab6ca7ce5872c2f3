//! Decommissioning with sanitization evidence (policy §8): the record NIST SP 800-88's
//! certificate of sanitization asks for, and what each kind of asset needs before it may be
//! `decommissioned`. Servers and cloud resources: the method, the archived ticket and a second
//! person's validation; end-user devices: a device wipe and the hardware returned. A cloud
//! crypto-erase is confirmed by what sync saw, never by a word.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::enums::word_enum;
use crate::model::{Asset, AssetId, Kind};

word_enum! {
    /// How the media was sanitized.
    pub enum Method {
        /// The drive's own sanitize or secure-erase command.
        SecureErase = "secure-erase",
        /// The encryption key destroyed (a cloud KMS key scheduled for deletion, a
        /// self-encrypting drive's key).
        CryptoErase = "crypto-erase",
        /// Shredded, disintegrated, incinerated.
        Destroy = "destroy",
        /// An MDM wipe of an end-user device.
        DeviceWipe = "device-wipe",
    }
}

word_enum! {
    /// NIST SP 800-88's method categories.
    pub enum Category {
        /// Logical techniques on user-addressable storage; reuse inside the organisation.
        Clear = "clear",
        /// Infeasible to recover with laboratory techniques (sanitize commands, crypto erase).
        Purge = "purge",
        /// The media cannot be used again.
        Destroy = "destroy",
    }
}

impl Method {
    /// The category the method belongs to. An MDM wipe is a factory reset: clear, unless the
    /// device's own crypto erase is recorded as such.
    pub fn category(self) -> Category {
        match self {
            Method::SecureErase | Method::CryptoErase => Category::Purge,
            Method::Destroy => Category::Destroy,
            Method::DeviceWipe => Category::Clear,
        }
    }
}

word_enum! {
    /// How the sanitization was verified.
    pub enum Verification {
        /// Every location read back.
        Full = "full",
        /// A sample read back.
        Sampled = "sampled",
    }
}

word_enum! {
    /// Where the media goes afterwards (the certificate's "media destination").
    pub enum Destination {
        /// Used again inside the organisation.
        InternalReuse = "internal-reuse",
        /// Sold or given away.
        ExternalReuse = "external-reuse",
        /// To a recycler.
        Recycler = "recycler",
        /// Back to its manufacturer (warranty, lease).
        Manufacturer = "manufacturer",
        /// Anywhere else (the ticket says where).
        Other = "other",
    }
}

word_enum! {
    /// Where a record stands.
    pub enum RecordState {
        /// Started; the asset is `decommissioning`.
        Pending = "pending",
        /// Every piece of evidence was there; the asset is `decommissioned`.
        Complete = "complete",
    }
}

/// A file kept as evidence, stored by its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file's name as given.
    pub name: String,
    /// Its SHA-256, in hex: where it is stored.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The media sanitized (the certificate's "media" block), as the inventory knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The asset type (`server`, `laptop`, `aws.ec2.volume`).
    pub media_type: String,
    /// The serial number, when known.
    pub serial: Option<String>,
    /// The property number: the fixed-asset register's reference.
    pub property_number: Option<String>,
    /// The data classification it held.
    pub classification: Option<String>,
}

/// The sanitization record of one asset: NIST SP 800-88 Appendix G's fields that apply, with
/// the ticket, the attachments and the two people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanitizationRecord {
    /// The asset's id.
    pub asset_id: AssetId,
    /// The asset's key.
    pub asset_key: String,
    /// Whether the asset is an end-user device (`[checks] endpoint_types`).
    pub endpoint: bool,
    /// The media.
    pub media: Media,
    /// The method used.
    pub method: Method,
    /// Its category.
    pub category: Category,
    /// The change or service ticket.
    pub ticket: String,
    /// The tool and its version.
    pub tool: Option<String>,
    /// How it was verified.
    pub verification: Option<Verification>,
    /// The KMS key a cloud crypto-erase destroys.
    pub kms_key: Option<String>,
    /// Evidence files (the archived ticket, a wipe report).
    pub attachments: Vec<Attachment>,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: Timestamp,
    /// Where the media goes afterwards.
    #[serde(default)]
    pub destination: Option<Destination>,
    /// Who the device was returned to (end-user devices).
    pub returned_to: Option<String>,
    /// The second person who validated it.
    pub validated_by: Option<String>,
    /// Who completed it, and when.
    pub completed_by: Option<String>,
    /// See `completed_by`.
    pub completed_at: Option<Timestamp>,
    /// Pending or complete.
    pub state: RecordState,
}

/// What is asked at the start.
#[derive(Clone, Debug, Default)]
pub struct Start {
    /// The method.
    pub method: Option<Method>,
    /// The ticket.
    pub ticket: String,
    /// `--tool`.
    pub tool: Option<String>,
    /// `--verification`.
    pub verification: Option<Verification>,
    /// `--kms-key`; else the asset's own `KmsKeyId`.
    pub kms_key: Option<String>,
    /// `--destination`.
    pub destination: Option<Destination>,
}

impl SanitizationRecord {
    /// A new record for `asset`, or why it cannot be started.
    pub fn start(
        asset: &Asset,
        endpoint: bool,
        start: Start,
        who: &str,
        now: Timestamp,
        attachments: Vec<Attachment>,
    ) -> Result<SanitizationRecord, String> {
        let method =
            start.method.ok_or("--method is required: secure-erase, crypto-erase, destroy or device-wipe")?;
        if start.ticket.trim().is_empty() {
            return Err(
                "--ticket is required: the change or service ticket the work is done under".to_owned()
            );
        }
        if endpoint && method != Method::DeviceWipe {
            return Err(format!(
                "{} is an end-user device ([checks] endpoint_types): it is wiped through the MDM, --method \
                 device-wipe",
                asset.key
            ));
        }
        if method == Method::DeviceWipe && !endpoint {
            return Err(format!(
                "{} is not an end-user device ([checks] endpoint_types): device-wipe is for those; use \
                 secure-erase, crypto-erase or destroy",
                asset.key
            ));
        }
        let kms_key = start.kms_key.or_else(|| kms_key_of(asset));
        Ok(SanitizationRecord {
            asset_id: asset.id,
            asset_key: asset.key.clone(),
            endpoint,
            media: Media {
                media_type: asset.asset_type.clone(),
                serial: crate::register::asset_serial(asset),
                property_number: asset.financial_ref.clone(),
                classification: asset.classification.clone(),
            },
            method,
            category: method.category(),
            ticket: start.ticket.trim().to_owned(),
            tool: start.tool,
            verification: start.verification,
            kms_key,
            attachments,
            started_by: who.to_owned(),
            started_at: now,
            destination: start.destination,
            returned_to: None,
            validated_by: None,
            completed_by: None,
            completed_at: None,
            state: RecordState::Pending,
        })
    }

    /// Whether a cloud crypto-erase must be confirmed by what sync saw.
    pub fn needs_cloud_confirmation(&self, kind: Kind) -> bool {
        self.method == Method::CryptoErase && kind == Kind::Cloud
    }

    /// Every piece of evidence the record still lacks, each named as the refusal says it;
    /// empty when it may be completed. `cloud` is what sync saw, for a cloud crypto-erase.
    pub fn missing(&self, cloud: Option<&CloudFacts>) -> Vec<String> {
        let mut missing = Vec::new();
        if self.endpoint {
            if self.method != Method::DeviceWipe {
                missing.push("an end-user device needs a device wipe (--method device-wipe)".to_owned());
            }
            if self.returned_to.is_none() {
                missing.push("the hardware returned to IT (--returned-to EMAIL)".to_owned());
            }
            return missing;
        }
        if self.attachments.is_empty() {
            missing.push(format!("the archived ticket {} (--attach FILE)", self.ticket));
        }
        match &self.validated_by {
            None => missing.push("a second person's validation (--validated-by EMAIL)".to_owned()),
            Some(who) if who.eq_ignore_ascii_case(&self.started_by) => missing.push(format!(
                "a second person's validation: {who} started it, so someone else validates (--validated-by EMAIL)"
            )),
            Some(_) => {}
        }
        if let Some(facts) = cloud {
            missing.extend(facts.pending(self.kms_key.as_deref()));
        }
        missing
    }
}

/// The KMS key an asset names (EBS volumes, RDS instances, S3 buckets' default encryption).
fn kms_key_of(asset: &Asset) -> Option<String> {
    ["KmsKeyId", "KmsKeyArn", "KMSMasterKeyID", "kms_key_id"]
        .iter()
        .find_map(|name| asset.attributes.get(*name).and_then(|v| v.as_str()).map(str::to_owned))
}

/// What the latest sync says of a cloud crypto-erase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CloudFacts {
    /// The KMS key's state (`KeyState`) as last collected; `None` when no key of that id or
    /// ARN is in the inventory, or it is absent from a complete collection.
    pub key_state: Option<String>,
    /// Whether the key's scope was collected completely and in time, so its state (or
    /// absence) is known.
    pub key_seen: bool,
    /// Whether the resource itself is absent from the latest complete collection of its scope.
    pub resource_absent: bool,
}

impl CloudFacts {
    /// Why the crypto-erase is not confirmed yet (empty: it is).
    pub fn pending(&self, kms_key: Option<&str>) -> Vec<String> {
        let mut pending = Vec::new();
        match (kms_key, self.key_seen, self.key_state.as_deref()) {
            (None, _, _) => pending.push(
                "crypto-erase pending: the record names no KMS key (--kms-key ARN when starting)".to_owned(),
            ),
            (Some(key), false, _) => pending.push(format!(
                "crypto-erase pending: KMS key {key} was not collected completely and in time by sync, so \
                 its deletion is not seen"
            )),
            (Some(_), true, None | Some("PendingDeletion")) => {}
            (Some(key), true, Some(state)) => pending.push(format!(
                "crypto-erase pending: KMS key {key} is {state}; schedule its deletion (ScheduleKeyDeletion) \
                 and sync"
            )),
        }
        if !self.resource_absent {
            pending.push(
                "crypto-erase pending: the resource is still present in the latest complete sync of its scope"
                    .to_owned(),
            );
        }
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn asset(key: &str, kind: Kind, asset_type: &str) -> Asset {
        let now: Timestamp = "2026-12-07T00:00:00Z".parse().unwrap();
        Asset {
            id: AssetId(ulid::Ulid::nil()),
            key: key.to_owned(),
            name: key.to_owned(),
            kind,
            asset_type: asset_type.to_owned(),
            environment: None,
            owner: None,
            manager: None,
            classification: Some("restricted".to_owned()),
            location: None,
            status: Status::InService,
            source: "manual".to_owned(),
            financial_ref: Some("FA-1".to_owned()),
            tags: Default::default(),
            attributes: serde_json::json!({"KmsKeyId": "arn:aws:kms:eu-west-1:1:key/k"}),
            first_seen: now,
            last_seen: now,
            scope: None,
            absent_since: None,
            provenance: Default::default(),
        }
    }

    fn start(method: Method) -> Start {
        Start { method: Some(method), ticket: "CHG-1".to_owned(), ..Start::default() }
    }

    fn now() -> Timestamp {
        "2026-12-07T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_server_needs_the_archived_ticket_and_a_second_person() {
        let server = asset("SRV-1", Kind::Hardware, "server");
        let mut record =
            SanitizationRecord::start(&server, false, start(Method::SecureErase), "sre@x", now(), vec![])
                .unwrap();
        assert_eq!(record.category, Category::Purge);
        assert_eq!(record.media.property_number.as_deref(), Some("FA-1"));
        assert_eq!(record.missing(None).len(), 2, "{:?}", record.missing(None));
        record.validated_by = Some("SRE@x".to_owned());
        assert!(record.missing(None)[1].contains("someone else validates"), "{:?}", record.missing(None));
        record.validated_by = Some("ism@x".to_owned());
        record.attachments.push(Attachment { name: "t.pdf".into(), sha256: "00".into(), size: 1 });
        assert!(record.missing(None).is_empty());
    }

    #[test]
    fn an_end_user_device_needs_a_wipe_and_its_return() {
        let laptop = asset("SN-1", Kind::Hardware, "laptop");
        let mut record =
            SanitizationRecord::start(&laptop, true, start(Method::DeviceWipe), "it@x", now(), vec![])
                .unwrap();
        assert_eq!(record.missing(None), ["the hardware returned to IT (--returned-to EMAIL)"]);
        record.returned_to = Some("it@x".to_owned());
        assert!(record.missing(None).is_empty());
        let server = asset("SRV-1", Kind::Hardware, "server");
        let refused =
            SanitizationRecord::start(&server, false, start(Method::DeviceWipe), "it@x", now(), vec![]);
        assert!(refused.unwrap_err().contains("not an end-user device"));
        let no_method = Start { method: None, ..start(Method::Destroy) };
        assert!(SanitizationRecord::start(&server, false, no_method, "x", now(), vec![]).is_err());
    }

    #[test]
    fn a_cloud_crypto_erase_waits_for_what_sync_sees() {
        let volume = asset("arn:aws:ec2:eu-west-1:1:volume/vol-1", Kind::Cloud, "aws.ec2.volume");
        let record =
            SanitizationRecord::start(&volume, false, start(Method::CryptoErase), "sre@x", now(), vec![])
                .unwrap();
        assert_eq!(record.kms_key.as_deref(), Some("arn:aws:kms:eu-west-1:1:key/k"), "from the volume");
        assert!(record.needs_cloud_confirmation(Kind::Cloud));
        let enabled =
            CloudFacts { key_state: Some("Enabled".into()), key_seen: true, resource_absent: false };
        let pending = enabled.pending(record.kms_key.as_deref());
        assert_eq!(pending.len(), 2, "{pending:?}");
        assert!(pending[0].contains("is Enabled"), "{pending:?}");
        let unseen = CloudFacts { key_state: None, key_seen: false, resource_absent: true };
        assert!(
            unseen.pending(record.kms_key.as_deref())[0].contains("not collected"),
            "never a pass on what was not seen"
        );
        let deleting =
            CloudFacts { key_state: Some("PendingDeletion".into()), key_seen: true, resource_absent: true };
        assert!(deleting.pending(record.kms_key.as_deref()).is_empty());
        let gone = CloudFacts { key_state: None, key_seen: true, resource_absent: true };
        assert!(gone.pending(record.kms_key.as_deref()).is_empty());
    }
}
