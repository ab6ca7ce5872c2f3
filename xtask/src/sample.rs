//! `cargo xtask sample`: the sample estate in `examples/sample/` that `examples/demo` runs on.
//!
//! What derives from the collectors' shapes is generated: the AWS recording of three
//! accounts (production, staging and shared services, as the AWS collector records them), the Terraform states that
//! manage them with drift planted in production (a bucket made by hand, a security group
//! opened by hand, an instance deleted by hand), a Trivy report of the API's image, and the
//! CMDB's registrations (what Terraform made, and the laptops of the MDM export that IT handed
//! out, with the asset tags the fixed-asset register books for them). The rest is written by
//! hand beside it and read from there: `plumb.toml`, the Dockerfile, the module tree under
//! `infra/` (one module unpinned), the MDM export, hardware records and the fixed-asset
//! register. The output is checked in and regenerated only when the story changes.
//! Deterministic: the same files on every run.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};

use crate::recording;

/// When the recording says it was collected; the demo replays it dated afresh.
const RECORDED_AT: &str = "2026-12-01T01:00:00Z";
const REGION: &str = "eu-west-1";

/// One account of the sample estate.
struct Account {
    id: &'static str,
    environment: &'static str,
    /// Who owns its resources (policy §3: production is the Head of Product's).
    owner: &'static str,
    /// Whether it follows the baselines (production and shared services do, mostly; staging
    /// does not).
    hardened: bool,
    /// Whether someone changed it by hand behind Terraform's back (production).
    drifted: bool,
    /// The prefix of its bucket names.
    prefix: &'static str,
}

const ACCOUNTS: &[Account] = &[
    Account {
        id: "111122223333",
        environment: "production",
        owner: "head.of.product@example.com",
        hardened: true,
        drifted: true,
        prefix: "acme-prod",
    },
    Account {
        id: "444455556666",
        environment: "staging",
        owner: "platform@example.com",
        hardened: false,
        drifted: false,
        prefix: "acme-staging",
    },
    Account {
        id: "777788889999",
        environment: "shared",
        owner: "platform@example.com",
        hardened: true,
        drifted: false,
        prefix: "acme-shared",
    },
];

/// One collected resource and, when Terraform manages it, its state resource.
struct Resource {
    record: Value,
    managed: Option<Value>,
}

/// Writes every file of the sample estate under `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("terraform"))?;
    let mut recording = vec![recording::header(RECORDED_AT.parse()?)];
    let mut resources = 0_u64;
    let mut registered = vec!["key,kind,type,status,classification,financial_ref".to_owned()];
    for account in ACCOUNTS {
        for (service, global) in crate::checks::SERVICES {
            let place = if *global { "global" } else { REGION };
            recording
                .push(json!({"scope_complete": format!("aws:{}:{place}:{service}", account.id)}).to_string());
        }
        let estate = estate(account);
        resources += estate.len() as u64;
        recording.extend(estate.iter().map(|r| r.record.to_string()));
        // The CMDB registered what Terraform made; nobody registered what was made by hand.
        for resource in estate.iter().filter(|r| r.managed.is_some()) {
            let text =
                |pointer: &str| resource.record.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
            registered.push(format!(
                "{},cloud,{},registered,{},",
                text("/key"),
                text("/type"),
                text("/tags/Classification")
            ));
        }
        let managed: Vec<&Value> = estate.iter().filter_map(|r| r.managed.as_ref()).collect();
        let mut managed: Vec<Value> = managed.into_iter().cloned().collect();
        if account.drifted {
            // Deleted by hand in the console: Terraform still manages it.
            managed.push(state_resource(
                "aws_instance",
                "api_3",
                json!({"id": "i-0a1b2c3d4e5f60003", "arn": arn(account, "instance/i-0a1b2c3d4e5f60003"),
                       "instance_type": "m6i.large", "tags": tags(account, "api-3", "api")}),
            ));
        }
        write_json(&dir.join(format!("terraform/{}.tfstate", account.environment)), &state(&managed))?;
    }
    registered.extend(laptop_registrations(dir)?);
    recording.push(recording::end(resources));
    write_lines(&dir.join("aws-snapshot.jsonl"), &recording)?;
    write_json(&dir.join("trivy-api.json"), &trivy_report())?;
    write_lines(&dir.join("registrations.csv"), &registered)?;
    Ok(())
}

