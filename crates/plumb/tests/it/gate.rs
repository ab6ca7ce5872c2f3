//! The CI gates and the change audit, driving the real binary: scanner reports as scanners
//! write them (fixtures and real-world files), Dockerfiles, Terraform trees, golden SARIF and
//! JUnit files, and a local GitHub.

use std::path::Path;

use serde_json::{Value, json};

use crate::fake_http::{FakeHttp, Request, Response};
use crate::support::{Env, assert_valid_sarif, both_backends};

both_backends!(image_scan_is_recorded_on_the_image_asset, change_audit_is_recorded_as_evidence);

const DIGEST: &str = "sha256:4f1b5933fe4b5f49bbe8258745cf396afe07e625bdab3168e364daf7c956b6b8";
const BASELINE: &str = r#"
[[baseline.image]]
repository = "registry.example.com/hardened/golang"
description = "Go toolchain, CIS Level 1"

[[baseline.image]]
repository = "registry.example.com/hardened/distroless-static"

[[baseline.image]]
repository = "registry.example.com/hardened/debian"
"#;

/// `gate image` on a fixture report with the fixture ignore file and VEX document.
fn image_args(report: &str) -> Vec<String> {
    let args = [
        "gate",
        "image",
        "--report",
        report,
        "--ignore-file",
        "gate/trivyignore",
        "--vex",
        "gate/openvex.json",
    ];
    args.map(str::to_owned).to_vec()
}

/// The arguments as `&str`, for `Env::plumb`.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// (id, decision, number of locations) of every finding of a `gate image -o json` run.
fn decisions(json: &Value) -> Vec<(String, String, usize)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let id = f["id"].as_str().unwrap().to_owned();
            (
                id,
                f["decision"]["decision"].as_str().unwrap().to_owned(),
                f["locations"].as_array().unwrap().len(),
            )
        })
        .collect()
}

#[test]
fn image_gate_decides_the_same_whatever_the_scanner_wrote() {
    let env = Env::bare();
    env.fixture("gate", "gate");
    let expected = [
        ("CVE-2021-44228", "vex"),
        ("CVE-2023-45853", "excepted"),
        ("CVE-2024-2961", "blocked"),
        ("GHSA-29mw-wpgm-hmr9", "blocked"),
        ("CVE-2024-28182", "allowed"),
        ("CVE-2024-35195", "allowed"),
        ("CVE-2099-0001", "allowed"),
    ];
    for report in
        ["trivy-layers.json", "grype-layers.json", "sarif-layers.sarif.json", "cyclonedx-layers.cdx.json"]
    {
        let args = image_args(&format!("gate/{report}"));
        let run = env.plumb(&[&strs(&args)[..], &["-o", "json"]].concat()).code(1);
        let json = run.json();
        let got: Vec<(String, String)> = decisions(&json).into_iter().map(|(id, d, _)| (id, d)).collect();
        let want: Vec<(String, String)> =
            expected.iter().map(|(i, d)| (i.to_string(), d.to_string())).collect();
        assert_eq!(got, want, "{report}");
        assert_eq!(json["image"], "registry.example.com/shop/api:1.4.2", "{report}");
        assert_eq!(json["expired_exceptions"][0]["id"], "CVE-2024-2961", "{report}");
        assert_eq!(json["run_id"], Value::Null, "no database: nothing recorded");
    }
    // Trivy and Grype name both layers: the glibc CVE is one finding with two locations.
    let run = env.plumb(&["gate", "image", "--report", "gate/trivy-layers.json", "-o", "json"]).code(1);
    let glibc = decisions(&run.json()).into_iter().find(|(id, _, _)| id == "CVE-2024-2961").unwrap();
    assert_eq!(glibc.2, 2);

    let table = env.plumb(&strs(&image_args("gate/trivy-layers.json"))).code(1);
    // What blocked, what was excepted until when, and the fixed versions, one row each.
    let rows: [(&str, &[&str]); 3] = [
        ("CVE-2024-2961", &["BLOCKED", "2.36-9+deb12u7", "exception expired (gate/trivyignore:6)"]),
        ("CVE-2023-45853", &["EXCEPTED", "no fix yet", "until 2099-12-31 (gate/trivyignore:3)"]),
        ("CVE-2021-44228", &["VEX", "not_affected: vulnerable_code_not_in_execute_path"]),
    ];
    for (id, parts) in rows {
        let line = table.stdout.lines().find(|l| l.contains(id)).unwrap();
        assert!(parts.iter().all(|part| line.contains(part)), "{line}");
    }
    assert!(table.stdout.contains(
        "expired exception: gate/trivyignore:6 CVE-2024-2961 (expired 2024-06-01; suppresses nothing)"
    ));
    assert!(table.stderr.contains("7 vulnerabilities (8 reported; CRITICAL 2, HIGH 2, MEDIUM 2, UNKNOWN 1): 2 blocked, 1 excepted, 1 not affected or fixed (VEX), 3 below HIGH,CRITICAL"), "{}", table.stderr);
}

