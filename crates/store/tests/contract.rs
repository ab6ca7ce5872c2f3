//! The store contract: one suite, run against SQLite always and against the real PostgreSQL
//! (`PLUMB_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`). With
//! `CI=true` an unreachable PostgreSQL fails the suite instead of skipping it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected errors")]

use plumb_core::model::{RelationKind, Relationship};
use plumb_core::{Asset, AssetId, Kind, NewAsset, Status, Timestamp};
use plumb_store::{
    AssetFilter, OpenOptions, Page, PreparedAsset, Store, StoreError, TagFilter, Verification,
};
use serde_json::json;
use sqlx::Executor;

/// A store on a fresh database, and whatever keeps that database alive.
struct Fixture {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plumb.db").display());
    let store = Store::open(&url, &OpenOptions::default()).await.unwrap();
    Fixture { store, url, _dir: Some(dir) }
}

async fn postgres() -> Option<Fixture> {
    let base = std::env::var("PLUMB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    sqlx::any::install_default_drivers();
    let admin = match sqlx::AnyPool::connect(&base).await {
        Ok(pool) => pool,
        Err(err) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping PostgreSQL: {err}");
            return None;
        }
        Err(err) => panic!("PostgreSQL is required in CI: {err}"),
    };
    drop_stale_schemas(&admin).await;
    let schema = format!("plumb_t_{}", ulid::Ulid::generate().to_string().to_lowercase());
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let store = Store::open(&url, &OpenOptions::default()).await.unwrap();
    Some(Fixture { store, url, _dir: None })
}

/// Test schemas are named after a ULID; those older than an hour belong to finished runs.
async fn drop_stale_schemas(admin: &sqlx::AnyPool) {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'plumb_t_%'",
    )
    .fetch_all(admin)
    .await
    .unwrap_or_default();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (name,) in rows {
        let stale = name
            .strip_prefix("plumb_t_")
            .and_then(|id| ulid::Ulid::from_string(&id.to_uppercase()).ok())
            .is_some_and(|id| id.datetime() < hour_ago);
        if stale {
            let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).await;
        }
    }
}

/// Runs one contract test on both backends.
macro_rules! contract {
    ($($name:ident),+ $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test] async fn $name() { super::$name(super::sqlite().await).await; })+
        }
        mod postgres_backend {
            $(#[tokio::test] async fn $name() {
                if let Some(fixture) = super::postgres().await { super::$name(fixture).await; }
            })+
        }
    };
}

contract!(
    create_and_read_back,
    filters_and_pages,
    updates_append_diff_events,
    duplicate_keys_conflict,
    relationships_are_recorded_once,
    rollback_leaves_nothing,
    tampering_is_detected,
    concurrent_writers_serialise,
    migrations_report_and_refuse_newer_schema,
    runs_are_recorded_with_an_event,
    findings_open_stay_open_and_resolve,
    scope_members_page_in_the_databases_order,
    resealing_removes_values_and_keeps_a_verifiable_chain,
    a_slot_is_claimed_once_and_taken_over_only_after_its_lease,
    searches_page_in_recorded_order_for_common_and_rare_words,
);

fn asset(key: &str, environment: &str, tags: &[(&str, &str)]) -> Asset {
    Asset {
        id: AssetId(ulid::Ulid::generate()),
        key: key.to_owned(),
        name: format!("name of {key}"),
        kind: Kind::Cloud,
        asset_type: "aws.s3.bucket".to_owned(),
        environment: Some(environment.to_owned()),
        owner: Some("ana@example.com".to_owned()),
        manager: None,
        classification: Some("internal".to_owned()),
        location: Some("eu-west-1".to_owned()),
        status: Status::Registered,
        source: "manual".to_owned(),
        financial_ref: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        attributes: json!({"versioning": {"status": "Enabled"}, "n": 1.5}),
        first_seen: "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
        last_seen: "2026-01-02T00:00:00Z".parse::<Timestamp>().unwrap(),
        scope: None,
        absent_since: None,
        provenance: Default::default(),
    }
}

/// The keys of every page of `filter`, `limit` a page, following the cursors.
async fn every_page(store: &Store, filter: &AssetFilter, limit: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_assets(filter, &Page { limit, after }).await.unwrap();
        keys.extend(page.items.iter().map(|a| a.key.clone()));
        after = page.next;
        if after.is_none() {
            return keys;
        }
    }
}

