//! Reading assets: by id or key, filtered pages with keyset cursors, and consistent scans.

use plumb_core::drift::LiveRecord;
use plumb_core::model::{RelationKind, Relationship};
use plumb_core::{Asset, AssetId, Kind, Status, Timestamp};
use sqlx::any::{Any, AnyRow};
use sqlx::{Executor, Row, Transaction};

use crate::sql::{Sql, json_page, read_json_page};
use crate::{Backend, Store, StoreError};

/// The asset columns, in the order of `plumb_core::model::FIELDS`, for inserts and updates.
pub(crate) const COLUMNS: &str = "id, key, name, kind, type, environment, owner, manager, \
    classification, location, status, source, financial_ref, tags, attributes, first_seen, last_seen, \
    scope, absent_since, provenance";

/// The asset columns as read, with their effective `last_seen`: an asset present in a scope
/// was seen at the scope's last complete sync, which unchanged resources do not write to each
/// asset. Followed by the tables read from, then `scope_join!`.
macro_rules! select_columns {
    () => {
        "SELECT assets.id, assets.key, assets.name, assets.kind, \
        assets.type, assets.environment, assets.owner, assets.manager, assets.classification, \
        assets.location, assets.status, assets.source, assets.financial_ref, assets.tags, \
        assets.attributes, assets.first_seen, \
        CASE WHEN assets.absent_since IS NULL AND scope_status.succeeded_at > assets.last_seen \
        THEN scope_status.succeeded_at ELSE assets.last_seen END AS last_seen, \
        assets.scope, assets.absent_since, assets.provenance"
    };
}

macro_rules! scope_join {
    () => {
        " LEFT JOIN scope_status ON scope_status.scope_name = assets.scope"
    };
}

/// Reads assets (see `select_columns`).
pub(crate) const SELECT_ASSETS: &str = concat!(select_columns!(), " FROM assets", scope_join!());

/// Reads the assets a tag (`driver.key`, `driver.value`) leads to, in the tag index's key order:
/// `asset_tags` first (SQLite keeps a `CROSS JOIN`'s order), so a page is one index range.
const SELECT_TAGGED_ASSETS: &str = concat!(
    select_columns!(),
    " FROM asset_tags AS driver CROSS JOIN assets",
    scope_join!(),
    " WHERE assets.key = driver.asset_key"
);

/// Which assets to list. Every set field must match; tags must all be present.
#[derive(Clone, Debug, Default)]
pub struct AssetFilter {
    /// Exact kind.
    pub kind: Option<Kind>,
    /// Exact type.
    pub asset_type: Option<String>,
    /// Exact environment.
    pub environment: Option<String>,
    /// Exact status.
    pub status: Option<Status>,
    /// Exact owner.
    pub owner: Option<String>,
    /// Exact manager.
    pub manager: Option<String>,
    /// Exact classification.
    pub classification: Option<String>,
    /// Exact source.
    pub source: Option<String>,
    /// Tags that must be present (with the given value, when one is given).
    pub tags: Vec<TagFilter>,
    /// Case-insensitive text that key, name, owner, location or a tag (key or value) must
    /// contain.
    pub query: Option<String>,
}

/// A tag condition: `key` present, or `key=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagFilter {
    /// The tag's key.
    pub key: String,
    /// The value it must have, if any.
    pub value: Option<String>,
}

/// A page request: at most `limit` assets after the cursor position.
#[derive(Clone, Debug)]
pub struct Page {
    /// Page size.
    pub limit: usize,
    /// The key the previous page ended with.
    pub after: Option<String>,
}

/// One page of assets, sorted by key.
#[derive(Clone, Debug)]
pub struct AssetPage {
    /// The assets.
    pub items: Vec<Asset>,
    /// The cursor for the next page, when there is one.
    pub next: Option<String>,
}

/// The opaque cursor for "after this key" (hex, so any key survives a URL or a shell).
pub fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The key a cursor stands for; `None` when the text is not a cursor.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| cursor.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

impl Store {
    /// The asset with this id, or else this key.
    pub async fn asset(&self, reference: &str) -> Result<Asset, StoreError> {
        asset_by_ref(&self.pool, self.backend, reference).await
    }

    /// A page of assets matching the filter, sorted by key.
    pub async fn list_assets(&self, filter: &AssetFilter, page: &Page) -> Result<AssetPage, StoreError> {
        let mut conn = self.pool.acquire().await?;
        list_page(&mut conn, self.backend, filter, page).await
    }

