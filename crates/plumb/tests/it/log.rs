//! The event chain, tampering, and failures of the environment.

use crate::support::{Env, both_backends};

both_backends!(
    verify_detects_edits_deletions_and_reordering,
    verify_detects_removal_of_the_newest_events,
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