#[test]
fn trivy_yaml_ignore_files_limit_entries_to_their_purls() {
    let env = Env::bare();
    env.fixture("gate", "gate");
    let with_ignore = |file: &str, more: &[&str]| {
        let args = ["gate", "image", "--report", "gate/trivy-layers.json", "--ignore-file", file];
        env.plumb(&[&args[..], more].concat())
    };
    let json = with_ignore("gate/trivyignore.yaml", &["-o", "json"]).code(1).json();
    let got = decisions(&json);
    assert!(
        got.contains(&("GHSA-29mw-wpgm-hmr9".to_owned(), "blocked".to_owned(), 1)),
        "the entry is for lodash 4.17.19 only: {got:?}"
    );
    let zlib = json["findings"].as_array().unwrap().iter().find(|f| f["id"] == "CVE-2023-45853").unwrap();
    assert_eq!(
        zlib["decision"],
        json!({"decision": "excepted", "source": "gate/trivyignore.yaml: vulnerabilities[0]", "until": "2099-12-31", "statement": "MiniZip is not linked by the API (SEC-142)"})
    );
    let bad =
        env.write("bad.trivyignore.yaml", "vulnerabilities:\n  - id: CVE-1\n    expires_at: 2020-01-01\n");
    let run = with_ignore(crate::support::arg(&bad), &[]).code(2);
    assert!(run.stderr.contains("unknown field `expires_at`"), "{}", run.stderr);
}

#[test]
fn real_world_reports_as_their_scanners_wrote_them() {
    let env = Env::bare();
    env.fixture("trivy", "realworld/trivy");
    env.fixture("grype", "realworld/grype");
    // (file, format, exit code, vulnerabilities reported, findings that block)
    let rows = [
        ("trivy/trivy-alpine-39.json", "trivy", 1, 6, 2),
        ("trivy/trivy-debian-buster.json", "trivy", 1, 2, 1),
        ("trivy/trivy-centos-7.json", "trivy", 0, 3, 0),
        ("trivy/trivy-ubuntu-1804.json", "trivy", 0, 5, 0),
        ("trivy/trivy-fluentd-gems.json", "trivy", 1, 2, 2),
        ("trivy/trivy-spring4shell-jre11.json", "trivy", 1, 1, 1),
        ("trivy/trivy-gomod.json", "trivy", 0, 5, 0),
        ("trivy/trivy-sl-micro-rancher5.4.json", "trivy", 0, 0, 0),
        ("trivy/defectdojo-scheme_2_many_vulns.json", "trivy", 1, 5, 2),
        ("trivy/defectdojo-scheme_2_no_vuln.json", "trivy", 0, 0, 0),
        ("trivy/defectdojo-issue_9333.json", "trivy", 0, 13, 0),
        ("trivy/trivy-alpine-310.sarif.json", "sarif", 0, 4, 0),
        ("trivy/trivy-debian-buster-2021.sarif.json", "sarif", 1, 99, 5),
        ("trivy/trivy-fluentd-multiple-lockfiles-short.cdx.json", "cyclonedx", 1, 3, 2),
        ("trivy/defectdojo-cyclonedx-issue_9277.cdx.json", "cyclonedx", 0, 14, 0),
        ("grype/grype-TestJsonImgsPresenter.json", "grype", 1, 2, 1),
        ("grype/defectdojo-issue_9618.json", "grype", 1, 35, 19),
        ("grype/defectdojo-many_vulns_with_epss_values.json", "grype", 1, 15, 11),
        ("grype/defectdojo-fix_available.json", "grype", 1, 1, 1),
        ("grype/defectdojo-many_vulns4.json", "grype", 1, 9, 4),
        ("grype/defectdojo-no_vuln.json", "grype", 0, 0, 0),
    ];
    for (file, format, code, reported, blocked) in rows {
        let path = format!("realworld/{file}");
        let json = env.plumb(&["gate", "image", "--report", &path, "-o", "json"]).code(code).json();
        assert_eq!(json["format"], format, "{file}");
        assert_eq!(json["reported"], reported, "{file}");
        assert_eq!(json["decisions"]["blocked"], blocked, "{file}");
    }
    // The one Grype match without a severity is UNKNOWN, said so, and blocks only when asked.
    let json = env
        .plumb(&["gate", "image", "--report", "realworld/grype/defectdojo-issue_9618.json", "-o", "json"])
        .code(1)
        .json();
    assert_eq!(json["vulnerabilities"]["UNKNOWN"], 1);
    let gomod = "realworld/trivy/trivy-gomod.json";
    let json = env
        .plumb(&["gate", "image", "--report", gomod, "--fail-on", "UNKNOWN,HIGH,CRITICAL", "-o", "json"])
        .code(1)
        .json();
    assert_eq!(json["decisions"]["blocked"], 2);
    let run = env.plumb(&["gate", "image", "--report", gomod, "--fail-on", "HIGH,SEVERE"]).code(2);
    assert!(
        run.stderr.contains("\"SEVERE\" is not one of CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN"),
        "{}",
        run.stderr
    );
    // A format named explicitly is used as is; the wrong one fails on the document's fields.
    env.plumb(&["gate", "image", "--report", gomod, "--format", "trivy"]).ok();
    let run = env.plumb(&["gate", "image", "--report", gomod, "--format", "grype"]).code(2);
    assert!(
        run.stderr.contains("realworld/trivy/trivy-gomod.json: (document): not a grype report"),
        "{}",
        run.stderr
    );
}