    /// How many assets match the filter.
    pub async fn count_assets(&self, filter: &AssetFilter) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM assets WHERE 1 = 1");
        conditions(&mut sql, self.backend, filter, None, Search::Indexed);
        let row = sql.query(self.backend).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// A scan over every matching asset in key order, read from one snapshot of the database
    /// so an export is consistent even while others write.
    pub async fn scan_assets(&self, filter: AssetFilter) -> Result<AssetScan, StoreError> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let tx = self.pool.begin_with(begin).await?;
        Ok(AssetScan { tx, backend: self.backend, filter, after: None, done: false })
    }

    /// The relationships that start or end at the asset.
    pub async fn relationships_of(&self, id: AssetId) -> Result<Vec<Relationship>, StoreError> {
        let mut sql = Sql::new("SELECT from_id, kind, to_id, created_at FROM relationships WHERE from_id = ");
        sql.bind(id.to_string())
            .push(" OR to_id = ")
            .bind(id.to_string())
            .push(" ORDER BY from_id, kind, to_id");
        let rows = sql.query(self.backend).fetch_all(&self.pool).await?;
        rows.iter().map(relationship_from_row).collect()
    }
}

/// Batches of assets from one snapshot; see [`Store::scan_assets`].
pub struct AssetScan {
    tx: Transaction<'static, Any>,
    backend: Backend,
    filter: AssetFilter,
    after: Option<String>,
    done: bool,
}

impl AssetScan {
    const BATCH: usize = 2_000;

    /// The next batch, or `None` at the end.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Asset>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let page = Page { limit: Self::BATCH, after: self.after.take() };
        let result = list_page(&mut self.tx, self.backend, &self.filter, &page).await?;
        self.after = result.next;
        self.done = self.after.is_none();
        Ok((!result.items.is_empty()).then_some(result.items))
    }
}

impl std::fmt::Debug for AssetScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetScan").field("after", &self.after).finish_non_exhaustive()
    }
}

pub(crate) async fn asset_by_ref<'e, E>(
    exec: E,
    backend: Backend,
    reference: &str,
) -> Result<Asset, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let mut sql = Sql::new(&format!("{SELECT_ASSETS} WHERE "));
    if let Ok(id) = reference.parse::<AssetId>() {
        sql.push("assets.id = ").bind(id.to_string()).push(" OR ");
    }
    sql.push("assets.key = ").bind(reference.to_owned()).push(" ORDER BY CASE WHEN assets.key = ");
    sql.bind(reference.to_owned()).push(" THEN 1 ELSE 0 END LIMIT 1");
    match sql.query(backend).fetch_optional(exec).await? {
        Some(row) => asset_from_row(&row),
        None => Err(StoreError::NotFound { what: "asset", reference: reference.to_owned() }),
    }
}

/// How many assets after the cursor a SQLite search reads in key order before it asks the
/// trigram index instead: a word most assets hold fills a page within them (the index would
/// propose hundreds of thousands of rows to sort), a rare one is found by the index. Not on
/// PostgreSQL: its planner turned the window into a scan of the table (measured: fragments
/// 524 ms p99 against 177 ms without it, common words no better).
const SEARCH_WINDOW: i64 = 5_000;

pub(crate) async fn list_page(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    filter: &AssetFilter,
    page: &Page,
) -> Result<AssetPage, StoreError> {
    // A tag with a value leads when there is one: its assets are a range of the tag index.
    let driver = filter.tags.iter().find_map(|tag| tag.value.as_ref().map(|value| (tag, value)));
    let searched = filter.query.as_deref().is_some_and(|q| q.chars().count() >= 3);
    if backend == Backend::Sqlite && searched && driver.is_none() {
        let upto = window_end(conn, backend, page.after.as_deref()).await?;
        let within = fetch_page(conn, backend, filter, page, None, Search::Upto(upto.as_deref())).await?;
        // Exact when the page filled within the window, or the window held every later asset.
        if within.next.is_some() || upto.is_none() {
            return Ok(within);
        }
    }
    // Under a tag, the tag's range is read in order and each candidate's columns checked:
    // the index would propose rows of every tag.
    let search = if searched && driver.is_none() { Search::Indexed } else { Search::Scan };
    fetch_page(conn, backend, filter, page, driver, search).await
}

/// How `q=` is applied to one page query.
#[derive(Clone, Copy)]
enum Search<'a> {
    /// Through the backend's trigram index (on SQLite, the index proposes rows).
    Indexed,
    /// By reading the columns of every candidate.
    Scan,
    /// By reading the columns of the assets up to this key (`None`: to the end).
    Upto(Option<&'a str>),
}

