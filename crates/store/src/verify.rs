//! Whether the stored rows still say what their history says.
//!
//! The chain proves that no event was edited, removed or inserted; it does not by itself prove
//! that a row was not edited beside it (an asset reclassified, a finding's evidence changed, a
//! stale scope made to look fresh). After the chain verifies, every asset row is compared with
//! the fold of its events, every scope status and finding with its latest event, and every run
//! with the digest its events recorded. What is not compared, and why, is listed in
//! ARCHITECTURE.md ("What the chain covers").

use std::collections::HashMap;

use plumb_core::model::{Entity, FIELDS};
use serde_json::{Map, Value};
use sqlx::Row;

use crate::sql::Sql;
use crate::{Store, StoreError};

const PAGE: i64 = 5_000;

/// A stored row that no longer says what its history says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowMismatch {
    /// The table: `assets`, `scope_status`, `findings` or `runs`.
    pub table: &'static str,
    /// The row: an asset's key, a scope's name, `CHECK|KEY`, a run's id.
    pub row: String,
    /// What differs, in a sentence.
    pub what: String,
}

impl std::fmt::Display for RowMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {} no longer says what its history says: {}", self.table, self.row, self.what)
    }
}

/// A stored record as the JSON its events carry.
fn document(record: &impl serde::Serialize) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

/// The latest event of each record of one kind: entity id → (action, after).
type Latest = HashMap<String, (String, Value)>;

impl Store {
    /// The first row that disagrees with its history, if any.
    pub async fn verify_rows(&self) -> Result<Option<RowMismatch>, StoreError> {
        if let Some(mismatch) = self.verify_assets().await? {
            return Ok(Some(mismatch));
        }
        if let Some(mismatch) = self.verify_scopes().await? {
            return Ok(Some(mismatch));
        }
        if let Some(mismatch) = self.verify_findings().await? {
            return Ok(Some(mismatch));
        }
        if let Some(mismatch) = self.verify_exceptions().await? {
            return Ok(Some(mismatch));
        }
        if let Some(mismatch) = self.verify_sanitizations().await? {
            return Ok(Some(mismatch));
        }
        self.verify_runs().await
    }

    /// Every asset row against the fold of its events (`created`, then each change's after).
    async fn verify_assets(&self) -> Result<Option<RowMismatch>, StoreError> {
        let mut folded: Vec<(String, Map<String, Value>)> = Vec::new();
        let mut current: Option<(String, Map<String, Value>)> = None;
        let mut after: Option<(String, i64)> = None;
        let mut assets = 0_u64;
        loop {
            let rows = self.events_page(Entity::Asset, after.as_ref()).await?;
            for (id, seq, _action, document) in &rows {
                if current.as_ref().is_none_or(|(open, _)| open != id) {
                    folded.extend(current.take());
                    current = Some((id.clone(), Map::new()));
                }
                if let (Some((_, state)), Value::Object(changes)) = (current.as_mut(), document) {
                    for (field, value) in changes.iter().filter(|(f, _)| FIELDS.contains(&f.as_str())) {
                        state.insert(field.clone(), value.clone());
                    }
                }
                after = Some((id.clone(), *seq));
            }
            let last = i64::try_from(rows.len()).unwrap_or(0) < PAGE;
            if last {
                folded.extend(current.take());
            }
            if folded.len() >= 2_000 || last {
                assets += folded.len() as u64;
                if let Some(mismatch) = self.compare_assets(&std::mem::take(&mut folded)).await? {
                    return Ok(Some(mismatch));
                }
            }
            if last {
                break;
            }
        }
        let row =
            Sql::new("SELECT COUNT(*) AS n FROM assets").query(self.backend).fetch_one(&self.pool).await?;
        let stored = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
        Ok((stored != assets).then(|| RowMismatch {
            table: "assets",
            row: "*".to_owned(),
            what: format!(
                "{stored} rows, but {assets} assets have a history: rows were added behind plumb's back"
            ),
        }))
    }