#[test]
fn invalid_and_empty_reports() {
    let env = Env::bare();
    env.fixture("gate", "gate");
    let run = env.plumb(&["gate", "image", "--report", "gate/trivy-invalid.json"]).code(2);
    assert!(
        run.stderr.contains("error: gate/trivy-invalid.json:6:")
            && run.stderr.contains("not valid JSON: trailing comma"),
        "{}",
        run.stderr
    );
    let run = env.plumb(&["gate", "image", "--report", "gate/trivy-empty.json"]).ok();
    assert_eq!(run.stdout, "nothing blocks: no vulnerability at a failing severity\n");
    let empty = env.write("empty.json", "");
    let run = env.plumb(&["gate", "image", "--report", crate::support::arg(&empty)]).code(2);
    assert!(run.stderr.contains("the file is empty"), "{}", run.stderr);
    let other = env.write("other.json", "{\"name\": \"not a report\"}");
    let run = env.plumb(&["gate", "image", "--report", crate::support::arg(&other)]).code(2);
    assert!(run.stderr.contains("not a Trivy, Grype, SARIF or CycloneDX report"), "{}", run.stderr);
    let run = env.plumb(&["gate", "image", "--report", "missing.json"]).code(2);
    assert!(run.stderr.contains("cannot read missing.json"), "{}", run.stderr);
}

#[test]
fn gates_touch_no_database_without_one() {
    let env = Env::bare();
    env.fixture("gate", "gate");
    env.plumb(&["gate", "image", "--report", "gate/trivy-layers.json"]).code(1);
    env.plumb(&["gate", "iac", "gate/terraform/live"]).ok();
    let names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["gate"], "no plumb.db or other file was created");
}

fn image_scan_is_recorded_on_the_image_asset(env: &Env) {
    env.fixture("gate", "gate");
    let run = env.plumb(&["gate", "image", "--report", "gate/trivy-layers.json"]).code(1);
    assert!(run.stderr.contains("recorded as run "), "{}", run.stderr);
    let asset =
        env.plumb(&["asset", "show", "registry.example.com/shop/api:1.4.2", "-o", "json"]).ok().json();
    assert_eq!(
        (&asset["kind"], &asset["type"], &asset["status"], &asset["source"]),
        (&json!("software"), &json!("container_image"), &json!("discovered"), &json!("gate"))
    );
    let scan = &asset["attributes"]["scan"];
    assert_eq!(scan["outcome"], "blocked");
    assert_eq!(scan["vulnerabilities"], json!({"CRITICAL": 2, "HIGH": 2, "MEDIUM": 2, "UNKNOWN": 1}));
    assert_eq!(
        scan["blocked"],
        json!([
            "CVE-2021-44228 log4j-core 2.14.1",
            "CVE-2023-45853 zlib1g 1:1.2.13.dfsg-1",
            "CVE-2024-2961 libc6 2.36-9+deb12u4",
            "GHSA-29mw-wpgm-hmr9 lodash 4.17.20"
        ])
    );
    let first_run = scan["run_id"].as_str().unwrap().to_owned();
    // The asset's creation and the run, each with its event.
    assert_eq!(env.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"], 2);

    env.plumb(&strs(&image_args("gate/grype-layers.json"))).code(1);
    let asset =
        env.plumb(&["asset", "show", "registry.example.com/shop/api:1.4.2", "-o", "json"]).ok().json();
    let scan = &asset["attributes"]["scan"];
    assert_eq!(
        (&scan["format"], &scan["decisions"]["excepted"], &scan["decisions"]["vex"]),
        (&json!("grype"), &json!(1), &json!(1))
    );
    assert_ne!(scan["run_id"], first_run);
    assert_eq!(env.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"], 4);
    let history = env.plumb(&["asset", "history", "registry.example.com/shop/api:1.4.2", "-o", "json"]).ok();
    assert!(history.stdout.contains("scanned"), "{}", history.stdout);

    // --image names the asset; a passing scan is recorded too.
    let run = env
        .plumb(&[
            "gate",
            "image",
            "--report",
            "gate/trivy-empty.json",
            "--image",
            "registry.example.com/shop/api@sha256:abc",
        ])
        .ok();
    assert!(run.stderr.contains("recorded as run"), "{}", run.stderr);
    let asset =
        env.plumb(&["asset", "show", "registry.example.com/shop/api@sha256:abc", "-o", "json"]).ok().json();
    assert_eq!(asset["attributes"]["scan"]["outcome"], "passed");
}

fn baseline_env() -> Env {
    let env = Env::bare();
    env.write("plumb.toml", BASELINE);
    env.fixture("gate/docker", "docker");
    env
}

#[test]
fn dockerfile_gate_names_file_line_and_rule() {
    let env = baseline_env();
    let run = env.plumb(&["gate", "dockerfile", "docker/Dockerfile"]).ok();
    assert_eq!(run.stdout, "every FROM is an approved baseline image pinned by digest\n");
    assert!(run.stderr.contains("1 Dockerfile(s), 3 FROM line(s): 0 violation(s)"), "{}", run.stderr);
    let run = env
        .plumb(&["gate", "dockerfile", "docker/Dockerfile", "docker/Dockerfile.legacy", "-o", "json"])
        .code(1);
    let json = run.json();
    let violations: Vec<(u64, String)> = json["files"][1]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["line"].as_u64().unwrap(), v["rule"].as_str().unwrap().to_owned()))
        .collect();
    let expect =
        [(2, "not-approved"), (2, "not-pinned"), (3, "not-pinned"), (4, "not-pinned"), (5, "unresolved")];
    assert_eq!(violations, expect.map(|(l, r)| (l, r.to_owned())));
    let froms: Vec<&str> =
        json["files"][0]["froms"].as_array().unwrap().iter().map(|f| f["image"].as_str().unwrap()).collect();
    assert_eq!(
        froms,
        [
            format!("registry.example.com/hardened/golang:1.22@{DIGEST}").as_str(),
            "build",
            &format!("registry.example.com/hardened/distroless-static:nonroot@{DIGEST}")
        ]
    );
    let base = format!("BASE=registry.example.com/hardened/debian@{DIGEST}");
    let json = env
        .plumb(&["gate", "dockerfile", "docker/Dockerfile.legacy", "--build-arg", &base, "-o", "json"])
        .code(1)
        .json();
    assert_eq!(json["files"][0]["violations"].as_array().unwrap().len(), 4, "the build arg resolves line 5");
    let run = env.plumb(&["gate", "dockerfile", "docker/Dockerfile.broken"]).code(2);
    assert!(
        run.stderr.contains("error: docker/Dockerfile.broken:2: heredoc <<EOF is not terminated"),
        "{}",
        run.stderr
    );
    env.write("plumb.toml", "[[baseline.image]]\nrepository = \"python:3.12\"\n");
    let run = env.plumb(&["gate", "dockerfile", "docker/Dockerfile"]).code(2);
    assert!(run.stderr.contains("without tag or digest"), "{}", run.stderr);
}

