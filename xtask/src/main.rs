//! Developer tasks (`cargo xtask …`). Benchmarks run the real release binary on generated
//! data and report wall time and peak RSS (from `/usr/bin/time`), so the figures in
//! BENCHMARKS.md are what a user would see.
//!
//! ```text
//! cargo xtask bench import [--count N] [--backend sqlite|postgres]
//! cargo xtask bench api [--count N] [--backend sqlite|postgres]   # plumb serve under wrk
//! cargo xtask bench gates [--report-mb N] [--tf-files N]
//! cargo xtask generate assets N FILE
//! cargo xtask generate trivy-report MB FILE
//! cargo xtask generate terraform N DIR
//! cargo xtask sample                     # regenerates examples/sample/ (the demo's estate)
//! ```
//!
//! `bench gates` times the debug binary (a release build costs more than the whole benchmark
//! on the 2-core machines this runs on); the figures say so.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, bail};

mod api;
mod checks;
mod drift;
mod evidence;
mod recording;
mod sample;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["bench", "import", rest @ ..] => bench_import(&Options::parse(rest)?),
        ["bench", "gates", rest @ ..] => bench_gates(&GateOptions::parse(rest)?),
        ["bench", "sync", rest @ ..] => checks::bench_sync(&Options::parse(rest)?),
        ["bench", "check", rest @ ..] => checks::bench_check(&Options::parse(rest)?),
        ["bench", "drift", rest @ ..] => drift::bench_drift(&Options::parse(rest)?),
        ["bench", "api", rest @ ..] => api::bench_api(&Options::parse(rest)?),
        ["bench", "evidence", rest @ ..] => evidence::bench_evidence(&Options::parse(rest)?),
        ["generate", "assets", count, file] => {
            generate_assets(count.parse().context("N must be a number")?, Path::new(file))
        }
        ["generate", "trivy-report", megabytes, file] => {
            generate_trivy_report(megabytes.parse().context("MB must be a number")?, Path::new(file))
        }
        ["sample"] => sample::generate(&root().join("examples/sample")),
        ["generate", "terraform", count, dir] => {
            generate_terraform(count.parse().context("N must be a number")?, Path::new(dir))
        }
        _ => bail!(
            "usage: cargo xtask bench import|sync|check|drift|api [--count N] [--backend sqlite|postgres]\n       cargo xtask bench gates [--report-mb N] [--tf-files N]\n       cargo xtask generate assets N FILE\n       cargo xtask generate trivy-report MB FILE\n       cargo xtask generate terraform N DIR\n       cargo xtask sample   (regenerates examples/sample/)"
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

/// A buffered new file for generated data.
fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn bench_dir() -> anyhow::Result<PathBuf> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The release binary, built now; `PLUMB_BENCH_BINARY` names one already built instead (a
/// nested cargo can see a different environment and rebuild the AWS SDK, half an hour here).
fn build_release() -> anyhow::Result<PathBuf> {
    if let Ok(binary) = std::env::var("PLUMB_BENCH_BINARY") {
        return Ok(PathBuf::from(binary));
    }
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

/// Runs the binary with the database and configuration of an import benchmark.
fn timed(binary: &Path, url: &str, config: &Path, args: &[&str]) -> anyhow::Result<(f64, f64)> {
    time_command(binary, args, |command| {
        command
            .env("PLUMB_DATABASE_URL", url)
            .env("PLUMB_CONFIG", config)
            .env("PLUMB_ACTOR", "bench@example.com");
    })
}

/// Runs the binary under /usr/bin/time, standard output discarded; returns (seconds, peak
/// RSS in MiB).
fn time_command(
    binary: &Path,
    args: &[&str],
    configure: impl FnOnce(&mut Command),
) -> anyhow::Result<(f64, f64)> {
    let mut command = Command::new("/usr/bin/time");
    command.args(["-f", "%e %M"]).arg(binary).args(args).stdout(std::process::Stdio::null());
    configure(&mut command);
    let output = command.output().context("running /usr/bin/time (apt-get install time)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Gates exit 1 when they block, which generated inputs are made to do.
    if !matches!(output.status.code(), Some(0 | 1)) {
        bail!("plumb {args:?} failed:\n{stderr}");
    }
    let last = stderr.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace();
    let seconds: f64 = fields.next().unwrap_or_default().parse()?;
    let kib: f64 = fields.next().unwrap_or_default().parse()?;
    Ok((seconds, kib / 1024.0))
}

/// The `[roles]` every benchmark's plumb.toml starts with.
const ROLES: &str = "[roles]\nhead_of_product = \"hop@example.com\"\nsre_lead = \"sre@example.com\"\n";

/// The generated CSV of `count` assets the benchmarks share, made on first use.
fn generated_assets(count: u64) -> anyhow::Result<PathBuf> {
    let data = bench_dir()?.join(format!("assets-{count}.csv"));
    if !data.exists() {
        eprintln!("generating {}", data.display());
        generate_assets(count, &data)?;
    }
    Ok(data)
}

fn bench_import(options: &Options) -> anyhow::Result<()> {
    let binary = build_release()?;
    let dir = bench_dir()?;
    let data = generated_assets(options.count)?;
    let config = dir.join("plumb.toml");
    std::fs::write(&config, ROLES)?;
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
    let mut out = crate::create(path)?;
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
        let status = if i.is_multiple_of(10) { "registered" } else { "in_service" };
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

struct GateOptions {
    report_mb: u64,
    tf_files: u64,
}

impl GateOptions {
    fn parse(args: &[&str]) -> anyhow::Result<GateOptions> {
        let mut options = GateOptions { report_mb: 50, tf_files: 5_000 };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().with_context(|| format!("{flag} needs a value"))?;
            match *flag {
                "--report-mb" => options.report_mb = value.parse().context("--report-mb must be a number")?,
                "--tf-files" => options.tf_files = value.parse().context("--tf-files must be a number")?,
                other => bail!("unknown flag {other}"),
            }
        }
        Ok(options)
    }
}

/// Times `plumb gate image` on a large Trivy report and `plumb gate iac` on a large tree, with
/// the debug binary and no database (as in CI).
fn bench_gates(options: &GateOptions) -> anyhow::Result<()> {
    let status =
        Command::new(env!("CARGO")).args(["build", "--quiet", "-p", "plumb"]).current_dir(root()).status()?;
    if !status.success() {
        bail!("debug build failed");
    }
    let binary = root().join("target/debug/plumb");
    let dir = bench_dir()?.join("gates");
    std::fs::create_dir_all(&dir)?;
    let report = dir.join(format!("trivy-{}mb.json", options.report_mb));
    if !report.exists() {
        eprintln!("generating {}", report.display());
        generate_trivy_report(options.report_mb, &report)?;
    }
    let tree = dir.join(format!("terraform-{}", options.tf_files));
    if !tree.exists() {
        eprintln!("generating {}", tree.display());
        generate_terraform(options.tf_files, &tree)?;
    }
    // No plumb.toml and no database URL in the folder the gates run in: nothing is recorded.
    let no_database = |command: &mut Command| {
        command.current_dir(&dir).env_remove("PLUMB_DATABASE_URL").env_remove("PLUMB_CONFIG");
    };
    let megabytes = std::fs::metadata(&report)?.len() as f64 / 1_000_000.0;
    let report_arg = report.to_str().context("path")?;
    let (seconds, rss) =
        time_command(&binary, &["gate", "image", "--report", report_arg, "-o", "json"], no_database)?;
    println!(
        "| gate image, Trivy JSON {megabytes:.1} MB | {seconds:.2} s | {:.2} s per 10 MB | {rss:.0} MiB |",
        seconds / megabytes * 10.0
    );
    let tree_arg = tree.to_str().context("path")?;
    let (seconds, rss) =
        time_command(&binary, &["gate", "iac", tree_arg, "--env", "production", "-o", "json"], no_database)?;
    println!(
        "| gate iac, {} .tf files | {seconds:.2} s | {:.2} s per 1,000 files | {rss:.0} MiB |",
        options.tf_files,
        seconds / options.tf_files as f64 * 1_000.0
    );
    Ok(())
}

/// A Trivy JSON report of about `megabytes` MB, made by replicating the vulnerabilities of a
/// real scan (test_data/trivy/defectdojo-issue_9333.json) over many targets with fresh ids;
/// every fourth copy repeats an earlier (id, package, version) in another layer, as real
/// reports do, and every tenth is HIGH so the gate has something to block.
fn generate_trivy_report(megabytes: u64, path: &Path) -> anyhow::Result<()> {
    use serde_json::{Value, json};
    let base_path = root().join("test_data/trivy/defectdojo-issue_9333.json");
    let base: Value = serde_json::from_str(&std::fs::read_to_string(&base_path)?)?;
    let templates: Vec<Value> = base["Results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["Vulnerabilities"].as_array().cloned().unwrap_or_default())
        .collect();
    if templates.is_empty() {
        bail!("{} has no vulnerabilities to replicate", base_path.display());
    }
    let template_size = serde_json::to_string_pretty(&templates)?.len() as u64 / templates.len() as u64;
    let wanted = megabytes * 1_000_000 / template_size.max(1);
    let per_target = 200;
    let mut results = Vec::new();
    let mut made = 0u64;
    while made < wanted {
        let target = results.len();
        let mut vulnerabilities = Vec::new();
        for _ in 0..per_target.min(wanted - made) {
            let mut vuln = templates[(made % templates.len() as u64) as usize].clone();
            let unique = if made % 4 == 3 { made - 3 } else { made };
            vuln["VulnerabilityID"] = json!(format!("CVE-2099-{unique:07}"));
            vuln["PkgName"] =
                json!(format!("{}-{}", vuln["PkgName"].as_str().unwrap_or("pkg"), unique % 997));
            vuln["Layer"] = json!({"DiffID": format!("sha256:{target:064x}")});
            if made.is_multiple_of(10) {
                vuln["Severity"] = json!("HIGH");
            }
            vulnerabilities.push(vuln);
            made += 1;
        }
        results.push(json!({"Target": format!("layer {target} (debian 10.13)"), "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulnerabilities}));
    }
    let report = json!({
        "SchemaVersion": 2,
        "ArtifactName": "registry.example.com/bench/app:1.0.0",
        "ArtifactType": "container_image",
        "Results": results,
    });
    let mut out = crate::create(path)?;
    serde_json::to_writer_pretty(&mut out, &report)?;
    out.flush()?;
    Ok(())
}

/// `count` .tf files, 100 to a folder in nested module folders, each with resources and
/// module blocks of every source form; one module in twenty is not pinned.
fn generate_terraform(count: u64, dir: &Path) -> anyhow::Result<()> {
    for i in 0..count {
        let folder = dir.join(format!("stack-{:03}/modules/part-{:02}", i / 100, (i / 10) % 10));
        std::fs::create_dir_all(&folder)?;
        let mut out = BufWriter::new(File::create(folder.join(format!("main-{i}.tf")))?);
        if i.is_multiple_of(10) {
            writeln!(
                out,
                "terraform {{\n  required_version = \">= 1.6.0\"\n  required_providers {{\n    aws = {{\n      source  = \"hashicorp/aws\"\n      version = \"5.54.1\"\n    }}\n  }}\n}}\n"
            )?;
        }
        let version = if i.is_multiple_of(20) { "~> 5.8" } else { "5.8.1" };
        writeln!(
            out,
            "module \"vpc_{i}\" {{\n  source  = \"terraform-aws-modules/vpc/aws\"\n  version = \"{version}\"\n  name    = \"vpc-{i}\"\n  cidr    = \"10.{}.0.0/16\"\n  azs     = [\"eu-west-1a\", \"eu-west-1b\"]\n  tags    = {{ Owner = \"sre@example.com\", Environment = \"production\" }}\n}}\n",
            i % 250
        )?;
        writeln!(
            out,
            "module \"dns_{i}\" {{\n  source = \"git::https://github.com/acme/terraform-dns.git//zones?ref=v2.3.{}\"\n  zone   = \"svc-{i}.example.com\"\n}}\n\nmodule \"local_{i}\" {{\n  source = \"../../shared\"\n}}\n",
            i % 10
        )?;
        writeln!(
            out,
            "resource \"aws_s3_bucket\" \"logs_{i}\" {{\n  bucket = \"logs-{i}-${{var.suffix}}\"\n  tags = merge(local.tags, {{ Name = \"logs-{i}\" }})\n}}\n\nresource \"aws_s3_bucket_versioning\" \"logs_{i}\" {{\n  bucket = aws_s3_bucket.logs_{i}.id\n  versioning_configuration {{\n    status = var.versioning ? \"Enabled\" : \"Suspended\"\n  }}\n}}"
        )?;
        out.flush()?;
    }
    Ok(())
}
