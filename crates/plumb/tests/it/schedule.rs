//! The scheduler of `plumb serve`: slots seconds apart (`PLUMB_TEST_SCHEDULE_SECONDS`, which
//! also makes the lease that many seconds), real servers on the real databases. Each slot runs
//! once however many servers share PostgreSQL, a killed server's job is taken over after its
//! lease, and every job is a run that tells its sinks.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_http::{FakeHttp, Response};
use crate::serve::Server;
use crate::support::{Backend, CONFIG, Env};

const TEST_TIMING: (&str, &str) = ("PLUMB_TEST_SCHEDULE_SECONDS", "3");

/// plumb.toml with one file source and a sync every two seconds, plus `extra`.
fn configure(env: &Env, extra: &str) {
    let source =
        "[[source]]\ntype = \"file\"\npath = \"laptops.csv\"\nkind = \"hardware\"\nasset_type = \"laptop\"\n";
    env.write("plumb.toml", &format!("{CONFIG}\n[schedule]\nsync = \"*/2 * * * * *\"\n\n{source}{extra}"));
}

/// Waits for `done` to hold, failing with `what` after a generous minute: the test asserts on
/// what happened, never on how long it took.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn runs(env: &Env, kind: &str) -> Vec<Value> {
    let run = env
        .plumb_with(&["run", "list", "--kind", kind, "--limit", "1000", "-o", "json"], &[TEST_TIMING])
        .ok();
    run.json()["items"].as_array().unwrap().clone()
}

/// The sync job as `plumb schedule` shows it.
fn sync_job(env: &Env) -> Value {
    sync_job_with(env, TEST_TIMING)
}

#[test]
fn two_servers_on_one_postgres_run_each_slot_once() {
    let Some(env) = Env::new(Backend::Postgres) else { return };
    env.write("laptops.csv", "key\nSN-1\nSN-2\n");
    configure(&env, "");
    let servers = [Server::start_with(&env, &[TEST_TIMING]), Server::start_with(&env, &[TEST_TIMING])];
    wait_for("four scheduled syncs", || runs(&env, "job").len() >= 4);
    drop(servers);

    let jobs = runs(&env, "job");
    let slots: Vec<&str> = jobs.iter().map(|j| j["inputs"]["slot"].as_str().unwrap()).collect();
    let distinct: BTreeSet<&str> = slots.iter().copied().collect();
    assert_eq!(distinct.len(), slots.len(), "a slot ran twice: {slots:?}");
    let synced: Vec<&str> = jobs
        .iter()
        .flat_map(|j| j["details"]["runs"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()))
        .collect();
    assert_eq!(synced.len(), jobs.len(), "each job made one sync run: {jobs:#?}");
    for job in &jobs {
        assert_eq!(
            (job["name"].as_str(), job["outcome"].as_str()),
            (Some("sync"), Some("succeeded")),
            "{job}"
        );
        assert_eq!(job["actor"], "scheduler", "{job}");
    }
    let sync_runs = runs(&env, "sync");
    for id in &synced {
        let run = sync_runs.iter().find(|r| r["id"] == *id).expect("the job's sync run is recorded");
        assert_eq!(run["actor"], "scheduler");
    }
}

#[test]
fn a_killed_servers_job_is_taken_over_after_its_lease() {
    let Some(env) = Env::new(Backend::Postgres) else { return };
    // A named pipe: the sync blocks reading it until the test writes the file, so the job is
    // in flight for as long as the test wants.
    let pipe = env.path("laptops.csv");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    configure(&env, "");
    let first = Server::start_with(&env, &[TEST_TIMING]);
    wait_for("the first server to start a sync", || sync_job(&env)["last_outcome"] == "running");
    let held = sync_job(&env);
    let second = Server::start_with(&env, &[TEST_TIMING]);
    drop(first);
    wait_for("the second server to take the slot over", || {
        let job = sync_job(&env);
        job["last_holder"] != held["last_holder"] && job["last_slot"] == held["last_slot"]
    });
    // Let the taken-over sync read its file.
    std::fs::write(&pipe, "key\nSN-1\n").unwrap();
    wait_for("the taken-over job to finish", || {
        runs(&env, "job").iter().any(|j| j["inputs"]["slot"] == held["last_slot"])
    });
    drop(second);

    let jobs = runs(&env, "job");
    let for_slot: Vec<&Value> = jobs.iter().filter(|j| j["inputs"]["slot"] == held["last_slot"]).collect();
    assert_eq!(for_slot.len(), 1, "the slot ran once: {for_slot:#?}");
    let job = for_slot[0];
    assert_eq!(job["inputs"]["epoch"], 2, "{job}");
    assert_ne!(job["inputs"]["holder"], held["last_holder"], "{job}");
    assert_eq!(job["outcome"], "succeeded", "{job}");
}

