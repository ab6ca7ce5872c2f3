//! Coverage: whether what a verdict rests on was seen.
//!
//! **A verdict is pass only when its inputs were collected completely within the freshness
//! limit.** Sync keeps a [`ScopeStatus`] per scope, written for complete, partial and wholly
//! failed runs; [`Coverage`] is the one rule `check` and `drift` apply to it. A scope whose
//! last attempt failed, whose last complete collection is older than the limit, or that never
//! completed has a [`Gap`]: what rests on it is `error` (never pass, never resolved), and the
//! message says which scope and since when.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde_json::{Value, json};

use crate::scope::{GLOBAL, ScopeId};
use crate::time::Timestamp;

/// What sync last knew of one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeStatus {
    /// The scope.
    pub scope: ScopeId,
    /// The configured collection that covers it (`aws`, `aws (profile prod)`,
    /// `terraform prod.tfstate`): a run of it that fails before reaching its scopes marks
    /// them all failed.
    pub origin: String,
    /// When a sync last tried it.
    pub attempted_at: Timestamp,
    /// The run that last tried it.
    pub attempt_run: String,
    /// When a sync last collected it completely.
    pub succeeded_at: Option<Timestamp>,
    /// The run that last collected it completely.
    pub success_run: Option<String>,
    /// Why the last attempt failed; `None` when it succeeded.
    pub error: Option<String>,
}

impl ScopeStatus {
    /// A scope collected completely by `run` at `at`.
    pub fn complete(scope: ScopeId, origin: &str, at: Timestamp, run: &str) -> ScopeStatus {
        ScopeStatus {
            scope,
            origin: origin.to_owned(),
            attempted_at: at,
            attempt_run: run.to_owned(),
            succeeded_at: Some(at),
            success_run: Some(run.to_owned()),
            error: None,
        }
    }

    /// This status after a failed attempt: the last complete collection is kept.
    pub fn failed(&self, at: Timestamp, run: &str, error: &str) -> ScopeStatus {
        ScopeStatus {
            attempted_at: at,
            attempt_run: run.to_owned(),
            error: Some(error.to_owned()),
            ..self.clone()
        }
    }

    /// A scope whose first attempt failed.
    pub fn first_failure(scope: ScopeId, origin: &str, at: Timestamp, run: &str, error: &str) -> ScopeStatus {
        ScopeStatus {
            scope,
            origin: origin.to_owned(),
            attempted_at: at,
            attempt_run: run.to_owned(),
            succeeded_at: None,
            success_run: None,
            error: Some(error.to_owned()),
        }
    }

    /// The status as its events record it.
    pub fn record(&self) -> Value {
        json!({
            "scope": self.scope.to_string(),
            "origin": self.origin,
            "attempted_at": self.attempted_at,
            "attempt_run": self.attempt_run,
            "succeeded_at": self.succeeded_at,
            "success_run": self.success_run,
            "error": self.error,
        })
    }

    /// How usable its documents are at `now` under the freshness limit.
    pub fn health(&self, now: Timestamp, limit: Freshness) -> Health {
        if let Some(error) = &self.error {
            return Health::Failed {
                at: self.attempted_at,
                error: error.clone(),
                last_success: self.succeeded_at,
            };
        }
        match self.succeeded_at {
            None => Health::Never,
            Some(at) if limit.expired(at, now) => Health::Stale { last_success: at, limit },
            Some(at) if ahead(at, now) => Health::Future { at },
            Some(_) => Health::Complete,
        }
    }
}

/// How far ahead of this machine's clock a collection time may be (another machine's clock,
/// a recording made elsewhere) before it is not believed.
const CLOCK_SKEW_MICROS: i64 = 10 * 60 * 1_000_000;

/// Whether `at` is later than `now` by more than clocks differ: a time that never ages, so
/// its data would never go stale.
fn ahead(at: Timestamp, now: Timestamp) -> bool {
    at.as_micros().saturating_sub(now.as_micros()) > CLOCK_SKEW_MICROS
}

