//! `cargo xtask bench api`: the release `plumb serve` over an inventory of `--count` assets,
//! loaded by `wrk` (Debian's package) with 32 connections on two threads for each kind of
//! request: get one asset by key (random keys), list a page of a filter, and text search.
//! Latency percentiles are wrk's (HdrHistogram, so the p99 is real, not a mean). wrk runs on
//! the same machine as the server, so they share its two cores; the figures say so.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::{Options, ROLES, bench_dir, build_release, fresh_database, generated_assets};

/// Connections and threads of every load.
const CONNECTIONS: u32 = 32;
const THREADS: u32 = 2;
/// How long each load runs, after a warm-up of the same length.
const SECONDS: u32 = 15;
/// How many keys of the inventory the "get" load picks from.
const SAMPLED_KEYS: usize = 20_000;

pub fn bench_api(options: &Options) -> anyhow::Result<()> {
    which_wrk()?;
    let binary = build_release()?;
    let dir = bench_dir()?.join(format!("api-{}", options.backend));
    std::fs::create_dir_all(&dir)?;
    let data = generated_assets(options.count)?;
    let config = dir.join("plumb.toml");
    let readers = "admins = [\"bench@example.com\"]\nauditors = [\"reader@example.com\"]\n";
    std::fs::write(&config, format!("{ROLES}{readers}"))?;
    let url = fresh_database(&options.backend, &dir)?;
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let output = Command::new(&binary)
            .args(args)
            .env("PLUMB_DATABASE_URL", &url)
            .env("PLUMB_CONFIG", &config)
            .env("PLUMB_ACTOR", "bench@example.com")
            .output()?;
        if !output.status.success() {
            bail!("plumb {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?)
    };
    eprintln!("importing {} assets", options.count);
    run(&["asset", "import", data.to_str().context("path")?])?;
    let token =
        run(&["token", "create", "--name", "reader@example.com", "--role", "auditor"])?.trim().to_owned();

    let mut server = Server::start(&binary, &url, &config)?;
    let keys = sample_keys(&data)?;
    let scripts = [
        ("GET /api/v1/assets/{key}", get_script(&dir, &token, &keys)?),
        (
            "list, environment / status / type+owner, 100 a page",
            path_script(&dir, "list", &token, &list_paths())?,
        ),
        ("list, tag=team=team-N, 100 a page", path_script(&dir, "tags", &token, &tag_paths())?),
        ("search, q=<name fragment>&limit=100", path_script(&dir, "search", &token, &search_paths())?),
        (
            "search, q=<word most assets hold>&limit=100",
            path_script(&dir, "common", &token, &common_search_paths())?,
        ),
    ];
    println!("| request ({} assets, {}) | requests/s | p50 | p99 | errors |", options.count, options.backend);
    println!("|---|---|---|---|---|");
    for (what, script) in &scripts {
        // A warm-up, so the page cache and the statement caches hold what the load reads.
        wrk(&server.url, script)?;
        let result = wrk(&server.url, script)?;
        println!("| {what} | {:.0} | {} | {} | {} |", result.rate, result.p50, result.p99, result.errors);
    }
    server.stop();
    Ok(())
}

fn which_wrk() -> anyhow::Result<()> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => bail!("wrk is not installed: apt-get install -y wrk"),
    }
}

/// The keys of every `count / SAMPLED_KEYS`-th asset of the generated file.
fn sample_keys(data: &Path) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::Reader::from_path(data)?;
    let rows = reader.records().count();
    let step = (rows / SAMPLED_KEYS).max(1);
    let mut reader = csv::Reader::from_path(data)?;
    let mut keys = Vec::new();
    for (index, record) in reader.records().enumerate() {
        if index % step == 0 {
            keys.push(record?.get(0).unwrap_or_default().to_owned());
        }
    }
    Ok(keys)
}

/// One path segment: the characters a key may hold that a path may not, percent-encoded.
fn encode(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' | ':' => c.to_string(),
            other => format!("%{:02X}", other as u32),
        })
        .collect()
}