async fn create(store: &Store, assets: &[Asset]) {
    let mut tx = store.begin_write("test@example.com").await.unwrap();
    tx.create_assets(new(assets)).await.unwrap();
    tx.commit().await.unwrap();
}

fn new(assets: &[Asset]) -> Vec<PreparedAsset> {
    assets.iter().cloned().map(|a| NewAsset::new(a).into()).collect()
}

async fn create_and_read_back(f: Fixture) {
    let a = asset("arn:aws:s3:::logs", "production", &[("team", "sre")]);
    create(&f.store, std::slice::from_ref(&a)).await;
    assert_eq!(f.store.asset(&a.key).await.unwrap(), a);
    assert_eq!(f.store.asset(&a.id.to_string()).await.unwrap(), a);
    assert!(matches!(f.store.asset("nope").await, Err(StoreError::NotFound { .. })));
    let history = f.store.asset_history(a.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "created");
    assert_eq!(history[0].actor, "test@example.com");
}

async fn filters_and_pages(f: Fixture) {
    let assets: Vec<Asset> = (0..25)
        .map(|i| {
            let env = if i % 2 == 0 { "production" } else { "staging" };
            let team = if i % 5 == 0 { "data" } else { "sre" };
            asset(&format!("key-{i:02}"), env, &[("team", team)])
        })
        .collect();
    create(&f.store, &assets).await;

    let keys = every_page(&f.store, &AssetFilter::default(), 10).await;
    let expected: Vec<String> = (0..25).map(|i| format!("key-{i:02}")).collect();
    assert_eq!(keys, expected);

    let filter = AssetFilter {
        environment: Some("production".into()),
        tags: vec![TagFilter { key: "team".into(), value: Some("data".into()) }],
        ..AssetFilter::default()
    };
    let page = f.store.list_assets(&filter, &Page { limit: 100, after: None }).await.unwrap();
    let keys: Vec<&str> = page.items.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["key-00", "key-10", "key-20"]);
    assert_eq!(f.store.count_assets(&filter).await.unwrap(), 3);
    // A tag leads the page through its index: cursors carry on from its order.
    let team = |value: &str| TagFilter { key: "team".into(), value: Some(value.into()) };
    let data = AssetFilter { tags: vec![team("data")], ..AssetFilter::default() };
    let keys = every_page(&f.store, &data, 2).await;
    assert_eq!(keys, ["key-00", "key-05", "key-10", "key-15", "key-20"]);
    let both = AssetFilter { tags: vec![team("data"), team("sre")], ..AssetFilter::default() };
    assert!(f.store.list_assets(&both, &Page { limit: 10, after: None }).await.unwrap().items.is_empty());

    let query = AssetFilter { query: Some("EY-1".into()), ..AssetFilter::default() };
    assert_eq!(f.store.count_assets(&query).await.unwrap(), 10);
    // Tags are searched too, keys and values.
    let tagged = AssetFilter { query: Some("DATA".into()), ..AssetFilter::default() };
    assert_eq!(f.store.count_assets(&tagged).await.unwrap(), 5, "the team=data assets");
    let literal = AssetFilter { query: Some("%".into()), ..AssetFilter::default() };
    assert_eq!(f.store.count_assets(&literal).await.unwrap(), 0);
    // Shorter than a trigram, longer, quoted: the same answers as reading every asset.
    for (text, expected) in [("y-", 25), ("Y-0", 10), ("key-07", 1), ("key-07\"", 0), ("team\":\"sre", 20)] {
        let query = AssetFilter { query: Some(text.into()), ..AssetFilter::default() };
        assert_eq!(f.store.count_assets(&query).await.unwrap(), expected, "{text}");
        let page = f.store.list_assets(&query, &Page { limit: 100, after: None }).await.unwrap();
        assert_eq!(page.items.len(), expected as usize, "{text}");
    }

    let mut scan = f.store.scan_assets(AssetFilter::default()).await.unwrap();
    let mut scanned = 0;
    while let Some(batch) = scan.next_batch().await.unwrap() {
        scanned += batch.len();
    }
    assert_eq!(scanned, 25);
}

