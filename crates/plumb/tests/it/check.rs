//! `plumb check` and `plumb policy`: the inventory pack over real data, findings that open
//! and resolve across runs, conftest policies run unchanged, policy errors, outputs.

use crate::support::{Env, arg, both_backends};

both_backends!(inventory_findings_open_and_resolve, conftest_policies_run_unchanged);

fn add(env: &Env, args: &[&str]) {
    let mut all = vec!["asset", "add"];
    all.extend_from_slice(args);
    env.plumb(&all).ok();
}

fn check(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["check", "--pack", "inventory", "-o", "json"];
    all.extend_from_slice(args);
    env.plumb(&all).ok().json()
}

fn statuses(report: &serde_json::Value, check: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| (f["key"].as_str().unwrap().to_owned(), f["status"].as_str().unwrap().to_owned()))
        .collect();
    found.sort();
    found
}

fn inventory_findings_open_and_resolve(env: &Env) {
    add(
        env,
        &[
            "--key",
            "SN-1",
            "--kind",
            "hardware",
            "--type",
            "laptop",
            "--owner",
            "ana@example.com",
            "--location",
            "HQ",
            "--classification",
            "internal",
            "--financial-ref",
            "FA-1",
        ],
    );
    add(env, &["--key", "SN-2", "--kind", "hardware", "--type", "laptop", "--classification", "restricted"]);
    add(
        env,
        &[
            "--key",
            "db-1",
            "--kind",
            "data",
            "--type",
            "dataset",
            "--environment",
            "production",
            "--location",
            "eu-west-1",
            "--classification",
            "restricted",
        ],
    );

    let first = check(env, &[]);
    assert_eq!(statuses(&first, "inventory/required-fields"), [("SN-2".to_owned(), "fail".to_owned())]);
    assert_eq!(
        statuses(&first, "inventory/endpoint-customer-data"),
        [("SN-2".to_owned(), "fail".to_owned())]
    );
    assert_eq!(statuses(&first, "inventory/financial-ref"), [("SN-2".to_owned(), "fail".to_owned())]);
    let finding = first["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "inventory/required-fields")
        .unwrap()
        .clone();
    for field in [
        "check",
        "controls",
        "key",
        "status",
        "severity",
        "message",
        "evidence",
        "remediation",
        "first_seen",
        "last_seen",
    ] {
        assert!(finding.get(field).is_some(), "{field} missing in {finding}");
    }
    assert_eq!(finding["controls"], serde_json::json!(["INV-01"]));
    assert_eq!(finding["evidence"]["missing"], serde_json::json!(["owner", "location"]));
    let summary = first["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["check"] == "inventory/required-fields")
        .unwrap()
        .clone();
    assert_eq!((summary["pass"].as_u64(), summary["fail"].as_u64()), (Some(2), Some(1)));
    let opened_at = finding["first_seen"].clone();

    // Still failing: the same finding, still open from the first run.
    let second = check(env, &["--all"]);
    let again = second["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "inventory/required-fields" && f["key"] == "SN-2")
        .unwrap()
        .clone();
    assert_eq!(again["first_seen"], opened_at);
    assert!(
        second["findings"].as_array().unwrap().iter().any(|f| f["status"] == "pass"),
        "--all lists passes"
    );

    // Fixed: resolved, with events.
    env.plumb(&["asset", "set", "SN-2", "--owner", "bo@example.com", "--location", "HQ"]).ok();
    let third = check(env, &[]);
    assert!(statuses(&third, "inventory/required-fields").is_empty());
    let runs = env.plumb(&["run", "list", "--kind", "check", "-o", "json"]).ok().json();
    assert_eq!(runs["items"][0]["counts"]["resolved"], 1);
    assert_eq!(runs["items"].as_array().unwrap().len(), 3);
    env.plumb(&["log", "verify"]).ok();

    // --fail-on decides the exit code; table, CSV, SARIF and JUnit all print.
    env.plumb(&["check", "--pack", "inventory", "--fail-on", "high"]).code(1);
    env.plumb(&["check", "--pack", "inventory", "--fail-on", "critical"]).ok();
    let csv = env.plumb(&["check", "--pack", "inventory", "-o", "csv"]).ok().stdout;
    assert!(
        csv.starts_with(
            "check,title,controls,key,status,severity,message,evidence,remediation,first_seen,last_seen\n"
        ),
        "{csv}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&env.plumb(&["check", "--pack", "inventory", "-o", "sarif"]).ok().stdout)
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == "inventory/endpoint-customer-data")
    );
    let junit = env.plumb(&["check", "--pack", "inventory", "-o", "junit"]).ok().stdout;
    assert!(junit.contains("<testsuite") && junit.contains("inventory/financial-ref"), "{junit}");
    let table = env.plumb(&["check", "--pack", "inventory"]).ok().stdout;
    assert!(table.contains("inventory/endpoint-customer-data"), "{table}");
}

fn conftest_policies_run_unchanged(env: &Env) {
    let deployment = serde_json::json!([{
        "key": "k8s:default/deployment/hello-kubernetes", "kind": "software", "type": "kubernetes.deployment",
        "attributes": {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "hello-kubernetes", "labels": {"app.kubernetes.io/name": "mysql"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello-kubernetes"}},
                     "template": {"metadata": {"labels": {"app": "hello-kubernetes"}}, "spec": {"containers": [{"name": "hello", "image": "paulbouwer/hello-kubernetes:1.5"}]}}}
        }
    }, {
        "key": "k8s:default/service/hello", "kind": "software", "type": "kubernetes.service",
        "attributes": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hello"}}
    }]);
    let file = env.write("k8s.json", &deployment.to_string());
    env.plumb(&["asset", "import", arg(&file)]).ok();
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test_data/rego/conftest-kubernetes/policy");
    let report = env.plumb(&["check", "--policy", policy, "-o", "json"]).ok().json();
    let mut messages: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    messages.sort();
    let deployment = "k8s:default/deployment/hello-kubernetes".to_owned();
    assert_eq!(
        messages,
        [
            (deployment.clone(), "high".to_owned(), "Containers must not run as root in Deployment hello-kubernetes".to_owned()),
            (deployment.clone(), "high".to_owned(), "Deployment hello-kubernetes must provide app/release labels for pod selectors".to_owned()),
            (deployment.clone(), "high".to_owned(), "Found deployment hello-kubernetes but deployments are not allowed".to_owned()),
            (deployment, "high".to_owned(), "hello-kubernetes must include Kubernetes recommended labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/#labels".to_owned()),
            ("k8s:default/service/hello".to_owned(), "low".to_owned(), "Found service hello but services are not allowed".to_owned()),
        ]
    );
    assert_eq!(report["findings"][0]["check"], "policy/main");
}

#[test]
fn policy_errors_are_exit_2_with_file_and_line() {
    let env = Env::new(crate::support::Backend::Sqlite).unwrap();
    std::fs::create_dir_all(env.path("bad")).unwrap();
    env.write("bad/broken.rego", "package broken\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n");
    let run = env.plumb(&["check", "--policy", "bad"]).code(2);
    assert!(run.stderr.contains("bad/broken.rego:5:7: expecting `}` while parsing set"), "{}", run.stderr);
    env.write("bad/broken.rego", "# METADATA\n# custom:\n#   id: x\n#   severity: urgent\npackage broken\nimport rego.v1\nfindings := set()\n");
    let run = env.plumb(&["check", "--policy", "bad"]).code(2);
    assert!(
        run.stderr
            .contains("broken.rego: METADATA: severity: expected one of info, low, medium, high, critical"),
        "{}",
        run.stderr
    );
    env.plumb(&["check", "--pack", "nope"]).code(2);
    env.plumb(&["check", "--policy", "missing-dir"]).code(2);
}

#[test]
fn policies_are_listed_and_shown() {
    let env = Env::new(crate::support::Backend::Sqlite).unwrap();
    let list = env.plumb(&["policy", "list", "-o", "json"]).ok().json();
    let ids: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"inventory/production-ownership") && ids.contains(&"cis-aws-1.5/2.1.1"), "{ids:?}");
    let shown = env.plumb(&["policy", "show", "inventory"]).ok().stdout;
    assert!(shown.contains("package plumb.inventory.production_ownership"), "{shown}");
}