#[test]
fn every_job_is_a_run_its_heartbeat_hears_and_a_failed_job_alerts() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let receiver = FakeHttp::start(|_, _, _| Response::json(serde_json::json!({})));
    // No laptops.csv: every sync fails.
    let sinks = format!(
        "[[sink]]\ntype = \"heartbeat\"\nname = \"sync-beat\"\nurl_env = \"BEAT_URL\"\nscans = [\"sync\"]\n\n\
         [[sink]]\ntype = \"webhook\"\nname = \"hook\"\nurl = \"{}/hook\"\nsecret_env = \"HOOK_SECRET\"\n",
        receiver.url
    );
    configure(&env, &sinks);
    let beat = format!("{}/beat", receiver.url);
    let vars = [TEST_TIMING, ("BEAT_URL", &beat), ("HOOK_SECRET", "s3cret")];
    let server = Server::start_with(&env, &vars);
    wait_for("two failed scheduled syncs", || runs(&env, "job").len() >= 2);
    drop(server);

    let jobs = runs(&env, "job");
    for job in &jobs {
        assert_eq!(job["outcome"], "failed", "{job}");
        assert!(job["details"]["error"].as_str().unwrap().contains("laptops.csv"), "{job}");
    }
    let paths = receiver.paths();
    assert!(paths.iter().any(|p| p == "/beat/fail"), "the heartbeat hears the failure: {paths:?}");
    assert!(!paths.iter().any(|p| p == "/beat"), "nothing succeeded: {paths:?}");
    let alerts: Vec<Value> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.path == "/hook")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert!(!alerts.is_empty(), "the webhook hears the failed job");
    assert!(alerts.iter().all(|a| a["scan"] == "sync" && a["outcome"] == "failed"), "{alerts:#?}");
    let schedule = sync_job(&env);
    assert!(schedule["next"].as_array().unwrap().len() == 3, "{schedule}");
}

#[test]
fn a_sink_that_cannot_be_told_does_not_keep_the_slot_open() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.write("laptops.csv", "key\nSN-1\n");
    // BEAT_URL is not set: the sink cannot be built, so the job cannot tell it.
    configure(
        &env,
        "[[sink]]\ntype = \"heartbeat\"\nname = \"beat\"\nurl_env = \"BEAT_URL\"\nscans = [\"sync\"]\n",
    );
    let server = Server::start_with(&env, &[TEST_TIMING]);
    // Were the claim left open, its lease would be taken over and the job run again under
    // the same run id, forever: a second slot would never run.
    wait_for("two scheduled syncs", || runs(&env, "job").len() >= 2);
    drop(server);

    let jobs = runs(&env, "job");
    let slots: BTreeSet<&str> = jobs.iter().map(|j| j["inputs"]["slot"].as_str().unwrap()).collect();
    assert_eq!(slots.len(), jobs.len(), "a slot ran twice: {jobs:#?}");
    for job in &jobs {
        assert_eq!(
            (job["outcome"].as_str(), job["inputs"]["epoch"].as_i64()),
            (Some("succeeded"), Some(1)),
            "{job}"
        );
    }
}