/// How old the last complete collection may be: a nightly sync may be late, never absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    /// Hours.
    pub max_age_hours: u32,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness { max_age_hours: 36 }
    }
}

impl Freshness {
    fn expired(self, at: Timestamp, now: Timestamp) -> bool {
        let limit = i64::from(self.max_age_hours) * 3_600_000_000;
        now.as_micros().saturating_sub(at.as_micros()) > limit
    }
}

/// Whether a scope's documents may be judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Collected completely within the limit.
    Complete,
    /// The last attempt failed.
    Failed {
        /// When.
        at: Timestamp,
        /// Why.
        error: String,
        /// The last complete collection, if any.
        last_success: Option<Timestamp>,
    },
    /// The last complete collection is older than the limit.
    Stale {
        /// When it was.
        last_success: Timestamp,
        /// The limit it broke.
        limit: Freshness,
    },
    /// Never collected completely (never synced, or every attempt was cut short).
    Never,
    /// Said to have been collected later than now: a clock or a recording is wrong, and data
    /// whose age is unknown is not judged.
    Future {
        /// When it says it was collected.
        at: Timestamp,
    },
}

impl Health {
    /// One word for it: `complete`, `failed`, `stale`, `never` or `future`.
    pub fn word(&self) -> &'static str {
        match self {
            Health::Complete => "complete",
            Health::Failed { .. } => "failed",
            Health::Stale { .. } => "stale",
            Health::Never => "never",
            Health::Future { .. } => "future",
        }
    }
}

/// A scope that cannot be relied on, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The scope's name; a pattern such as `aws:111122223333:*:ec2` when no scope of the kind
    /// exists.
    pub scope: String,
    /// Why.
    pub health: Health,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = |at: &Option<Timestamp>| match at {
            Some(at) => format!("last complete collection {at}"),
            None => "never collected completely".to_owned(),
        };
        match &self.health {
            Health::Complete => write!(f, "{} is complete", self.scope),
            Health::Failed { at, error, last_success } => {
                write!(f, "{} failed at {at} ({error}); {}", self.scope, last(last_success))
            }
            Health::Stale { last_success, limit } => write!(
                f,
                "{} is stale: last complete collection {last_success}, older than {} hours",
                self.scope, limit.max_age_hours
            ),
            Health::Never => write!(f, "{} was never collected completely", self.scope),
            Health::Future { at } => write!(
                f,
                "{} says it was collected at {at}, later than now: a clock or a recording is wrong",
                self.scope
            ),
        }
    }
}

/// Every scope's status, judged at one instant under one limit.
#[derive(Clone, Debug)]
pub struct Coverage {
    health: HashMap<String, Health>,
    /// (source, tenant) → service → places, each with its scope name.
    tenants: BTreeMap<(String, String), BTreeMap<String, BTreeMap<String, String>>>,
}

impl Coverage {
    /// The statuses as they stand at `now`.
    pub fn new(statuses: &[ScopeStatus], now: Timestamp, limit: Freshness) -> Coverage {
        let mut coverage = Coverage { health: HashMap::new(), tenants: BTreeMap::new() };
        for status in statuses {
            let name = status.scope.to_string();
            coverage.health.insert(name.clone(), status.health(now, limit));
            if let (Some(place), Some(service)) = (&status.scope.place, &status.scope.service) {
                coverage
                    .tenants
                    .entry((status.scope.source.clone(), status.scope.tenant.clone()))
                    .or_default()
                    .entry(service.clone())
                    .or_default()
                    .insert(place.clone(), name);
            }
        }
        coverage
    }

    /// The health of one scope; a scope without status never completed.
    pub fn health(&self, scope: &str) -> Health {
        self.health.get(scope).cloned().unwrap_or(Health::Never)
    }

    /// Why one scope cannot be relied on, if it cannot.
    pub fn gap(&self, scope: &str) -> Option<Gap> {
        let health = self.health(scope);
        (health != Health::Complete).then(|| Gap { scope: scope.to_owned(), health })
    }

