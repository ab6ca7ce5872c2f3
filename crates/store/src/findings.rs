//! Stored findings: open ones stay open across runs until a run passes them; every opening,
//! change of status and resolution is an event.

use std::collections::HashMap;

use plumb_core::model::{Entity, Finding, FindingStatus};
use plumb_core::{EventDraft, Timestamp};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::assets::parse;
use crate::sql::Sql;
use crate::{Store, StoreError, WriteTx};

const COLUMNS: &str = "check_id, key, status, severity, title, controls, message, evidence, remediation, \
    first_seen, last_seen, run_id, resolved_at";
const BATCH: usize = 1_000;

/// What storing a run's results did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FindingChanges {
    /// Findings that opened (or reopened).
    pub opened: u64,
    /// Open findings whose status changed.
    pub changed: u64,
    /// Open findings still open.
    pub unchanged: u64,
    /// Findings resolved.
    pub resolved: u64,
    /// The findings that opened, for alerting once per appearance.
    pub opened_findings: Vec<Finding>,
    /// The findings that resolved, as they were while open.
    pub resolved_findings: Vec<Finding>,
}

/// Which open findings of its checks a run speaks for: those of them it does not report were
/// looked at and not found, so they resolve ("no longer reported").
#[derive(Clone, Copy)]
pub enum Reach<'a> {
    /// All of them: the run saw everything its checks judge.
    All,
    /// None: the run saw part of the inventory (one environment), so what it did not report
    /// may simply not have been looked at.
    Reported,
    /// Those `within(check, key)` admits (a drift scan of named states speaks for its own
    /// states' resources, not for other states').
    Within(&'a (dyn Fn(&str, &str) -> bool + Sync)),
}

impl Reach<'_> {
    fn covers(&self, check: &str, key: &str) -> bool {
        match self {
            Reach::All => true,
            Reach::Reported => false,
            Reach::Within(within) => within(check, key),
        }
    }
}

/// The result an `error` kept open, from its evidence.
fn last_judged(evidence: &str) -> Option<FindingStatus> {
    let evidence: Value = serde_json::from_str(evidence).ok()?;
    evidence.get(plumb_core::model::PREVIOUS_STATUS)?.as_str()?.parse().ok()
}

/// A stored finding with its state.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredFinding {
    /// The finding.
    pub finding: Finding,
    /// The run that last reported it.
    pub run_id: String,
    /// When it was resolved; open when absent.
    pub resolved_at: Option<Timestamp>,
}

impl Store {
    /// Findings, open ones only unless `include_resolved`, optionally of one check.
    pub async fn findings(
        &self,
        check: Option<&str>,
        include_resolved: bool,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM findings WHERE 1 = 1"));
        if !include_resolved {
            sql.push(" AND resolved_at IS NULL");
        }
        if let Some(check) = check {
            sql.push(" AND check_id = ").bind(check.to_owned());
        }
        sql.push(" ORDER BY check_id, key");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(stored_from_row).collect()
    }

    /// The open findings of these checks: (check, key, the status it had when last judged).
    /// An `error` that kept an earlier result open (its evidence's
    /// [`PREVIOUS_STATUS`](plumb_core::model::PREVIOUS_STATUS)) reports that result, so a
    /// failure stays a failure however many nights its data goes uncollected.
    pub async fn open_finding_keys(
        &self,
        checks: &[String],
    ) -> Result<Vec<(String, String, FindingStatus)>, StoreError> {
        let mut open = Vec::new();
        for chunk in checks.chunks(BATCH) {
            let mut sql = Sql::new(
                "SELECT check_id, key, status, CASE WHEN status = 'error' THEN evidence END AS evidence \
                 FROM findings WHERE resolved_at IS NULL AND check_id IN ",
            );
            sql.row(|row| {
                for check in chunk {
                    row.value(check.clone());
                }
            });
            for row in &sql.query(self.backend).fetch_all(&self.pool).await? {
                let mut status = parse("status", row.try_get::<String, _>("status")?)?;
                if let Some(evidence) = row.try_get::<Option<String>, _>("evidence")? {
                    status = last_judged(&evidence).unwrap_or(status);
                }
                open.push((row.try_get("check_id")?, row.try_get("key")?, status));
            }
        }
        Ok(open)
    }
}

