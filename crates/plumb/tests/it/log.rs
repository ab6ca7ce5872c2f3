//! The event chain, tampering, and failures of the environment.

use crate::support::{Env, both_backends};

both_backends!(
    verify_detects_edits_deletions_and_reordering,
    verify_detects_removal_of_the_newest_events,
    verify_detects_rows_edited_beside_the_chain,
    unreachable_database_is_exit_3,
);

fn seed(env: &Env) {
    for i in 0..5 {
        env.plumb(&["asset", "add", "--key", &format!("SN-{i}"), "--kind", "hardware", "--type", "laptop"])
            .ok();
    }
}

fn broken_at(env: &Env) -> (i64, String) {
    let run = env.plumb(&["log", "verify", "-o", "json"]).code(1);
    let json = run.json();
    (json["first_broken_seq"].as_i64().unwrap(), json["reason"].as_str().unwrap().to_owned())
}

/// Editing a row without touching the events (reclassifying an asset, making a failed scope
/// look collected, rewriting a finding's evidence or a run's details) is found: every row is
/// compared with its history.
fn verify_detects_rows_edited_beside_the_chain(env: &Env) {
    env.write(
        "devices.csv",
        "key,name,owner,location,classification\nSN-1,Mac,ana@example.com,HQ,internal\n",
    );
    env.plumb(&["sync", "file", "devices.csv", "--kind", "hardware", "--type", "laptop"]).ok();
    env.plumb(&["asset", "add", "--key", "SN-2", "--kind", "hardware", "--type", "laptop"]).ok();
    env.plumb(&["check", "--pack", "inventory"]).ok();
    env.plumb(&["log", "verify"]).ok();
    let edited = |statement: &str, table: &str, said: &str| {
        env.sql(statement);
        let run = env.plumb(&["log", "verify", "-o", "json"]).code(1);
        let json = run.json();
        assert_eq!(
            (json["status"].as_str(), json["table"].as_str()),
            (Some("edited"), Some(table)),
            "{json}"
        );
        assert!(json["reason"].as_str().unwrap().contains(said), "{json}");
    };
    let backup = |table: &str| env.sql(&format!("CREATE TABLE saved_{table} AS SELECT * FROM {table}"));
    let restore = |table: &str| {
        env.sql(&format!("DELETE FROM {table}"));
        env.sql(&format!("INSERT INTO {table} SELECT * FROM saved_{table}"));
        env.sql(&format!("DROP TABLE saved_{table}"));
    };
    for (table, statement, said) in [
        (
            "assets",
            "UPDATE assets SET classification = 'public' WHERE key = 'file:devices.csv:laptop:SN-1'",
            "classification is \"public\"",
        ),
        (
            "scope_status",
            "UPDATE scope_status SET succeeded_at = '2099-01-01T00:00:00.000000Z'",
            "scope_status row file:devices.csv",
        ),
        ("findings", "UPDATE findings SET evidence = '{\"missing\": []}'", "what it says"),
        ("runs", "UPDATE runs SET details = '{}'", "what it records"),
    ] {
        backup(table);
        edited(statement, table, said);
        restore(table);
        env.plumb(&["log", "verify"]).ok();
    }
    env.sql("INSERT INTO assets (id, key, name, kind, type, status, source, tags, attributes, first_seen, last_seen) \
             VALUES ('01JDQ8W8F4Z6S6YB4C4ZQXK3VQ', 'ghost', 'ghost', 'hardware', 'laptop', 'registered', 'manual', '{}', '{}', \
             '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')");
    edited("SELECT 1", "assets", "rows were added behind plumb's back");
}

