//! Drift: what the infrastructure code says (Terraform state resources, the managed view)
//! against what is live (collected assets).
//!
//! - **unmanaged**: a live resource no state manages;
//! - **missing**: a state resource that is not live;
//! - **changed**: a managed resource whose live attributes differ from the state's, attribute by
//!   attribute, for the attributes [`types::TYPES`] compares.
//!
//! The [`Detector`] is fed every live asset first, then the state resources one at a time (a
//! state of any size streams through), and keeps only an index of the live side. Defaults that
//! come with an account (the default VPC, service-linked roles, AWS managed keys) are never
//! unmanaged; a `.plumbignore` ([`ignore`]) leaves out what a team decided to accept.

pub mod compare;
pub mod ignore;
pub mod types;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};

use crate::enums::word_enum;
use crate::model::{Asset, Finding, FindingStatus, Severity};
use crate::time::Timestamp;
pub use compare::Change;
pub use ignore::{IgnoreError, IgnoreRules};
use types::{Identity, TypeMap};

word_enum! {
    /// What kind of drift an item is.
    pub enum DriftKind {
        /// Live, and no state manages it.
        Unmanaged = "unmanaged",
        /// In a state, and not live.
        Missing = "missing",
        /// Managed, and its live attributes differ from the state's.
        Changed = "changed",
    }
}

impl DriftKind {
    /// The check id its findings are stored under: `drift/unmanaged`.
    pub fn check(self) -> String {
        format!("drift/{}", self.as_str())
    }

    fn severity(self) -> Severity {
        match self {
            DriftKind::Unmanaged => Severity::High,
            DriftKind::Missing | DriftKind::Changed => Severity::Medium,
        }
    }

    fn title(self) -> &'static str {
        match self {
            DriftKind::Unmanaged => "Live resource not managed by infrastructure code",
            DriftKind::Missing => "Resource in a Terraform state is not live",
            DriftKind::Changed => "Live resource differs from its Terraform state",
        }
    }

    fn remediation(self) -> &'static str {
        match self {
            DriftKind::Unmanaged => {
                "Import it into Terraform (terraform import) through a reviewed pull request, or delete it; if it \
                 is meant to stay unmanaged, record that in .plumbignore."
            }
            DriftKind::Missing => {
                "Find out who deleted it and why (CloudTrail); re-apply the code through a reviewed pull request, \
                 or remove it from the code."
            }
            DriftKind::Changed => {
                "Revert the manual change by applying the code, or change the code through a reviewed pull request \
                 so the state says what is live."
            }
        }
    }
}

/// A collected resource as drift reads it: its stored text, parsed only as far as needed, so
/// a million live resources fit in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveRecord {
    /// The asset's key.
    pub key: String,
    /// The collected type.
    pub asset_type: String,
    /// The environment.
    pub environment: Option<String>,
    /// The location (`aws:ACCOUNT:REGION` for collected resources).
    pub location: Option<String>,
    /// Tags, as JSON text.
    pub tags: String,
    /// The collected document, as JSON text.
    pub attributes: String,
}

impl From<&Asset> for LiveRecord {
    fn from(asset: &Asset) -> LiveRecord {
        LiveRecord {
            key: asset.key.clone(),
            asset_type: asset.asset_type.clone(),
            environment: asset.environment.clone(),
            location: asset.location.clone(),
            tags: serde_json::to_string(&asset.tags).unwrap_or_default(),
            attributes: asset.attributes.to_string(),
        }
    }
}

/// A live resource as the detector keeps it.
#[derive(Clone, Debug)]
struct Live {
    key: String,
    live_type: &'static TypeMap,
    id: String,
    environment: Option<String>,
    account: String,
    /// JSON text, parsed again only when a state resource is compared with it.
    attributes: Box<str>,
    tags: Box<str>,
    /// Comes with the account (default VPC, service-linked role, …).
    default: bool,
    in_scope: bool,
}

impl Live {
    /// An item about this live resource, named by its main Terraform type.
    fn item(&self, kind: DriftKind) -> DriftItem {
        DriftItem {
            kind,
            key: self.key.clone(),
            resource_type: self.live_type.terraform.to_owned(),
            id: self.id.clone(),
            addresses: Vec::new(),
            states: Vec::new(),
            environment: self.environment.clone(),
            account: Some(self.account.clone()),
            changes: Vec::new(),
        }
    }
}