async fn updates_append_diff_events(f: Fixture) {
    let before = asset("k", "staging", &[("team", "sre")]);
    create(&f.store, std::slice::from_ref(&before)).await;
    let mut after = before.clone();
    after.owner = Some("bo@example.com".into());
    after.tags.insert("cost".into(), "42".into());
    let mut tx = f.store.begin_write("bo@example.com").await.unwrap();
    assert!(tx.update_asset(&before, &after, "updated", None).await.unwrap());
    assert!(!tx.update_asset(&after, &after, "updated", None).await.unwrap());
    assert_eq!(tx.commit().await.unwrap(), 1);

    assert_eq!(f.store.asset("k").await.unwrap(), after);
    let tagged =
        AssetFilter { tags: vec![TagFilter { key: "cost".into(), value: None }], ..AssetFilter::default() };
    assert_eq!(f.store.count_assets(&tagged).await.unwrap(), 1);
    // The tag rows follow the record: an old value no longer matches, the new one does.
    let mut moved = after.clone();
    moved.tags.insert("team".into(), "ops".into());
    let mut tx = f.store.begin_write("bo@example.com").await.unwrap();
    assert!(tx.update_asset(&after, &moved, "updated", None).await.unwrap());
    tx.commit().await.unwrap();
    let team = |value: &str| AssetFilter {
        tags: vec![TagFilter { key: "team".into(), value: Some(value.into()) }],
        ..AssetFilter::default()
    };
    let first = Page { limit: 10, after: None };
    assert!(f.store.list_assets(&team("sre"), &first).await.unwrap().items.is_empty());
    let search = |text: &str| AssetFilter { query: Some(text.into()), ..AssetFilter::default() };
    assert_eq!(f.store.count_assets(&search("\"ops\"")).await.unwrap(), 1, "search follows the tags");
    assert_eq!(f.store.count_assets(&search("\"sre\"")).await.unwrap(), 0);
    assert_eq!(f.store.list_assets(&team("ops"), &first).await.unwrap().items, [moved.clone()]);
    let history = f.store.asset_history(before.id).await.unwrap();
    assert_eq!(history.len(), 3);
    let update = &history[1];
    assert_eq!(update.before.as_deref(), Some(r#"{"owner":"ana@example.com","tags":{"team":"sre"}}"#));
    assert_eq!(
        update.after.as_deref(),
        Some(r#"{"owner":"bo@example.com","tags":{"cost":"42","team":"sre"}}"#)
    );
}

async fn duplicate_keys_conflict(f: Fixture) {
    create(&f.store, &[asset("k", "staging", &[])]).await;
    let mut tx = f.store.begin_write("t").await.unwrap();
    let err = tx.create_assets(new(&[asset("k", "staging", &[])])).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
}

async fn relationships_are_recorded_once(f: Fixture) {
    let (vm, host) = (asset("vm", "staging", &[]), asset("host", "staging", &[]));
    create(&f.store, &[vm.clone(), host.clone()]).await;
    let edge = Relationship {
        from: vm.id,
        kind: RelationKind::RunsOn,
        to: host.id,
        created_at: Timestamp::UNIX_EPOCH,
    };
    let mut tx = f.store.begin_write("t").await.unwrap();
    assert!(tx.link(&edge).await.unwrap());
    assert!(!tx.link(&edge).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(f.store.relationships_of(host.id).await.unwrap(), vec![edge]);
    let history = f.store.asset_history(host.id).await.unwrap();
    assert_eq!(history.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["created", "linked"]);
}

async fn rollback_leaves_nothing(f: Fixture) {
    {
        let mut tx = f.store.begin_write("t").await.unwrap();
        tx.create_assets(new(&[asset("k", "staging", &[])])).await.unwrap();
        // Dropped without commit.
    }
    assert_eq!(f.store.count_assets(&AssetFilter::default()).await.unwrap(), 0);
    assert_eq!(
        f.store.verify_events().await.unwrap(),
        Verification::Intact { events: 0, head: "0".repeat(64) }
    );
}

async fn tampering_is_detected(f: Fixture) {
    let assets: Vec<Asset> = (0..5).map(|i| asset(&format!("k{i}"), "staging", &[])).collect();
    create(&f.store, &assets).await;
    let Verification::Intact { events: 5, .. } = f.store.verify_events().await.unwrap() else {
        panic!("chain should verify");
    };
    let raw = sqlx::AnyPool::connect(&f.url).await.unwrap();
    raw.execute("UPDATE events SET actor = 'mallory' WHERE seq = 3").await.unwrap();
    let Verification::Broken(broken) = f.store.verify_events().await.unwrap() else {
        panic!("edit should break the chain");
    };
    assert_eq!(broken.seq(), 3);
    // Re-sealing never launders an edit: it refuses a broken chain.
    let rewrite = |_: &mut serde_json::Map<String, serde_json::Value>| true;
    let err = f.store.reseal("x", "task", "manual", "test", &rewrite).await.unwrap_err();
    assert!(err.to_string().contains("broken at event 3"), "{err}");
    assert!(matches!(f.store.verify_events().await.unwrap(), Verification::Broken(_)));
}

async fn concurrent_writers_serialise(f: Fixture) {
    let other = Store::open(&f.url, &OpenOptions::default()).await.unwrap();
    let write = |store: Store, prefix: &'static str| async move {
        for batch in 0..5 {
            let assets: Vec<Asset> =
                (0..50).map(|i| asset(&format!("{prefix}-{batch}-{i}"), "staging", &[])).collect();
            let mut tx = store.begin_write(prefix).await.unwrap();
            tx.create_assets(new(&assets)).await.unwrap();
            tokio::task::yield_now().await;
            tx.commit().await.unwrap();
        }
    };
    let a = tokio::spawn(write(f.store.clone(), "a"));
    let b = tokio::spawn(write(other, "b"));
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(f.store.count_assets(&AssetFilter::default()).await.unwrap(), 500);
    assert!(matches!(f.store.verify_events().await.unwrap(), Verification::Intact { events: 500, .. }));
}

async fn migrations_report_and_refuse_newer_schema(f: Fixture) {
    let status = f.store.migration_status().await.unwrap();
    assert!(!status.is_empty() && status.iter().all(|m| m.applied));
    let raw = sqlx::AnyPool::connect(&f.url).await.unwrap();
    raw.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from the future', TRUE, X'00', 0)",
    )
    .await
    .ok();
    // PostgreSQL spells byte strings differently; try its form when the first did not apply.
    raw.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from the future', TRUE, '\\x00', 0) ON CONFLICT DO NOTHING",
    )
    .await
    .ok();
    let err = Store::open(&f.url, &OpenOptions::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew(99999)), "{err}");
}