fn verify_detects_edits_deletions_and_reordering(env: &Env) {
    let empty = env.plumb(&["log", "verify"]).ok();
    assert!(empty.stdout.starts_with("verified 0 events"), "{}", empty.stdout);
    seed(env);
    let intact = env.plumb(&["log", "verify"]).ok();
    assert!(intact.stdout.starts_with("verified 5 events; chain intact"), "{}", intact.stdout);

    env.sql("UPDATE events SET after = REPLACE(after, 'SN-2', 'SN-X') WHERE seq = 3");
    let (seq, reason) = broken_at(env);
    assert_eq!(seq, 3);
    assert!(reason.contains("was altered"), "{reason}");
    let table = env.plumb(&["log", "verify"]).code(1);
    assert!(table.stdout.starts_with("chain broken: event 3 ("), "{}", table.stdout);
    env.sql("UPDATE events SET after = REPLACE(after, 'SN-X', 'SN-2') WHERE seq = 3");
    env.plumb(&["log", "verify"]).ok();

    env.sql("UPDATE events SET seq = seq + 100 WHERE seq IN (2, 4)");
    env.sql("UPDATE events SET seq = 4 WHERE seq = 102");
    env.sql("UPDATE events SET seq = 2 WHERE seq = 104");
    let (seq, reason) = broken_at(env);
    assert_eq!(seq, 2, "{reason}");
    assert!(reason.contains("removed, inserted or reordered"), "{reason}");
    env.sql("UPDATE events SET seq = seq + 100 WHERE seq IN (2, 4)");
    env.sql("UPDATE events SET seq = 4 WHERE seq = 102");
    env.sql("UPDATE events SET seq = 2 WHERE seq = 104");
    env.plumb(&["log", "verify"]).ok();

    env.sql("DELETE FROM events WHERE seq = 2");
    assert_eq!(broken_at(env).0, 3);
}

/// Deleting the newest event leaves an intact-looking chain; the recorded head exposes it.
fn verify_detects_removal_of_the_newest_events(env: &Env) {
    seed(env);
    env.sql("DELETE FROM events WHERE seq = 5");
    let (seq, reason) = broken_at(env);
    assert_eq!(seq, 5);
    assert!(reason.contains("the newest events were removed"), "{reason}");
}

fn unreachable_database_is_exit_3(env: &Env) {
    let missing_dir = env.path("no/such/dir/plumb.db");
    let run = env
        .plumb(&["asset", "list", "--database-url", &format!("sqlite://{}", missing_dir.display())])
        .code(3);
    assert!(run.stderr.contains("cannot open the database"), "{}", run.stderr);
    let run =
        env.plumb(&["asset", "list", "--database-url", "postgres://plumb:secret@127.0.0.1:1/plumb"]).code(3);
    assert!(
        run.stderr.contains("cannot open the database at postgres://plumb:***@127.0.0.1:1/plumb"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret"));
    // A password holding `@`, and one given as a query parameter, are never shown either.
    for url in [
        "postgres://plumb:s3cr@t-pw@127.0.0.1:1/plumb",
        "postgres://plumb@127.0.0.1:1/plumb?password=s3cr@t-pw",
    ] {
        let run = env.plumb(&["asset", "list", "--database-url", url]).code(3);
        assert!(!run.stderr.contains("s3cr"), "{}", run.stderr);
        assert!(run.stderr.contains("cannot open the database at postgres://plumb"), "{}", run.stderr);
    }
    let run = env.plumb(&["asset", "list", "--database-url", "mysql://h/db"]).code(2);
    assert!(run.stderr.contains("unsupported database URL"), "{}", run.stderr);
}

/// `plumb init` says where the database is without saying its password.
#[test]
fn init_never_prints_the_database_password() {
    let Some(env) = Env::new(crate::support::Backend::Postgres) else { return };
    std::fs::remove_file(env.path("plumb.toml")).unwrap();
    // Trust authentication ignores the password; the URL still carries one.
    let url = env.url.replacen("postgres://postgres@", "postgres://postgres:pa55-w0rd@", 1);
    let run = env.plumb(&["init", "--database-url", &url]).ok();
    assert!(!run.stderr.contains("pa55-w0rd"), "{}", run.stderr);
    assert!(run.stderr.contains("database ready at postgres://postgres:***@"), "{}", run.stderr);
}