#[test]
fn dockerfile_gate_reads_real_world_dockerfiles() {
    let env = Env::bare();
    env.fixture("dockerfile", "dockerfile");
    // (file, FROM lines, violations with no baseline: every pulled image unapproved, and unpinned ones)
    let rows = [
        ("conftest.Dockerfile", 6, 4),
        ("defectdojo-Dockerfile.django-alpine", 5, 1),
        ("defectdojo-Dockerfile.nginx-alpine", 4, 2),
        ("infracost.Dockerfile", 2, 4),
        ("prowler-ui.Dockerfile", 5, 1),
        ("vector-regression.Dockerfile", 2, 3),
        ("vector-tests-e2e.Dockerfile", 4, 2),
    ];
    for (file, froms, violations) in rows {
        let path = format!("dockerfile/{file}");
        let json = env.plumb(&["gate", "dockerfile", &path, "-o", "json"]).code(1).json();
        assert_eq!(json["files"][0]["froms"].as_array().unwrap().len(), froms, "{file}");
        assert_eq!(json["files"][0]["violations"].as_array().unwrap().len(), violations, "{file}");
    }
    // `FROM build-${BUILD}` selects an earlier stage through an ARG default.
    let json = env
        .plumb(&["gate", "dockerfile", "dockerfile/vector-tests-e2e.Dockerfile", "-o", "json"])
        .code(1)
        .json();
    assert_eq!(json["files"][0]["froms"][3]["image"], "build-false");
}

#[test]
fn iac_gate_blocks_only_production() {
    let env = Env::bare();
    env.fixture("gate/terraform", "tf");
    let json = env.plumb(&["gate", "iac", "tf/live", "--env", "production", "-o", "json"]).code(1).json();
    let got: Vec<(String, u64, String, String, Value)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["subject"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
                f["constraint"].clone(),
            )
        })
        .collect();
    let main = "tf/live/main.tf";
    let network = "tf/live/modules/network/main.tf";
    let expect = [
        (main, 11, "provider \"random\"", "provider-version-not-exact", json!("~> 3.6")),
        (main, 27, "module \"eks\"", "version-not-exact", json!("~> 20.0")),
        (
            main,
            30,
            "module \"iam\"",
            "version-missing",
            json!("terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"),
        ),
        (main, 39, "module \"logging\"", "ref-not-semver", json!("main")),
        (
            network,
            2,
            "module \"subnets\"",
            "ref-missing",
            json!("git@github.com:acme/terraform-subnets.git//modules/private"),
        ),
        (network, 6, "module \"flow_logs\"", "ref-commit", json!("3f2b8c1d9e0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c")),
        (network, 10, "module \"peering\"", "ref-not-semver", json!("v1.2")),
        (
            network,
            14,
            "module \"firewall\"",
            "archive-unpinned",
            json!("s3::https://s3-eu-west-1.amazonaws.com/acme-modules/firewall-1.0.0.zip"),
        ),
    ];
    assert_eq!(got, expect.map(|(f, l, s, r, c)| (f.to_owned(), l, s.to_owned(), r.to_owned(), c)));
    assert_eq!(
        (&json["files"], &json["modules"], &json["providers"]),
        (&json!(2), &json!(12), &json!(2)),
        ".terraform/ is skipped"
    );
    let run = env.plumb(&["gate", "iac", "tf/live"]).ok();
    assert!(run.stderr.contains("8 finding(s) (0 excepted), warnings (not production)"), "{}", run.stderr);
    assert!(run.stdout.contains("tf/live/main.tf:27"), "{}", run.stdout);
    env.plumb(&["gate", "iac", "tf/live", "--env", "staging"]).ok();
    let run = env.plumb(&["gate", "iac", "tf/broken", "--env", "production"]).code(2);
    assert!(run.stderr.contains("error: tf/broken/main.tf:8:13: invalid expression"), "{}", run.stderr);
    let run = env.plumb(&["gate", "iac", "tf/nowhere"]).code(2);
    assert!(run.stderr.contains("cannot read tf/nowhere: not a folder"), "{}", run.stderr);
}