async fn runs_are_recorded_with_an_event(f: Fixture) {
    use plumb_core::model::{Run, RunKind, RunOutcome};
    let run = Run {
        id: ulid::Ulid::generate().to_string(),
        kind: RunKind::Gate,
        name: "image".into(),
        started_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        finished_at: "2026-01-01T00:00:01Z".parse().unwrap(),
        actor: "ci@example.com".into(),
        outcome: RunOutcome::Blocked,
        inputs: json!({"report": "trivy.json"}),
        counts: json!({"blocking": 2}),
        details: json!({"blocking": ["CVE-2024-1", "CVE-2024-2"]}),
    };
    let mut tx = f.store.begin_write("ci@example.com").await.unwrap();
    tx.record_run(&run).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(f.store.run(&run.id).await.unwrap(), run);
    assert_eq!(f.store.runs(Some(RunKind::Gate), 10).await.unwrap(), vec![run.clone()]);
    assert!(f.store.runs(Some(RunKind::Sync), 10).await.unwrap().is_empty());
    assert!(matches!(f.store.verify_events().await.unwrap(), Verification::Intact { events: 1, .. }));
}

fn finding(key: &str, message: &str) -> plumb_core::model::Finding {
    use plumb_core::model::{Finding, FindingStatus, Severity};
    let now = "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap();
    Finding {
        check: "pack/rule".into(),
        title: "A rule".into(),
        controls: vec!["INV-01".into()],
        key: key.into(),
        status: FindingStatus::Fail,
        severity: Severity::High,
        message: message.into(),
        evidence: json!({"n": 1}),
        remediation: "Fix it.".into(),
        first_seen: now,
        last_seen: now,
    }
}

