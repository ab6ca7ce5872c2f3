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

#[test]
fn state_resources_that_are_not_live_are_missing() {
    let env = Env::new(Backend::Sqlite).unwrap();
    let state = env.fixture(STATE, "s3.tfstate");
    let report = env.plumb(&["drift", "--state", arg(&state), "-o", "json"]).ok().json();
    let mut missing: Vec<&str> =
        report["items"].as_array().unwrap().iter().map(|i| i["resource_type"].as_str().unwrap()).collect();
    missing.dedup();
    assert_eq!(missing, ["aws_s3_bucket", "aws_s3_bucket_policy"], "{report}");
    assert_eq!(report["totals"]["missing"], 6);
    assert!(report["items"].as_array().unwrap().iter().all(|i| i["kind"] == "missing"));
    assert_eq!(report["totals"]["live"], 0);
    // Bucket parts drift does not compare are counted, never silently dropped.
    assert!(report["unsupported_types"]["aws_s3_bucket_inventory"].as_u64().unwrap() > 0, "{report}");

    let sarif = env.plumb(&["drift", "--state", arg(&state), "-o", "sarif"]).ok();
    assert_valid_sarif(&sarif.stdout);
    let html = env.plumb(&["drift", "--state", arg(&state), "-o", "html"]).ok();
    assert!(html.stdout.starts_with("<!DOCTYPE html>"), "{}", html.stdout);
    assert!(html.stdout.contains("drift/missing") && html.stdout.contains("<h2>Coverage</h2>"));
    env.plumb(&["drift", "--state", arg(&state), "--fail-on", "unmanaged,missing"]).code(1);
    env.plumb(&["drift", "--state", arg(&state), "--fail-on", "unmanaged"]).ok();
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
fn env_keeps_missing_resources_of_other_environments_out() {
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
    let missing = |environment: &str| -> Vec<String> {
        let args = ["drift", "--state", "env.tfstate", "--env", environment, "-o", "json"];
        let report = env.plumb(&args).ok().json();
        report["items"].as_array().unwrap().iter().map(|i| format!("{} {}", i["kind"], i["id"])).collect()
    };
    assert_eq!(missing("production"), [r#""missing" "i-0prod""#]);
    assert_eq!(missing("staging"), [r#""missing" "i-0stage""#]);
}
