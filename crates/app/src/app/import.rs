//! `plumb asset import`: a whole file in one transaction, streamed in batches. Every record is
//! checked with the same rules as `plumb asset add`; a key that exists is updated with the
//! fields the file gives. Any problem anywhere fails the whole file and nothing is written;
//! the message lists the problems by line and field.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;

use plumb_core::authz::Action;
use plumb_core::record::{self, Cell, Defaults, FieldError, Fields};
use plumb_core::{Asset, AssetId, InventoryRules, NewAsset, Status, Timestamp};
use plumb_store::{PreparedAsset, WriteTx};

use crate::app::Context;
use crate::app::progress::Shared;
use crate::error::BadInput;
use plumb_collect::records::{self, RecordFormat};

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
///
/// Reading and checking records (and preparing their events) runs on its own thread, a batch
/// ahead of the writing transaction, so parsing and the database work overlap on two cores.
pub async fn import(
    ctx: &Context,
    path: &Path,
    format: RecordFormat,
    progress: &Shared,
) -> anyhow::Result<ImportSummary> {
    ctx.permit(Action::RegisterAsset)?;
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
    let mut tx = ctx.begin_write().await?;
    let rules = ctx.config.rules();
    let (sender, mut batches) = tokio::sync::mpsc::channel(2);
    let reader =
        Reader { rules: rules.clone(), now: tx.now(), seen: Seen::default(), progress: progress.clone() };
    let reading = tokio::task::spawn_blocking(move || reader.run(records, &sender));
    let empty = tx.inventory_is_empty().await?;
    if empty {
        tx.defer_indexes().await?;
    }
    let mut import = Import { ctx, tx, rules, problems, summary: ImportSummary::default(), empty };
    while let Some(batch) = batches.recv().await {
        import.write(batch).await?;
        if import.problems.full() {
            break;
        }
    }
    // Dropping the receiver stops the reader if it is still going.
    drop(batches);
    reading.await?;
    import.problems.check()?;
    import.tx.commit().await?;
    Ok(import.summary)
}

/// What the reader hands over for each record.
enum Item {
    /// A record that could not be read, or a duplicate.
    Problem(u64, String),
    /// A record to create or update.
    Record(Box<Pending>),
}

/// A record waiting for its batch: whether its key exists decides between create and update.
struct Pending {
    line: u64,
    fields: Fields,
    key: Option<String>,
    id: Option<AssetId>,
    /// The record read as a new asset, with its event, prepared in case the key is new.
    new: Result<PreparedAsset, Vec<FieldError>>,
}

/// The reading side: records → checked batches.
struct Reader {
    rules: InventoryRules,
    now: Timestamp,
    seen: Seen,
    progress: Shared,
}

impl Reader {
    fn run(mut self, records: records::Records, sender: &tokio::sync::mpsc::Sender<Vec<Item>>) {
        let mut batch = Vec::with_capacity(BATCH);
        for record in records {
            let stop = matches!(&record, Err(err) if !err.recoverable);
            batch.push(self.item(record));
            if batch.len() >= BATCH || stop {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                let receiver_gone = sender.blocking_send(full).is_err();
                if receiver_gone || stop {
                    return;
                }
            }
        }
        let _ = sender.blocking_send(batch);
    }

    fn item(&mut self, record: Result<records::Record, records::LineError>) -> Item {
        let record = match record {
            Ok(record) => record,
            Err(err) => return Item::Problem(err.line, err.message),
        };
        self.progress.advance(1);
        let (key, id) =
            (text(&record.fields, "key"), text(&record.fields, "id").and_then(|id| id.parse().ok()));
        if let Err(problem) = self.seen.check(record.line, key.as_deref(), id) {
            return Item::Problem(record.line, problem);
        }
        let defaults = Defaults {
            id: AssetId(ulid::Ulid::generate()),
            now: self.now,
            status: Status::Registered,
            source: "manual".to_owned(),
        };
        let new = record::read_asset(&record.fields, &self.rules, &defaults).map(|a| NewAsset::new(a).into());
        Item::Record(Box::new(Pending { line: record.line, fields: record.fields, key, id, new }))
    }
}