async fn record(
    f: &Fixture,
    run: &str,
    results: &[plumb_core::model::Finding],
) -> plumb_store::FindingChanges {
    let mut results = results.to_vec();
    let mut tx = f.store.begin_write("test@example.com").await.unwrap();
    let changes = tx
        .record_findings(&["pack/rule".to_owned()], &mut results, run, plumb_store::Reach::All)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    changes
}

/// A finding reported again with the same content is only marked seen by the run (no event,
/// first_seen kept); one whose content changed is rewritten, with an `updated` event; one no
/// longer reported resolves.
async fn findings_open_stay_open_and_resolve(f: Fixture) {
    let opened = record(&f, "run-1", &[finding("a", "a fails"), finding("b", "b fails")]).await;
    assert_eq!(opened.opened, 2);
    let first_seen = f.store.findings(None, false).await.unwrap()[0].finding.first_seen;
    let again = record(&f, "run-2", &[finding("a", "a fails"), finding("b", "b fails differently")]).await;
    assert_eq!((again.opened, again.unchanged, again.resolved), (0, 2, 0));
    let stored = f.store.findings(None, false).await.unwrap();
    let runs: Vec<&str> = stored.iter().map(|s| s.run_id.as_str()).collect();
    assert_eq!(runs, ["run-2", "run-2"]);
    assert_eq!(stored[0].finding.first_seen, first_seen);
    assert_eq!(stored[1].finding.message, "b fails differently");
    let gone = record(&f, "run-3", &[finding("b", "b fails differently")]).await;
    assert_eq!((gone.resolved, gone.unchanged), (1, 1));
    let open: Vec<String> =
        f.store.findings(None, false).await.unwrap().into_iter().map(|s| s.finding.key).collect();
    assert_eq!(open, ["b"]);
    assert_eq!(f.store.findings(None, true).await.unwrap()[0].run_id, "run-2");
    // Opened twice, b updated once, a resolved once.
    assert!(matches!(f.store.verify_events().await.unwrap(), Verification::Intact { events: 4, .. }));
}

/// Every member of a scope, once, across pages, with its absent flag. The keys' byte order
/// differs from a linguistic collation's, so on a PostgreSQL database created with one (the
/// test database here is C.UTF-8, byte order) this also checks that paging follows the
/// database's order.
async fn scope_members_page_in_the_databases_order(f: Fixture) {
    let keys = ["a-b", "A", "a:b", "ab", "a b", "b", "B-1", "z"];
    let mut assets: Vec<Asset> =
        keys.iter().map(|k| Asset { scope: Some("s".into()), ..asset(k, "staging", &[]) }).collect();
    assets[2].absent_since = Some("2026-01-03T00:00:00Z".parse().unwrap());
    create(&f.store, &assets).await;
    create(&f.store, &[asset("elsewhere", "staging", &[])]).await;
    let mut tx = f.store.begin_write("test@example.com").await.unwrap();
    assert_eq!(tx.scope_size("s").await.unwrap(), keys.len() as u64);
    assert_eq!(tx.scope_size("none").await.unwrap(), 0);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = tx.scope_members("s", after.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.into_iter().map(|(key, m)| (key, m.absent, m.content_hash)));
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    tx.commit().await.unwrap();
    seen.sort();
    let mut want: Vec<(String, bool, Option<String>)> =
        keys.iter().map(|k| ((*k).to_owned(), *k == "a:b", None)).collect();
    want.sort();
    assert_eq!(seen, want);
}