    async fn compare_assets(
        &self,
        folded: &[(String, Map<String, Value>)],
    ) -> Result<Option<RowMismatch>, StoreError> {
        if folded.is_empty() {
            return Ok(None);
        }
        let mut sql = Sql::new(&format!("SELECT {} FROM assets WHERE id IN ", crate::assets::COLUMNS));
        sql.row(|row| {
            for (id, _) in folded {
                row.value(id.clone());
            }
        });
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        let mut stored: HashMap<String, Value> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let asset = crate::assets::asset_from_row(row)?;
            stored.insert(asset.id.to_string(), asset.to_json());
        }
        for (id, history) in folded {
            let Some(Value::Object(row)) = stored.get(id) else {
                return Ok(Some(RowMismatch {
                    table: "assets",
                    row: id.clone(),
                    what: "its history is there, the row is not".to_owned(),
                }));
            };
            for field in FIELDS {
                let (now, was) =
                    (row.get(*field).unwrap_or(&Value::Null), history.get(*field).unwrap_or(&Value::Null));
                if now != was {
                    let key = row.get("key").and_then(Value::as_str).unwrap_or(id).to_owned();
                    return Ok(Some(RowMismatch {
                        table: "assets",
                        row: key,
                        what: format!("{field} is {} in the row, {} in its history", short(now), short(was)),
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Every scope status against its latest event.
    async fn verify_scopes(&self) -> Result<Option<RowMismatch>, StoreError> {
        let latest = self.latest_events(Entity::Scope).await?;
        for status in self.scope_statuses().await? {
            let name = status.scope.to_string();
            let recorded = latest.get(&name).map(|(_, after)| after.clone());
            if recorded.as_ref() != Some(&status.record()) {
                return Ok(Some(RowMismatch {
                    table: "scope_status",
                    row: name,
                    what: format!(
                        "it says {}, its latest event {}",
                        short(&status.record()),
                        recorded.map_or_else(|| "is missing".to_owned(), |r| format!("says {}", short(&r)))
                    ),
                }));
            }
        }
        Ok(None)
    }

    /// Every exception against its latest event: the whole document.
    async fn verify_exceptions(&self) -> Result<Option<RowMismatch>, StoreError> {
        let rows = self.exceptions().await?.iter().map(|e| (e.id.to_string(), document(e))).collect();
        self.verify_documents(Entity::Exception, "exceptions", rows).await
    }

    /// Every sanitization record against its latest event, and every evidence file against
    /// the SHA-256 it is stored (and named on its record) under.
    async fn verify_sanitizations(&self) -> Result<Option<RowMismatch>, StoreError> {
        let rows = self.sanitizations().await?.iter().map(|r| (r.asset_key.clone(), document(r))).collect();
        if let Some(mismatch) =
            self.verify_documents(Entity::Sanitization, "sanitization_records", rows).await?
        {
            return Ok(Some(mismatch));
        }
        Ok(self.altered_attachment().await?.map(|sha256| RowMismatch {
            table: "attachments",
            row: sha256,
            what: "its content no longer has the SHA-256 it is stored and recorded under".to_owned(),
        }))
    }

    /// Rows that each hold one document, against the `after` of their latest event.
    async fn verify_documents(
        &self,
        entity: Entity,
        table: &'static str,
        rows: Vec<(String, Value)>,
    ) -> Result<Option<RowMismatch>, StoreError> {
        let latest = self.latest_events(entity).await?;
        for (id, stored) in rows {
            let recorded = latest.get(&id).map(|(_, after)| after.clone());
            if recorded.as_ref() != Some(&stored) {
                return Ok(Some(RowMismatch {
                    table,
                    row: id,
                    what: format!(
                        "it says {}, its latest event {}",
                        short(&stored),
                        recorded.map_or_else(|| "is missing".to_owned(), |r| format!("says {}", short(&r)))
                    ),
                }));
            }
        }
        Ok(None)
    }

    /// Every finding against its latest event: open or resolved, and (for events that carry
    /// it) the digest of what it says.
    async fn verify_findings(&self) -> Result<Option<RowMismatch>, StoreError> {
        let latest = self.latest_events(Entity::Finding).await?;
        for stored in self.findings(None, true).await? {
            let id = format!("{}|{}", stored.finding.check, stored.finding.key);
            let mismatch = |what: String| Some(RowMismatch { table: "findings", row: id.clone(), what });
            let Some((action, after)) = latest.get(&id) else {
                return Ok(mismatch("it has no history".to_owned()));
            };
            match (stored.resolved_at.is_some(), action.as_str()) {
                (true, "resolved") => continue,
                (true, _) => return Ok(mismatch(format!("it is resolved, its latest event says {action}"))),
                (false, "resolved") => {
                    return Ok(mismatch("it is open, its latest event resolved it".to_owned()));
                }
                (false, _) => {}
            }
            let status = stored.finding.status.as_str();
            if after.get("status").and_then(Value::as_str) != Some(status) {
                return Ok(mismatch(format!(
                    "its status is {status}, its latest event says {}",
                    short(&after["status"])
                )));
            }
            if let Some(digest) = after.get("digest").and_then(Value::as_str)
                && digest != stored.finding.digest()
            {
                return Ok(mismatch(
                    "what it says (message, evidence, severity) is not what its latest event recorded"
                        .to_owned(),
                ));
            }
        }
        Ok(None)
    }

    /// Every run against the digest its latest event recorded (runs recorded before digests
    /// were, by their outcome).
    async fn verify_runs(&self) -> Result<Option<RowMismatch>, StoreError> {
        let latest = self.latest_events(Entity::Run).await?;
        let mut after: Option<String> = None;
        loop {
            let mut sql = Sql::new(&format!("SELECT {} FROM runs", crate::runs::COLUMNS));
            if let Some(after) = &after {
                sql.push(" WHERE id > ").bind(after.clone());
            }
            sql.push(" ORDER BY id LIMIT ").bind(PAGE);
            let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
            for row in &rows {
                let run = crate::runs::run_from_row(row)?;
                let mismatch = |what: String| Some(RowMismatch { table: "runs", row: run.id.clone(), what });
                let Some((_, recorded)) = latest.get(&run.id) else {
                    return Ok(mismatch("it has no history".to_owned()));
                };
                let digest = recorded.get("digest").and_then(Value::as_str);
                let outcome = recorded.get("outcome").and_then(Value::as_str);
                if digest.is_some_and(|d| d != run.digest())
                    || digest.is_none() && outcome.is_some_and(|o| o != run.outcome.as_str())
                {
                    return Ok(mismatch(
                        "what it records (inputs, figures, details) is not what its events recorded"
                            .to_owned(),
                    ));
                }
                after = Some(run.id);
            }
            if i64::try_from(rows.len()).unwrap_or(0) < PAGE {
                return Ok(None);
            }
        }
    }

    /// A page of one kind's events, in (entity id, seq) order after `after`:
    /// (entity id, seq, action, after document).
    async fn events_page(
        &self,
        entity: Entity,
        after: Option<&(String, i64)>,
    ) -> Result<Vec<(String, i64, String, Value)>, StoreError> {
        let mut sql = Sql::new("SELECT entity_id, seq, action, after FROM events WHERE entity = ");
        sql.bind(entity.as_str());
        if let Some((id, seq)) = after {
            sql.push(" AND (entity_id > ").bind(id.clone()).push(" OR (entity_id = ").bind(id.clone());
            sql.push(" AND seq > ").bind(*seq).push("))");
        }
        sql.push(" ORDER BY entity_id, seq LIMIT ").bind(PAGE);
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let document = match row.try_get::<Option<String>, _>("after")? {
                    Some(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
                    None => Value::Null,
                };
                Ok((row.try_get("entity_id")?, row.try_get("seq")?, row.try_get("action")?, document))
            })
            .collect()
    }

    /// The latest event of every record of one kind. Runs are annotated after they are
    /// recorded; the latest event that carries a digest speaks for the run.
    async fn latest_events(&self, entity: Entity) -> Result<Latest, StoreError> {
        let mut latest: Latest = HashMap::new();
        let mut after: Option<(String, i64)> = None;
        loop {
            let rows = self.events_page(entity, after.as_ref()).await?;
            for (id, seq, action, document) in &rows {
                let keep = entity == Entity::Run
                    && latest.get(id).is_some_and(|(_, old)| old.get("digest").is_some())
                    && document.get("digest").is_none();
                if !keep {
                    latest.insert(id.clone(), (action.clone(), document.clone()));
                }
                after = Some((id.clone(), *seq));
            }
            if i64::try_from(rows.len()).unwrap_or(0) < PAGE {
                return Ok(latest);
            }
        }
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}
