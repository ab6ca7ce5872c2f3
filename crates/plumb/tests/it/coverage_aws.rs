//! The first rule, end to end on both backends: never "pass" on what was not seen. A good sync
//! of the moto account, then one with the endpoint down and one with revoked credentials:
//! `check` reports `error` for the keys that rested on the failed scopes (open findings stay
//! open with their first_seen, nothing passes, --fail-on blocks), `drift` calls nothing
//! missing and pings the heartbeat's `/fail`, and data older than the freshness limit is
//! treated the same. A good sync afterwards brings the same findings back, never resolved.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::fake_http::{FakeHttp, Response};
use crate::moto::Moto;
use crate::support::{CONFIG, Env, Run, both_backends};

both_backends!(failed_and_stale_collections_never_pass);

/// A state that manages one seeded bucket and an instance that does not exist.
fn state() -> Value {
    let resource = |kind: &str, name: &str, attributes: Value| {
        json!({"mode": "managed", "type": kind, "name": name,
               "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
               "instances": [{"attributes": attributes}]})
    };
    json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "l", "outputs": {},
    "resources": [
        resource("aws_s3_bucket", "scratch", json!({"id": "plumb-scratch", "bucket": "plumb-scratch",
            "arn": "arn:aws:s3:::plumb-scratch", "region": "us-east-1"})),
        resource("aws_instance", "gone", json!({"id": "i-0123456789abcdef0", "instance_type": "t3.micro",
            "arn": "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"})),
    ]})
}

struct Account<'a> {
    env: &'a Env,
    moto: Moto,
    heartbeat: FakeHttp,
}

impl Account<'_> {
    fn plumb(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut command = self.env.command(args);
        for (key, value) in self.moto.env() {
            command.env(key, value);
        }
        command.env("PLUMB_TEST_HEARTBEAT", format!("{}/beat", self.heartbeat.url));
        Run::from(command.envs(vars.iter().copied()).output().unwrap())
    }

    fn check(&self) -> Value {
        self.plumb(&["check", "--pack", "cis-aws-1.5", "-o", "json"], &[]).ok().json()
    }

    /// The heartbeat paths requested so far.
    fn beats(&self) -> Vec<String> {
        self.heartbeat.requests().into_iter().map(|r| r.path).collect()
    }
}

/// (check, key) → (status, first_seen) of every result that is not a pass.
fn results(report: &Value) -> BTreeMap<(String, String), (String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let id = (f["check"].as_str().unwrap().to_owned(), f["key"].as_str().unwrap().to_owned());
            (id, (f["status"].as_str().unwrap().to_owned(), f["first_seen"].as_str().unwrap().to_owned()))
        })
        .collect()
}

fn total(report: &Value, field: &str) -> u64 {
    report["summary"].as_array().unwrap().iter().map(|s| s[field].as_u64().unwrap()).sum()
}

