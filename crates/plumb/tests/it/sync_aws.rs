//! `plumb sync aws` and `plumb sync terraform s3://…` against a real moto server with a
//! realistic account (see `tests/support/moto/seeds.py`).

use serde_json::Value;

use crate::moto::Moto;
use crate::support::{Backend, CONFIG, Env};

const TAGS: &str = r#"
[tags]
owner = ["Owner"]
environment = ["Environment"]

[tags.environment_values]
prod = "production"
staging = "staging"
"#;

struct Account {
    env: Env,
    moto: Moto,
}

fn account() -> Option<Account> {
    let mut moto = Moto::start()?;
    moto.seed("account");
    let env = Env::new(Backend::Sqlite)?;
    env.write("plumb.toml", &format!("{CONFIG}{TAGS}"));
    Some(Account { env, moto })
}

impl Account {
    fn plumb(&self, args: &[&str]) -> crate::support::Run {
        let mut command = self.env.command(args);
        for (key, value) in self.moto.env() {
            command.env(key, value);
        }
        crate::support::Run::from(command.output().unwrap())
    }

    /// A full sync: the test account is denied Access Analyzer in both regions, so the sync is
    /// partial (exit 1) with exactly those parts listed.
    fn sync(&self) -> Value {
        let run = self.plumb(&["sync", "aws", "--regions", "us-east-1,eu-west-1", "-o", "json"]).code(1);
        let summary = run.json()["items"][0].clone();
        let failed: Vec<&str> =
            summary["errors"].as_array().unwrap().iter().map(|e| e["scope"].as_str().unwrap()).collect();
        assert_eq!(
            failed.iter().copied().collect::<std::collections::BTreeSet<_>>(),
            ["aws:123456789012:eu-west-1:accessanalyzer", "aws:123456789012:us-east-1:accessanalyzer"].into(),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("sync incomplete: 2 parts not collected"), "{}", run.stderr);
        summary
    }

    fn assets(&self, asset_type: &str) -> Vec<Value> {
        let json =
            self.plumb(&["asset", "list", "--type", asset_type, "--limit", "1000", "-o", "json"]).ok().json();
        json["items"].as_array().unwrap().clone()
    }

    fn asset(&self, key: &str) -> Value {
        self.plumb(&["asset", "show", key, "-o", "json"]).ok().json()
    }
}