    /// Every scope of `source` that cannot be relied on, by name; `None` when sync has no
    /// status for any scope of it.
    pub fn source_gaps(&self, source: &str) -> Option<Vec<Gap>> {
        let mut known = false;
        let mut gaps: Vec<Gap> = Vec::new();
        for (name, health) in &self.health {
            if name.split_once(':').map_or(name.as_str(), |(s, _)| s) != source {
                continue;
            }
            known = true;
            if *health != Health::Complete {
                gaps.push(Gap { scope: name.clone(), health: health.clone() });
            }
        }
        gaps.sort_by(|a, b| a.scope.cmp(&b.scope));
        known.then_some(gaps)
    }

    /// The tenants (accounts) of a structured source that sync has a status for.
    pub fn tenants(&self, source: &str) -> Vec<String> {
        self.tenants.keys().filter(|(s, _)| s == source).map(|(_, tenant)| tenant.clone()).collect()
    }

    /// The places (regions) of a tenant, from every service's scopes, the global place left
    /// out.
    pub fn places(&self, source: &str, tenant: &str) -> Vec<String> {
        let mut places = BTreeSet::new();
        if let Some(services) = self.tenants.get(&(source.to_owned(), tenant.to_owned())) {
            places.extend(services.values().flat_map(|p| p.keys()).filter(|p| *p != GLOBAL).cloned());
        }
        places.into_iter().collect()
    }

    /// What is missing for a verdict about a whole tenant that needs `services`: each service
    /// collected completely in every place it applies to. A service collected globally needs
    /// its global scope; a regional one needs every region the tenant was collected in, so a
    /// region left out of a later sync is stale rather than silently dropped.
    pub fn required(&self, source: &str, tenant: &str, services: &[String]) -> Vec<Gap> {
        let regions = self.places(source, tenant);
        let known = self.tenants.get(&(source.to_owned(), tenant.to_owned()));
        let mut gaps = Vec::new();
        for service in services {
            let places = known.and_then(|s| s.get(service));
            let wanted: Vec<String> = match places {
                None => {
                    let health = Health::Never;
                    gaps.push(Gap { scope: format!("{source}:{tenant}:*:{service}"), health });
                    continue;
                }
                Some(places) if places.contains_key(GLOBAL) => vec![GLOBAL.to_owned()],
                Some(_) => regions.clone(),
            };
            for place in wanted {
                let name = ScopeId::new(source, tenant, &place, service).to_string();
                gaps.extend(self.gap(&name));
            }
        }
        gaps
    }