/// Pages of an environment or status filter, from different points of the key order.
fn list_paths() -> Vec<String> {
    let mut paths = Vec::new();
    for n in 0..40 {
        let cursor = cursor(n);
        paths.push(format!("/api/v1/assets?environment=production&limit=100&cursor={cursor}"));
        paths.push(format!("/api/v1/assets?status=registered&limit=100&cursor={cursor}"));
        paths.push(format!("/api/v1/assets?type=laptop&owner=dara%40example.com&limit=100&cursor={cursor}"));
    }
    paths
}

/// First pages of a tag filter (a range of the tag index since migration 0015; before, each
/// asset's JSON column was read walking the key order until a page was full).
fn tag_paths() -> Vec<String> {
    (0..40).map(|team| format!("/api/v1/assets?tag=team%3Dteam-{team}&limit=100")).collect()
}

/// A cursor after the `n`-th laptop (a cursor is the key in hex).
fn cursor(n: u32) -> String {
    let key = format!("SN-{:010}", u64::from(n) * 25_000 + 3);
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Searches for fragments of names, as a person types them.
fn search_paths() -> Vec<String> {
    (0..50).map(|i| format!("/api/v1/assets?q=vm-{}&limit=100", 1000 + i * 7919)).collect()
}

/// Searches for words a third or more of the assets hold: many matches to order by key.
fn common_search_paths() -> Vec<String> {
    ["example.com", "team-1", "cost-center", "arn:aws", "office", "laptop"]
        .iter()
        .map(|word| format!("/api/v1/assets?q={word}&limit=100"))
        .collect()
}

/// A wrk script that sends the token and picks a random path from `paths` per request.
fn path_script(dir: &Path, name: &str, token: &str, paths: &[String]) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("{name}.lua"));
    let mut out = std::fs::File::create(&path)?;
    writeln!(out, "wrk.headers[\"Authorization\"] = \"Bearer {token}\"")?;
    writeln!(out, "local paths = {{")?;
    for p in paths {
        writeln!(out, "  \"{p}\",")?;
    }
    writeln!(out, "}}")?;
    writeln!(out, "request = function() return wrk.format(\"GET\", paths[math.random(#paths)]) end")?;
    writeln!(out, "{REPORT}")?;
    Ok(path)
}

fn get_script(dir: &Path, token: &str, keys: &[String]) -> anyhow::Result<std::path::PathBuf> {
    let paths: Vec<String> = keys.iter().map(|k| format!("/api/v1/assets/{}", encode(k))).collect();
    path_script(dir, "get", token, &paths)
}

/// Prints the figures on a line of their own: status >= 400 counts as an error.
const REPORT: &str = r#"
local errors = 0
response = function(status, headers, body) if status >= 400 then errors = errors + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("PLUMB %f %f %f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status + errors))
end
"#;

struct Load {
    rate: f64,
    p50: String,
    p99: String,
    errors: u64,
}

fn wrk(url: &str, script: &Path) -> anyhow::Result<Load> {
    let output = Command::new("wrk")
        .args(["-t", &THREADS.to_string(), "-c", &CONNECTIONS.to_string(), "-d", &format!("{SECONDS}s")])
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .arg(url)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line =
        text.lines().find_map(|l| l.strip_prefix("PLUMB ")).with_context(|| format!("wrk said:\n{text}"))?;
    let fields: Vec<f64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
    let [rate, p50, p99, errors] = fields[..] else { bail!("wrk said: {line}") };
    Ok(Load { rate, p50: format!("{p50:.1} ms"), p99: format!("{p99:.1} ms"), errors: errors as u64 })
}

/// The release `plumb serve`, its log in a file.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(binary: &Path, url: &str, config: &Path) -> anyhow::Result<Server> {
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-schedule"])
            .env("PLUMB_DATABASE_URL", url)
            .env("PLUMB_CONFIG", config)
            // Its default logging, as deployed: one line per request (drained below).
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().context("stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let listening = loop {
            let line = lines.next().context("plumb serve ended before listening")??;
            if let Some(address) = line.strip_prefix("listening on ") {
                break address.to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server { child, url: listening })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
