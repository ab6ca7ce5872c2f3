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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::coverage::{Coverage, Gap};
use crate::enums::word_enum;
use crate::model::{Asset, Finding, FindingStatus, Severity};
use crate::scope::ScopeId;
use crate::secrets::Sealer;
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
    /// The scope it was collected in (`aws:ACCOUNT:REGION:SERVICE`); `None` for documents
    /// people imported, which are compared as they are.
    pub scope: Option<String>,
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
            scope: asset.scope.clone(),
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
    /// Where it is: a position in the detector's `places` (few distinct ones, many resources).
    place: usize,
    /// JSON text, parsed again only when a state resource is compared with it.
    attributes: Box<str>,
    tags: Box<str>,
    /// Comes with the account (default VPC, service-linked role, …).
    default: bool,
    in_scope: bool,
    /// Why its scope cannot be relied on, if it cannot: it is then never compared.
    gap: Option<usize>,
}

impl Live {
    /// An item about this live resource, named by its main Terraform type, at `place`.
    fn item(&self, kind: DriftKind, place: &Place) -> DriftItem {
        DriftItem {
            kind,
            key: self.key.clone(),
            resource_type: self.live_type.terraform.to_owned(),
            id: self.id.clone(),
            addresses: Vec::new(),
            states: Vec::new(),
            environment: self.environment.clone(),
            account: place.account.clone(),
            changes: Vec::new(),
        }
    }
}

/// Where a resource is: its account and region, as far as known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Place {
    account: Option<String>,
    /// The region; [`crate::scope::GLOBAL`] for account-wide resources and settings.
    region: Option<String>,
}

impl Place {
    /// What a key (an ARN, a settings key) says of where it is.
    fn of_key(key: &str) -> Place {
        let (account, region) = crate::scope::locate_key(key);
        Place { account: account.map(str::to_owned), region: region.map(str::to_owned) }
    }

    /// What a state resource says of itself: its ARN, its `account_id`, its `region`.
    fn of_values(values: &Value) -> Place {
        let text = |name: &str| values.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
        let mut place = text("arn").map(Place::of_key).unwrap_or_default();
        place.account = place.account.or_else(|| text("account_id").map(str::to_owned));
        place.region = place.region.or_else(|| text("region").map(str::to_owned));
        place
    }

    /// Fills what is unknown from `other`.
    fn or(mut self, other: Option<&Place>) -> Place {
        if let Some(other) = other {
            self.account = self.account.or_else(|| other.account.clone());
            self.region = self.region.or_else(|| other.region.clone());
        }
        self
    }