/// A SQLite inventory whose server ran one scheduled sync and stopped.
fn after_a_first_scheduled_sync() -> Env {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.write("laptops.csv", "key\nSN-1\n");
    configure(&env, "");
    let server = Server::start_with(&env, &[TEST_TIMING]);
    wait_for("a first scheduled sync", || !runs(&env, "job").is_empty());
    drop(server);
    env
}

#[test]
fn a_slot_taken_over_whose_run_was_recorded_is_closed_not_run_again() {
    let env = after_a_first_scheduled_sync();
    // As if its holder died after recording the job's run and before closing the claim.
    let job = runs(&env, "job").into_iter().max_by_key(|j| j["inputs"]["slot"].to_string()).unwrap();
    let run_id = job["id"].as_str().unwrap();
    env.sql(&format!("DELETE FROM schedule_slots WHERE run_id <> '{run_id}' AND finished_at IS NULL"));
    env.sql(&format!(
        "UPDATE schedule_slots SET finished_at = NULL, outcome = NULL, lease_until = '2000-01-01T00:00:00.000000Z' WHERE run_id = '{run_id}'"
    ));
    let server = Server::start_with(&env, &[TEST_TIMING]);
    // A later slot runs only once the taken-over one is closed (one unfinished slot per job).
    wait_for("a sync after the takeover", || runs(&env, "job").len() >= 2);
    let log = server.log();
    drop(server);

    assert!(log.iter().any(|l| l.contains("had been recorded; closing it")), "{log:?}");
    let jobs = runs(&env, "job");
    assert_eq!(jobs.iter().filter(|j| j["id"] == run_id).count(), 1, "{jobs:#?}");
    assert!(jobs.iter().all(|j| j["outcome"] == "succeeded"), "{jobs:#?}");
}

#[test]
fn after_downtime_the_missed_slots_run_once_between_them() {
    let env = after_a_first_scheduled_sync();
    let slot = |job: &Value| job["inputs"]["slot"].as_str().unwrap().to_owned();
    let last = runs(&env, "job").iter().map(slot).max().unwrap();
    // Down for several two-second slots.
    std::thread::sleep(Duration::from_secs(7));
    let restarted = jiff::Timestamp::now().to_string();
    let server = Server::start_with(&env, &[TEST_TIMING]);
    wait_for("two syncs after the restart", || {
        runs(&env, "job").iter().filter(|j| slot(j) > last).count() >= 2
    });
    drop(server);

    let mut after: Vec<String> = runs(&env, "job").iter().map(slot).filter(|s| *s > last).collect();
    after.sort();
    let missed: Vec<&String> = after.iter().filter(|s| **s < restarted).collect();
    assert_eq!(
        missed.len(),
        1,
        "one run for the missed slots, the latest: {after:?} (restarted {restarted})"
    );
}

#[test]
fn a_server_stopped_with_sigterm_releases_its_claim_at_once() {
    let Some(env) = Env::new(Backend::Postgres) else { return };
    let pipe = env.path("laptops.csv");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success(), "mkfifo failed");
    configure(&env, "");
    // A lease of two minutes: longer than this test waits, so only a released claim is
    // taken over in time.
    let long_lease = ("PLUMB_TEST_SCHEDULE_SECONDS", "120");
    let mut first = Server::start_with(&env, &[long_lease]);
    wait_for("the first server to start a sync", || {
        sync_job_with(&env, long_lease)["last_outcome"] == "running"
    });
    let held = sync_job_with(&env, long_lease);
    let second = Server::start_with(&env, &[long_lease]);
    assert!(first.terminate().success(), "SIGTERM is a clean stop");
    assert!(first.log().iter().any(|l| l.contains("claim is released")), "{:?}", first.log());
    wait_for("the second server to take the released slot over", || {
        let job = sync_job_with(&env, long_lease);
        job["last_holder"] != held["last_holder"] && job["last_slot"] == held["last_slot"]
    });
    drop(second);
}

fn sync_job_with(env: &Env, timing: (&str, &str)) -> Value {
    let run = env.plumb_with(&["schedule", "-o", "json"], &[timing]).ok();
    run.json()["items"].as_array().unwrap().iter().find(|j| j["job"] == "sync").unwrap().clone()
}
