//! `plumb asset import`: a whole file in one transaction, streamed in batches. Every record is
//! checked with the same rules as `plumb asset add`; a key that exists is updated with the
//! fields the file gives. Any problem anywhere fails the whole file and nothing is written;
//! the message lists the problems by line and field.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use indicatif::ProgressBar;
use plumb_core::record::{self, Cell, Defaults, FieldError, Fields};
use plumb_core::{Asset, AssetId, InventoryRules, Status};
use plumb_store::WriteTx;

use crate::app::Context;
use crate::error::BadInput;
use crate::records::{self, RecordFormat};

const BATCH: usize = 1_000;
const MAX_PROBLEMS: usize = 50;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Records read.
    pub records: u64,
    /// New assets.
    pub created: u64,
    /// Existing assets changed.
    pub updated: u64,
    /// Existing assets the file left as they were.
    pub unchanged: u64,
}

/// Imports every record of `path`, or nothing.
pub async fn import(
    ctx: &Context,
    path: &Path,
    format: RecordFormat,
    progress: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    let name = path.display().to_string();
    let (records, columns) =
        records::open(path, format).map_err(|err| BadInput(format!("cannot read {name}: {err}")))?;
    let mut problems = Problems::new(name);
    if let Some(columns) = columns {
        for problem in record::check_columns(columns.iter().map(String::as_str)) {
            problems.field(1, &problem);
        }
        problems.check()?;
    }
    let tx = ctx.store.begin_write(&ctx.actor).await?;
    let mut import = Import {
        tx,
        rules: ctx.config.rules(),
        problems,
        summary: ImportSummary::default(),
        seen: Seen::default(),
    };
    let mut batch = Vec::with_capacity(BATCH);
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                import.problems.line(err.line, &err.message);
                if err.recoverable && !import.problems.full() {
                    continue;
                }
                break;
            }
        };
        import.summary.records += 1;
        progress.inc(1);
        if let Some(pending) = import.seen.check(record.line, record.fields, &mut import.problems) {
            batch.push(pending);
        }
        if batch.len() >= BATCH {
            import.flush(&mut batch).await?;
        }
        if import.problems.full() {
            break;
        }
    }
    import.flush(&mut batch).await?;
    import.problems.check()?;
    import.tx.commit().await?;
    Ok(import.summary)
}

struct Import {
    tx: WriteTx,
    rules: InventoryRules,
    problems: Problems,
    summary: ImportSummary,
    seen: Seen,
}

/// A record waiting for its batch: whether its key exists decides between create and update.
struct Pending {
    line: u64,
    fields: Fields,
    key: Option<String>,
    id: Option<AssetId>,
}

impl Import {
    async fn flush(&mut self, batch: &mut Vec<Pending>) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = batch.iter().filter_map(|p| p.key.as_deref()).collect();
        let ids: Vec<String> = batch.iter().filter_map(|p| p.id).map(|id| id.to_string()).collect();
        let stored = self.tx.assets_matching(&keys, &ids).await?;
        let by_key: HashMap<&str, &Asset> = stored.iter().map(|a| (a.key.as_str(), a)).collect();
        let by_id: HashMap<AssetId, &Asset> = stored.iter().map(|a| (a.id, a)).collect();
        let mut new = Vec::new();
        for pending in batch.drain(..) {
            let line = pending.line;
            if let Some(before) = pending.key.as_deref().and_then(|k| by_key.get(k)) {
                match record::apply_changes(before, &pending.fields, &self.rules) {
                    Ok(after) if self.problems.is_empty() => {
                        if self.tx.update_asset(before, &after, "imported", None).await? {
                            self.summary.updated += 1;
                        } else {
                            self.summary.unchanged += 1;
                        }
                    }
                    Ok(_) => {}
                    Err(found) => self.problems.fields(line, &found),
                }
            } else if let Some(owner) = pending.id.and_then(|id| by_id.get(&id)) {
                let problem =
                    format!("field `id`: {} already belongs to the asset with key {:?}", owner.id, owner.key);
                self.problems.line(line, &problem);
            } else {
                let defaults = Defaults {
                    id: AssetId(ulid::Ulid::generate()),
                    now: self.tx.now(),
                    status: Status::Registered,
                    source: "manual".to_owned(),
                };
                match record::read_asset(&pending.fields, &self.rules, &defaults) {
                    Ok(asset) => new.push(asset),
                    Err(found) => self.problems.fields(line, &found),
                }
            }
        }
        if self.problems.is_empty() {
            self.tx.create_assets(&new).await?;
            self.summary.created += new.len() as u64;
        }
        Ok(())
    }
}

/// Keys and ids met so far in the file, to refuse duplicates with the line of the first.
#[derive(Default)]
struct Seen {
    keys: HashMap<String, u64>,
    ids: HashMap<AssetId, u64>,
}

impl Seen {
    fn check(&mut self, line: u64, fields: Fields, problems: &mut Problems) -> Option<Pending> {
        let text = |name: &str| {
            fields.iter().find(|(n, _)| n == name).and_then(|(_, cell)| match cell {
                Cell::Text(t) => Some(t.trim().to_owned()),
                Cell::Json(serde_json::Value::String(t)) => Some(t.trim().to_owned()),
                Cell::Json(_) => None,
            })
        };
        let key = text("key").filter(|k| !k.is_empty());
        let id = text("id").and_then(|id| id.parse::<AssetId>().ok());
        if let Some(key) = &key
            && let Some(first) = self.keys.insert(key.clone(), line)
        {
            self.keys.insert(key.clone(), first);
            problems.line(line, &format!("field `key`: duplicate key {key:?}, first on line {first}"));
            return None;
        }
        if let Some(id) = id
            && let Some(first) = self.ids.insert(id, line)
        {
            self.ids.insert(id, first);
            problems.line(line, &format!("field `id`: duplicate id {id}, first on line {first}"));
            return None;
        }
        Some(Pending { line, fields, key, id })
    }
}

/// Problems found in one file, by line, capped so a wrong file does not flood the terminal.
struct Problems {
    file: String,
    list: Vec<String>,
    more: usize,
}

impl Problems {
    fn new(file: String) -> Self {
        Problems { file, list: Vec::new(), more: 0 }
    }

    fn line(&mut self, line: u64, message: &str) {
        if self.full() {
            self.more += 1;
        } else {
            self.list.push(format!("{}:{line}: {message}", self.file));
        }
    }

    fn field(&mut self, line: u64, problem: &FieldError) {
        self.line(line, &problem.to_string());
    }

    fn fields(&mut self, line: u64, problems: &[FieldError]) {
        for problem in problems {
            self.field(line, problem);
        }
    }

    fn full(&self) -> bool {
        self.list.len() >= MAX_PROBLEMS
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Fails with every problem listed when there is any.
    fn check(&self) -> Result<(), BadInput> {
        if self.list.is_empty() {
            return Ok(());
        }
        let mut message =
            format!("{}: nothing was imported; fix these problems and import the file again:", self.file);
        for problem in &self.list {
            let _ = write!(message, "\n  {problem}");
        }
        if self.full() {
            let _ = write!(message, "\n  … stopped after {MAX_PROBLEMS} problems");
        }
        Err(BadInput(message))
    }
}