#[test]
fn iac_gate_reads_real_world_terraform() {
    let env = Env::bare();
    env.fixture("terraform", "terraform");
    let json = env.plumb(&["gate", "iac", "terraform", "--env", "production", "-o", "json"]).code(1).json();
    assert_eq!((&json["files"], &json["modules"], &json["providers"]), (&json!(27), &json!(26), &json!(9)));
    let count =
        |rule: &str| json["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == rule).count();
    assert_eq!(count("version-not-exact"), 4, "the ~> registry versions");
    assert_eq!(count("version-missing"), 1);
    assert_eq!(count("ref-missing"), 2, "git@github.com sources without ?ref=");
    assert_eq!(count("provider-version-not-exact"), 9);
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        16,
        "exact registry versions and ?ref= tags (v1.0.0, 1.13.2) pass"
    );
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it instead.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual, expected,
        "{name} differs; if the change is intended, run with UPDATE_GOLDEN=1 and review the diff"
    );
}

/// Reads JUnit XML as a CI system would; returns (testcases, failures, skipped).
fn junit_counts(text: &str) -> (usize, usize, usize) {
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut cases, mut failures, mut skipped) = (0, 0, 0);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    "skipped" => skipped += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (cases, failures, skipped)
}

#[test]
fn gate_reports_match_golden_files_and_their_schemas() {
    let env = baseline_env();
    env.fixture("gate", "gate");
    let image_owned = image_args("gate/trivy-layers.json");
    let image = strs(&image_owned);
    let dockerfile = ["gate", "dockerfile", "docker/Dockerfile", "docker/Dockerfile.legacy"];
    let iac = ["gate", "iac", "gate/terraform/live", "--env", "production"];
    // (golden name, command, test cases, failures, skipped)
    let cases: [(&str, &[&str], usize, usize, usize); 3] = [
        ("gate-image", &image, 7, 2, 2),
        ("gate-dockerfile", &dockerfile, 6, 5, 0),
        ("gate-iac", &iac, 8, 8, 0),
    ];
    for (name, args, tests, failures, skipped) in cases {
        let sarif = env.plumb(&[args, &["-o", "sarif"]].concat()).code(1);
        assert_valid_sarif(&sarif.stdout);
        golden(&format!("{name}.sarif"), &sarif.stdout);
        let junit = env.plumb(&[args, &["-o", "junit"]].concat()).code(1);
        assert_eq!(junit_counts(&junit.stdout), (tests, failures, skipped), "{name}");
        golden(&format!("{name}.junit.xml"), &junit.stdout);
    }
    // A passing run: an empty SARIF run and one passing test.
    let sarif = env.plumb(&["gate", "image", "--report", "gate/trivy-empty.json", "-o", "sarif"]).ok();
    assert_valid_sarif(&sarif.stdout);
    let junit = env.plumb(&["gate", "image", "--report", "gate/trivy-empty.json", "-o", "junit"]).ok();
    assert_eq!(junit_counts(&junit.stdout), (1, 0, 0));
}

#[test]
fn read_commands_refuse_findings_formats() {
    let env = Env::new(crate::support::Backend::Sqlite).unwrap();
    let run = env.plumb(&["asset", "list", "-o", "sarif"]).code(2);
    assert!(
        run.stderr.contains(
            "-o sarif is for `plumb check`, `plumb drift`, `plumb gate` and `plumb audit`; this command prints table, json or csv"
        ),
        "{}",
        run.stderr
    );
    env.plumb(&["asset", "add", "--key", "SN-1", "--kind", "hardware", "--type", "laptop", "-o", "junit"])
        .code(2);
    assert_eq!(env.count(), 0, "refused before writing");
    let run = env.plumb(&["gate", "iac", ".", "-o", "csv"]).code(2);
    assert!(run.stderr.contains("gates print table, json, sarif, junit or html, not csv"), "{}", run.stderr);
}

const HEAD: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn pull(
    number: u64,
    author: &str,
    head: &str,
    merged_at: Option<&str>,
    updated_at: &str,
    base: &str,
) -> Value {
    json!({
        "url": format!("{base}/repos/acme/infra/pulls/{number}"),
        "number": number,
        "state": if merged_at.is_some() { "closed" } else { "open" },
        "title": format!("Change {number}"),
        "user": {"login": author, "id": 1, "type": "User"},
        "head": {"label": "acme:feature", "ref": "feature", "sha": head},
        "base": {"label": "acme:main", "ref": "main", "sha": "0000000000000000000000000000000000000000"},
        "merged_at": merged_at,
        "updated_at": updated_at,
        "created_at": "2025-01-01T00:00:00Z",
        "html_url": format!("https://github.com/acme/infra/pull/{number}"),
        "draft": false,
    })
}

fn review(id: u64, login: &str, state: &str, commit: &str, at: &str) -> Value {
    json!({"id": id, "user": {"login": login, "id": id}, "body": "", "state": state, "commit_id": commit, "submitted_at": at, "html_url": "https://github.com/acme/infra/pull/7#review"})
}