/// A Terraform state resource as drift sees it.
#[derive(Clone, Debug)]
pub struct Managed {
    /// Its key in the inventory: `terraform:STATE:ADDRESS`.
    pub key: String,
    /// Its address: `module.net.aws_vpc.main`.
    pub address: String,
    /// The state it is in.
    pub state: String,
    /// The Terraform type.
    pub terraform_type: String,
    /// The state's attributes.
    pub values: Value,
    /// Its environment (from its tags).
    pub environment: Option<String>,
}

impl Managed {
    /// The managed view of a Terraform source's asset; `None` for other assets.
    pub fn from_asset(asset: &Asset) -> Option<Managed> {
        let attributes = &asset.attributes;
        let text = |name: &str| attributes.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(Managed {
            key: asset.key.clone(),
            address: text("address")?,
            state: text("state").unwrap_or_default(),
            terraform_type: text("type")?,
            values: attributes.get("values").cloned().unwrap_or(Value::Null),
            environment: asset.environment.clone(),
        })
    }
}

/// One drift finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftItem {
    /// What kind of drift.
    pub kind: DriftKind,
    /// The live asset's key (unmanaged, changed) or the state resource's (missing).
    pub key: String,
    /// The Terraform type (for unmanaged resources, the type that would manage it).
    pub resource_type: String,
    /// The resource's id (Terraform's `id`, or the collected document's id).
    pub id: String,
    /// The Terraform addresses involved (missing, changed).
    pub addresses: Vec<String>,
    /// The states they are in.
    pub states: Vec<String>,
    /// The environment.
    pub environment: Option<String>,
    /// The account.
    pub account: Option<String>,
    /// What differs (changed).
    pub changes: Vec<Change>,
}

impl DriftItem {
    /// One sentence saying what drifted.
    pub fn message(&self) -> String {
        match self.kind {
            DriftKind::Unmanaged => {
                format!("{} {} is live but no Terraform state manages it", self.resource_type, self.id)
            }
            DriftKind::Missing => format!(
                "{} in {} is not live ({} {})",
                self.addresses.join(", "),
                self.states.join(", "),
                self.resource_type,
                self.id
            ),
            DriftKind::Changed => {
                let changes: Vec<String> = self
                    .changes
                    .iter()
                    .map(|c| format!("{}: {} → {}", c.attribute, short(&c.state), short(&c.live)))
                    .collect();
                format!(
                    "{} ({}) differs from its state: {}",
                    self.addresses.join(", "),
                    self.id,
                    changes.join("; ")
                )
            }
        }
    }

    /// The item as a finding of check `drift/<kind>` for control CFG-02.
    pub fn finding(&self, now: Timestamp) -> Finding {
        Finding {
            check: self.kind.check(),
            title: self.kind.title().to_owned(),
            controls: vec!["CFG-02".to_owned()],
            key: self.key.clone(),
            status: FindingStatus::Fail,
            severity: self.kind.severity(),
            message: self.message(),
            evidence: json!({
                "type": self.resource_type,
                "id": self.id,
                "addresses": self.addresses,
                "states": self.states,
                "environment": self.environment,
                "account": self.account,
                "changes": self.changes,
            }),
            remediation: self.kind.remediation().to_owned(),
            first_seen: now,
            last_seen: now,
        }
    }
}

fn short(value: &Value) -> String {
    let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    if text.chars().count() > 80 { format!("{}…", text.chars().take(80).collect::<String>()) } else { text }
}

/// Managed and live resources of one environment, account and collected type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    /// The environment, or `-`.
    pub environment: String,
    /// The account.
    pub account: String,
    /// The collected type.
    pub resource_type: String,
    /// Live resources a state manages.
    pub managed: u64,
    /// Live resources (defaults and settings left out).
    pub live: u64,
}

/// The figures of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Live resources considered (defaults and settings left out).
    pub live: u64,
    /// Of those, managed by a state.
    pub managed: u64,
    /// State resources read.
    pub state_resources: u64,
    /// Drift items by kind.
    pub unmanaged: u64,
    /// See [`DriftKind::Missing`].
    pub missing: u64,
    /// See [`DriftKind::Changed`].
    pub changed: u64,
    /// Items and changed attributes left out by the ignore file.
    pub ignored: u64,
    /// Live resources that come with the account (default VPC, service-linked roles, …).
    pub defaults: u64,
    /// State resources of types drift has no mapping for (not compared).
    pub unsupported: u64,
}

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DriftReport {
    /// The items, unmanaged first, each kind sorted by key.
    pub items: Vec<DriftItem>,
    /// Coverage per environment, account and type.
    pub coverage: Vec<CoverageRow>,
    /// The figures.
    pub totals: Totals,
    /// Terraform types met that drift does not know, with how many resources.
    pub unsupported_types: BTreeMap<String, u64>,
}