fn failed_and_stale_collections_never_pass(env: &Env) {
    let Some(mut moto) = Moto::start() else { return };
    moto.seed("account");
    env.write(
        "plumb.toml",
        &format!("{CONFIG}\n[[sink]]\ntype = \"heartbeat\"\nurl_env = \"PLUMB_TEST_HEARTBEAT\"\n"),
    );
    env.write("drift.tfstate", &state().to_string());
    let account = Account { env, moto, heartbeat: FakeHttp::start(|_, _, _| Response::json(json!({}))) };
    let bob = "arn:aws:iam::123456789012:user/bob";

    // A good sync (partial only where Access Analyzer is denied), then check and drift.
    account.plumb(&["sync", "aws", "--regions", "us-east-1,eu-west-1"], &[]).code(1);
    let good = account.check();
    let before = results(&good);
    assert_eq!(before[&("cis-aws-1.5/1.10".to_owned(), bob.to_owned())].0, "fail");
    assert!(total(&good, "pass") > 30, "{}", total(&good, "pass"));
    let drift = account.plumb(&["drift", "--state", "drift.tfstate", "-o", "json"], &[]).ok().json();
    let missing: Vec<&str> = drift["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "missing")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["i-0123456789abcdef0"]);
    let unmanaged = drift["totals"]["unmanaged"].as_u64().unwrap();
    assert!(unmanaged > 10, "{unmanaged}");
    assert_eq!(account.beats(), ["/beat"]);

    // The endpoint is down, then the credentials are revoked: each sync exits 3 and fails
    // every scope the collection covered.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = format!("http://127.0.0.1:{closed}");
    for (vars, said) in [
        (vec![("AWS_ENDPOINT_URL", down.as_str())], "cannot reach AWS"),
        (vec![("AWS_ACCESS_KEY_ID", "plumb-revoked")], "AWS refused the credentials"),
    ] {
        let sync = account.plumb(&["sync", "aws", "--regions", "us-east-1,eu-west-1"], &vars).code(3);
        assert!(sync.stderr.contains(said), "{}", sync.stderr);
        let status = account.plumb(&["sync", "status", "-o", "json"], &[]).ok().json();
        let scopes = status["items"].as_array().unwrap();
        assert_eq!(scopes.len(), 27, "{status}");
        assert!(scopes.iter().all(|s| s["health"] == "failed"), "{status}");
        assert!(scopes.iter().all(|s| s["error"].as_str().unwrap().contains(said)), "{status}");

        // Nothing passes; what failed before is an error now, open since it first failed.
        let report = account.check();
        assert_eq!(total(&report, "pass"), 0, "{}", report["summary"]);
        assert_eq!(total(&report, "fail"), 0, "{}", report["summary"]);
        let after = results(&report);
        for (id, (status, first_seen)) in &before {
            let (now, kept) = after.get(id).unwrap_or_else(|| panic!("{id:?} is no longer reported"));
            assert_eq!(now, "error", "{id:?}");
            assert_eq!(kept, first_seen, "{id:?} lost its first_seen (was {status})");
        }
        let message = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "cis-aws-1.5/1.10" && f["key"] == bob)
            .unwrap()["message"]
            .clone();
        let message = message.as_str().unwrap();
        assert!(
            message.contains("aws:123456789012:global:iam failed at") && message.contains(said),
            "{message}"
        );
        assert!(message.contains("the last result was"), "{message}");
        account.plumb(&["check", "--pack", "cis-aws-1.5", "--fail-on", "critical"], &[]).code(1);
        // Allowing errors lets through what was never judged, never a failure an error now
        // hides: the account's critical failures (root without MFA, …) still block.
        let hidden = |severity: &str| {
            good["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["status"] == "fail" && f["severity"] == severity)
        };
        assert!(hidden("critical") || hidden("high"), "the seeded account fails a critical or high check");
        for (threshold, blocks) in [("critical", hidden("critical")), ("high", true)] {
            let args = ["check", "--pack", "cis-aws-1.5", "--fail-on", threshold, "--allow-errors"];
            account.plumb(&args, &[]).code(i32::from(blocks));
        }
        let junit = account.plumb(&["check", "--pack", "cis-aws-1.5", "-o", "junit"], &[]).ok();
        assert!(junit.stdout.contains("<error message=\"not evaluated:"), "{}", junit.stdout);
        assert!(!junit.stdout.contains(" errors=\"0\""), "{}", junit.stdout);

        // Drift calls nothing missing on a scope it could not see, keeps the missing
        // instance open, and tells the heartbeat the scan failed.
        let beats = account.beats().len();
        let run = account.plumb(&["drift", "--state", "drift.tfstate", "-o", "json"], &[]).ok();
        let drift = run.json();
        assert_eq!(drift["items"], json!([]), "{drift}");
        assert_eq!(drift["complete"], false);
        // Every live resource and both state resources were left uncompared.
        let uncompared = drift["totals"]["not_comparable"].as_u64().unwrap();
        assert_eq!(uncompared, unmanaged + 2, "{}", drift["not_comparable"]);
        assert_eq!(account.beats()[beats..], ["/beat/fail"]);
        account.plumb(&["drift", "--state", "drift.tfstate", "--fail-on", "missing"], &[]).code(1);
        let history = account
            .plumb(&["drift", "--history", "terraform:drift.tfstate:aws_instance.gone", "-o", "json"], &[])
            .ok()
            .json();
        let actions: Vec<&str> =
            history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(!actions.contains(&"resolved"), "{history}");
    }

    // Data older than the limit is no better than failed data.
    account.plumb(&["sync", "aws", "--regions", "us-east-1,eu-west-1"], &[]).code(1);
    env.write("plumb.toml", &format!("{CONFIG}\n[checks]\nmax_data_age_hours = 0\n"));
    std::thread::sleep(std::time::Duration::from_millis(10));
    let stale = account.check();
    assert_eq!(total(&stale, "pass"), 0, "{}", stale["summary"]);
    let message = stale["findings"].as_array().unwrap()[0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("is stale: last complete collection"), "{message}");

    // A good sync within the limit: the same findings fail again, open all along.
    env.write("plumb.toml", CONFIG);
    let recovered = results(&account.check());
    for (id, (status, first_seen)) in &before {
        assert_eq!(&recovered[id], &(status.clone(), first_seen.clone()), "{id:?}");
    }
    account.plumb(&["log", "verify"], &[]).ok();
}