/// A user policy cannot hang a run or exhaust the machine: past the time or memory limit it is
/// stopped with exit 2 naming it. A built-in that errs is an error for the keys it was judging,
/// never "undefined" (which would make a deny rule silent, a pass).
#[test]
fn runaway_and_failing_policies_never_pass() {
    let env = Env::new(crate::support::Backend::Sqlite).unwrap();
    env.write(
        "plumb.toml",
        &format!("{}\n[checks]\neval_timeout_seconds = 2\neval_memory_mib = 64\n", crate::support::CONFIG),
    );
    add(&env, &["--key", "SN-1", "--kind", "hardware", "--type", "laptop"]);
    std::fs::create_dir_all(env.path("greedy")).unwrap();
    env.write(
        "greedy/expand.rego",
        "package greedy\nimport rego.v1\ndeny contains msg if { hosts := net.cidr_expand(\"::/64\"); msg := sprintf(\"%d\", [count(hosts)]) }\n",
    );
    let run = env.plumb(&["check", "--policy", "greedy"]).code(2);
    assert!(run.stderr.contains("greedy/greedy"), "{}", run.stderr);
    assert!(
        run.stderr.contains("greedy/expand.rego") && run.stderr.contains("was stopped"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.to_lowercase().contains("memory"), "{}", run.stderr);

    std::fs::create_dir_all(env.path("slow")).unwrap();
    env.write(
        "slow/spin.rego",
        "package spin\nimport rego.v1\ndeny contains msg if { n := count({x | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); x := (i * j) % 7}); msg := sprintf(\"%d\", [n]) }\n",
    );
    let run = env.plumb(&["check", "--policy", "slow"]).code(2);
    assert!(run.stderr.contains("slow/spin.rego") && run.stderr.contains("was stopped"), "{}", run.stderr);
    assert!(run.stderr.contains("exceeded time limit") && run.stderr.contains("2 s"), "{}", run.stderr);

    // A built-in that errs (a time that does not parse) is an error, and blocks with --fail-on.
    std::fs::create_dir_all(env.path("strict")).unwrap();
    env.write(
        "strict/parse.rego",
        "package strict\nimport rego.v1\ndeny contains \"old\" if { time.parse_rfc3339_ns(\"not a time\") < 0 }\n",
    );
    let report = env.plumb(&["check", "--policy", "strict", "-o", "json"]).ok().json();
    let finding = &report["findings"][0];
    assert_eq!(finding["status"], "error", "{report}");
    assert!(finding["message"].as_str().unwrap().contains("the check failed on this input"), "{finding}");
    env.plumb(&["check", "--policy", "strict", "--fail-on", "critical"]).code(1);
}

/// A package of yours named as a built-in one would silently rewire every check that imports
/// it: refused unless --override names it, and then on the run's record.
#[test]
fn replacing_a_built_in_package_needs_override_and_is_recorded() {
    let env = Env::new(crate::support::Backend::Sqlite).unwrap();
    std::fs::create_dir_all(env.path("mine")).unwrap();
    env.write("mine/lib.rego", "package plumb.cis_aws_1_5.lib\nimport rego.v1\nstatus(failed) := \"pass\"\n");
    let refused = env.plumb(&["check", "--pack", "cis-aws-1.5", "--policy", "mine"]).code(2);
    assert!(
        refused.stderr.contains("declares package plumb.cis_aws_1_5.lib, which cis-aws-1.5 already declares"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--override plumb.cis_aws_1_5.lib"), "{}", refused.stderr);
    let unused = env.plumb(&["check", "--policy", "mine", "--override", "plumb.inventory.stale"]).code(2);
    assert!(unused.stderr.contains("--override plumb.inventory.stale"), "{}", unused.stderr);
    let args = [
        "check",
        "--pack",
        "cis-aws-1.5",
        "--policy",
        "mine",
        "--override",
        "plumb.cis_aws_1_5.lib",
        "-o",
        "json",
    ];
    let report = env.plumb(&args).ok().json();
    let runs = env.plumb(&["run", "show", report["run_id"].as_str().unwrap(), "-o", "json"]).ok().json();
    assert_eq!(
        runs["inputs"]["overrides"],
        serde_json::json!([{"package": "plumb.cis_aws_1_5.lib", "by": "mine/lib.rego"}])
    );
    let files = runs["inputs"]["policy_files"].as_array().unwrap();
    assert_eq!(files[0]["path"], "mine/lib.rego");
    assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
}