fn arn(account: &Account, resource: &str) -> String {
    format!("arn:aws:ec2:{REGION}:{}:{resource}", account.id)
}

fn tags(account: &Account, name: &str, service: &str) -> Value {
    json!({"Name": name, "Environment": account.environment, "Service": service, "Owner": account.owner,
           "Classification": "internal"})
}

/// A collected resource in the AWS collector's shape.
fn record(
    account: &Account,
    service: &str,
    asset_type: &str,
    key: &str,
    id: &str,
    tags: Value,
    attributes: Value,
) -> Value {
    let region = if matches!(service, "iam" | "s3" | "account") { "global" } else { REGION };
    json!({
        "scope": format!("aws:{}:{region}:{service}", account.id), "type": asset_type, "native_id": id,
        "key": key, "account": account.id, "region": region, "name": tags.get("Name").cloned().unwrap_or(json!(id)),
        "tags": tags, "attributes": attributes,
    })
}

fn state_resource(terraform_type: &str, name: &str, attributes: Value) -> Value {
    json!({
        "mode": "managed", "type": terraform_type, "name": name,
        "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": attributes}],
    })
}

fn state(resources: &[Value]) -> Value {
    json!({"version": 4, "terraform_version": "1.9.5", "serial": 42, "lineage": "5f0c8a2e-sample",
           "outputs": {}, "resources": resources})
}

/// The settings documents every account and region has (never managed resources).
fn settings(account: &Account) -> Vec<Resource> {
    let id = account.id;
    let hardened = account.hardened;
    let doc = |service: &str, asset_type: &str, key: String, attributes: Value| Resource {
        record: record(account, service, asset_type, &key, &key, json!({}), attributes),
        managed: None,
    };
    vec![
        doc(
            "ec2",
            "aws.ec2.region",
            format!("aws:{id}:{REGION}:ec2-region"),
            json!({"Region": REGION, "EbsEncryptionByDefault": hardened}),
        ),
        doc(
            "config",
            "aws.config.region",
            format!("aws:{id}:{REGION}:config-region"),
            json!({"Region": REGION, "ConfigurationRecorders": [], "RecorderStatus": [], "DeliveryChannels": []}),
        ),
        doc(
            "securityhub",
            "aws.securityhub.region",
            format!("aws:{id}:{REGION}:securityhub-region"),
            json!({"Region": REGION, "Enabled": hardened}),
        ),
        doc(
            "accessanalyzer",
            "aws.accessanalyzer.region",
            format!("aws:{id}:{REGION}:accessanalyzer-region"),
            json!({"Region": REGION, "Analyzers": if hardened { json!([{"name": "org", "status": "ACTIVE", "type": "ACCOUNT"}]) } else { json!([]) }}),
        ),
        doc(
            "iam",
            "aws.iam.account",
            format!("aws:{id}:global:iam-account"),
            json!({
            "AccountSummary": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0},
            "PasswordPolicy": if hardened { json!({"MinimumPasswordLength": 14, "PasswordReusePrevention": 24}) } else { json!({"MinimumPasswordLength": 8}) },
            "CredentialReport": credential_report(account), "VirtualMFADevices": [], "ServerCertificates": [], "SupportPolicyRoles": ["support"],
            "SAMLProviders": [], "OpenIDConnectProviders": []}),
        ),
        doc(
            "s3",
            "aws.s3.account",
            format!("aws:{id}:global:s3-account"),
            json!({
            "PublicAccessBlock": if hardened { json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}) } else { Value::Null }}),
        ),
        doc(
            "account",
            "aws.account.account",
            format!("aws:{id}:global:account"),
            json!({
            "AccountId": id, "AlternateContacts": {"SECURITY": if hardened { json!({"EmailAddress": "security@example.com", "Name": "Security"}) } else { Value::Null }}}),
        ),
    ]
}

