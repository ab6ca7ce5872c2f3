//! `plumb drift` without a cloud: states read from files, bad ignore files, report formats,
//! and a sink that keeps failing (the scan still stands).

use serde_json::json;

use crate::fake_http::{FakeHttp, Response};
use crate::support::{Backend, CONFIG, Env, arg, assert_valid_sarif};

const STATE: &str = "tfstate/driftctl-aws_s3_full.tfstate";

#[test]
fn a_bad_ignore_pattern_is_exit_2_with_its_line() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.write(".plumbignore", "# fine\naws_s3_bucket.logs\nAWS.bad\n");
    let run = env.plumb(&["drift"]).code(2);
    assert!(run.stderr.contains(".plumbignore: line 3"), "{}", run.stderr);
    assert!(run.stderr.contains("\"AWS\" is not a Terraform resource type"), "{}", run.stderr);
    let run = env.plumb(&["drift", "--ignore", "nowhere"]).code(2);
    assert!(run.stderr.contains("cannot read the ignore file nowhere"), "{}", run.stderr);
}

/// No live sync ever ran, and S3 ARNs name no account: a state resource not found live is not
/// "missing" (nothing was looked at, and any account may hold it), the scan is incomplete in
/// every format, and --fail-on blocks unless errors are allowed.
#[test]
fn state_resources_of_an_unknown_account_are_not_comparable() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let state = env.fixture(STATE, "s3.tfstate");
    let run = env.plumb(&["drift", "--state", arg(&state), "-o", "json"]).ok();
    let report = run.json();
    assert_eq!(report["items"], json!([]), "{report}");
    assert_eq!(report["totals"]["missing"], 0);
    assert_eq!(report["totals"]["not_comparable"], 6);
    assert_eq!(report["complete"], false);
    let not_comparable = report["not_comparable"].as_array().unwrap();
    assert_eq!(not_comparable.len(), 1, "one line for the state: {report}");
    assert_eq!(not_comparable[0]["resources"], 6, "{report}");
    assert!(
        not_comparable[0]["reason"].as_str().unwrap().contains("do not say which account they are in"),
        "{report}"
    );
    assert!(run.stderr.contains("warning: incomplete scan: 6 resources not compared"), "{}", run.stderr);
    // Bucket parts drift does not compare are counted, never silently dropped.
    assert!(report["unsupported_types"]["aws_s3_bucket_inventory"].as_u64().unwrap() > 0, "{report}");
    let runs = env.plumb(&["run", "list", "--kind", "drift", "-o", "json"]).ok().json();
    assert_eq!(runs["items"][0]["outcome"], "partial");

    let sarif = env.plumb(&["drift", "--state", arg(&state), "-o", "sarif"]).ok();
    assert_valid_sarif(&sarif.stdout);
    let junit = env.plumb(&["drift", "--state", arg(&state), "-o", "junit"]).ok();
    assert!(
        !junit.stdout.contains("<testcase classname=\"plumb drift\" name=\"drift/missing\"/>"),
        "{}",
        junit.stdout
    );
    let html = env.plumb(&["drift", "--state", arg(&state), "-o", "html"]).ok();
    assert!(html.stdout.starts_with("<!DOCTYPE html>"), "{}", html.stdout);
    assert!(html.stdout.contains("<h2>Not compared</h2>") && html.stdout.contains("<h2>Coverage</h2>"));
    env.plumb(&["drift", "--state", arg(&state), "--fail-on", "unmanaged"]).code(1);
    env.plumb(&["drift", "--state", arg(&state), "--fail-on", "unmanaged", "--allow-errors"]).ok();
    let bad = env.plumb(&["drift", "--fail-on", "sideways"]).code(2);
    assert!(bad.stderr.contains("unmanaged, missing, changed"), "{}", bad.stderr);
}

#[test]
fn a_failing_sink_is_recorded_and_the_scan_stands() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let receiver = FakeHttp::start(|_, _, _| Response::status(503, "down"));
    env.write(
        "plumb.toml",
        &format!("{CONFIG}\n[[sink]]\ntype = \"slack\"\nname = \"team\"\nurl_env = \"PLUMB_TEST_SLACK\"\n"),
    );
    let state = env.fixture(STATE, "s3.tfstate");
    let url = format!("{}/services/T0/B0/x", receiver.url);
    let run =
        env.plumb_with(&["drift", "--state", arg(&state), "-o", "json"], &[("PLUMB_TEST_SLACK", &url)]).ok();
    let report = run.json();
    assert_eq!(
        report["alerts"],
        json!([{"sink": "team", "sink_type": "slack", "ok": false, "attempts": 4, "error": report["alerts"][0]["error"]}])
    );
    assert!(report["alerts"][0]["error"].as_str().unwrap().contains("503"), "{report}");
    assert!(run.stderr.contains("warning: sink team (slack) failed after 4 attempts"), "{}", run.stderr);
    assert_eq!(receiver.requests().len(), 4);
    // The items were stored before the alert was tried: the next scan opens nothing new.
    let again = env.plumb_with(&["drift", "--state", arg(&state)], &[("PLUMB_TEST_SLACK", &url)]).ok();
    assert!(again.stderr.contains("0 opened, 0 resolved"), "{}", again.stderr);
    let missing_secret = env.plumb(&["drift", "--state", arg(&state)]).code(2);
    assert!(missing_secret.stderr.contains("PLUMB_TEST_SLACK"), "{}", missing_secret.stderr);
}

#[test]
fn env_keeps_resources_of_other_environments_out() {
    let env = Env::new(Backend::Sqlite).unwrap();
    // A state resource's environment comes from its tags, mapped as sync maps them.
    env.write(
        "plumb.toml",
        &format!("{CONFIG}\n[tags]\nenvironment = [\"Environment\"]\n[tags.environment_values]\nprod = \"production\"\n"),
    );
    let instance = |name: &str, id: &str, environment: &str| {
        json!({"mode": "managed", "type": "aws_instance", "name": name,
               "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
               "instances": [{"attributes": {"id": id, "instance_type": "t3.micro",
                   "arn": format!("arn:aws:ec2:eu-west-1:111122223333:instance/{id}"),
                   "tags": {"Environment": environment}}}]})
    };
    let state = json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "l", "outputs": {},
        "resources": [instance("web", "i-0prod", "prod"), instance("batch", "i-0stage", "staging")]});
    env.write("env.tfstate", &state.to_string());
    // Nothing live was synced, so neither is judged missing; each is left uncompared in its
    // own environment only.
    let uncompared = |environment: &str| -> u64 {
        let args = ["drift", "--state", "env.tfstate", "--env", environment, "-o", "json"];
        let report = env.plumb(&args).ok().json();
        assert_eq!(report["items"], json!([]), "{report}");
        report["totals"]["not_comparable"].as_u64().unwrap()
    };
    assert_eq!(uncompared("production"), 1);
    assert_eq!(uncompared("staging"), 1);
    assert_eq!(uncompared("corporate"), 0);
}