/// A field's text, for keys and ids.
fn text(fields: &Fields, name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, cell)| match cell {
            Cell::Text(t) | Cell::Json(serde_json::Value::String(t)) => Some(t.trim().to_owned()),
            Cell::Json(_) => None,
        })
        .filter(|t| !t.is_empty())
}

/// The writing side: one transaction for the whole file.
struct Import<'a> {
    /// Who imports: every existing asset the file changes is decided for them.
    ctx: &'a Context,
    tx: WriteTx,
    rules: InventoryRules,
    problems: Problems,
    summary: ImportSummary,
    /// The inventory was empty when the import began: every key is new (duplicates within
    /// the file are caught while reading), so no lookups are needed.
    empty: bool,
}

impl Import<'_> {
    async fn write(&mut self, batch: Vec<Item>) -> anyhow::Result<()> {
        let mut pending = Vec::with_capacity(batch.len());
        for item in batch {
            match item {
                Item::Problem(line, message) => self.problems.line(line, &message),
                Item::Record(record) => pending.push(*record),
            }
        }
        self.summary.records += pending.len() as u64;
        let keys: Vec<&str> = pending.iter().filter_map(|p| p.key.as_deref()).collect();
        let ids: Vec<String> = pending.iter().filter_map(|p| p.id).map(|id| id.to_string()).collect();
        let stored = if self.empty { Vec::new() } else { self.tx.assets_matching(&keys, &ids).await? };
        let by_key: HashMap<&str, &Asset> = stored.iter().map(|a| (a.key.as_str(), a)).collect();
        let by_id: HashMap<AssetId, &Asset> = stored.iter().map(|a| (a.id, a)).collect();
        let mut created = Vec::new();
        for record in pending {
            let line = record.line;
            if let Some(before) = record.key.as_deref().and_then(|k| by_key.get(k)) {
                // Registering is anyone's; changing an existing asset is its keepers'.
                self.ctx
                    .permit(Action::EditAsset(self.ctx.asset_ref(before)))
                    .map_err(|err| err.context(format!("line {line}: {}", before.key)))?;
                match record::apply_changes(before, &record.fields, &self.rules) {
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
            } else if let Some(owner) = record.id.and_then(|id| by_id.get(&id)) {
                let problem =
                    format!("field `id`: {} already belongs to the asset with key {:?}", owner.id, owner.key);
                self.problems.line(line, &problem);
            } else {
                match record.new {
                    Ok(new) => created.push(new),
                    Err(found) => self.problems.fields(line, &found),
                }
            }
        }
        if self.problems.is_empty() {
            self.summary.created += created.len() as u64;
            self.tx.create_assets(created).await?;
        }
        Ok(())
    }
}

/// Keys and ids met so far in the file, to refuse duplicates with the line of the first.
///
/// A key is remembered as a 128-bit hash (SipHash under two random keys), not as text: a
/// million keys take 30 MB instead of 130, and two different keys with the same 128 bits are
/// far less likely than a disk error.
#[derive(Default)]
struct Seen {
    hashers: (RandomState, RandomState),
    keys: HashMap<u128, u64>,
    ids: HashMap<AssetId, u64>,
}

impl Seen {
    fn check(&mut self, line: u64, key: Option<&str>, id: Option<AssetId>) -> Result<(), String> {
        if let Some(key) = key {
            let hash =
                u128::from(self.hashers.0.hash_one(key)) << 64 | u128::from(self.hashers.1.hash_one(key));
            let first = *self.keys.entry(hash).or_insert(line);
            if first != line {
                return Err(format!("field `key`: duplicate key {key:?}, first on line {first}"));
            }
        }
        if let Some(id) = id {
            let first = *self.ids.entry(id).or_insert(line);
            if first != line {
                return Err(format!("field `id`: duplicate id {id}, first on line {first}"));
            }
        }
        Ok(())
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