    /// Whether a live resource at `live` may be the one at `self` (unknown parts match all;
    /// account-wide live resources match any region).
    fn admits(&self, live: &Place) -> bool {
        let same = |wanted: &Option<String>, found: &Option<String>| match (wanted, found) {
            (Some(wanted), Some(found)) => wanted == found,
            _ => true,
        };
        same(&self.account, &live.account)
            && (live.region.as_deref() == Some(crate::scope::GLOBAL) || same(&self.region, &live.region))
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
    /// The provider configuration that manages it, as the state names it
    /// (`provider["registry.terraform.io/hashicorp/aws"].west`): one account and region.
    pub provider: Arc<str>,
    /// The Terraform type.
    pub terraform_type: String,
    /// The state's attributes.
    pub values: Value,
    /// Its environment (from its tags).
    pub environment: Option<String>,
    /// The scope its state was synced in, for synced states (`terraform:STATE`); `None` for a
    /// state read just now.
    pub scope: Option<String>,
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
            provider: text("provider_config").or_else(|| text("provider")).unwrap_or_default().into(),
            terraform_type: text("type")?,
            values: attributes.get("values").cloned().unwrap_or(Value::Null),
            environment: asset.environment.clone(),
            scope: asset.scope.clone(),
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

impl DriftKind {
    /// The `error` result for an open finding of this kind about `key` that this scan could
    /// not judge: it stays open, and the message says why.
    pub fn not_judged(
        self,
        key: &str,
        reasons: &[String],
        previous: FindingStatus,
        now: Timestamp,
    ) -> Finding {
        Finding {
            check: self.check(),
            title: self.title().to_owned(),
            controls: vec!["CFG-02".to_owned()],
            key: key.to_owned(),
            status: FindingStatus::Error,
            severity: self.severity(),
            message: format!(
                "not compared: {} (the last result was {previous}; it stays open)",
                reasons.join("; ")
            ),
            evidence: json!({"not_comparable": reasons, crate::model::PREVIOUS_STATUS: previous.as_str()}),
            remediation: "Fix the collection (see `plumb run list --kind sync`), then sync and scan again."
                .to_owned(),
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

/// Resources a scan could not compare, grouped by why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NotComparable {
    /// The scope (or pattern) that was not collected completely, or `ambiguous`.
    pub scope: String,
    /// Why, in a sentence (the scope's gap, or which resources matched).
    pub reason: String,
    /// How many resources it left uncompared.
    pub resources: u64,
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
    /// Resources that could not be compared (see [`DriftReport::not_comparable`]).
    pub not_comparable: u64,
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
    /// What could not be compared, and why: the scan is incomplete when this is not empty.
    pub not_comparable: Vec<NotComparable>,
    /// Keys (live or state resources) whose drift this scan could not judge, each with why:
    /// open findings about them stay open, as errors.
    #[serde(skip)]
    pub unjudged: BTreeMap<String, Vec<String>>,
}

impl DriftReport {
    /// Whether every resource was compared.
    pub fn complete(&self) -> bool {
        self.not_comparable.is_empty()
    }
}

/// Compares state resources with live assets.
#[derive(Debug)]
pub struct Detector {
    ignore: IgnoreRules,
    environment: Option<String>,
    coverage: Coverage,
    /// The live side's source (`aws`): the scopes a missing resource would be collected in.
    source: String,
    /// Seals live values the state holds sealed, so the two compare.
    sealer: Sealer,
    live: Vec<Live>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<(&'static str, String), Indexes>,
    by_type: HashMap<&'static str, Vec<usize>>,
    matched: Vec<bool>,
    /// Live resources one of several state resources may manage: neither managed nor
    /// unmanaged.
    ambiguous: HashSet<usize>,
    changed: BTreeMap<usize, DriftItem>,
    missing: Vec<DriftItem>,
    totals: Totals,
    unsupported_types: BTreeMap<String, u64>,
    /// Every gap met (live scopes and synced states), by scope.
    gaps: Vec<Gap>,
    /// Each scope met: its gap (a position in `gaps`) and where its resources are. The last one
    /// is tried first: live documents come in key order, mostly scope after scope.
    scopes: HashMap<String, (Option<usize>, usize)>,
    last_scope: Option<(String, Option<usize>, usize)>,
    /// Every place a live resource is in; `Live::place` points here.
    places: Vec<Place>,
    /// (state, provider configuration, where its resources are), learned from their ARNs; a
    /// state has few provider configurations.
    providers: Vec<(String, Arc<str>, Place)>,
    /// State resources found by id or as the only settings document: matched once every
    /// resource of their state has told where its provider is.
    deferred: Vec<(Managed, &'static TypeMap)>,
    not_comparable: BTreeMap<(String, String), u64>,
    unjudged: BTreeMap<String, Vec<String>>,
    /// States that should have been read and could not be relied on: a live resource no state
    /// read manages may be managed by one of them, so it is not called unmanaged.
    unread_states: Vec<Gap>,
}

impl Detector {
    /// A detector applying `ignore`, reporting only `environment` when given, relying only on
    /// what `coverage` says was collected completely; the live side is `source`'s, and
    /// `sealer` is the one the states' secrets were sealed with.
    pub fn new(
        ignore: IgnoreRules,
        environment: Option<String>,
        coverage: Coverage,
        source: &str,
        sealer: Sealer,
    ) -> Detector {
        Detector {
            ignore,
            environment,
            coverage,
            source: source.to_owned(),
            sealer,
            live: Vec::new(),
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            by_type: HashMap::new(),
            matched: Vec::new(),
            ambiguous: HashSet::new(),
            changed: BTreeMap::new(),
            missing: Vec::new(),
            totals: Totals::default(),
            unsupported_types: BTreeMap::new(),
            gaps: Vec::new(),
            scopes: HashMap::new(),
            last_scope: None,
            places: Vec::new(),
            providers: Vec::new(),
            deferred: Vec::new(),
            not_comparable: BTreeMap::new(),
            unjudged: BTreeMap::new(),
            unread_states: Vec::new(),
        }
    }

    /// Says which states of the managed view could not be relied on (failed, stale, never
    /// synced): while any could not, no live resource is unmanaged, only not comparable.
    pub fn unread_states(&mut self, gaps: Vec<Gap>) {
        self.unread_states = gaps;
    }

    /// A scope's gap (its position in `gaps`), if it has one, and where its resources are (a
    /// position in `places`).
    fn scope_of(&mut self, scope: &str) -> (Option<usize>, usize) {
        if let Some((last, gap, place)) = &self.last_scope
            && last == scope
        {
            return (*gap, *place);
        }
        let known = match self.scopes.get(scope) {
            Some(known) => *known,
            None => {
                let gap = self.coverage.gap(scope).map(|gap| {
                    self.gaps.push(gap);
                    self.gaps.len() - 1
                });
                let id = ScopeId::parse(scope);
                let place = self.place_index(Place {
                    account: id.place.is_some().then_some(id.tenant),
                    region: id.place,
                });
                self.scopes.insert(scope.to_owned(), (gap, place));
                (gap, place)
            }
        };
        self.last_scope = Some((scope.to_owned(), known.0, known.1));
        known
    }

    /// The position of a place in `places`, added when new.
    fn place_index(&mut self, place: Place) -> usize {
        match self.places.iter().position(|known| *known == place) {
            Some(index) => index,
            None => {
                self.places.push(place);
                self.places.len() - 1
            }
        }
    }

    /// The position of a scope's gap, if it has one.
    fn gap_of(&mut self, scope: Option<&str>) -> Option<usize> {
        scope.and_then(|scope| self.scope_of(scope).0)
    }

    /// Records a resource left uncompared, and the keys whose open findings stay open.
    fn not_compared(&mut self, scope: &str, reason: String, keys: &[&str]) {
        for key in keys {
            self.unjudged.entry((*key).to_owned()).or_default().push(reason.clone());
        }
        *self.not_comparable.entry((scope.to_owned(), reason)).or_default() += 1;
        self.totals.not_comparable += 1;
    }

    fn gap_not_compared(&mut self, gap: usize, keys: &[&str]) {
        let gap = self.gaps[gap].clone();
        self.not_compared(&gap.scope, gap.to_string(), keys);
    }

    /// Adds a live resource. All live resources come before the first state resource.
    /// Returns false for a resource of a type drift has no mapping for (it is not compared).
    pub fn add_live(&mut self, record: LiveRecord) -> bool {
        let Some(entry) = types::by_live(&record.asset_type) else { return false };
        let attributes: Value = serde_json::from_str(&record.attributes).unwrap_or(Value::Null);
        let index = self.live.len();
        let id = entry.live_id.iter().map(|field| text(attributes.get(*field))).collect::<Vec<_>>().join(":");
        let in_scope = self.environment.is_none() || record.environment == self.environment;
        let (gap, place) = match record.scope.as_deref() {
            Some(scope) => self.scope_of(scope),
            None => (None, usize::MAX),
        };
        let place = if place != usize::MAX && self.places[place].account.is_some() {
            place
        } else {
            self.place_index(Place::of_key(&record.key))
        };
        self.by_key.insert(record.key.clone(), index);
        match self.by_id.entry((entry.live, id.clone())) {
            std::collections::hash_map::Entry::Occupied(mut same) => same.get_mut().push(index),
            std::collections::hash_map::Entry::Vacant(new) => {
                new.insert(Indexes::One(index));
            }
        }
        if entry.settings {
            self.by_type.entry(entry.live).or_default().push(index);
        }
        self.live.push(Live {
            place,
            key: record.key,
            live_type: entry,
            id,
            environment: record.environment,
            attributes: record.attributes.into_boxed_str(),
            tags: record.tags.into_boxed_str(),
            default: types::normally_unmanaged(entry.live, &attributes).is_some(),
            in_scope,
            gap,
        });
        self.matched.push(false);
        true
    }

    /// Compares one state resource with what is live.
    pub fn add_managed(&mut self, managed: &Managed) {
        self.totals.state_resources += 1;
        self.learn_provider(managed);
        let Some(entry) = types::by_terraform(&managed.terraform_type) else {
            self.totals.unsupported += 1;
            *self.unsupported_types.entry(managed.terraform_type.clone()).or_default() += 1;
            return;
        };
        match entry.identity {
            Identity::Arn | Identity::Key(_) => {
                let found = self.find_by_key(entry, &managed.values);
                self.settle(entry, managed, found);
            }
            // Found by id or as a settings document, which only its account and region tell
            // apart: wait until the state's other resources have said where its provider is.
            Identity::Id(_) | Identity::Only => self.deferred.push((managed.clone(), entry)),
        }
    }

    /// One provider configuration is one account and region: what one of its resources says
    /// of itself (an ARN, an account id) holds for the others, compared or not.
    fn learn_provider(&mut self, managed: &Managed) {
        let known = self
            .providers
            .iter()
            .position(|(state, provider, _)| *state == managed.state && *provider == managed.provider);
        match known {
            Some(i) if self.providers[i].2.account.is_some() && self.providers[i].2.region.is_some() => {}
            Some(i) => {
                let place = std::mem::take(&mut self.providers[i].2);
                self.providers[i].2 = place.or(Some(&Place::of_values(&managed.values)));
            }
            None => self.providers.push((
                managed.state.clone(),
                managed.provider.clone(),
                Place::of_values(&managed.values),
            )),
        }
    }

    fn find_by_key(&self, entry: &TypeMap, values: &Value) -> Found {
        let found = match entry.identity {
            Identity::Arn => values.get("arn").and_then(Value::as_str).and_then(|arn| self.by_key.get(arn)),
            Identity::Key(template) => fill(template, values).and_then(|key| self.by_key.get(&key)),
            Identity::Id(_) | Identity::Only => None,
        };
        match found.copied().filter(|index| self.live[*index].live_type.live == entry.live) {
            Some(index) => Found::One(index),
            None => Found::None,
        }
    }

    /// Finds a deferred state resource among the live ones of its account and region.
    fn find_by_place(&self, entry: &TypeMap, managed: &Managed, place: &Place) -> Found {
        let candidates: &[usize] = match entry.identity {
            Identity::Id(fields) => {
                let id = fields.iter().map(|f| text(managed.values.get(*f))).collect::<Vec<_>>().join(":");
                self.by_id.get(&(entry.live, id)).map_or(&[], Indexes::as_slice)
            }
            _ => self.by_type.get(entry.live).map_or(&[], Vec::as_slice),
        };
        let fitting: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                self.live[i].live_type.live == entry.live && place.admits(&self.places[self.live[i].place])
            })
            .collect();
        match fitting.as_slice() {
            [] => Found::None,
            [one] => Found::One(*one),
            _ => Found::Several(fitting),
        }
    }

    /// What to do with a state resource once its live counterpart was looked for.
    fn settle(&mut self, entry: &TypeMap, managed: &Managed, found: Found) {
        let id = managed_id(managed);
        let stale_state = self.gap_of(managed.scope.as_deref());
        match found {
            Found::One(index) => {
                self.matched[index] = true;
                if !self.live[index].in_scope {
                    return;
                }
                match self.live[index].gap.or(stale_state) {
                    // Neither side may be judged: the match keeps the live resource from
                    // being called unmanaged, and its open findings stay open.
                    Some(gap) => {
                        let live_key = self.live[index].key.clone();
                        self.gap_not_compared(gap, &[&live_key, &managed.key]);
                    }
                    None => self.compare(index, entry, managed, &id),
                }
            }
            Found::Several(candidates) => {
                let reason = format!(
                    "{} live {} match {} {id}, and its state does not say which account or region it is in",
                    candidates.len(),
                    entry.live,
                    managed.address
                );
                // Any of them may be the managed one: none is called unmanaged either.
                let mut keys = vec![managed.key.clone()];
                for index in candidates {
                    self.ambiguous.insert(index);
                    keys.push(self.live[index].key.clone());
                }
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                self.not_compared("ambiguous", reason, &keys);
            }
            Found::None => {
                if self.environment.is_some() && managed.environment != self.environment {
                    return;
                }
                if let Some(gap) = stale_state {
                    self.gap_not_compared(gap, &[&managed.key]);
                    return;
                }
                let place = self.place_of(managed);
                if place.account.is_none() {
                    // Any account, collected or not, may hold it.
                    // One reason per state, so a state of a hundred buckets is one line.
                    let reason = format!(
                        "resources in {} that do not say which account they are in (nor does any \
                         resource of their provider) cannot be told missing",
                        managed.state
                    );
                    self.not_compared("unknown account", reason, &[&managed.key]);
                    return;
                }
                let service = entry.live.split('.').nth(1).unwrap_or_default();
                let gaps = self.coverage.locate(
                    &self.source,
                    place.account.as_deref(),
                    place.region.as_deref(),
                    service,
                );
                // Not live, or only not seen: "missing" needs every scope it could be in.
                match gaps.first() {
                    Some(gap) => {
                        let reasons: Vec<String> = gaps.iter().map(ToString::to_string).collect();
                        let scope = gap.scope.clone();
                        self.not_compared(&scope, reasons.join("; "), &[&managed.key]);
                    }
                    // A settings document is always there once its scope is collected.
                    None if entry.settings => {}
                    None => self.report_missing(entry, managed, id),
                }
            }
        }
    }

    /// Where a state resource is: from itself, else from its provider configuration.
    fn place_of(&self, managed: &Managed) -> Place {
        let provider = self
            .providers
            .iter()
            .find(|(state, provider, _)| *state == managed.state && *provider == managed.provider)
            .map(|(_, _, place)| place);
        Place::of_values(&managed.values).or(provider)
    }

    fn compare(&mut self, index: usize, entry: &TypeMap, managed: &Managed, id: &str) {
        let live = &self.live[index];
        let attributes: Value = serde_json::from_str(&live.attributes).unwrap_or(Value::Null);
        let tags: Value = serde_json::from_str(&live.tags).unwrap_or(Value::Null);
        let mut changes = Vec::new();
        for attribute in entry.attributes {
            for change in compare::compare(attribute, &managed.values, &attributes, &tags, &self.sealer) {
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
        let place = &self.places[live.place];
        let item = self.changed.entry(index).or_insert_with(|| live.item(DriftKind::Changed, place));
        item.addresses.push(managed.address.clone());
        if !item.states.contains(&managed.state) {
            item.states.push(managed.state.clone());
        }
        item.changes.extend(changes);
    }

    fn report_missing(&mut self, entry: &TypeMap, managed: &Managed, id: String) {
        if self.ignore.ignores_resource(entry.terraform, &id) {
            self.totals.ignored += 1;
            return;
        }
        let account = self.place_of(managed).account;
        self.missing.push(DriftItem {
            kind: DriftKind::Missing,
            key: managed.key.clone(),
            resource_type: managed.terraform_type.clone(),
            id,
            addresses: vec![managed.address.clone()],
            states: vec![managed.state.clone()],
            environment: managed.environment.clone(),
            account,
            changes: Vec::new(),
        });
    }

    /// The report: unmanaged resources are the live ones no state resource matched.
    pub fn finish(mut self) -> DriftReport {
        for (managed, entry) in std::mem::take(&mut self.deferred) {
            let place = self.place_of(&managed);
            let found = self.find_by_place(entry, &managed, &place);
            self.settle(entry, &managed, found);
        }
        let mut coverage: BTreeMap<(String, String, &'static str), CoverageRow> = BTreeMap::new();
        let mut unmanaged = Vec::new();
        let mut uncompared = Vec::new();
        let mut maybe_managed = Vec::new();
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
            let account = self.places[live.place].account.clone().unwrap_or_else(|| "-".to_owned());
            let row = coverage
                .entry((environment.clone(), account.clone(), live.live_type.live))
                .or_insert_with(|| CoverageRow {
                    environment,
                    account,
                    resource_type: live.live_type.live.to_owned(),
                    ..CoverageRow::default()
                });
            row.live += 1;
            self.totals.live += 1;
            if matched {
                row.managed += 1;
                self.totals.managed += 1;
            } else if self.ambiguous.contains(&index) {
                // Already counted as not comparable, with the state resource.
            } else if let Some(gap) = live.gap {
                // A document of a failed or stale scope may be gone, or managed now.
                uncompared.push((gap, live.key.clone()));
            } else if self.ignore.ignores_resource(live.live_type.terraform, &live.id) {
                self.totals.ignored += 1;
            } else if !self.unread_states.is_empty() {
                maybe_managed.push(live.key.clone());
            } else {
                unmanaged.push(live.item(DriftKind::Unmanaged, &self.places[live.place]));
            }
        }
        for (gap, key) in uncompared {
            self.gap_not_compared(gap, &[&key]);
        }
        if let Some(first) = self.unread_states.first() {
            let scope = first.scope.clone();
            let gaps: Vec<String> = self.unread_states.iter().map(ToString::to_string).collect();
            let reason = format!("no state read manages it, and a state not read may: {}", gaps.join("; "));
            for key in maybe_managed {
                self.not_compared(&scope, reason.clone(), &[&key]);
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
        let not_comparable = self
            .not_comparable
            .into_iter()
            .map(|((scope, reason), resources)| NotComparable { scope, reason, resources })
            .collect();
        DriftReport {
            items,
            coverage: coverage.into_values().collect(),
            totals: self.totals,
            unsupported_types: self.unsupported_types,
            not_comparable,
            unjudged: self.unjudged,
        }
    }
}

/// What looking for a state resource's live counterpart found.
enum Found {
    None,
    One(usize),
    Several(Vec<usize>),
}

/// The live resources an id names: nearly always one.
#[derive(Clone, Debug)]
enum Indexes {
    One(usize),
    Many(Vec<usize>),
}

impl Indexes {
    fn push(&mut self, index: usize) {
        match self {
            Indexes::One(first) => *self = Indexes::Many(vec![*first, index]),
            Indexes::Many(all) => all.push(index),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            Indexes::One(one) => std::slice::from_ref(one),
            Indexes::Many(all) => all,
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

#[cfg(test)]
mod tests;