    /// What is missing to compare a resource of `service` whose tenant and place may be
    /// unknown: every scope it could be in must be complete, and there must be one.
    pub fn locate(&self, source: &str, tenant: Option<&str>, place: Option<&str>, service: &str) -> Vec<Gap> {
        let mut candidates = Vec::new();
        for ((s, t), services) in &self.tenants {
            if s != source || tenant.is_some_and(|wanted| wanted != t) {
                continue;
            }
            for (p, name) in services.get(service).into_iter().flatten() {
                // A global scope holds the tenant's resources of every region.
                if place.is_none_or(|wanted| wanted == p) || p == GLOBAL {
                    candidates.push(name.as_str());
                }
            }
        }
        if candidates.is_empty() {
            let pattern = format!("{source}:{}:{}:{service}", tenant.unwrap_or("*"), place.unwrap_or("*"));
            return vec![Gap { scope: pattern, health: Health::Never }];
        }
        candidates.into_iter().filter_map(|name| self.gap(name)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn ok(scope: &str, when: &str) -> ScopeStatus {
        ScopeStatus::complete(ScopeId::parse(scope), "aws", at(when), "run-1")
    }

    const NOW: &str = "2026-12-02T12:00:00Z";

    #[test]
    fn health_follows_the_last_attempt_and_the_limit() {
        let limit = Freshness::default();
        let fresh = ok("aws:1:us-east-1:ec2", "2026-12-02T01:00:00Z");
        assert_eq!(fresh.health(at(NOW), limit), Health::Complete);
        let old = ok("aws:1:us-east-1:ec2", "2026-11-30T23:59:00Z");
        assert!(matches!(old.health(at(NOW), limit), Health::Stale { .. }));
        let failed = fresh.failed(at("2026-12-02T02:00:00Z"), "run-2", "AccessDenied");
        let Health::Failed { error, last_success, .. } = failed.health(at(NOW), limit) else { panic!() };
        assert_eq!((error.as_str(), last_success), ("AccessDenied", fresh.succeeded_at));
        let ahead = ok("aws:1:us-east-1:ec2", "2026-12-02T12:20:00Z");
        assert_eq!(ahead.health(at(NOW), limit), Health::Future { at: at("2026-12-02T12:20:00Z") });
        let skewed = ok("aws:1:us-east-1:ec2", "2026-12-02T12:05:00Z");
        assert_eq!(skewed.health(at(NOW), limit), Health::Complete);
        let never = ScopeStatus::first_failure(ScopeId::parse("aws:1:global:iam"), "aws", at(NOW), "r", "x");
        assert!(matches!(never.health(at(NOW), limit), Health::Failed { last_success: None, .. }));
    }

    #[test]
    fn required_services_need_every_place_they_apply_to() {
        let statuses = [
            ok("aws:1:global:iam", "2026-12-02T01:00:00Z"),
            ok("aws:1:us-east-1:ec2", "2026-12-02T01:00:00Z"),
            ok("aws:1:eu-west-1:ec2", "2026-12-02T01:00:00Z"),
            ok("aws:1:us-east-1:cloudtrail", "2026-12-02T01:00:00Z"),
            ok("aws:1:eu-west-1:cloudtrail", "2026-11-01T01:00:00Z"),
        ];
        let coverage = Coverage::new(&statuses, at(NOW), Freshness::default());
        let names = |gaps: Vec<Gap>| gaps.into_iter().map(|g| g.scope).collect::<Vec<_>>();
        assert!(coverage.required("aws", "1", &["iam".into(), "ec2".into()]).is_empty());
        assert_eq!(
            names(coverage.required("aws", "1", &["cloudtrail".into()])),
            ["aws:1:eu-west-1:cloudtrail"]
        );
        assert_eq!(names(coverage.required("aws", "1", &["kms".into()])), ["aws:1:*:kms"]);
        assert_eq!(coverage.places("aws", "1"), ["eu-west-1", "us-east-1"]);
        assert_eq!(coverage.tenants("aws"), ["1"]);
        assert_eq!(coverage.health("aws:2:global:iam"), Health::Never);
    }

    #[test]
    fn locating_a_resource_needs_every_scope_it_could_be_in() {
        let statuses = [
            ok("aws:1:global:s3", "2026-12-02T01:00:00Z"),
            ok("aws:2:global:s3", "2026-11-01T01:00:00Z"),
            ok("aws:1:us-east-1:ec2", "2026-12-02T01:00:00Z"),
        ];
        let coverage = Coverage::new(&statuses, at(NOW), Freshness::default());
        assert!(coverage.locate("aws", Some("1"), None, "s3").is_empty());
        assert_eq!(coverage.locate("aws", None, None, "s3").len(), 1);
        assert!(coverage.locate("aws", Some("1"), Some("us-east-1"), "ec2").is_empty());
        let never = coverage.locate("aws", Some("1"), Some("eu-west-1"), "ec2");
        assert_eq!(never, [Gap { scope: "aws:1:eu-west-1:ec2".into(), health: Health::Never }]);
        assert!(never[0].to_string().contains("never collected completely"));
        assert_eq!(coverage.source_gaps("aws").map(|g| g.len()), Some(1));
        assert_eq!(coverage.source_gaps("terraform"), None);
    }
}
