//! Benchmarks of sync and policy checks: `cargo xtask bench sync|check [--count N]
//! [--backend sqlite|postgres]`, on generated data shaped like what the collectors write.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::json;

use crate::{Options, bench_dir, build_release, fresh_database, recording, timed};

/// Writes the benchmark configuration (the roles the production rule needs).
fn config(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let config = dir.join("plumb.toml");
    std::fs::write(
        &config,
        "[roles]\nhead_of_product = \"hop@example.com\"\nsre_lead = \"sre@example.com\"\n\n[tags]\nenvironment = [\"Environment\"]\nowner = [\"Owner\"]\n\n[tags.environment_values]\nprod = \"production\"\n",
    )?;
    Ok(config)
}

/// `plumb sync file` of N resources (JSON Lines): the first sync, then an unchanged one.
pub fn bench_sync(options: &Options) -> anyhow::Result<()> {
    let binary = build_release()?;
    let dir = bench_dir()?;
    let data = dir.join(format!("resources-{}.jsonl", options.count));
    if !data.exists() {
        eprintln!("generating {}", data.display());
        generate_resources(options.count, &data)?;
    }
    let config = config(&dir)?;
    let url = fresh_database(&options.backend, &dir)?;
    let file = data.to_str().context("path")?;
    let args = ["sync", "file", file, "--kind", "cloud"];
    let (first, first_rss) = timed(&binary, &url, &config, &args)?;
    let (again, again_rss) = timed(&binary, &url, &config, &args)?;
    println!(
        "| sync file, {} resources (first) | {} | {first:.1} s | {:.0} resources/s | {first_rss:.0} MiB |",
        options.count,
        options.backend,
        options.count as f64 / first
    );
    println!(
        "| sync file again, nothing changed | {} | {again:.1} s ({:.1}x faster) | {:.0} resources/s | {again_rss:.0} MiB |",
        options.backend,
        first / again,
        options.count as f64 / again
    );
    Ok(())
}

/// `plumb check` with both packs over N AWS-shaped assets, replayed with `plumb sync
/// snapshot` (so every scope the checks rest on counts as collected just now).
pub fn bench_check(options: &Options) -> anyhow::Result<()> {
    let binary = build_release()?;
    let dir = bench_dir()?;
    let data = dir.join(format!("aws-snapshot-{}.jsonl", options.count));
    if !recording::usable(&data) {
        eprintln!("generating {}", data.display());
        generate_aws_assets(options.count, &data)?;
    }
    recording::date_now(&data)?;
    let config = config(&dir)?;
    let url = fresh_database(&options.backend, &dir)?;
    timed(&binary, &url, &config, &["sync", "snapshot", data.to_str().context("path")?])?;
    for pack in ["inventory", "cis-aws-1.5"] {
        let (seconds, rss) = timed(&binary, &url, &config, &["check", "--pack", pack, "-o", "json"])?;
        println!(
            "| check --pack {pack}, {} resources | {} | {seconds:.1} s | {:.0} resources/s | {rss:.0} MiB |",
            options.count,
            options.backend,
            options.count as f64 / seconds
        );
    }
    let (seconds, rss) = timed(&binary, &url, &config, &["check", "-o", "json"])?;
    println!(
        "| check (both packs), {} resources | {} | {seconds:.1} s | {:.0} resources/s | {rss:.0} MiB |",
        options.count,
        options.backend,
        options.count as f64 / seconds
    );
    Ok(())
}

/// N resources for `plumb sync file`: key, type, name, tags and a small attributes document.
pub fn generate_resources(count: u64, path: &Path) -> anyhow::Result<()> {
    let mut out = crate::create(path)?;
    for i in 0..count {
        let environment = ["prod", "staging", "corp"][(i % 3) as usize];
        let record = json!({
            "key": format!("i-{i:017x}"),
            "type": "aws.ec2.instance",
            "name": format!("vm-{i}"),
            "tags": {"Environment": environment, "Owner": format!("team-{}@example.com", i % 40), "CostCenter": format!("cc-{}", i % 12)},
            "attributes": {"InstanceType": "m6i.large", "ImageId": format!("ami-{:08x}", i % 500), "State": "running", "SubnetId": format!("subnet-{:04x}", i % 300)},
        });
        writeln!(out, "{record}")?;
    }
    out.flush()?;
    Ok(())
}

