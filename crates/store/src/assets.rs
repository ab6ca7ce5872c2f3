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

/// Reads the assets the trigram index proposes (SQLite, migration 0016), in its rowid order:
/// the index first (SQLite keeps a `CROSS JOIN`'s order), followed by `AND assets_search MATCH`.
const SELECT_SEARCHED_ASSETS: &str = concat!(
    select_columns!(),
    " FROM assets_search CROSS JOIN assets",
    scope_join!(),
    " WHERE assets.rowid = assets_search.rowid"
);

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

/// One page of assets (see [`Store::list_assets`] for the order).
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

    /// A page of assets matching the filter: sorted by key, or for a text search (`query`)
    /// in the order the assets were first recorded.
    pub async fn list_assets(&self, filter: &AssetFilter, page: &Page) -> Result<AssetPage, StoreError> {
        let mut conn = self.pool.acquire().await?;
        list_page(&mut conn, self.backend, filter, page).await
    }

    /// How many assets match the filter.
    pub async fn count_assets(&self, filter: &AssetFilter) -> Result<i64, StoreError> {
        let sql = matching(self.backend, filter).0.wrapped("SELECT COUNT(*) AS n FROM (", ") AS matched");
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

pub(crate) async fn list_page(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    filter: &AssetFilter,
    page: &Page,
) -> Result<AssetPage, StoreError> {
    let (mut sql, order) = matching(backend, filter);
    if let Some(after) = &page.after {
        after_cursor(&mut sql, backend, order, after);
    }
    sql.push(&format!(" ORDER BY {} LIMIT ", order.column(backend)))
        .bind(i64::try_from(page.limit).unwrap_or(i64::MAX).saturating_add(1));
    let rows = sql.query(backend).fetch_all(&mut *conn).await?;
    let mut items = rows.iter().map(asset_from_row).collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() > page.limit {
        items.truncate(page.limit);
        items.last().map(|a| a.key.clone())
    } else {
        None
    };
    if let (Order::Recorded | Order::Trigram, true, Some(after)) = (order, items.is_empty(), &page.after) {
        // The cursor's asset is looked up by key: a key no asset has would end the search
        // without a word, so it is refused instead.
        match asset_by_ref(&mut *conn, backend, after).await {
            Err(StoreError::NotFound { .. }) => return Err(StoreError::UnknownCursor(after.clone())),
            Err(err) => return Err(err),
            Ok(_) => {}
        }
    }
    Ok(AssetPage { items, next })
}

/// The assets matching the filter, in the order a page reads them; `ORDER BY` left to add.
fn matching(backend: Backend, filter: &AssetFilter) -> (Sql, Order) {
    let (mut sql, order) = match (&filter.query, tag_driver(filter)) {
        (Some(query), _) => search_select(backend, query),
        (None, Some((tag, value))) => {
            let mut sql = Sql::new(SELECT_TAGGED_ASSETS);
            sql.push(" AND driver.key = ").bind(tag.key.clone());
            sql.push(" AND driver.value = ").bind(value.clone());
            (sql, Order::TagKey)
        }
        (None, None) => (Sql::new(&format!("{SELECT_ASSETS} WHERE 1 = 1")), Order::Key),
    };
    let driver = tag_driver(filter).filter(|_| order == Order::TagKey).map(|(tag, _)| tag);
    conditions(&mut sql, backend, filter, driver);
    (sql, order)
}

/// The order a page is read in; every order is total, so a cursor (the last asset's key)
/// names one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// By key: lists.
    Key,
    /// By key, through the tag index: lists led by a `tag=K=V`.
    TagKey,
    /// The order assets were first recorded in: text searches, which the search indexes
    /// serve in that order (FTS5 returns its rowids in order and can stop at a page; on
    /// PostgreSQL the planner walks `seq` for a word many assets hold and sorts the few
    /// matches of a rare one). In key order a word held by many assets whose keys come late
    /// meant reading or sorting hundreds of thousands of rows per page.
    Recorded,
    /// As `Recorded`, read from SQLite's trigram index: its own rowid must be the one ordered
    /// and bounded, or SQLite sorts every match before the first page (measured: 0.9 s for a
    /// word most of 1,000,000 assets hold, against 1 ms).
    Trigram,
}

impl Order {
    fn column(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Order::Key, _) => "assets.key",
            (Order::TagKey, _) => "driver.asset_key",
            (Order::Recorded, Backend::Sqlite) => "assets.rowid",
            (Order::Recorded, Backend::Postgres) => "assets.seq",
            (Order::Trigram, _) => "assets_search.rowid",
        }
    }
}

/// The first tag with a value: when there is one its assets are a range of the tag index, so
/// it leads a list.
fn tag_driver(filter: &AssetFilter) -> Option<(&TagFilter, &String)> {
    filter.tags.iter().find_map(|tag| tag.value.as_ref().map(|value| (tag, value)))
}

fn after_cursor(sql: &mut Sql, backend: Backend, order: Order, after: &str) {
    let column = order.column(backend);
    match order {
        Order::Key | Order::TagKey => {
            sql.push(&format!(" AND {column} > ")).bind(after.to_owned());
        }
        Order::Recorded | Order::Trigram => {
            let own = Order::Recorded.column(backend).trim_start_matches("assets.");
            sql.push(&format!(" AND {column} > (SELECT {own} FROM assets WHERE key = "))
                .bind(after.to_owned())
                .push(")");
        }
    }
}

/// The start of a text search: on SQLite with three characters or more, the trigram index
/// (migration 0016) proposes the rows, in rowid order; otherwise the assets are read in the
/// order they were recorded and `search_condition` decides.
fn search_select(backend: Backend, query: &str) -> (Sql, Order) {
    if backend == Backend::Sqlite && query.chars().count() >= 3 {
        let mut sql = Sql::new(SELECT_SEARCHED_ASSETS);
        // The index proposes, the columns decide (`search_condition`): a stale index can only
        // miss an asset, never return one that does not match.
        sql.push(" AND assets_search MATCH ").bind(format!("\"{}\"", query.replace('"', "\"\"")));
        return (sql, Order::Trigram);
    }
    (Sql::new(&format!("{SELECT_ASSETS} WHERE 1 = 1")), Order::Recorded)
}

fn conditions(sql: &mut Sql, backend: Backend, filter: &AssetFilter, driver: Option<&TagFilter>) {
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
        search_condition(sql, backend, query);
    }
}

/// What `q=` searches, as one text: the columns joined by a unit separator no query holds, so
/// a match never spans two. PostgreSQL's trigram index (migration 0016) is on this expression.
const SEARCHED: &str = "lower(assets.key || E'\\x1f' || assets.name || E'\\x1f' || \
    coalesce(assets.owner, '') || E'\\x1f' || coalesce(assets.location, '') || E'\\x1f' || assets.tags)";

/// Key, name, owner, location or a tag contains `query`, case-insensitively. On PostgreSQL
/// one condition its trigram index serves; on SQLite each column is read (the trigram index,
/// when `search_select` joined it, has proposed the rows).
fn search_condition(sql: &mut Sql, backend: Backend, query: &str) {
    let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
    if backend == Backend::Postgres {
        sql.push(&format!(" AND {SEARCHED} LIKE ")).bind(pattern).push(" ESCAPE '\\'");
        return;
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
