//! `plumb drift` end to end: the seeded moto account is synced, a Terraform state in S3 that
//! manages part of it (see `seeds.drift`) is compared, and the exact unmanaged, missing and
//! changed sets, the coverage figures and the alerts (once per appearance, once per
//! resolution; the heartbeat every scan) are asserted.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::fake_http::{FakeHttp, Response};
use crate::moto::Moto;
use crate::support::{Backend, CONFIG, Env, Run};

const STATE: &str = "s3://plumb-tf-state/drift.tfstate";

const SETTINGS: &str = r#"
[tags]
environment = ["Environment"]

[tags.environment_values]
prod = "production"

[[sink]]
type = "webhook"
name = "ops-hook"
url = "URL/hook"
secret_env = "PLUMB_TEST_WEBHOOK_SECRET"

[[sink]]
type = "heartbeat"
url_env = "PLUMB_TEST_HEARTBEAT"
"#;

const IGNORE: &str = "\
# KMS keys are managed by the platform team's own tooling
aws_kms_key.*
# people's users come from the IdP, except the break-glass ones
aws_iam_user.*
!aws_iam_user.bob
!aws_iam_user.dara
aws_s3_bucket.plumb-tf-state
aws_s3_bucket_public_access_block.plumb-public-data.restrict_public_buckets
";

/// Random ids moto made become `prefix-*`.
fn mask(id: &str) -> String {
    match id.split_once('-') {
        Some((prefix, rest)) if rest.len() >= 8 && rest.chars().all(|c| c.is_ascii_hexdigit()) => {
            format!("{prefix}-*")
        }
        _ => id.to_owned(),
    }
}

fn items(report: &Value, kind: &str) -> BTreeMap<(String, String), usize> {
    let mut found = BTreeMap::new();
    for item in report["items"].as_array().unwrap().iter().filter(|i| i["kind"] == kind) {
        let id = mask(item["id"].as_str().unwrap());
        *found.entry((item["resource_type"].as_str().unwrap().to_owned(), id)).or_default() += 1;
    }
    found
}

fn expected(list: &[(&str, &str, usize)]) -> BTreeMap<(String, String), usize> {
    list.iter().map(|(t, id, n)| (((*t).to_owned(), (*id).to_owned()), *n)).collect()
}

const UNMANAGED: &[(&str, &str, usize)] = &[
    ("aws_cloudtrail", "local-trail", 1),
    ("aws_cloudtrail", "org-trail", 1),
    ("aws_cloudwatch_log_metric_filter", "cloudtrail:RootUsage", 1),
    ("aws_cloudwatch_log_metric_filter", "cloudtrail:UnauthorizedAPICalls", 1),
    ("aws_cloudwatch_metric_alarm", "RootUsage", 1),
    ("aws_cloudwatch_metric_alarm", "UnauthorizedAPICalls", 1),
    ("aws_db_instance", "orders", 1),
    ("aws_ebs_volume", "vol-*", 4),
    ("aws_ecr_repository", "web", 1),
    ("aws_efs_file_system", "fs-*", 1),
    ("aws_flow_log", "fl-*", 1),
    ("aws_iam_group", "admins", 1),
    ("aws_iam_role", "breakglass", 1),
    ("aws_iam_role", "support", 1),
    ("aws_iam_user", "bob", 1),
    ("aws_instance", "i-*", 1),
    ("aws_network_acl", "acl-*", 2),
    ("aws_s3_bucket", "plumb-access-logs", 1),
    ("aws_s3_bucket", "plumb-cloudtrail", 1),
    ("aws_s3_bucket", "plumb-scratch", 1),
    ("aws_security_group", "sg-*", 5),
    ("aws_sns_topic", "arn:aws:sns:us-east-1:123456789012:security-alarms", 1),
    ("aws_subnet", "subnet-*", 2),
    ("aws_vpc", "vpc-*", 1),
];

struct Account {
    env: Env,
    moto: Moto,
    receiver: FakeHttp,
}

impl Account {
    fn new() -> Option<Account> {
        let mut moto = Moto::start()?;
        moto.seed("account");
        moto.seed("drift");
        let env = Env::new(Backend::Sqlite)?;
        let receiver = FakeHttp::start(|_, _, _| Response::json(json!({})));
        env.write("plumb.toml", &format!("{CONFIG}{}", SETTINGS.replace("URL", &receiver.url)));
        env.write(".plumbignore", IGNORE);
        Some(Account { env, moto, receiver })
    }

    fn plumb(&self, args: &[&str]) -> Run {
        self.plumb_with(args, &[])
    }