/// Every service the AWS collector has, and whether it runs once per account.
pub const SERVICES: &[(&str, bool)] = &[
    ("iam", true),
    ("s3", true),
    ("account", true),
    ("ec2", false),
    ("cloudtrail", false),
    ("logs", false),
    ("cloudwatch", false),
    ("sns", false),
    ("kms", false),
    ("config", false),
    ("rds", false),
    ("efs", false),
    ("ecr", false),
    ("accessanalyzer", false),
    ("securityhub", false),
];

/// N resources as the AWS collector yields them (one account, three regions): buckets,
/// security groups, instances, volumes, IAM users and policies, KMS keys, plus the account's
/// and regions' settings documents, as a recording for `plumb sync snapshot` in which every
/// service of every region was collected completely (dated when it is replayed).
pub fn generate_aws_assets(count: u64, path: &Path) -> anyhow::Result<()> {
    let mut out = crate::create(path)?;
    writeln!(out, "{}", recording::header(jiff::Timestamp::now()))?;
    let mut written = 0_u64;
    let account = "111122223333";
    let regions = ["us-east-1", "eu-west-1", "eu-central-1"];
    for (service, global) in SERVICES {
        let places: &[&str] = if *global { &["global"] } else { &regions };
        for place in places {
            writeln!(out, "{}", json!({"scope_complete": format!("aws:{account}:{place}:{service}")}))?;
        }
    }
    let mut write =
        |key: String, asset_type: &str, service: &str, region: &str, attributes: serde_json::Value| {
            let record = json!({
                "scope": format!("aws:{account}:{region}:{service}"), "type": asset_type, "native_id": key,
                "key": key, "account": account, "region": region, "tags": {"Environment": "prod"},
                "attributes": attributes,
            });
            written += 1;
            writeln!(out, "{record}")
        };
    for region in regions {
        write(
            format!("aws:{account}:{region}:ec2-region"),
            "aws.ec2.region",
            "ec2",
            region,
            json!({"Region": region, "EbsEncryptionByDefault": region != "us-east-1"}),
        )?;
        write(
            format!("aws:{account}:{region}:config-region"),
            "aws.config.region",
            "config",
            region,
            json!({"Region": region, "ConfigurationRecorders": [], "RecorderStatus": [], "DeliveryChannels": []}),
        )?;
        write(
            format!("aws:{account}:{region}:securityhub-region"),
            "aws.securityhub.region",
            "securityhub",
            region,
            json!({"Region": region, "Enabled": true}),
        )?;
        write(
            format!("aws:{account}:{region}:accessanalyzer-region"),
            "aws.accessanalyzer.region",
            "accessanalyzer",
            region,
            json!({"Region": region, "Analyzers": []}),
        )?;
    }
    write(
        format!("aws:{account}:global:iam-account"),
        "aws.iam.account",
        "iam",
        "global",
        json!({"AccountSummary": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}, "PasswordPolicy": {"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}, "CredentialReport": [], "VirtualMFADevices": [], "ServerCertificates": [], "SupportPolicyRoles": ["support"], "SAMLProviders": [], "OpenIDConnectProviders": []}),
    )?;
    write(
        format!("aws:{account}:global:s3-account"),
        "aws.s3.account",
        "s3",
        "global",
        json!({"PublicAccessBlock": null}),
    )?;
    write(
        format!("aws:{account}:global:account"),
        "aws.account.account",
        "account",
        "global",
        json!({"AccountId": account, "AlternateContacts": {"SECURITY": null}}),
    )?;
    for i in 0..count.saturating_sub(15) {
        let region = regions[(i % 3) as usize];
        match i % 7 {
            0 => write(
                format!("arn:aws:s3:::bucket-{i:08}"),
                "aws.s3.bucket",
                "s3",
                "global",
                json!({
                    "Name": format!("bucket-{i:08}"), "Region": region,
                    "Encryption": if i % 2 == 0 { json!({"Rules": [{"SSEAlgorithm": "AES256"}]}) } else { serde_json::Value::Null },
                    "Versioning": {"Status": "Enabled", "MFADelete": null}, "Policy": null,
                    "PublicAccessBlock": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": i % 3 != 0},
                    "Logging": null, "Acl": {"Grants": []},
                }),
            )?,
            1 => write(
                format!("arn:aws:ec2:{region}:{account}:security-group/sg-{i:017x}"),
                "aws.ec2.security_group",
                "ec2",
                region,
                json!({
                    "GroupId": format!("sg-{i:017x}"), "GroupName": if i % 50 == 1 { "default".to_owned() } else { format!("sg-{i}") }, "VpcId": "vpc-1",
                    "IpPermissions": [{"IpProtocol": "tcp", "FromPort": if i % 4 == 1 { 22 } else { 443 }, "ToPort": if i % 4 == 1 { 22 } else { 443 }, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []}],
                    "IpPermissionsEgress": [],
                }),
            )?,
            2 => write(
                format!("arn:aws:ec2:{region}:{account}:instance/i-{i:017x}"),
                "aws.ec2.instance",
                "ec2",
                region,
                json!({
                    "InstanceId": format!("i-{i:017x}"), "InstanceType": "m6i.large", "State": "running",
                    "IamInstanceProfile": if i % 2 == 0 { json!({"Arn": "arn:aws:iam::111122223333:instance-profile/web"}) } else { serde_json::Value::Null },
                    "MetadataOptions": {"HttpTokens": "required"},
                }),
            )?,
            3 => write(
                format!("arn:aws:ec2:{region}:{account}:volume/vol-{i:017x}"),
                "aws.ec2.volume",
                "ec2",
                region,
                json!({
                    "VolumeId": format!("vol-{i:017x}"), "Encrypted": i % 5 != 0, "Size": 100, "State": "in-use",
                }),
            )?,
            4 => write(
                format!("arn:aws:iam::{account}:user/user-{i}"),
                "aws.iam.user",
                "iam",
                "global",
                json!({
                    "UserName": format!("user-{i}"), "Arn": format!("arn:aws:iam::{account}:user/user-{i}"),
                    "AccessKeys": [{"AccessKeyId": format!("AKIA{i:016}"), "Status": "Active", "CreateDate": "2026-01-01T00:00:00Z", "LastUsedDate": null}],
                    "AttachedPolicies": if i % 6 == 4 { json!([{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]) } else { json!([]) },
                    "InlinePolicies": [], "Groups": ["developers"], "MFADevices": [],
                }),
            )?,
            5 => write(
                format!("arn:aws:kms:{region}:{account}:key/{i:032x}"),
                "aws.kms.key",
                "kms",
                region,
                json!({
                    "KeyId": format!("{i:032x}"), "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyState": "Enabled",
                    "Origin": "AWS_KMS", "KeyRotationEnabled": i % 3 == 0,
                }),
            )?,
            _ => write(
                format!("arn:aws:ec2:{region}:{account}:vpc/vpc-{i:017x}"),
                "aws.ec2.vpc",
                "ec2",
                region,
                json!({
                    "VpcId": format!("vpc-{i:017x}"), "IsDefault": false, "FlowLogs": if i % 2 == 0 { json!([{"FlowLogStatus": "ACTIVE"}]) } else { json!([]) },
                }),
            )?,
        }
    }
    writeln!(out, "{}", recording::end(written))?;
    out.flush()?;
    Ok(())
}