/// A value that must go (a secret an older version stored) is rewritten in the asset row and
/// in every event that held it; the chain is re-sealed from the first rewritten event and
/// verifies, a `resealed` event records the previous head and the old hashes, and the task
/// runs once. On SQLite the bytes are gone from the database files too.
async fn resealing_removes_values_and_keeps_a_verifiable_chain(f: Fixture) {
    const SECRET: &str = "hunter2-correct-horse";
    let mut db = asset("terraform:prod.tfstate:aws_db_instance.main", "production", &[]);
    db.source = "terraform".into();
    db.attributes =
        json!({"type": "aws_db_instance", "values": {"identifier": "orders", "password": SECRET}});
    let other = asset("arn:aws:s3:::logs", "production", &[]);
    create(&f.store, &[db.clone(), other]).await;
    let mut changed = db.clone();
    changed.attributes["values"]["password"] = json!(format!("{SECRET}-2"));
    let mut tx = f.store.begin_write("test@example.com").await.unwrap();
    tx.update_asset(&db, &changed, "synced", None).await.unwrap();
    tx.commit().await.unwrap();
    let Verification::Intact { events: before, head } = f.store.verify_events().await.unwrap() else {
        panic!()
    };

    let rewrite = |document: &mut serde_json::Map<String, serde_json::Value>| {
        let Some(password) = document.get_mut("attributes").and_then(|a| a.pointer_mut("/values/password"))
        else {
            return false;
        };
        *password = json!("sealed");
        true
    };
    let report =
        f.store.reseal("maintainer", "test-task", "terraform", "test", &rewrite).await.unwrap().unwrap();
    assert_eq!(report.assets, 1);
    assert_eq!(report.events.len(), 2, "the asset's creation and its change");
    assert_eq!(report.previous_head.hash, head);
    let Verification::Intact { events: after, head: new_head } = f.store.verify_events().await.unwrap()
    else {
        panic!("the re-sealed chain does not verify")
    };
    assert_eq!(after, before + 1);
    assert_ne!(new_head, head);
    assert_eq!(f.store.asset(&db.key).await.unwrap().attributes["values"]["password"], "sealed");
    let history = f.store.asset_history(db.id).await.unwrap();
    assert!(history.iter().all(|e| !format!("{e:?}").contains(SECRET)), "{history:?}");
    assert!(
        f.store.reseal("maintainer", "test-task", "terraform", "test", &rewrite).await.unwrap().is_none()
    );
    assert!(f.store.maintenance_done("test-task").await.unwrap());
    // The search index follows the compaction (VACUUM may renumber rows on SQLite).
    for (text, expected) in [("PROD.TFSTATE", 1), ("s3:::logs", 1), ("arn", 1), ("tf", 1)] {
        let query = AssetFilter { query: Some(text.into()), ..AssetFilter::default() };
        assert_eq!(f.store.count_assets(&query).await.unwrap(), expected, "{text}");
    }

    if let Some(dir) = &f._dir {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
            assert!(!found, "{} still holds the removed value", path.display());
        }
    }
}