/// What a run needs of an open finding to judge a new result against it.
struct Open {
    status: FindingStatus,
    first_seen: Timestamp,
    digest: Option<String>,
}

impl WriteTx {
    /// Stores one run's results for the checks in `checks`: failing (and manual, error)
    /// results open or stay open; passing results, and open findings within the run's `reach`
    /// whose key it did not report at all, resolve. `first_seen` of each result is filled
    /// from the store.
    pub async fn record_findings(
        &mut self,
        checks: &[String],
        results: &mut [Finding],
        run_id: &str,
        reach: Reach<'_>,
    ) -> Result<FindingChanges, StoreError> {
        let complete = matches!(reach, Reach::All);
        let now = self.now();
        let mut open = self.open_findings(checks).await?;
        let mut changes = FindingChanges::default();
        let mut writes = Vec::new();
        let mut resolving = Vec::new();
        for result in results.iter_mut() {
            let id = (result.check.clone(), result.key.clone());
            let previous = open.remove(&id);
            if let Some(previous) = &previous {
                result.first_seen = previous.first_seen;
            }
            match previous {
                None if !result.status.is_open() => {}
                None => {
                    changes.opened += 1;
                    changes.opened_findings.push(result.clone());
                    writes.push((result.clone(), Some("opened"), None));
                }
                Some(previous) if result.status.is_open() && previous.status == result.status => {
                    changes.unchanged += 1;
                    // Rewriting a finding that says the same again is most of a nightly run's
                    // work; when the run is complete, one statement below marks them all seen.
                    // One that says something new (its message, its evidence) is an event.
                    let same = previous.digest.as_deref() == Some(result.digest().as_str());
                    if !same {
                        writes.push((result.clone(), Some("updated"), Some(previous.status)));
                    } else if !complete {
                        writes.push((result.clone(), None, None));
                    }
                }
                Some(previous) if result.status.is_open() => {
                    changes.changed += 1;
                    writes.push((result.clone(), Some("changed"), Some(previous.status)));
                }
                Some(_) => resolving.push((id, format!("{} passed", result.check))),
            }
        }
        resolving.extend(
            open.into_keys()
                .filter(|(check, key)| reach.covers(check, key))
                .map(|id| (id, "no longer reported".to_owned())),
        );
        resolving.sort();
        for ((check, key), reason) in resolving {
            let previous = self.resolve(&check, &key, now, &reason).await?;
            changes.resolved += 1;
            changes.resolved_findings.push(previous);
        }
        if complete {
            self.mark_seen(checks, run_id, now).await?;
        }
        for chunk in writes.chunks(BATCH) {
            self.upsert_findings(chunk, run_id, now).await?;
        }
        Ok(changes)
    }