fn keys(assets: &[Value]) -> Vec<String> {
    assets.iter().map(|a| a["key"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn collects_the_account_for_the_cis_checks() {
    let Some(account) = account() else { return };
    let summary = account.sync();
    assert_eq!(summary["absent"], 0);
    assert!(summary["new"].as_u64().unwrap() > 40, "{summary}");

    // Counts and keys per type.
    let buckets = keys(&account.assets("aws.s3.bucket"));
    assert_eq!(
        buckets,
        [
            "arn:aws:s3:::plumb-access-logs",
            "arn:aws:s3:::plumb-audit-logs",
            "arn:aws:s3:::plumb-cloudtrail",
            "arn:aws:s3:::plumb-public-data",
            "arn:aws:s3:::plumb-scratch",
        ]
    );
    let users = keys(&account.assets("aws.iam.user"));
    assert_eq!(
        users,
        [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:user/ci"
        ]
    );
    assert_eq!(account.assets("aws.ec2.instance").len(), 2);
    assert_eq!(account.assets("aws.cloudtrail.trail").len(), 2);
    assert_eq!(account.assets("aws.ec2.region").len(), 2);
    assert_eq!(account.assets("aws.logs.metric_filter").len(), 2);
    assert_eq!(account.assets("aws.cloudwatch.alarm").len(), 2);
    assert_eq!(account.assets("aws.rds.instance").len(), 1);
    assert_eq!(account.assets("aws.efs.file_system").len(), 1);
    assert_eq!(account.assets("aws.ecr.repository").len(), 1);
    assert!(account.assets("aws.kms.key").len() >= 2);
    assert!(account.assets("aws.ec2.security_group").len() >= 6, "default groups of both regions and ours");

    // Fields from tags; production owners from the roles; status discovered.
    let audit = account.asset("arn:aws:s3:::plumb-audit-logs");
    assert_eq!(audit["status"], "discovered");
    assert_eq!(audit["environment"], "production");
    assert_eq!(audit["owner"], "hop@example.com");
    assert_eq!(audit["tags"]["Owner"], "dev@example.com");
    assert_eq!(audit["location"], "aws:123456789012:us-east-1");
    let public = account.asset("arn:aws:s3:::plumb-public-data");
    assert_eq!(public["environment"], "staging");
    assert_eq!(public["owner"], "data@example.com");
    assert_eq!(public["location"], "aws:123456789012:eu-west-1");

    // What the CIS checks read.
    let attributes = &audit["attributes"];
    assert_eq!(attributes["Versioning"], serde_json::json!({"Status": "Enabled", "MFADelete": "Enabled"}));
    assert_eq!(attributes["Encryption"]["Rules"][0]["SSEAlgorithm"], "aws:kms");
    assert_eq!(attributes["PublicAccessBlock"]["BlockPublicAcls"], true);
    assert_eq!(attributes["Policy"]["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(attributes["Logging"]["TargetBucket"], "plumb-access-logs");
    let grants = public["attributes"]["Acl"]["Grants"].as_array().unwrap();
    assert!(
        grants.iter().any(|g| g["GranteeURI"] == "http://acs.amazonaws.com/groups/global/AllUsers"),
        "{grants:?}"
    );

    let iam = account.asset("aws:123456789012:global:iam-account");
    assert_eq!(iam["attributes"]["PasswordPolicy"]["MinimumPasswordLength"], 8);
    assert_eq!(iam["attributes"]["SupportPolicyRoles"], serde_json::json!(["support"]));
    let report = iam["attributes"]["CredentialReport"].as_array().unwrap();
    let bob = report.iter().find(|row| row["user"] == "bob").unwrap();
    assert_eq!(bob["password_enabled"], "true");
    assert_eq!(bob["mfa_active"], "false");
    assert_eq!(bob["access_key_2_active"], "true");
    let rotated = bob["access_key_1_last_rotated"].as_str().unwrap();
    assert!(rotated < "2026-09-01", "back-dated key: {rotated}");
    let s3_account = account.asset("aws:123456789012:global:s3-account");
    assert!(s3_account["attributes"].get("PublicAccessBlock").is_some(), "{s3_account}");

    let bob = account.asset("arn:aws:iam::123456789012:user/bob");
    assert_eq!(bob["attributes"]["AccessKeys"].as_array().unwrap().len(), 2);
    assert_eq!(bob["attributes"]["AttachedPolicies"][0]["PolicyName"], "ReadOnlyAccess");
    assert_eq!(bob["attributes"]["InlinePolicies"][0]["Document"]["Statement"][0]["Action"], "s3:*");
    let admin = account.asset("arn:aws:iam::123456789012:policy/full-admin");
    assert_eq!(admin["attributes"]["Document"]["Statement"][0]["Action"], "*");

    let trails = account.assets("aws.cloudtrail.trail");
    let org = trails.iter().find(|t| t["name"] == "org-trail").unwrap();
    assert_eq!(org["attributes"]["IsMultiRegionTrail"], true);
    assert_eq!(org["attributes"]["Status"]["IsLogging"], true);
    assert_eq!(org["attributes"]["EventSelectors"][0]["ReadWriteType"], "All");
    assert_eq!(org["attributes"]["EventSelectors"][1]["DataResources"][0]["Type"], "AWS::S3::Object");
    let ebs = account.asset("aws:123456789012:eu-west-1:ec2-region");
    assert_eq!(ebs["attributes"]["EbsEncryptionByDefault"], true);
    let open_ssh = account.assets("aws.ec2.security_group");
    let open_ssh = open_ssh.iter().find(|g| g["name"] == "ssh-from-anywhere").unwrap();
    assert_eq!(open_ssh["attributes"]["IpPermissions"][0]["IpRanges"][0]["CidrIp"], "0.0.0.0/0");

    // The account is denied IAM Access Analyzer: that part is reported, the rest is collected.
    let runs = account.plumb(&["run", "list", "--kind", "sync", "-o", "json"]).ok().json();
    let run = &runs["items"][0];
    assert_eq!(run["outcome"], "partial");
    let errors = run["details"]["errors"].as_array().unwrap();
    assert!(
        !errors.is_empty()
            && errors.iter().all(|e| e["scope"].as_str().unwrap().ends_with(":accessanalyzer")),
        "{errors:?}"
    );
}

#[test]
fn resync_writes_only_what_changed() {
    let Some(mut account) = account() else { return };
    account.sync();
    let events = |account: &Account| {
        account.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"].as_i64().unwrap()
    };
    let before = events(&account);
    let again = account.sync();
    assert_eq!(
        (again["new"].as_u64(), again["changed"].as_u64(), again["absent"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "{again}"
    );
    let scopes = again["scopes"].as_array().unwrap().len() + again["errors"].as_array().unwrap().len();
    assert_eq!(scopes, 27, "{again}");
    assert_eq!(
        events(&account) as usize,
        before as usize + 1 + scopes,
        "only the run and each scope's status are recorded"
    );

    account.moto.seed("change");
    let third = account.sync();
    assert_eq!(third["new"], 1, "{third}");
    assert_eq!(third["absent"], 1, "{third}");
    assert!(account.asset("arn:aws:s3:::plumb-scratch")["absent_since"].is_string());
    assert_eq!(account.asset("arn:aws:iam::123456789012:user/dara")["owner"], "dara@example.com");
    let history =
        account.plumb(&["asset", "history", "arn:aws:s3:::plumb-cloudtrail", "-o", "json"]).ok().json();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "synced");
    assert!(
        last["before"]["attributes"]["Policy"].is_object() && last["after"]["attributes"]["Policy"].is_null(),
        "{last}"
    );
    account.plumb(&["log", "verify"]).ok();
}

#[test]
fn unreachable_endpoint_and_missing_credentials_are_exit_3() {
    let Some(env) = Env::new(Backend::Sqlite) else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let run = |extra: &[(&str, &str)]| {
        let mut command = env.command(&["sync", "aws", "--regions", "us-east-1"]);
        command
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        command.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env_remove("AWS_PROFILE");
        for (key, value) in extra {
            command.env(key, value);
        }
        crate::support::Run::from(command.output().unwrap())
    };
    let unreachable =
        run(&[("AWS_ENDPOINT_URL", &closed), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")])
            .code(3);
    assert!(unreachable.stderr.contains("cannot reach AWS at"), "{}", unreachable.stderr);
    let missing = run(&[("AWS_ENDPOINT_URL", &closed)]).code(3);
    assert!(missing.stderr.contains("no usable AWS credentials"), "{}", missing.stderr);
    assert_eq!(env.count(), 0, "nothing written");
}

#[test]
fn terraform_state_from_s3_links_live_assets() {
    let Some(mut account) = account() else { return };
    account.moto.seed("tfstate");
    account.sync();
    let run = account
        .plumb(&["sync", "terraform", "s3://plumb-tf-state/prod/terraform.tfstate", "-o", "json"])
        .ok();
    let summary = run.json()["items"][0].clone();
    assert_eq!(summary["new"], 2, "{summary}");
    assert_eq!(summary["linked"], 1, "{summary}");
    let bucket = account.asset("arn:aws:s3:::plumb-audit-logs");
    assert_eq!(bucket["relationships"][0]["kind"], "managed_by");
    assert_eq!(
        bucket["relationships"][0]["key"],
        "terraform:s3://plumb-tf-state/prod/terraform.tfstate:aws_s3_bucket.audit"
    );
    let missing = account.plumb(&["sync", "terraform", "s3://plumb-tf-state/nope.tfstate"]).code(2);
    assert!(missing.stderr.contains("no such object"), "{}", missing.stderr);
}

/// A multi-region (or organization) trail whose home region this sync does not collect is
/// still collected, once, in the first region collected; a single-region trail of another
/// region is not there to see.
#[test]
fn trails_homed_in_regions_not_collected_are_still_seen() {
    let Some(account) = account() else { return };
    account.plumb(&["sync", "aws", "--regions", "eu-west-1", "--services", "cloudtrail"]).ok();
    let names: Vec<String> = account
        .assets("aws.cloudtrail.trail")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["org-trail"]);
    let org = &account.assets("aws.cloudtrail.trail")[0];
    assert_eq!(org["scope"], "aws:123456789012:eu-west-1:cloudtrail");
    assert_eq!(org["attributes"]["HomeRegion"], "us-east-1");
}

/// A user deleted between ListUsers and the calls that read it is gone, not a failure of the
/// whole IAM scope; an account summary AWS answers without is a failure, never `{}` (which
/// CIS 1.4 would read as "no root keys").
#[test]
fn a_vanished_user_is_skipped_and_an_empty_summary_fails_the_scope() {
    let Some(mut account) = account() else { return };
    account.moto.seed("ghost");
    account.moto.fault("ghost-user");
    account.sync();
    let users: Vec<String> =
        account.assets("aws.iam.user").iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(users, ["alice", "bob", "ci"]);

    account.moto.fault("empty-summary");
    let run = account.plumb(&["sync", "aws", "--regions", "us-east-1", "--services", "iam"]).code(1);
    assert!(
        run.stderr.contains("iam:GetAccountSummary: the answer holds no account summary"),
        "{}",
        run.stderr
    );
    let report = account.plumb(&["check", "--pack", "cis-aws-1.5", "-o", "json"]).ok().json();
    let root_keys = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "cis-aws-1.5/1.4")
        .unwrap_or_else(|| panic!("1.4 reported nothing: {}", report["summary"]))
        .clone();
    assert_eq!(root_keys["status"], "error", "{root_keys}");
}

/// A cloud crypto-erase (policy §8) is confirmed by what sync sees, not by a word: refused while
/// the volume's KMS key is enabled and the volume present, completed once a sync saw the key
/// pending deletion and the volume gone.
#[test]
fn a_crypto_erased_volume_is_decommissioned_once_sync_sees_its_key_deleted() {
    let Some(mut account) = account() else { return };
    account.moto.seed("crypto_erase");
    account.sync();
    let volumes = account.assets("aws.ec2.volume");
    let volume = volumes.iter().find(|v| v["tags"]["Name"] == "to-erase").expect("the volume to erase");
    let key = volume["key"].as_str().unwrap().to_owned();
    let kms_key = volume["attributes"]["KmsKeyId"].as_str().unwrap().to_owned();
    account.plumb(&["asset", "transition", &key, "registered"]).ok();
    let ticket = account.env.write("CHG-9.txt", "CHG-9: crypto-erase the scratch volume\n");
    let start = ["asset", "decommission", &key, "--method", "crypto-erase", "--ticket", "CHG-9"];
    let mut started = start.to_vec();
    started.extend(["--attach", crate::support::arg(&ticket)]);
    account.plumb(&started).ok();
    let complete = ["asset", "decommission", &key, "--complete", "--validated-by", "infosec@example.com"];
    let pending = account.plumb(&complete).code(2);
    for why in [format!("KMS key {kms_key} is Enabled"), "the resource is still present".to_owned()] {
        assert!(pending.stderr.contains(&why), "no {why:?} in {}", pending.stderr);
    }
    let certificate = account.plumb(&["asset", "certificate", &key, "-o", "json"]).ok().json();
    assert_eq!(certificate["cloud"]["key_state"], "Enabled");
    assert_eq!(certificate["record"]["validated_by"], "infosec@example.com", "what was given is kept");

    account.moto.seed("crypto_erased");
    account.sync();
    let done = account.plumb(&["asset", "decommission", &key, "--complete", "-o", "json"]).ok().json();
    assert_eq!(done["asset"]["status"], "decommissioned");
    assert_eq!(done["record"]["kms_key"], kms_key.as_str());
    assert_eq!(done["missing"], serde_json::json!([]));
}
