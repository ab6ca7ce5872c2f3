//! The first rule without a cloud, on both backends: recordings replayed with `plumb sync
//! snapshot` stand for nights of collection. An error that hides a failure still blocks, a run
//! of one environment or of some states resolves nothing it did not look at, an old recording
//! replayed over a newer collection changes nothing, a collection time in the future is not
//! believed, and drift calls nothing unmanaged against a state it could not read.

use serde_json::{Value, json};

use crate::support::{CONFIG, Env, both_backends};

both_backends!(
    an_error_that_hides_a_failure_still_blocks,
    drift_resolves_only_what_it_looked_at,
    an_unread_state_makes_nothing_unmanaged,
);

const ACCOUNT: &str = "111122223333";

/// `plumb.toml` with environments read from the `Environment` tag.
fn config(env: &Env) {
    env.write(
        "plumb.toml",
        &format!("{CONFIG}\n[tags]\nenvironment = [\"Environment\"]\n[tags.environment_values]\nprod = \"production\"\n"),
    );
}

/// A time `hours` from now (negative: in the past), as a recording states it.
fn hours_from_now(hours: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours)).to_string()
}

/// Writes a recording made at `at`: its lines between the header and the end line.
fn record(env: &Env, name: &str, at: &str, lines: &[Value]) {
    let resources = lines.iter().filter(|line| line.get("type").is_some()).count();
    let mut text = format!("{}\n", json!({"snapshot": {"collected_at": at}}));
    for line in lines {
        text.push_str(&format!("{line}\n"));
    }
    text.push_str(&format!("{}\n", json!({"snapshot_end": {"resources": resources}})));
    env.write(name, &text);
}

fn complete(scope: &str) -> Value {
    json!({"scope_complete": scope})
}

/// A customer KMS key of us-east-1 without rotation (CIS 3.8 fails it).
fn key(id: &str, environment: &str) -> Value {
    json!({"scope": format!("aws:{ACCOUNT}:us-east-1:kms"), "type": "aws.kms.key", "native_id": id,
           "arn": key_arn(id), "account": ACCOUNT, "region": "us-east-1", "tags": {"Environment": environment},
           "attributes": {"KeyId": id, "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
                          "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyRotationEnabled": false}})
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}")
}

/// CIS 3.8's results: key → (status, first_seen).
fn rotation(env: &Env, args: &[&str]) -> Vec<(String, String, String)> {
    let mut command = vec!["check", "--pack", "cis-aws-1.5", "-o", "json"];
    command.extend_from_slice(args);
    let report = env.plumb(&command).ok().json();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "cis-aws-1.5/3.8")
        .map(|f| {
            let text = |field: &str| f[field].as_str().unwrap().to_owned();
            (text("key"), text("status"), text("first_seen"))
        })
        .collect()
}

fn an_error_that_hides_a_failure_still_blocks(env: &Env) {
    config(env);
    let kms = format!("aws:{ACCOUNT}:us-east-1:kms");
    record(
        env,
        "night1.jsonl",
        &hours_from_now(-2),
        &[complete(&kms), key("k-prod", "prod"), key("k-stage", "staging")],
    );
    env.plumb(&["sync", "snapshot", "night1.jsonl"]).ok();
    let first = rotation(env, &[]);
    let first_seen = |results: &[(String, String, String)], key: &str| {
        results.iter().find(|r| r.0 == key_arn(key)).map(|r| (r.1.clone(), r.2.clone()))
    };
    let prod = first_seen(&first, "k-prod").unwrap();
    assert_eq!(prod.0, "fail");

    // A run of staging judges staging's key only and resolves nothing of production.
    let staging = rotation(env, &["--env", "staging"]);
    assert_eq!(staging.len(), 1, "{staging:?}");
    assert_eq!(first_seen(&rotation(env, &[]), "k-prod"), Some(prod.clone()));

    // The next night KMS was denied: the failure is an error now, kept open since it first
    // failed, and it blocks --fail-on even when errors are allowed (it hides a failure).
    record(
        env,
        "night2.jsonl",
        &hours_from_now(-1),
        &[json!({"scope_failed": kms, "error": "AccessDeniedException"})],
    );
    let sync = env.plumb(&["sync", "snapshot", "night2.jsonl"]).code(1);
    assert!(sync.stderr.contains("AccessDeniedException"), "{}", sync.stderr);
    let kept = first_seen(&rotation(env, &[]), "k-prod").unwrap();
    assert_eq!(kept, ("error".to_owned(), prod.1.clone()));
    let args = ["check", "--pack", "cis-aws-1.5", "--fail-on", "medium", "--allow-errors"];
    env.plumb(&args).code(1);
    env.plumb(&["check", "--pack", "cis-aws-1.5", "--fail-on", "high", "--allow-errors"]).ok();

    // Last week's recording replayed now: older than the last complete collection, so it
    // marks nothing absent and completes nothing.
    record(env, "last-week.jsonl", &hours_from_now(-24 * 7), &[complete(&kms)]);
    let replay = env.plumb(&["sync", "snapshot", "last-week.jsonl"]).code(1);
    assert!(replay.stderr.contains("before the last complete collection"), "{}", replay.stderr);
    let asset = env.plumb(&["asset", "show", &key_arn("k-prod"), "-o", "json"]).ok().json();
    assert_eq!(asset["absent_since"], Value::Null, "{asset}");
    assert_eq!(first_seen(&rotation(env, &[]), "k-prod"), Some(kept));

    // A recording that says it was made tomorrow never ages: not believed.
    record(env, "tomorrow.jsonl", &hours_from_now(24), &[complete(&kms), key("k-prod", "prod")]);
    env.plumb(&["sync", "snapshot", "tomorrow.jsonl"]).ok();
    let status = env.plumb(&["sync", "status", "-o", "json"]).ok().json();
    let scope = status["items"].as_array().unwrap().iter().find(|s| s["scope"] == kms.as_str()).unwrap();
    assert_eq!(scope["health"], "future", "{status}");
    let future = first_seen(&rotation(env, &[]), "k-prod").unwrap();
    assert_eq!(future, ("error".to_owned(), prod.1));
    env.plumb(&["log", "verify"]).ok();
}