fn check_run(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> Value {
    json!({"id": id, "head_sha": HEAD, "name": name, "status": status, "conclusion": conclusion, "app": {"id": 15368, "slug": "github-actions"}})
}

fn assert_github_headers(requests: &[Request]) {
    for request in requests {
        assert_eq!(request.method, "GET", "{request:?}");
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("Bearer test-token"),
            "{request:?}"
        );
        assert_eq!(
            request.headers.get("accept").map(String::as_str),
            Some("application/vnd.github+json"),
            "{request:?}"
        );
        assert_eq!(
            request.headers.get("x-github-api-version").map(String::as_str),
            Some("2022-11-28"),
            "{request:?}"
        );
        assert!(request.headers.get("user-agent").is_some_and(|ua| ua.starts_with("plumb/")), "{request:?}");
    }
}

#[test]
fn pr_gate_passes_with_independent_approval_and_required_checks() {
    let github = FakeHttp::start(|request, base, count| {
        match request.path.as_str() {
        "/repos/acme/infra/pulls/7" => Response::json(pull(7, "alice", HEAD, None, "2025-06-01T00:00:00Z", base)),
        "/repos/acme/infra/pulls/7/reviews?per_page=100" => {
            Response::json(json!([review(1, "bob", "CHANGES_REQUESTED", "1111111111111111111111111111111111111111", "2025-06-01T10:00:00Z"), review(2, "carol", "COMMENTED", HEAD, "2025-06-01T11:00:00Z")]))
                .header("link", &format!("<{base}/repos/acme/infra/pulls/7/reviews?per_page=100&page=2>; rel=\"next\", <{base}/repos/acme/infra/pulls/7/reviews?per_page=100&page=2>; rel=\"last\""))
        }
        "/repos/acme/infra/pulls/7/reviews?per_page=100&page=2" => Response::json(json!([review(3, "bob", "APPROVED", HEAD, "2025-06-01T12:00:00Z")])),
        "/repos/acme/infra/branches/main/protection/required_status_checks" if count == 0 => Response::status(403, "API rate limit exceeded")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &jiff::Timestamp::now().as_second().to_string()),
        "/repos/acme/infra/branches/main/protection/required_status_checks" => Response::json(json!({"strict": true, "contexts": ["build"], "checks": [{"context": "build", "app_id": 15368}, {"context": "lint", "app_id": null}]})),
        path if path == format!("/repos/acme/infra/commits/{HEAD}/check-runs?per_page=100") && count == 0 => Response::status(502, "Server Error"),
        path if path == format!("/repos/acme/infra/commits/{HEAD}/check-runs?per_page=100") => Response::json(json!({"total_count": 3, "check_runs": [
            check_run(10, "build", "completed", Some("success")),
            check_run(11, "lint", "completed", Some("skipped")),
            check_run(12, "nightly-e2e", "completed", Some("failure")),
        ]})),
        path if path == format!("/repos/acme/infra/commits/{HEAD}/status?per_page=100") => Response::json(json!({"state": "success", "statuses": [], "sha": HEAD, "total_count": 0})),
        _ => Response::status(404, "Not Found"),
    }
    });
    let env = Env::bare();
    let run = env
        .plumb_with(
            &["gate", "pr", "--repo", "acme/infra", "--pr", "7", "--api-url", &github.url, "-o", "json"],
            &[("GITHUB_TOKEN", "test-token")],
        )
        .ok();
    let json = run.json();
    assert_eq!(json["outcome"], "passed");
    assert_eq!(json["reviews"]["approved_by"], json!(["bob"]));
    assert_eq!(json["required_checks_from"], "rules");
    assert_eq!(
        json["rules"],
        json!(["branch protection: build, lint", "rulesets: not readable with this token, or none"])
    );
    assert_eq!(
        json["checks"],
        json!([{"name": "build", "state": "passed"}, {"name": "lint", "state": "passed"}]),
        "the failing check is not required"
    );
    let requests = github.requests();
    assert_github_headers(&requests);
    let paths: Vec<String> = requests.into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/repos/acme/infra/pulls/7".to_owned(),
            "/repos/acme/infra/pulls/7/reviews?per_page=100".to_owned(),
            "/repos/acme/infra/pulls/7/reviews?per_page=100&page=2".to_owned(),
            "/repos/acme/infra/branches/main/protection/required_status_checks".to_owned(),
            "/repos/acme/infra/branches/main/protection/required_status_checks".to_owned(),
            "/repos/acme/infra/rules/branches/main?per_page=100".to_owned(),
            format!("/repos/acme/infra/commits/{HEAD}/check-runs?per_page=100"),
            format!("/repos/acme/infra/commits/{HEAD}/check-runs?per_page=100"),
            format!("/repos/acme/infra/commits/{HEAD}/status?per_page=100"),
        ],
        "pages followed; the rate limit and the 502 each retried once"
    );
}