/// The key `SEARCH_WINDOW` assets after `after`, or `None` when fewer remain.
async fn window_end(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    after: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let mut sql = Sql::new("SELECT key FROM assets WHERE 1 = 1");
    if let Some(after) = after {
        sql.push(" AND key > ").bind(after.to_owned());
    }
    sql.push(" ORDER BY key LIMIT 1 OFFSET ").bind(SEARCH_WINDOW - 1);
    let row = sql.query(backend).fetch_optional(&mut *conn).await?;
    Ok(row.map(|row| row.try_get::<String, _>("key")).transpose()?)
}

async fn fetch_page(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    filter: &AssetFilter,
    page: &Page,
    driver: Option<(&TagFilter, &String)>,
    search: Search<'_>,
) -> Result<AssetPage, StoreError> {
    let (mut sql, order) = match driver {
        Some((tag, value)) => {
            let mut sql = Sql::new(SELECT_TAGGED_ASSETS);
            sql.push(" AND driver.key = ").bind(tag.key.clone());
            sql.push(" AND driver.value = ").bind(value.clone());
            (sql, "driver.asset_key")
        }
        None => (Sql::new(&format!("{SELECT_ASSETS} WHERE 1 = 1")), "assets.key"),
    };
    conditions(&mut sql, backend, filter, driver.map(|(tag, _)| tag), search);
    if let Some(after) = &page.after {
        sql.push(&format!(" AND {order} > ")).bind(after.clone());
    }
    if let Search::Upto(Some(upto)) = search {
        sql.push(" AND assets.key <= ").bind(upto.to_owned());
    }
    sql.push(&format!(" ORDER BY {order} LIMIT "))
        .bind(i64::try_from(page.limit).unwrap_or(i64::MAX).saturating_add(1));
    let rows = sql.query(backend).fetch_all(&mut *conn).await?;
    let mut items = rows.iter().map(asset_from_row).collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() > page.limit {
        items.truncate(page.limit);
        items.last().map(|a| a.key.clone())
    } else {
        None
    };
    Ok(AssetPage { items, next })
}

fn conditions(
    sql: &mut Sql,
    backend: Backend,
    filter: &AssetFilter,
    driver: Option<&TagFilter>,
    search: Search<'_>,
) {
    let exact = [
        ("assets.kind", filter.kind.map(|k| k.as_str().to_owned())),
        ("assets.type", filter.asset_type.clone()),
        ("assets.environment", filter.environment.clone()),
        ("assets.status", filter.status.map(|s| s.as_str().to_owned())),
        ("assets.owner", filter.owner.clone()),
        ("assets.manager", filter.manager.clone()),
        ("assets.classification", filter.classification.clone()),
        ("assets.source", filter.source.clone()),
    ];
    for (column, value) in exact {
        if let Some(value) = value {
            sql.push(&format!(" AND {column} = ")).bind(value);
        }
    }
    for tag in filter.tags.iter().filter(|tag| Some(*tag) != driver) {
        sql.push(" AND EXISTS (SELECT 1 FROM asset_tags WHERE asset_tags.asset_key = assets.key AND asset_tags.key = ")
            .bind(tag.key.clone());
        if let Some(value) = &tag.value {
            sql.push(" AND asset_tags.value = ").bind(value.clone());
        }
        sql.push(")");
    }
    if let Some(query) = &filter.query {
        search_condition(sql, backend, query, matches!(search, Search::Indexed));
    }
}

/// What `q=` searches, as one text: the columns joined by a unit separator no query holds, so
/// a match never spans two. PostgreSQL's trigram index (migration 0016) is on this expression.
const SEARCHED: &str = "lower(assets.key || E'\\x1f' || assets.name || E'\\x1f' || \
    coalesce(assets.owner, '') || E'\\x1f' || coalesce(assets.location, '') || E'\\x1f' || assets.tags)";

