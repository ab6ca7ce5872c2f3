//! The evidence pack benchmark: `cargo xtask bench evidence [--count N]` (SQLite). N assets
//! imported, one real `plumb check --pack inventory` (its findings), then a year of daily runs
//! (a sync, a check whose summary names 130 checks, a drift scan) written straight into the
//! `runs` table with `sqlite3` (the CLI), as a year of a scheduler would leave them; then
//! `plumb evidence` for the three controls over that year, timed with its peak RSS.

use std::process::Command;

use anyhow::{Context, bail};

use crate::{Options, ROLES, bench_dir, build_release, fresh_database, generated_assets, timed};

/// Days of runs the pack covers.
const DAYS: i64 = 365;

pub fn bench_evidence(options: &Options) -> anyhow::Result<()> {
    if options.backend != "sqlite" {
        bail!("bench evidence writes its year of runs with the sqlite3 CLI: --backend sqlite only");
    }
    let binary = build_release()?;
    let dir = bench_dir()?.join("evidence");
    std::fs::create_dir_all(&dir)?;
    let data = generated_assets(options.count)?;
    let config = dir.join("plumb.toml");
    std::fs::write(&config, ROLES)?;
    let url = fresh_database(&options.backend, &dir)?;
    let file = data.to_str().context("path")?;
    eprintln!("importing {} assets and checking them", options.count);
    timed(&binary, &url, &config, &["asset", "import", file])?;
    timed(&binary, &url, &config, &["check", "--pack", "inventory"])?;
    let path = url.strip_prefix("sqlite://").context("a SQLite URL")?;
    write_year_of_runs(path)?;
    let today = jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::now()).date();
    let from = (today - jiff::Span::new().days(DAYS)).to_string();
    let to = (today + jiff::Span::new().days(1)).to_string();
    let out = dir.join("evidence.zip");
    let out_text = out.to_str().context("path")?;
    let args =
        ["evidence", "--control", "INV-01,CFG-01,CFG-02", "--from", &from, "--to", &to, "--out", out_text];
    let (seconds, rss) = timed(&binary, &url, &config, &args)?;
    let size = std::fs::metadata(&out)?.len() as f64 / (1 << 20) as f64;
    println!(
        "| `plumb evidence`, 3 controls, {DAYS} days of daily runs, {} assets | sqlite | {seconds:.1} s | {rss:.0} MiB | {size:.1} MiB pack |",
        options.count
    );
    let verify = ["evidence", "verify", out_text];
    let (seconds, rss) = timed(&binary, &url, &config, &verify)?;
    println!("| `plumb evidence verify` of that pack | sqlite | {seconds:.1} s | {rss:.0} MiB | |");
    Ok(())
}

/// A sync, a check and a drift run per day for `DAYS` days, each day's check naming 130 checks
/// in its summary (the size of a real one over both packs).
fn write_year_of_runs(path: &str) -> anyhow::Result<()> {
    let summary: Vec<String> = (0..130)
        .map(|i| {
            let control = if i < 10 { "INV-01" } else { "CFG-01" };
            format!(
                r#"{{"check":"bench/check-{i}","title":"check {i}","controls":["{control}"],"severity":"medium","pass":900,"fail":100,"excepted":0,"manual":0,"error":0}}"#
            )
        })
        .collect();
    let details = format!(r#"{{"summary":[{}]}}"#, summary.join(","));
    let sql = format!(
        "WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < {DAYS}), \
         k(kind, hour) AS (VALUES ('sync', '01'), ('check', '03'), ('drift', '02')) \
         INSERT INTO runs (id, kind, name, started_at, finished_at, actor, outcome, inputs, counts, details) \
         SELECT printf('bench-%s-%04d', kind, i), kind, kind, \
           strftime('%Y-%m-%dT', 'now', printf('-%d days', i)) || hour || ':00:00.000000Z', \
           strftime('%Y-%m-%dT', 'now', printf('-%d days', i)) || hour || ':10:00.000000Z', \
           'scheduler', 'succeeded', '{{}}', '{{\"resources\": 100000}}', \
           CASE kind WHEN 'check' THEN '{details}' ELSE '{{}}' END \
         FROM d CROSS JOIN k;"
    );
    let status = Command::new("sqlite3")
        .arg(path)
        .arg(&sql)
        .status()
        .context("running sqlite3 (apt-get install sqlite3)")?;
    if !status.success() {
        bail!("sqlite3 could not write the year of runs");
    }
    Ok(())
}