#[test]
fn pr_gate_blocks_without_an_approval_of_the_head_commit() {
    let github = FakeHttp::start(|request, base, _| match request.path.as_str() {
        "/repos/acme/infra/pulls/8" => {
            Response::json(pull(8, "alice", HEAD, None, "2025-06-01T00:00:00Z", base))
        }
        "/repos/acme/infra/pulls/8/reviews?per_page=100" => Response::json(json!([
            review(1, "bob", "APPROVED", "1111111111111111111111111111111111111111", "2025-06-01T10:00:00Z"),
            review(2, "alice", "APPROVED", HEAD, "2025-06-01T11:00:00Z"),
        ])),
        path if path.ends_with("/check-runs?per_page=100") => {
            Response::json(json!({"total_count": 2, "check_runs": [
                check_run(10, "build", "completed", Some("success")),
                check_run(11, "deploy-preview", "in_progress", None),
            ]}))
        }
        path if path.ends_with("/status?per_page=100") => Response::json(
            json!({"state": "failure", "statuses": [{"context": "ci/jenkins", "state": "failure"}]}),
        ),
        _ => Response::status(404, "Branch not protected"),
    });
    let env = Env::bare();
    let args = ["gate", "pr", "--repo", "acme/infra", "--pr", "8", "--api-url", &github.url];
    let run = env.plumb_with(&args, &[("GITHUB_TOKEN", "test-token")]).code(1);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            "BLOCKED  approved only on an earlier commit (by bob), not on the head commit",
            "BLOCKED  check \"ci/jenkins\" concluded failure",
            "BLOCKED  check \"deploy-preview\" has not completed (in_progress)",
        ]
    );
    assert!(
        run.stderr.contains(
            "branch protection: not readable with this token, or none; rulesets: not readable with this token, or none: \
             every check on the head commit"
        ),
        "{}",
        run.stderr
    );
    let junit =
        env.plumb_with(&[&args[..], &["-o", "junit"]].concat(), &[("GITHUB_TOKEN", "test-token")]).code(1);
    assert_eq!(junit_counts(&junit.stdout), (3, 3, 0));
}

#[test]
fn pr_gate_failures_of_github_are_exit_3_and_usage_errors_exit_2() {
    let github = FakeHttp::start(|request, _, _| match request.path.as_str() {
        "/repos/acme/infra/pulls/1" => Response::status(500, "boom"),
        "/repos/acme/infra/pulls/2" => Response::status(403, "API rate limit exceeded")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &(jiff::Timestamp::now().as_second() + 3600).to_string()),
        _ => Response::status(401, "Bad credentials"),
    });
    let env = Env::bare();
    let token = [("GITHUB_TOKEN", "test-token")];
    let pr = |n: &str| {
        ["gate", "pr", "--repo", "acme/infra", "--pr", n, "--api-url", github.url.as_str()].map(str::to_owned)
    };
    let run = env.plumb_with(&pr("1").each_ref().map(String::as_str), &token).code(3);
    assert!(run.stderr.contains("HTTP 500: boom (after 4 attempts)"), "{}", run.stderr);
    let run = env.plumb_with(&pr("2").each_ref().map(String::as_str), &token).code(3);
    assert!(run.stderr.contains("rate limit exhausted; it resets in"), "{}", run.stderr);
    let run = env.plumb_with(&pr("3").each_ref().map(String::as_str), &token).code(3);
    assert!(run.stderr.contains("HTTP 401: Bad credentials"), "{}", run.stderr);
    assert_eq!(github.paths().iter().filter(|p| p.as_str() == "/repos/acme/infra/pulls/1").count(), 4);
    let run = env.plumb(&pr("3").each_ref().map(String::as_str)).code(2);
    assert!(run.stderr.contains("set GITHUB_TOKEN"), "{}", run.stderr);
    let run = env.plumb_with(&["gate", "pr", "--repo", "acme", "--pr", "1"], &token).code(2);
    assert!(run.stderr.contains("--repo: expected OWNER/NAME"), "{}", run.stderr);
}