/// Key, name, owner, location or a tag contains `query`, case-insensitively: through the
/// backend's trigram index when `indexed` (on SQLite three characters or more), else by
/// reading each candidate's columns (a form no index serves, so PostgreSQL's planner, which
/// takes any trigram condition for a selective one, keeps to the key range it is given).
fn search_condition(sql: &mut Sql, backend: Backend, query: &str, indexed: bool) {
    let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
    if indexed && backend == Backend::Postgres {
        sql.push(&format!(" AND {SEARCHED} LIKE ")).bind(pattern).push(" ESCAPE '\\'");
        return;
    }
    if indexed && query.chars().count() >= 3 {
        // The index proposes, the columns decide: a stale index can only miss.
        let phrase = format!("\"{}\"", query.replace('"', "\"\""));
        sql.push(" AND assets.rowid IN (SELECT rowid FROM assets_search WHERE assets_search MATCH ")
            .bind(phrase)
            .push(")");
    }
    sql.push(" AND (");
    let columns = ["assets.key", "assets.name", "assets.owner", "assets.location", "assets.tags"];
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push(&format!("LOWER({column}) LIKE ")).bind(pattern.clone()).push(" ESCAPE '\\'");
    }
    sql.push(")");
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub(crate) fn asset_from_row(row: &AnyRow) -> Result<Asset, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column);
    let optional = |column: &'static str| row.try_get::<Option<String>, _>(column);
    Ok(Asset {
        id: parse("id", text("id")?)?,
        key: text("key")?,
        name: text("name")?,
        kind: parse("kind", text("kind")?)?,
        asset_type: text("type")?,
        environment: optional("environment")?,
        owner: optional("owner")?,
        manager: optional("manager")?,
        classification: optional("classification")?,
        location: optional("location")?,
        status: parse("status", text("status")?)?,
        source: text("source")?,
        financial_ref: optional("financial_ref")?,
        tags: json("tags", text("tags")?)?,
        attributes: json("attributes", text("attributes")?)?,
        first_seen: parse::<Timestamp>("first_seen", text("first_seen")?)?,
        last_seen: parse::<Timestamp>("last_seen", text("last_seen")?)?,
        scope: optional("scope")?,
        absent_since: optional("absent_since")?.map(|t| parse::<Timestamp>("absent_since", t)).transpose()?,
        provenance: optional("provenance")?.map(|p| json("provenance", p)).transpose()?.unwrap_or_default(),
    })
}

fn relationship_from_row(row: &AnyRow) -> Result<Relationship, StoreError> {
    Ok(Relationship {
        from: parse("from_id", row.try_get::<String, _>("from_id")?)?,
        kind: parse::<RelationKind>("kind", row.try_get::<String, _>("kind")?)?,
        to: parse("to_id", row.try_get::<String, _>("to_id")?)?,
        created_at: parse("created_at", row.try_get::<String, _>("created_at")?)?,
    })
}

pub(crate) fn parse<T>(field: &'static str, value: String) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|err: T::Err| StoreError::Corrupt { field, reason: err.to_string(), value })
}

fn json<T: serde::de::DeserializeOwned>(field: &'static str, value: String) -> Result<T, StoreError> {
    serde_json::from_str(&value).map_err(|err| StoreError::Corrupt { field, reason: err.to_string(), value })
}

impl Store {
    /// Batches of one source's present (not absent) assets as drift reads them (documents as
    /// stored text), in key order.
    pub async fn scan_documents(&self, source: &str) -> Result<DocumentScan, StoreError> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let tx = self.pool.begin_with(begin).await?;
        Ok(DocumentScan { tx, backend: self.backend, source: source.to_owned(), after: None, done: false })
    }
}

/// A row of [`DocumentScan`]'s page: key, type, environment, scope, tags, attributes.
type LiveRow = (String, String, Option<String>, Option<String>, String, String);

/// See [`Store::scan_documents`].
pub struct DocumentScan {
    tx: Transaction<'static, Any>,
    backend: Backend,
    source: String,
    after: Option<String>,
    done: bool,
}

impl DocumentScan {
    const BATCH: usize = 5_000;

    /// The next batch, or `None` at the end.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<LiveRecord>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let columns = "key, type, environment, scope, tags, attributes";
        let source = self.source.clone();
        let filter = |sql: &mut Sql| {
            sql.push("absent_since IS NULL AND source = ").bind(source);
        };
        let sql =
            json_page(self.backend, (columns, columns), "assets", filter, self.after.as_deref(), Self::BATCH);
        let row = sql.query(self.backend).fetch_one(&mut *self.tx).await?;
        let (rows, last): (Vec<LiveRow>, _) = read_json_page(&row, "live documents", Self::BATCH)?;
        self.done = last.is_none();
        self.after = last;
        let documents: Vec<LiveRecord> = rows
            .into_iter()
            .map(|(key, asset_type, environment, scope, tags, attributes)| LiveRecord {
                key,
                asset_type,
                environment,
                scope,
                tags,
                attributes,
            })
            .collect();
        Ok((!documents.is_empty()).then_some(documents))
    }
}

impl std::fmt::Debug for DocumentScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentScan").field("after", &self.after).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_any_key() {
        for key in ["arn:aws:s3:::logs", "a b/ü?&=", ""] {
            assert_eq!(decode_cursor(&encode_cursor(key)).as_deref(), Some(key));
        }
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
    }
}