async fn a_slot_is_claimed_once_and_taken_over_only_after_its_lease(f: Fixture) {
    use plumb_core::schedule::Job;
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    let slot = at("2026-12-07T01:00:00Z");
    let now = at("2026-12-07T01:00:01Z");
    let lease = at("2026-12-07T01:02:01Z");
    // A second store on the same database stands for a second server.
    let other = Store::open(&f.url, &OpenOptions::default()).await.unwrap();
    let (first, second) = tokio::join!(
        f.store.claim_slot(Job::Sync, slot, "a", (now, lease), "RA"),
        other.claim_slot(Job::Sync, slot, "b", (now, lease), "RB")
    );
    let claims: Vec<_> = [first.unwrap(), second.unwrap()].into_iter().flatten().collect();
    assert_eq!(claims.len(), 1, "exactly one server claims a slot: {claims:?}");
    let claim = &claims[0];
    assert!(
        f.store.claim_slot(Job::Drift, slot, "b", (now, lease), "RC").await.unwrap().is_some(),
        "jobs are apart"
    );
    let other_slot = at("2026-12-07T01:00:00.5Z");
    assert!(
        f.store.claim_slot(Job::Sync, other_slot, "b", (now, lease), "RD").await.unwrap().is_none(),
        "a job never overlaps itself, whichever slot the second claim names"
    );
    let drift = f.store.last_slot(Job::Drift).await.unwrap().unwrap();
    assert!(!f.store.abandon_slot(&drift, now, "gone").await.unwrap(), "lease holds");
    assert!(f.store.abandon_slot(&drift, at("2026-12-07T01:03:00Z"), "gone").await.unwrap());
    let abandoned = f.store.last_slot(Job::Drift).await.unwrap().unwrap();
    assert_eq!((abandoned.outcome.as_deref(), abandoned.error.as_deref()), (Some("failed"), Some("gone")));

    let held = f.store.last_slot(Job::Sync).await.unwrap().unwrap();
    assert_eq!((held.holder.as_str(), held.epoch, held.finished_at), (claim.holder.as_str(), 1, None));
    let taker = if claim.holder == "a" { "b" } else { "a" };
    assert!(f.store.take_over_slot(&held, taker, now, lease).await.unwrap().is_none(), "lease holds");

    let late = at("2026-12-07T01:03:00Z");
    let taken = f.store.take_over_slot(&held, taker, late, at("2026-12-07T01:05:00Z")).await.unwrap();
    let taken = taken.expect("an expired lease is taken over");
    assert_eq!(taken.epoch, 2);
    assert!(
        !f.store.renew_slot(claim, at("2026-12-07T01:09:00Z")).await.unwrap(),
        "the first holder is fenced off"
    );
    assert_eq!(taken.run_id, claim.run_id, "the run keeps its id across a takeover");
    let finish = plumb_store::Finish { outcome: "succeeded", error: None };
    assert!(!f.store.finish_slot(claim, late, &finish).await.unwrap());
    assert!(f.store.finish_slot(&taken, late, &finish).await.unwrap());
    let done = f.store.last_slot(Job::Sync).await.unwrap().unwrap();
    assert_eq!((done.holder.as_str(), done.outcome.as_deref()), (taker, Some("succeeded")));
    assert_eq!(f.store.slot_of_run(&claim.run_id).await.unwrap().unwrap().job, Job::Sync);
    assert!(
        f.store.take_over_slot(&done, "c", at("2026-12-08T00:00:00Z"), lease).await.unwrap().is_none(),
        "a finished slot stays finished"
    );
    let next = at("2026-12-08T00:00:00Z");
    assert!(
        f.store.claim_slot(Job::Sync, next, "c", (next, lease), "RE").await.unwrap().is_some(),
        "once its slot is finished the job runs again"
    );
}

/// A search pages in the order assets were first recorded (here the reverse of key order):
/// a word all hold and a rare one alike, each match once, and a search resumed after an asset
/// whose key is gone is refused rather than ended early.
async fn searches_page_in_recorded_order_for_common_and_rare_words(f: Fixture) {
    let mut assets: Vec<Asset> =
        (0..6_000).rev().map(|i| asset(&format!("k-{i:05}"), "production", &[])).collect();
    assets[5_989].name = "Needle in the hay".into();
    assets[9].name = "needle, early".into();
    create(&f.store, &assets[..3_000]).await;
    create(&f.store, &assets[3_000..]).await;
    let pages = |text: &'static str, limit: usize| {
        let store = f.store.clone();
        async move {
            every_page(&store, &AssetFilter { query: Some(text.into()), ..AssetFilter::default() }, limit)
                .await
        }
    };
    assert_eq!(pages("NEEDLE", 1).await, ["k-05990", "k-00010"]);
    assert_eq!(pages("needle in", 100).await, ["k-00010"]);
    let every = pages("k-0", 1_000).await;
    let recorded: Vec<&str> = assets.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(every, recorded, "in recorded order, each once");
    assert_eq!(pages("k-059", 7).await.len(), 100);
    assert_eq!(pages("k", 999).await.len(), 6_000, "short words read the same order");
    assert_eq!(
        f.store
            .count_assets(&AssetFilter { query: Some("k-059".into()), ..AssetFilter::default() })
            .await
            .unwrap(),
        100
    );

    let search = AssetFilter { query: Some("k-0".into()), ..AssetFilter::default() };
    let gone = Page { limit: 10, after: Some("k-99999".into()) };
    let err = f.store.list_assets(&search, &gone).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownCursor(ref key) if key == "k-99999"), "{err}");

    assert!(!f.store.search_index_missing().await.unwrap());
    if f.url.starts_with("postgres") {
        // As where pg_trgm could not be installed: told, and searches still right.
        let pool = sqlx::AnyPool::connect(&f.url).await.unwrap();
        pool.execute("DROP INDEX assets_search").await.unwrap();
        assert!(f.store.search_index_missing().await.unwrap());
        assert_eq!(pages("NEEDLE", 1).await, ["k-05990", "k-00010"]);
    }
}
