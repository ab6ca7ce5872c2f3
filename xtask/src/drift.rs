//! The drift benchmark: `cargo xtask bench drift [--count N] [--backend sqlite|postgres]`.
//! N live EC2 instances (imported as the AWS collector would have written them) against a
//! Terraform state of N instances: 1% of the live ones in no state (unmanaged), 1% of the
//! state's not live (missing), 1% with another instance type (changed).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::json;

use crate::{Options, ROLES, bench_dir, build_release, fresh_database, recording, timed};

const ACCOUNT: &str = "111122223333";

fn arn(i: u64) -> String {
    format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{}", id(i))
}

fn id(i: u64) -> String {
    format!("i-{i:017x}")
}

/// Runs the benchmark and prints its table row.
pub fn bench_drift(options: &Options) -> anyhow::Result<()> {
    let binary = build_release()?;
    let dir = bench_dir()?;
    let live = dir.join(format!("drift-live-snapshot-{}.jsonl", options.count));
    let state = dir.join(format!("drift-{}.tfstate", options.count));
    if !recording::usable(&live) || !state.exists() {
        eprintln!("generating {} and {}", live.display(), state.display());
        generate_live(options.count, &live)?;
        generate_state(options.count, &state)?;
    }
    recording::date_now(&live)?;
    let config = dir.join("plumb.toml");
    std::fs::write(&config, ROLES)?;
    let url = fresh_database(&options.backend, &dir)?;
    timed(&binary, &url, &config, &["sync", "snapshot", live.to_str().context("path")?])?;
    let args = ["drift", "--state", state.to_str().context("path")?, "--ignore", "/dev/null", "-o", "json"];
    let (seconds, rss) = timed(&binary, &url, &config, &args)?;
    println!(
        "| drift, {n} state resources against {n} live | {} | {seconds:.1} s | {:.0} resources/s | {rss:.0} MiB |",
        options.backend,
        options.count as f64 / seconds,
        n = options.count,
    );
    let (again, again_rss) = timed(&binary, &url, &config, &args)?;
    println!(
        "| drift again, same items (nothing opens) | {} | {again:.1} s | {:.0} resources/s | {again_rss:.0} MiB |",
        options.backend,
        options.count as f64 / again
    );
    Ok(())
}

/// Live instances 0..N, as a recording for `plumb sync snapshot` (the region's EC2 collected
/// completely, dated when it is replayed).
fn generate_live(count: u64, path: &Path) -> anyhow::Result<()> {
    let mut out = crate::create(path)?;
    writeln!(out, "{}", recording::header(jiff::Timestamp::now()))?;
    for i in 0..count {
        let record = json!({
            "scope": format!("aws:{ACCOUNT}:us-east-1:ec2"), "type": "aws.ec2.instance", "native_id": id(i),
            "arn": arn(i), "account": ACCOUNT, "region": "us-east-1", "name": format!("vm-{i}"),
            "tags": {"Name": format!("vm-{i}"), "Environment": "staging"},
            "attributes": {"InstanceId": id(i), "InstanceType": "m6i.large", "ImageId": format!("ami-{:08x}", i % 500), "SubnetId": format!("subnet-{:04x}", i % 300)},
        });
        writeln!(out, "{record}")?;
    }
    writeln!(out, "{}", recording::end(count))?;
    out.flush()?;
    Ok(())
}

/// A state of instances N/100..N+N/100, in `count` blocks of 1,000; every 100th shared one
/// declares another instance type.
fn generate_state(count: u64, path: &Path) -> anyhow::Result<()> {
    let mut out = crate::create(path)?;
    write!(
        out,
        "{{\"version\":4,\"terraform_version\":\"1.9.0\",\"serial\":1,\"lineage\":\"bench\",\"outputs\":{{}},\"resources\":["
    )?;
    let first = count / 100;
    let last = count + first;
    let mut start = first;
    while start < last {
        let end = (start + 1000).min(last);
        if start > first {
            write!(out, ",")?;
        }
        let instances: Vec<serde_json::Value> = (start..end)
            .map(|i| {
                let changed = i < count && i % 100 == 50;
                json!({
                    "index_key": i - start,
                    "schema_version": 1,
                    "attributes": {
                        "id": id(i), "arn": arn(i),
                        "instance_type": if changed { "m6i.xlarge" } else { "m6i.large" },
                        "ami": format!("ami-{:08x}", i % 500), "subnet_id": format!("subnet-{:04x}", i % 300),
                        "tags": {"Name": format!("vm-{i}"), "Environment": "staging"},
                    },
                })
            })
            .collect();
        let block = json!({
            "mode": "managed", "type": "aws_instance", "name": format!("fleet_{start}"),
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": instances,
        });
        write!(out, "{block}")?;
        start = end;
    }
    writeln!(out, "]}}")?;
    out.flush()?;
    Ok(())
}