    /// Marks every open finding of `checks` as reported by this run.
    async fn mark_seen(&mut self, checks: &[String], run_id: &str, now: Timestamp) -> Result<(), StoreError> {
        for chunk in checks.chunks(BATCH) {
            let mut sql = Sql::new("UPDATE findings SET last_seen = ");
            sql.bind(now.to_string()).push(", run_id = ").bind(run_id.to_owned());
            sql.push(" WHERE resolved_at IS NULL AND check_id IN ");
            sql.row(|row| {
                for check in chunk {
                    row.value(check.clone());
                }
            });
            sql.query(self.backend).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn open_findings(
        &mut self,
        checks: &[String],
    ) -> Result<HashMap<(String, String), Open>, StoreError> {
        let mut open = HashMap::new();
        for chunk in checks.chunks(BATCH) {
            let mut sql = Sql::new(
                "SELECT check_id, key, status, first_seen, digest FROM findings \
                 WHERE resolved_at IS NULL AND check_id IN ",
            );
            sql.row(|row| {
                for check in chunk {
                    row.value(check.clone());
                }
            });
            let rows = sql.query(self.backend).fetch_all(&mut *self.tx).await?;
            for row in &rows {
                let id = (row.try_get("check_id")?, row.try_get("key")?);
                let found = Open {
                    status: parse("status", row.try_get::<String, _>("status")?)?,
                    first_seen: parse("first_seen", row.try_get::<String, _>("first_seen")?)?,
                    digest: row.try_get("digest")?,
                };
                open.insert(id, found);
            }
        }
        Ok(open)
    }

    async fn upsert_findings(
        &mut self,
        writes: &[(Finding, Option<&'static str>, Option<FindingStatus>)],
        run_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(&format!("INSERT INTO findings ({COLUMNS}, digest) VALUES "));
        for (i, (finding, _, _)) in writes.iter().enumerate() {
            if i > 0 {
                sql.push(",");
            }
            sql.row(|row| {
                row.value(finding.check.clone())
                    .value(finding.key.clone())
                    .value(finding.status.as_str())
                    .value(finding.severity.as_str())
                    .value(finding.title.clone())
                    .value(json!(finding.controls).to_string())
                    .value(finding.message.clone())
                    .value(finding.evidence.to_string())
                    .value(finding.remediation.clone())
                    .value(finding.first_seen.to_string())
                    .value(now.to_string())
                    .value(run_id.to_owned())
                    .text(None)
                    .value(finding.digest());
            });
        }
        sql.push(
            " ON CONFLICT (check_id, key) DO UPDATE SET status = excluded.status, severity = excluded.severity, \
             title = excluded.title, controls = excluded.controls, message = excluded.message, \
             evidence = excluded.evidence, remediation = excluded.remediation, first_seen = excluded.first_seen, \
             last_seen = excluded.last_seen, run_id = excluded.run_id, resolved_at = NULL, \
             digest = excluded.digest",
        );
        sql.query(self.backend).execute(&mut *self.tx).await?;
        for (finding, action, previous) in writes {
            let Some(action) = action else { continue };
            let before = previous.map(|status| json!({"status": status.as_str()}));
            let after = json!({
                "check": finding.check,
                "key": finding.key,
                "status": finding.status.as_str(),
                "severity": finding.severity.as_str(),
                "message": finding.message,
                "digest": finding.digest(),
            });
            let draft =
                EventDraft::new(Entity::Finding, finding_id(finding), action, before.as_ref(), Some(&after));
            self.append(draft).await?;
        }
        Ok(())
    }

    /// Resolves an open finding; returns it as it was while open.
    async fn resolve(
        &mut self,
        check: &str,
        key: &str,
        now: Timestamp,
        reason: &str,
    ) -> Result<Finding, StoreError> {
        let mut select = Sql::new(&format!("SELECT {COLUMNS} FROM findings WHERE check_id = "));
        select.bind(check.to_owned()).push(" AND key = ").bind(key.to_owned());
        let row = select.query(self.backend).fetch_one(&mut *self.tx).await?;
        let finding = stored_from_row(&row)?.finding;
        let mut sql = Sql::new("UPDATE findings SET resolved_at = ");
        sql.bind(now.to_string()).push(" WHERE check_id = ").bind(check.to_owned());
        sql.push(" AND key = ").bind(key.to_owned());
        sql.query(self.backend).execute(&mut *self.tx).await?;
        let before = json!({"status": finding.status.as_str()});
        let after = json!({"status": "resolved", "reason": reason});
        let draft =
            EventDraft::new(Entity::Finding, finding_id(&finding), "resolved", Some(&before), Some(&after));
        self.append(draft).await?;
        Ok(finding)
    }
}

/// The entity id of a finding's events.
fn finding_id(finding: &Finding) -> String {
    format!("{}|{}", finding.check, finding.key)
}

fn stored_from_row(row: &AnyRow) -> Result<StoredFinding, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column);
    let json = |column: &'static str| -> Result<Value, StoreError> {
        let value = text(column)?;
        serde_json::from_str(&value).map_err(|err| StoreError::Corrupt {
            field: column,
            reason: err.to_string(),
            value,
        })
    };
    let controls = match json("controls")? {
        Value::Array(items) => items.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    Ok(StoredFinding {
        finding: Finding {
            check: text("check_id")?,
            title: text("title")?,
            controls,
            key: text("key")?,
            status: parse("status", text("status")?)?,
            severity: parse("severity", text("severity")?)?,
            message: text("message")?,
            evidence: json("evidence")?,
            remediation: text("remediation")?,
            first_seen: parse("first_seen", text("first_seen")?)?,
            last_seen: parse("last_seen", text("last_seen")?)?,
        },
        run_id: text("run_id")?,
        resolved_at: row
            .try_get::<Option<String>, _>("resolved_at")?
            .map(|t| parse("resolved_at", t))
            .transpose()?,
    })
}
