//! Developer tasks (`cargo xtask …`). Benchmarks run the real release binary on generated
//! data and report wall time and peak RSS (from `/usr/bin/time`), so the figures in
//! BENCHMARKS.md are what a user would see.
//!
//! ```text
//! cargo xtask bench import [--count N] [--backend sqlite|postgres]
//! cargo xtask generate assets N FILE
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["bench", "import", rest @ ..] => bench_import(&Options::parse(rest)?),
        ["generate", "assets", count, file] => {
            generate_assets(count.parse().context("N must be a number")?, Path::new(file))
        }
        _ => bail!(
            "usage: cargo xtask bench import [--count N] [--backend sqlite|postgres]\n       cargo xtask generate assets N FILE"
        ),
    }
}

struct Options {
    count: u64,
    backend: String,
}

impl Options {
    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        let mut options = Options { count: 100_000, backend: "sqlite".to_owned() };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().with_context(|| format!("{flag} needs a value"))?;
            match *flag {
                "--count" => options.count = value.parse().context("--count must be a number")?,
                "--backend" => options.backend = (*value).to_owned(),
                other => bail!("unknown flag {other}"),
            }
        }
        Ok(options)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn bench_dir() -> anyhow::Result<PathBuf> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn build_release() -> anyhow::Result<PathBuf> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "plumb"])
        .current_dir(root())
        .status()?;
    if !status.success() {
        bail!("release build failed");
    }
    Ok(root().join("target/release/plumb"))
}

/// A fresh database URL for one run.
fn fresh_database(backend: &str, dir: &Path) -> anyhow::Result<String> {
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?.as_millis();
    match backend {
        "sqlite" => Ok(format!("sqlite://{}", dir.join(format!("bench-{stamp}.db")).display())),
        "postgres" => {
            let base = std::env::var("PLUMB_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let schema = format!("plumb_bench_{stamp}");
            let status =
                Command::new("psql").args([&base, "-qc", &format!("CREATE SCHEMA {schema}")]).status()?;
            if !status.success() {
                bail!("cannot create schema {schema} with psql");
            }
            Ok(format!("{base}?options[search_path]={schema}"))
        }
        other => bail!("unknown backend {other}; expected sqlite or postgres"),
    }
}

/// Runs the binary under /usr/bin/time; returns (seconds, peak RSS in MiB).
fn timed(binary: &Path, url: &str, config: &Path, args: &[&str]) -> anyhow::Result<(f64, f64)> {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%e %M"])
        .arg(binary)
        .args(args)
        .env("PLUMB_DATABASE_URL", url)
        .env("PLUMB_CONFIG", config)
        .env("PLUMB_ACTOR", "bench@example.com")
        .output()
        .context("running /usr/bin/time (apt-get install time)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("plumb {args:?} failed:\n{stderr}");
    }
    let last = stderr.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace();
    let seconds: f64 = fields.next().unwrap_or_default().parse()?;
    let kib: f64 = fields.next().unwrap_or_default().parse()?;
    Ok((seconds, kib / 1024.0))
}

fn bench_import(options: &Options) -> anyhow::Result<()> {
    let binary = build_release()?;
    let dir = bench_dir()?;
    let data = dir.join(format!("assets-{}.csv", options.count));
    if !data.exists() {
        eprintln!("generating {}", data.display());
        generate_assets(options.count, &data)?;
    }
    let config = dir.join("plumb.toml");
    std::fs::write(
        &config,
        "[roles]\nhead_of_product = \"hop@example.com\"\nsre_lead = \"sre@example.com\"\n",
    )?;
    let url = fresh_database(&options.backend, &dir)?;
    let file = data.to_str().context("path")?;
    let (seconds, rss) = timed(&binary, &url, &config, &["asset", "import", file])?;
    let rate = options.count as f64 / seconds;
    let (reimport, reimport_rss) = timed(&binary, &url, &config, &["asset", "import", file])?;
    println!(
        "| import {} assets (CSV) | {} | {seconds:.1} s | {rate:.0} assets/s | {rss:.0} MiB |",
        options.count, options.backend
    );
    println!(
        "| re-import, nothing changed | {} | {reimport:.1} s | {:.0} assets/s | {reimport_rss:.0} MiB |",
        options.backend,
        options.count as f64 / reimport
    );
    Ok(())
}

/// Writes `count` synthetic but realistic assets as CSV: cloud resources with ARNs, laptops
/// and servers with serial numbers, SaaS and datasets, across all environments.
fn generate_assets(count: u64, path: &Path) -> anyhow::Result<()> {
    let mut out = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    writeln!(
        out,
        "key,name,kind,type,environment,owner,classification,location,status,financial_ref,tags,attributes"
    )?;
    let environments = ["production", "staging", "corporate"];
    let classifications = ["public", "internal", "confidential", "restricted"];
    let regions = ["eu-west-1", "eu-central-1", "us-east-1"];
    let owners = ["ana@example.com", "bo@example.com", "chen@example.com", "dara@example.com"];
    for i in 0..count {
        let environment = environments[(i % 3) as usize];
        let owner = if environment == "production" { "" } else { owners[(i % 4) as usize] };
        let classification = classifications[(i % 4) as usize];
        let region = regions[(i % 3) as usize];
        let account = 111_122_223_333 + (i % 7);
        let status = if i % 10 == 0 { "registered" } else { "in_service" };
        let tags =
            format!("\"{{\"\"team\"\":\"\"team-{}\"\",\"\"cost-center\"\":\"\"cc-{}\"\"}}\"", i % 40, i % 12);
        match i % 4 {
            0 | 1 => writeln!(
                out,
                "arn:aws:ec2:{region}:{account}:instance/i-{i:017x},vm-{i},cloud,aws.ec2.instance,{environment},{owner},{classification},aws:{account}:{region},{status},,{tags},\"{{\"\"InstanceType\"\":\"\"m6i.large\"\",\"\"ImageId\"\":\"\"ami-0abc{i:08x}\"\",\"\"Monitoring\"\":false}}\""
            )?,
            2 => writeln!(
                out,
                "arn:aws:s3:::bucket-{i:08},bucket-{i},data,aws.s3.bucket,{environment},{owner},{classification},aws:{account}:{region},{status},,{tags},\"{{\"\"Versioning\"\":\"\"Enabled\"\"}}\""
            )?,
            _ => writeln!(
                out,
                "SN-{i:010},laptop {i},hardware,laptop,corporate,{},{classification},Office {},{status},FA-{i:08},{tags},{{}}",
                owners[(i % 4) as usize],
                i % 5
            )?,
        }
    }
    out.flush()?;
    Ok(())
}