fn change_audit_is_recorded_as_evidence(env: &Env) {
    let old = "1111111111111111111111111111111111111111";
    let github = FakeHttp::start(move |request, base, _| {
        let page = |n: u32| {
            format!(
                "{base}/repos/acme/infra/pulls?state=closed&base=main&sort=updated&direction=desc&per_page=100&page={n}"
            )
        };
        match request.path.as_str() {
            "/repos/acme/infra" => {
                Response::json(json!({"id": 1, "full_name": "acme/infra", "default_branch": "main"}))
            }
            "/repos/acme/infra/pulls?state=closed&base=main&sort=updated&direction=desc&per_page=100" => {
                Response::json(json!([
                    pull(12, "dave", "c2", None, "2025-03-05T00:00:00Z", base),
                    pull(11, "erin", "b2", Some("2025-03-04T09:00:00Z"), "2025-03-04T09:00:00Z", base),
                    pull(10, "alice", HEAD, Some("2025-03-03T09:00:00Z"), "2025-03-03T09:00:00Z", base),
                ]))
                .header("link", &format!("<{}>; rel=\"next\", <{}>; rel=\"last\"", page(2), page(3)))
            }
            path if path.ends_with("&page=2") => Response::json(json!([
                pull(9, "frank", "a9", Some("2025-02-20T09:00:00Z"), "2025-02-20T09:00:00Z", base),
                pull(5, "grace", "a5", Some("2025-01-10T09:00:00Z"), "2025-01-10T09:00:00Z", base),
            ]))
            .header("link", &format!("<{}>; rel=\"next\"", page(3))),
            "/repos/acme/infra/pulls/10/reviews?per_page=100" => {
                Response::json(json!([review(1, "bob", "APPROVED", HEAD, "2025-03-03T08:00:00Z")]))
            }
            "/repos/acme/infra/pulls/11/reviews?per_page=100" => {
                Response::json(json!([review(2, "bob", "APPROVED", "b2", "2025-03-04T10:00:00Z")]))
            }
            "/repos/acme/infra/pulls/9/reviews?per_page=100" => {
                Response::json(json!([review(3, "carol", "APPROVED", old, "2025-02-19T09:00:00Z")]))
            }
            _ => Response::status(404, "Not Found"),
        }
    });
    let args = [
        "audit",
        "changes",
        "--repo",
        "acme/infra",
        "--since",
        "2025-02-01",
        "--until",
        "2025-04-01",
        "--api-url",
        github.url.as_str(),
        "-o",
        "json",
    ];
    let run = env.plumb_with(&args, &[("GITHUB_TOKEN", "test-token")]).code(1);
    let json = run.json();
    let got: Vec<(u64, Value, Value)> = json["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["number"].as_u64().unwrap(), p["approved_by"].clone(), p["flag"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                9,
                json!([]),
                json!(
                    "merged without an independent approval: approved only on an earlier commit (by carol), not on the head commit"
                )
            ),
            (10, json!(["bob"]), Value::Null),
            (
                11,
                json!([]),
                json!(
                    "merged without an independent approval: no approving review by anyone other than the author"
                )
            ),
        ],
        "#11 was approved after its merge; #12 was closed unmerged; #5 is before the period"
    );
    assert!(
        !github.paths().iter().any(|p| p.ends_with("&page=3")),
        "paging stops at the start of the period"
    );
    assert_github_headers(&github.requests());
    let run_id = json["run_id"].as_str().unwrap();
    assert!(run.stderr.contains(&format!("recorded as run {run_id}")), "{}", run.stderr);
    assert_eq!(
        env.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"],
        1,
        "the audit run and its event"
    );
    let table = env.plumb_with(&args[..args.len() - 2], &[("GITHUB_TOKEN", "test-token")]).code(1);
    assert!(table.stdout.contains("approved only on an earlier commit"), "{}", table.stdout);
    let run = env
        .plumb_with(
            &["audit", "changes", "--repo", "acme/infra", "--since", "2025-05-01", "--until", "2025-04-01"],
            &[("GITHUB_TOKEN", "t")],
        )
        .code(2);
    assert!(run.stderr.contains("is not after --since"), "{}", run.stderr);
    let run = env
        .plumb_with(
            &["audit", "changes", "--repo", "acme/infra", "--since", "last week"],
            &[("GITHUB_TOKEN", "t")],
        )
        .code(2);
    assert!(run.stderr.contains("expected a date (2025-01-31) or an RFC 3339 time"), "{}", run.stderr);
}

/// An approval alone never passes: with no required check known (protection unreadable, no
/// ruleset) and none run on the head commit, the gate blocks; a ruleset's required checks
/// count when protection cannot be read, and --require-check names one.
#[test]
fn pr_gate_never_passes_on_approval_alone() {
    let rulesets = std::sync::Arc::new(std::sync::Mutex::new(json!([])));
    let rules = rulesets.clone();
    let github = FakeHttp::start(move |request, base, _| match request.path.as_str() {
        "/repos/acme/infra/pulls/9" => {
            Response::json(pull(9, "alice", HEAD, None, "2025-06-01T00:00:00Z", base))
        }
        "/repos/acme/infra/pulls/9/reviews?per_page=100" => {
            Response::json(json!([review(1, "bob", "APPROVED", HEAD, "2025-06-01T10:00:00Z")]))
        }
        "/repos/acme/infra/branches/main/protection/required_status_checks" => {
            Response::status(403, "Resource not accessible by integration")
        }
        "/repos/acme/infra/rules/branches/main?per_page=100" => Response::json(rules.lock().unwrap().clone()),
        path if path.ends_with("/check-runs?per_page=100") => {
            Response::json(json!({"total_count": 0, "check_runs": []}))
        }
        path if path.ends_with("/status?per_page=100") => {
            Response::json(json!({"state": "pending", "statuses": []}))
        }
        _ => Response::status(404, "Not Found"),
    });
    let env = Env::bare();
    let args = ["gate", "pr", "--repo", "acme/infra", "--pr", "9", "--api-url", &github.url];
    let token = [("GITHUB_TOKEN", "test-token")];
    let run = env.plumb_with(&args, &token).code(1);
    assert!(
        run.stdout.contains("BLOCKED  no required check is known for main (branch protection: not readable with this token, or none; rulesets: no required checks) and none ran on the head commit"),
        "{}",
        run.stdout
    );
    let sarif = env.plumb_with(&[&args[..], &["-o", "sarif"]].concat(), &token).code(1);
    crate::support::assert_valid_sarif(&sarif.stdout);

    // A ruleset requires "build", which has not run: blocked for that, not passed.
    *rulesets.lock().unwrap() = json!([{"type": "pull_request", "parameters": {"required_approving_review_count": 1}},
        {"type": "required_status_checks", "ruleset_id": 42, "parameters": {"strict_required_status_checks_policy": false,
         "required_status_checks": [{"context": "build", "integration_id": 15368}]}}]);
    let run = env.plumb_with(&[&args[..], &["-o", "json"]].concat(), &token).code(1);
    let json = run.json();
    assert_eq!(json["required_checks_from"], "rules");
    assert_eq!(json["checks"], json!([{"name": "build", "state": "missing"}]));
    // --require-check names one the rules do not.
    let run =
        env.plumb_with(&[&args[..], &["--require-check", "conftest", "-o", "json"]].concat(), &token).code(1);
    let json = run.json();
    let names: Vec<&str> =
        json["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["build", "conftest"]);
}