    fn plumb_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut command = self.env.command(args);
        for (key, value) in self.moto.env() {
            command.env(key, value);
        }
        command.envs(vars.iter().copied());
        command.env("PLUMB_TEST_WEBHOOK_SECRET", "s3cret");
        command.env("PLUMB_TEST_HEARTBEAT", format!("{}/beat", self.receiver.url));
        Run::from(command.output().unwrap())
    }

    fn sync(&self) {
        // Partial: the test account is denied Access Analyzer, which drift does not need.
        self.plumb(&["sync", "aws", "--regions", "us-east-1,eu-west-1"]).code(1);
    }

    fn drift(&self) -> Value {
        self.plumb(&["drift", "--state", STATE, "-o", "json"]).ok().json()
    }

    /// The webhook bodies received so far.
    fn hooks(&self) -> Vec<Value> {
        let requests = self.receiver.requests();
        let hooks = requests.iter().filter(|r| r.path == "/hook");
        hooks
            .map(|r| {
                assert_eq!(r.method, "POST");
                assert!(r.headers["x-plumb-signature-256"].starts_with("sha256="), "{:?}", r.headers);
                serde_json::from_str(&r.body).unwrap()
            })
            .collect()
    }

    fn beats(&self) -> Vec<String> {
        self.receiver.paths().into_iter().filter(|p| p.starts_with("/beat")).collect()
    }
}

fn keys(list: &Value) -> Vec<String> {
    let mut keys: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{} {}", i["kind"], i["key"]).replace('"', ""))
        .collect();
    keys.sort();
    keys
}

#[test]
fn drift_finds_exactly_the_seeded_differences_and_alerts_once() {
    let Some(mut account) = Account::new() else { return };
    account.sync();
    let report = account.drift();

    assert_eq!(items(&report, "unmanaged"), expected(UNMANAGED));
    assert_eq!(items(&report, "missing"), expected(&[("aws_s3_bucket", "plumb-gone", 1)]));
    assert_eq!(
        items(&report, "changed"),
        expected(&[
            ("aws_instance", "i-*", 1),
            ("aws_s3_bucket", "plumb-public-data", 1),
            ("aws_security_group", "sg-*", 1)
        ])
    );
    let changes = |id_prefix: &str| -> Value {
        let item = report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "changed" && i["id"].as_str().unwrap().starts_with(id_prefix))
            .unwrap();
        item["changes"].clone()
    };
    assert_eq!(
        changes("i-"),
        json!([{"attribute": "instance_type", "state": "t3.small", "live": "t3.micro"}])
    );
    assert_eq!(
        changes("sg-"),
        json!([{"attribute": "ingress", "state": ["tcp 22-22 10.0.0.0/8"], "live": ["tcp 22-22 0.0.0.0/0"]}])
    );
    let public = changes("plumb-public");
    let public: Vec<&str> =
        public.as_array().unwrap().iter().map(|c| c["attribute"].as_str().unwrap()).collect();
    assert_eq!(public, ["block_public_acls", "block_public_policy", "ignore_public_acls"]);

    // The policy document is the live one written differently: compared as JSON, no drift.
    let totals = &report["totals"];
    assert_eq!(
        (totals["live"].as_u64(), totals["managed"].as_u64(), totals["state_resources"].as_u64()),
        (Some(45), Some(6), Some(9))
    );
    assert_eq!((totals["ignored"].as_u64(), totals["unsupported"].as_u64()), (Some(7), Some(1)));
    assert_eq!(report["unsupported_types"], json!({"aws_lambda_function": 1}));
    // Every type the AWS collector produced has a Terraform mapping.
    assert_eq!(report["unmapped_live"], 0);
    let coverage = |environment: &str, resource_type: &str| -> (u64, u64) {
        let row = report["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["environment"] == environment && r["resource_type"] == resource_type)
            .unwrap_or_else(|| panic!("no coverage row {environment} {resource_type}"));
        (row["managed"].as_u64().unwrap(), row["live"].as_u64().unwrap())
    };
    assert_eq!(coverage("production", "aws.ec2.instance"), (1, 1));
    assert_eq!(coverage("-", "aws.ec2.instance"), (0, 1));
    assert_eq!(coverage("production", "aws.s3.bucket"), (1, 1));
    assert_eq!(coverage("production", "aws.ec2.vpc"), (1, 2));
    assert_eq!(coverage("staging", "aws.s3.bucket"), (1, 1));
    assert_eq!(coverage("-", "aws.s3.bucket"), (0, 4));

    // The first scan alerts every item once; the heartbeat hears of every scan.
    let hooks = account.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["scan"], "drift");
    assert_eq!(hooks[0]["opened"].as_array().unwrap().len(), 37);
    assert_eq!(hooks[0]["open_unmanaged"], 33);
    assert_eq!(report["alerts"].as_array().unwrap().iter().filter(|a| a["ok"] == true).count(), 2);
    assert_eq!(account.beats(), ["/beat"]);

    // Nothing changed: no alert, one more heartbeat.
    let again = account.drift();
    assert_eq!(again["items"], report["items"]);
    assert_eq!(account.hooks().len(), 1);
    assert_eq!(account.beats(), ["/beat", "/beat"]);

    // A bucket goes away and a user arrives: one alert with exactly those two.
    account.moto.seed("change");
    account.sync();
    account.drift();
    let hooks = account.hooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(keys(&hooks[1]["opened"]), ["unmanaged arn:aws:iam::123456789012:user/dara"]);
    assert_eq!(keys(&hooks[1]["resolved"]), ["unmanaged arn:aws:s3:::plumb-scratch"]);

    // A resource's drift history: when it opened and when it resolved.
    let history =
        account.plumb(&["drift", "--history", "arn:aws:s3:::plumb-scratch", "-o", "json"]).ok().json();
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["opened", "resolved"], "{history}");
    assert_eq!(history["items"][0]["check"], "drift/unmanaged");

    // The run keeps the items, coverage and deliveries; the findings are CFG-02 evidence.
    let runs = account.plumb(&["run", "list", "-o", "json"]).ok().json();
    let drift_run = runs["items"].as_array().unwrap().iter().find(|r| r["kind"] == "drift").unwrap().clone();
    let shown = account.plumb(&["run", "show", drift_run["id"].as_str().unwrap(), "-o", "json"]).ok().json();
    assert_eq!(shown["inputs"]["states"], json!([STATE]));
    assert_eq!(shown["inputs"]["ignore"], ".plumbignore", "the default ignore file is recorded as used");
    assert!(shown["details"]["coverage"].as_array().unwrap().len() > 10, "{shown}");
    assert_eq!(shown["details"]["alerts"].as_array().unwrap().len(), 2, "{shown}");

    // --fail-on blocks; a scan that cannot run is exit 2 and the heartbeat hears /fail.
    account.plumb(&["drift", "--state", STATE, "--fail-on", "missing"]).code(1);
    let failed = account.plumb(&["drift", "--state", "missing.tfstate"]).code(2);
    assert!(failed.stderr.contains("missing.tfstate"), "{}", failed.stderr);
    assert_eq!(account.beats().last().map(String::as_str), Some("/beat/fail"));
}