/// Compares state resources with live assets.
#[derive(Debug, Default)]
pub struct Detector {
    ignore: IgnoreRules,
    environment: Option<String>,
    live: Vec<Live>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<(&'static str, String), usize>,
    by_type: HashMap<&'static str, Vec<usize>>,
    matched: Vec<bool>,
    changed: BTreeMap<usize, DriftItem>,
    missing: Vec<DriftItem>,
    totals: Totals,
    unsupported_types: BTreeMap<String, u64>,
}

impl Detector {
    /// A detector applying `ignore`, reporting only `environment` when given.
    pub fn new(ignore: IgnoreRules, environment: Option<String>) -> Detector {
        Detector { ignore, environment, ..Detector::default() }
    }

    /// Adds a live resource. All live resources come before the first state resource.
    /// Returns false for a resource of a type drift has no mapping for (it is not compared).
    pub fn add_live(&mut self, record: LiveRecord) -> bool {
        let Some(entry) = types::by_live(&record.asset_type) else { return false };
        let attributes: Value = serde_json::from_str(&record.attributes).unwrap_or(Value::Null);
        let index = self.live.len();
        let id = entry.live_id.iter().map(|field| text(attributes.get(*field))).collect::<Vec<_>>().join(":");
        let in_scope = self.environment.is_none() || record.environment == self.environment;
        self.by_key.insert(record.key.clone(), index);
        self.by_id.insert((entry.live, id.clone()), index);
        if entry.settings {
            self.by_type.entry(entry.live).or_default().push(index);
        }
        self.live.push(Live {
            account: account(&record.key, record.location.as_deref()),
            key: record.key,
            live_type: entry,
            id,
            environment: record.environment,
            attributes: record.attributes.into_boxed_str(),
            tags: record.tags.into_boxed_str(),
            default: types::normally_unmanaged(entry.live, &attributes).is_some(),
            in_scope,
        });
        self.matched.push(false);
        true
    }

    /// Compares one state resource with what is live.
    pub fn add_managed(&mut self, managed: &Managed) {
        self.totals.state_resources += 1;
        let Some(entry) = types::by_terraform(&managed.terraform_type) else {
            self.totals.unsupported += 1;
            *self.unsupported_types.entry(managed.terraform_type.clone()).or_default() += 1;
            return;
        };
        let id = managed_id(managed);
        match self.find(entry, &managed.values) {
            Some(index) => self.compare(index, entry, managed, &id),
            None if entry.settings => {}
            None => self.report_missing(entry, managed, id),
        }
    }

    fn find(&self, entry: &TypeMap, values: &Value) -> Option<usize> {
        let found = match entry.identity {
            Identity::Arn => {
                values.get("arn").and_then(Value::as_str).and_then(|arn| self.by_key.get(arn)).copied()
            }
            Identity::Key(template) => fill(template, values).and_then(|key| self.by_key.get(&key)).copied(),
            Identity::Id(fields) => {
                let id = fields.iter().map(|f| text(values.get(*f))).collect::<Vec<_>>().join(":");
                self.by_id.get(&(entry.live, id)).copied()
            }
            Identity::Only => match self.by_type.get(entry.live).map(Vec::as_slice) {
                Some([only]) => Some(*only),
                _ => None,
            },
        };
        found.filter(|index| self.live[*index].live_type.live == entry.live)
    }

    fn compare(&mut self, index: usize, entry: &TypeMap, managed: &Managed, id: &str) {
        self.matched[index] = true;
        let live = &self.live[index];
        if !live.in_scope {
            return;
        }
        let attributes: Value = serde_json::from_str(&live.attributes).unwrap_or(Value::Null);
        let tags: Value = serde_json::from_str(&live.tags).unwrap_or(Value::Null);
        let mut changes = Vec::new();
        for attribute in entry.attributes {
            for change in compare::compare(attribute, &managed.values, &attributes, &tags) {
                if self.ignore.ignores_attribute(entry.terraform, id, &change.attribute) {
                    self.totals.ignored += 1;
                } else {
                    changes.push(change);
                }
            }
        }
        if changes.is_empty() {
            return;
        }
        let item = self.changed.entry(index).or_insert_with(|| live.item(DriftKind::Changed));
        item.addresses.push(managed.address.clone());
        if !item.states.contains(&managed.state) {
            item.states.push(managed.state.clone());
        }
        item.changes.extend(changes);
    }