/// IAM's credential report, as the collector reads its CSV: the root row and the one user.
fn credential_report(account: &Account) -> Value {
    let row = |user: &str, arn: String, password: &str, key_active: &str| {
        json!({
            "user": user, "arn": arn, "user_creation_time": "2026-01-05T00:00:00+00:00",
            "password_enabled": password, "password_last_used": "no_information", "password_last_changed": "N/A",
            "mfa_active": "false", "access_key_1_active": key_active, "access_key_1_last_rotated": "2026-01-05T00:00:00+00:00",
            "access_key_1_last_used_date": "N/A", "access_key_2_active": "false", "access_key_2_last_rotated": "N/A",
            "access_key_2_last_used_date": "N/A", "cert_1_active": "false", "cert_2_active": "false",
        })
    };
    let user = user_name(account);
    json!([
        row("<root_account>", format!("arn:aws:iam::{}:root", account.id), "not_supported", "false"),
        row(
            user,
            format!("arn:aws:iam::{}:user/{user}", account.id),
            if account.hardened { "false" } else { "true" },
            "true"
        ),
    ])
}

fn user_name(account: &Account) -> &'static str {
    if account.hardened { "deploy-bot" } else { "alice" }
}

fn bucket(account: &Account, name: &str, encrypted: bool, restrict_public: bool, managed: bool) -> Resource {
    let key = format!("arn:aws:s3:::{name}");
    // Made by hand, tagged by nobody.
    let tags = if managed {
        json!({"Name": name, "Environment": account.environment, "Owner": account.owner, "Classification": "confidential"})
    } else {
        json!({"Name": name})
    };
    let attributes = json!({
        "Name": name, "Region": REGION,
        "Encryption": if encrypted { json!({"Rules": [{"SSEAlgorithm": "aws:kms"}]}) } else { Value::Null },
        "Versioning": {"Status": "Enabled", "MFADelete": null}, "Policy": null,
        "PublicAccessBlock": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": restrict_public},
        "Logging": null, "Acl": {"Grants": []},
    });
    let state = json!({"id": name, "bucket": name, "arn": key, "tags": tags.clone()});
    Resource {
        record: record(account, "s3", "aws.s3.bucket", &key, name, tags, attributes),
        managed: managed.then(|| state_resource("aws_s3_bucket", &name.replace('-', "_"), state)),
    }
}

/// An EC2 rule as the collector records it, and as a Terraform state writes it.
fn rule(port: u16) -> (Value, Value) {
    (
        json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
               "Ipv6Ranges": [], "UserIdGroupPairs": [], "PrefixListIds": []}),
        json!({"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": port, "ipv6_cidr_blocks": [],
               "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": false, "to_port": port}),
    )
}

fn security_group(
    account: &Account,
    id: &str,
    name: &str,
    live_ports: &[u16],
    state_ports: &[u16],
) -> Resource {
    let key = arn(account, &format!("security-group/{id}"));
    let tags = tags(account, name, "web");
    let live: Vec<Value> = live_ports.iter().map(|p| rule(*p).0).collect();
    let wanted: Vec<Value> = state_ports.iter().map(|p| rule(*p).1).collect();
    Resource {
        record: record(
            account,
            "ec2",
            "aws.ec2.security_group",
            &key,
            id,
            tags.clone(),
            json!({
            "GroupId": id, "GroupName": name, "Description": format!("{name} ingress"), "VpcId": vpc_id(account),
            "IpPermissions": live, "IpPermissionsEgress": []}),
        ),
        managed: Some(state_resource(
            "aws_security_group",
            name,
            json!({
            "id": id, "arn": key, "name": name, "description": format!("{name} ingress"), "vpc_id": vpc_id(account),
            "ingress": wanted, "egress": [], "tags": tags}),
        )),
    }
}

fn vpc_id(account: &Account) -> String {
    format!("vpc-{}", &account.id[..8])
}