/// A state with three provider configurations (the first account in us-east-1 and in
/// eu-west-1, the second account): each is known by the ARN of one of its resources.
fn multi_state() -> Value {
    let provider = |alias: &str| {
        let base = "provider[\"registry.terraform.io/hashicorp/aws\"]";
        if alias.is_empty() { base.to_owned() } else { format!("{base}.{alias}") }
    };
    let resource = |alias: &str, kind: &str, name: &str, attributes: Value| {
        json!({"mode": "managed", "type": kind, "name": name, "provider": provider(alias),
               "instances": [{"attributes": attributes}]})
    };
    let root_usage = |pattern: &str| json!({"id": "RootUsage", "name": "RootUsage", "log_group_name": "cloudtrail", "pattern": pattern});
    let us_pattern = r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#;
    let policy =
        |length: u64| json!({"id": "iam-account-password-policy", "minimum_password_length": length});
    json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "l", "outputs": {}, "resources": [
        resource("", "aws_cloudwatch_log_group", "trail", json!({"id": "cloudtrail",
            "arn": "arn:aws:logs:us-east-1:123456789012:log-group:cloudtrail"})),
        resource("", "aws_cloudwatch_log_metric_filter", "root", root_usage(us_pattern)),
        resource("", "aws_iam_account_password_policy", "this", policy(8)),
        resource("eu", "aws_cloudwatch_log_group", "trail", json!({"id": "cloudtrail",
            "arn": "arn:aws:logs:eu-west-1:123456789012:log-group:cloudtrail"})),
        resource("eu", "aws_cloudwatch_log_metric_filter", "root", root_usage(us_pattern)),
        resource("second", "aws_iam_user", "eve", json!({"id": "eve", "name": "eve", "path": "/",
            "arn": "arn:aws:iam::444455556666:user/eve"})),
        resource("second", "aws_iam_account_password_policy", "this", policy(14)),
    ]})
}

/// Two accounts, two regions: each settings document and each resource found by id is
/// compared with its own, never with the first of its name.
#[test]
fn documents_are_compared_within_their_own_account_and_region() {
    let Some(mut account) = Account::new() else { return };
    account.moto.seed("second_account");
    account.sync();
    let second = account.plumb_with(
        &["sync", "aws", "--regions", "us-east-1,eu-west-1"],
        &[("AWS_ACCESS_KEY_ID", "plumb-second")],
    );
    assert!(second.stderr.contains("synced aws:"), "{}", second.stderr);
    account.env.write("multi.tfstate", &multi_state().to_string());
    let report = account.plumb(&["drift", "--state", "multi.tfstate", "-o", "json"]).ok().json();
    assert_eq!(report["complete"], true, "{}", report["not_comparable"]);
    let changed: Vec<(String, String, String)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "changed")
        .map(|i| {
            let attribute = i["changes"][0]["attribute"].as_str().unwrap();
            (
                i["resource_type"].as_str().unwrap().to_owned(),
                i["account"].as_str().unwrap().to_owned(),
                attribute.to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("aws_cloudwatch_log_metric_filter".to_owned(), "123456789012".to_owned(), "pattern".to_owned()),
            (
                "aws_iam_account_password_policy".to_owned(),
                "444455556666".to_owned(),
                "minimum_password_length".to_owned()
            ),
        ]
    );
    let eu = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "changed" && i["resource_type"] == "aws_cloudwatch_log_metric_filter")
        .unwrap();
    assert!(eu["key"].as_str().unwrap().contains("eu-west-1"), "{eu}");
    assert_eq!(eu["addresses"], json!(["aws_cloudwatch_log_metric_filter.root"]));
}