    fn report_missing(&mut self, entry: &TypeMap, managed: &Managed, id: String) {
        if self.environment.is_some() && managed.environment != self.environment {
            return;
        }
        if self.ignore.ignores_resource(entry.terraform, &id) {
            self.totals.ignored += 1;
            return;
        }
        self.missing.push(DriftItem {
            kind: DriftKind::Missing,
            key: managed.key.clone(),
            resource_type: managed.terraform_type.clone(),
            id,
            addresses: vec![managed.address.clone()],
            states: vec![managed.state.clone()],
            environment: managed.environment.clone(),
            account: managed.values.get("arn").and_then(Value::as_str).and_then(arn_account),
            changes: Vec::new(),
        });
    }

    /// The report: unmanaged resources are the live ones no state resource matched.
    pub fn finish(mut self) -> DriftReport {
        let mut coverage: BTreeMap<(String, String, &'static str), CoverageRow> = BTreeMap::new();
        let mut unmanaged = Vec::new();
        for (index, live) in self.live.iter().enumerate() {
            if !live.in_scope || live.live_type.settings {
                continue;
            }
            let matched = self.matched[index];
            if !matched && live.default {
                self.totals.defaults += 1;
                continue;
            }
            let environment = live.environment.clone().unwrap_or_else(|| "-".to_owned());
            let row = coverage
                .entry((environment.clone(), live.account.clone(), live.live_type.live))
                .or_insert_with(|| CoverageRow {
                    environment,
                    account: live.account.clone(),
                    resource_type: live.live_type.live.to_owned(),
                    ..CoverageRow::default()
                });
            row.live += 1;
            self.totals.live += 1;
            if matched {
                row.managed += 1;
                self.totals.managed += 1;
            } else if self.ignore.ignores_resource(live.live_type.terraform, &live.id) {
                self.totals.ignored += 1;
            } else {
                unmanaged.push(live.item(DriftKind::Unmanaged));
            }
        }
        unmanaged.sort_by(|a, b| a.key.cmp(&b.key));
        self.missing.sort_by(|a, b| a.key.cmp(&b.key));
        let mut changed: Vec<DriftItem> = std::mem::take(&mut self.changed).into_values().collect();
        changed.sort_by(|a, b| a.key.cmp(&b.key));
        self.totals.unmanaged = unmanaged.len() as u64;
        self.totals.missing = self.missing.len() as u64;
        self.totals.changed = changed.len() as u64;
        let mut items = unmanaged;
        items.append(&mut self.missing);
        items.append(&mut changed);
        DriftReport {
            items,
            coverage: coverage.into_values().collect(),
            totals: self.totals,
            unsupported_types: self.unsupported_types,
        }
    }
}

/// A state resource's id: Terraform's `id`, else its address.
fn managed_id(managed: &Managed) -> String {
    managed.values.get("id").and_then(Value::as_str).map_or_else(|| managed.address.clone(), str::to_owned)
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Fills `{attribute}` placeholders from the state's attributes; `None` when one is missing.
fn fill(template: &str, values: &Value) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(values.get(&rest[start + 1..end])?.as_str()?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The account of an ARN (`arn:aws:ec2:REGION:ACCOUNT:…`), when it names one.
fn arn_account(arn: &str) -> Option<String> {
    arn.split(':').nth(4).filter(|a| !a.is_empty()).map(str::to_owned)
}

/// The account of a collected resource: from its ARN, else from its key or location
/// (`aws:ACCOUNT:REGION…`).
fn account(key: &str, location: Option<&str>) -> String {
    if let Some(account) = key.starts_with("arn:").then(|| arn_account(key)).flatten() {
        return account;
    }
    let from = |text: &str| text.strip_prefix("aws:").and_then(|r| r.split(':').next()).map(str::to_owned);
    from(key).or_else(|| location.and_then(from)).unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests;