fn instance(account: &Account, id: &str, name: &str) -> Resource {
    let key = arn(account, &format!("instance/{id}"));
    let tags = tags(account, name, "api");
    let tokens = if account.hardened { "required" } else { "optional" };
    Resource {
        record: record(
            account,
            "ec2",
            "aws.ec2.instance",
            &key,
            id,
            tags.clone(),
            json!({
            "InstanceId": id, "InstanceType": "m6i.large", "State": "running", "ImageId": "ami-0abcdef1234567890",
            "IamInstanceProfile": {"Arn": format!("arn:aws:iam::{}:instance-profile/api", account.id)},
            "MetadataOptions": {"HttpTokens": tokens}}),
        ),
        managed: Some(state_resource(
            "aws_instance",
            &name.replace('-', "_"),
            json!({
            "id": id, "arn": key, "instance_type": "m6i.large", "ami": "ami-0abcdef1234567890",
            "metadata_options": [{"http_tokens": tokens}], "tags": tags}),
        )),
    }
}

/// One account's resources: the settings documents, then what Terraform manages, then (in
/// production) what was made by hand.
fn estate(account: &Account) -> Vec<Resource> {
    let prefix = account.prefix;
    let hardened = account.hardened;
    let mut all = settings(account);
    all.push(bucket(account, &format!("{prefix}-orders-exports"), true, true, true));
    all.push(bucket(account, &format!("{prefix}-web-assets"), true, !hardened, true));
    // Opened by hand for a quick look, and never closed.
    let ssh: &[u16] = if account.drifted { &[443, 22] } else { &[443] };
    all.push(security_group(account, &format!("sg-0{}", &account.id[..8]), "web", ssh, &[443]));
    all.push(instance(account, &format!("i-0{}0001", &account.id[..8]), "api-1"));
    all.push(instance(account, &format!("i-0{}0002", &account.id[..8]), "api-2"));
    let volume = format!("vol-0{}0001", &account.id[..8]);
    let key = arn(account, &format!("volume/{volume}"));
    all.push(Resource {
        record: record(account, "ec2", "aws.ec2.volume", &key, &volume, tags(account, "api-1-data", "api"), json!({
            "VolumeId": volume, "Encrypted": hardened, "Size": 100, "VolumeType": "gp3", "State": "in-use"})),
        managed: Some(state_resource("aws_ebs_volume", "api_1_data", json!({
            "id": volume, "arn": key, "size": 100, "type": "gp3", "encrypted": hardened, "tags": tags(account, "api-1-data", "api")}))),
    });
    let key_id = format!("{}-0000-4000-8000-000000000001", &account.id[..8]);
    let key = format!("arn:aws:kms:{REGION}:{}:key/{key_id}", account.id);
    all.push(Resource {
        record: record(account, "kms", "aws.kms.key", &key, &key_id, tags(account, "orders", "orders"), json!({
            "KeyId": key_id, "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyState": "Enabled", "Enabled": true,
            "Origin": "AWS_KMS", "KeyRotationEnabled": hardened, "Description": "orders data"})),
        managed: Some(state_resource("aws_kms_key", "orders", json!({
            "id": key_id, "arn": key, "enable_key_rotation": hardened, "description": "orders data", "is_enabled": true}))),
    });
    let vpc = vpc_id(account);
    let key = arn(account, &format!("vpc/{vpc}"));
    all.push(Resource {
        record: record(
            account,
            "ec2",
            "aws.ec2.vpc",
            &key,
            &vpc,
            tags(account, "main", "network"),
            json!({
            "VpcId": vpc, "IsDefault": false, "CidrBlock": "10.0.0.0/16",
            "FlowLogs": if hardened { json!([{"FlowLogStatus": "ACTIVE"}]) } else { json!([]) }}),
        ),
        managed: Some(state_resource(
            "aws_vpc",
            "main",
            json!({
            "id": vpc, "arn": key, "cidr_block": "10.0.0.0/16", "tags": tags(account, "main", "network")}),
        )),
    });
    let user = user_name(account);
    let key = format!("arn:aws:iam::{}:user/{user}", account.id);
    all.push(Resource {
        record: record(account, "iam", "aws.iam.user", &key, user, tags(account, user, "deploy"), json!({
            "UserName": user, "Arn": key, "Path": "/",
            "AccessKeys": [{"AccessKeyId": format!("AKIA{}EXAMPLE", &account.id[..8]), "Status": "Active", "CreateDate": "2026-01-05T00:00:00Z", "LastUsedDate": null}],
            "AttachedPolicies": if hardened { json!([]) } else { json!([{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]) },
            "InlinePolicies": [], "Groups": ["deployers"], "MFADevices": []})),
        managed: Some(state_resource("aws_iam_user", &user.replace('-', "_"), json!({"id": user, "arn": key, "name": user, "path": "/"}))),
    });
    if account.drifted {
        // Made by hand in the console: no state manages it.
        all.push(bucket(account, "acme-prod-scratch-2026", false, true, false));
    }
    all
}

/// The laptops of the MDM export that IT handed out (they have a user), registered with the
/// asset tag the fixed-asset register books for their serial, if any; the spare one nobody
/// holds stays unregistered.
fn laptop_registrations(dir: &Path) -> anyhow::Result<Vec<String>> {
    let rows = |name: &str| -> anyhow::Result<Vec<csv::StringRecord>> {
        let path = dir.join(name);
        let mut reader =
            csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(reader.records().collect::<Result<_, _>>()?)
    };
    // fixed-asset-register.csv: asset_tag,description,serial_number,…
    let booked: Vec<(String, String)> =
        rows("fixed-asset-register.csv")?.iter().map(|r| (r[2].to_owned(), r[0].to_owned())).collect();
    // mdm-laptops.csv: serial_number,device_name,user_email,…
    let mut registered = Vec::new();
    for laptop in rows("mdm-laptops.csv")?.iter().filter(|r| !r[2].is_empty()) {
        let tag = booked.iter().find(|(serial, _)| serial == &laptop[0]).map_or("", |(_, tag)| tag.as_str());
        registered.push(format!("file:mdm:laptop:{},hardware,laptop,registered,internal,{tag}", &laptop[0]));
    }
    Ok(registered)
}

fn trivy_report() -> Value {
    let vulnerability = |id: &str,
                         package: &str,
                         installed: &str,
                         fixed: &str,
                         severity: &str,
                         title: &str| {
        json!({
            "VulnerabilityID": id, "PkgID": format!("{package}@{installed}"), "PkgName": package,
            "PkgIdentifier": {"PURL": format!("pkg:deb/debian/{package}@{installed}?arch=amd64&distro=debian-12.5")},
            "InstalledVersion": installed, "FixedVersion": fixed, "Status": "fixed", "SeveritySource": "nvd",
            "PrimaryURL": format!("https://avd.aquasec.com/nvd/{}", id.to_lowercase()), "Title": title, "Severity": severity,
        })
    };
    json!({
        "SchemaVersion": 2, "CreatedAt": RECORDED_AT, "ArtifactName": "registry.example.com/acme/api:1.4.2",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}, "RepoTags": ["registry.example.com/acme/api:1.4.2"]},
        "Results": [{
            "Target": "registry.example.com/acme/api:1.4.2 (debian 12.5)", "Class": "os-pkgs", "Type": "debian",
            "Vulnerabilities": [
                vulnerability("CVE-2024-2961", "libc6", "2.36-9+deb12u4", "2.36-9+deb12u7", "HIGH",
                    "glibc: Out of bounds write in iconv may lead to remote code execution"),
                vulnerability("CVE-2024-6387", "openssh-client", "1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3", "CRITICAL",
                    "openssh: regreSSHion: RCE in OpenSSH's server, on glibc-based Linux systems"),
                vulnerability("CVE-2023-52425", "libexpat1", "2.5.0-1", "2.5.0-1+deb12u1", "MEDIUM",
                    "expat: parsing large tokens can trigger a denial of service"),
            ],
        }],
    })
}

fn write_lines(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    let mut out = crate::create(path)?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    write_text(path, &format!("{}\n", serde_json::to_string_pretty(value)?))
}

fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