/// A Terraform state managing one instance of us-east-1 (`NAME.tfstate`, instance `i-NAME`).
fn state(env: &Env, name: &str) {
    let id = format!("i-{name}");
    let state = json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": name, "outputs": {},
        "resources": [{"mode": "managed", "type": "aws_instance", "name": "web",
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"attributes": {"id": id, "instance_type": "t3.micro",
                "arn": format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{id}")}}]}]});
    env.write(&format!("{name}.tfstate"), &state.to_string());
}

fn instance(id: &str) -> Value {
    json!({"scope": format!("aws:{ACCOUNT}:us-east-1:ec2"), "type": "aws.ec2.instance", "native_id": id,
           "arn": format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{id}"), "account": ACCOUNT,
           "region": "us-east-1", "attributes": {"InstanceId": id, "InstanceType": "t3.micro", "State": "running"}})
}

/// The actions in a drift key's history.
fn history(env: &Env, key: &str) -> Vec<String> {
    let report = env.plumb(&["drift", "--history", key, "-o", "json"]).ok().json();
    report["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

fn drift(env: &Env, args: &[&str]) -> Value {
    let mut command = vec!["drift", "-o", "json"];
    command.extend_from_slice(args);
    env.plumb(&command).ok().json()
}

fn kinds(report: &Value) -> Vec<(String, String)> {
    let mut items: Vec<(String, String)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap().to_owned(), i["id"].as_str().unwrap().to_owned()))
        .collect();
    items.sort();
    items
}

fn drift_resolves_only_what_it_looked_at(env: &Env) {
    let ec2 = format!("aws:{ACCOUNT}:us-east-1:ec2");
    record(env, "live.jsonl", &hours_from_now(-1), &[complete(&ec2)]);
    env.plumb(&["sync", "snapshot", "live.jsonl"]).ok();
    state(env, "a");
    state(env, "b");
    let both = drift(env, &["--state", "a.tfstate", "--state", "b.tfstate"]);
    assert_eq!(kinds(&both), [("missing".into(), "i-a".into()), ("missing".into(), "i-b".into())], "{both}");
    // A scan of a alone says nothing of b's resources: b's instance stays missing.
    let a = drift(env, &["--state", "a.tfstate"]);
    assert_eq!(kinds(&a), [("missing".to_owned(), "i-a".to_owned())], "{a}");
    let b = history(env, "terraform:b.tfstate:aws_instance.web");
    assert!(!b.iter().any(|action| action == "resolved"), "{b:?}");
    assert!(
        drift(env, &["--state", "a.tfstate", "--state", "b.tfstate"])["items"].as_array().unwrap().len() == 2
    );
    let again = env.plumb(&["drift", "--state", "a.tfstate", "--state", "b.tfstate"]).ok();
    assert!(again.stderr.contains("0 opened, 0 resolved"), "{}", again.stderr);
}

fn an_unread_state_makes_nothing_unmanaged(env: &Env) {
    // Drift without any synced state has nothing to compare with: an input error, not "all
    // unmanaged".
    let ec2 = format!("aws:{ACCOUNT}:us-east-1:ec2");
    record(env, "live.jsonl", &hours_from_now(-1), &[complete(&ec2), instance("i-a"), instance("i-stray")]);
    env.plumb(&["sync", "snapshot", "live.jsonl"]).ok();
    let never = env.plumb(&["drift"]).code(2);
    assert!(never.stderr.contains("no Terraform state was ever synced"), "{}", never.stderr);

    state(env, "a");
    env.plumb(&["sync", "terraform", "a.tfstate"]).ok();
    let good = drift(env, &[]);
    assert_eq!(kinds(&good), [("unmanaged".to_owned(), "i-stray".to_owned())], "{good}");

    // The state cannot be read the next night: the stray instance may be managed by what
    // the state now holds, so it is not comparable (and stays open), never resolved.
    env.write("a.tfstate", "{\"version\": 4, \"resources\": [");
    env.plumb(&["sync", "terraform", "a.tfstate"]).code(2);
    let unread = drift(env, &[]);
    assert_eq!(unread["items"], json!([]), "{unread}");
    assert_eq!(unread["complete"], false, "{unread}");
    assert!(unread["totals"]["not_comparable"].as_u64().unwrap() >= 1, "{unread}");
    let stray = history(env, &format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-stray"));
    assert!(!stray.iter().any(|action| action == "resolved"), "{stray:?}");
    env.plumb(&["drift", "--fail-on", "unmanaged"]).code(1);
}
