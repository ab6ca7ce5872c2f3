//! `plumb check --pack cis-aws-1.5` end to end: the seeded moto account (see
//! `tests/support/moto/seeds.py`) is synced and checked, and the exact set of failing
//! (control, resource) pairs is asserted. Resources are named by their inventory name, with
//! the random ids moto gives masked (`vpc-*`), so the expectation reads like the seed.

use std::collections::BTreeMap;

use crate::moto::Moto;
use crate::support::{Backend, CONFIG, Env, Run};

/// A random id moto made becomes `*`: a UUID (KMS key ids) whole, else each hyphen-separated
/// run of 8 or more hex digits; account ids (all digits) and names stay.
fn mask(name: &str) -> String {
    let hex = |part: &str| part.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = name.split('-').collect();
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    if lengths == [8, 4, 4, 4, 12] && parts.iter().all(|p| hex(p)) {
        return "<uuid>".to_owned();
    }
    if name.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-') && !name.contains("--") {
        return name.to_owned();
    }
    parts
        .iter()
        .map(|part| if part.len() >= 8 && hex(part) { "*" } else { part })
        .collect::<Vec<_>>()
        .join("-")
}

const EXPECTED_FAILURES: &[(&str, &str, usize)] = &[
    ("1.5", "123456789012", 1),
    ("1.6", "123456789012", 1),
    ("1.8", "123456789012", 1),
    ("1.9", "123456789012", 1),
    ("1.10", "bob", 1),
    ("1.11", "alice", 1),
    ("1.11", "bob", 1),
    ("1.12", "bob", 1),
    ("1.12", "ci", 1),
    ("1.13", "bob", 1),
    ("1.14", "bob", 1),
    ("1.14", "ci", 1),
    ("1.15", "bob", 1),
    ("1.16", "AdministratorAccess", 1),
    ("1.16", "full-admin", 1),
    ("1.18", "i-*", 1),
    ("2.1.1", "plumb-access-logs", 1),
    ("2.1.1", "plumb-cloudtrail", 1),
    ("2.1.1", "plumb-public-data", 1),
    ("2.1.1", "plumb-scratch", 1),
    ("2.1.2", "plumb-access-logs", 1),
    ("2.1.2", "plumb-cloudtrail", 1),
    ("2.1.2", "plumb-public-data", 1),
    ("2.1.2", "plumb-scratch", 1),
    ("2.1.3", "plumb-access-logs", 1),
    ("2.1.3", "plumb-cloudtrail", 1),
    ("2.1.3", "plumb-public-data", 1),
    ("2.1.3", "plumb-scratch", 1),
    // The account level is audited on its own: moto's account has no public access block.
    ("2.1.5", "S3 settings of 123456789012", 1),
    ("2.1.5", "plumb-access-logs", 1),
    ("2.1.5", "plumb-cloudtrail", 1),
    ("2.1.5", "plumb-public-data", 1),
    ("2.1.5", "plumb-scratch", 1),
    ("2.2.1", "123456789012:us-east-1", 1),
    ("2.3.1", "orders", 1),
    ("2.3.2", "orders", 1),
    ("2.3.3", "orders", 1),
    ("2.4.1", "shared", 1),
    ("3.2", "local-trail", 1),
    ("3.3", "local-trail", 1),
    ("3.3", "org-trail", 1),
    ("3.4", "local-trail", 1),
    ("3.4", "org-trail", 1),
    ("3.5", "123456789012", 1),
    ("3.5", "123456789012:eu-west-1", 1),
    ("3.5", "123456789012:us-east-1", 1),
    ("3.6", "local-trail", 1),
    ("3.6", "org-trail", 1),
    ("3.7", "local-trail", 1),
    ("3.8", "<uuid>", 2),
    ("3.9", "main-eu-west-1", 1),
    ("3.9", "vpc-*", 2),
    ("3.11", "plumb-access-logs", 1),
    ("3.11", "plumb-audit-logs", 1),
    ("3.11", "plumb-cloudtrail", 1),
    ("3.11", "plumb-public-data", 1),
    ("3.11", "plumb-scratch", 1),
    ("4.2", "123456789012", 1),
    ("4.4", "123456789012", 1),
    ("4.5", "123456789012", 1),
    ("4.6", "123456789012", 1),
    ("4.7", "123456789012", 1),
    ("4.8", "123456789012", 1),
    ("4.9", "123456789012", 1),
    ("4.10", "123456789012", 1),
    ("4.11", "123456789012", 1),
    ("4.12", "123456789012", 1),
    ("4.13", "123456789012", 1),
    ("4.14", "123456789012", 1),
    ("4.15", "123456789012", 1),
    ("4.16", "123456789012:eu-west-1", 1),
    ("5.1", "acl-*", 6),
    ("5.2", "ssh-from-anywhere", 2),
    ("5.3", "rdp-from-ipv6", 2),
    ("5.4", "default", 4),
];

#[test]
fn cis_pack_finds_exactly_the_seeded_violations() {
    let Some(mut moto) = Moto::start() else { return };
    moto.seed("account");
    let env = Env::new(Backend::Sqlite).unwrap();
    env.write("plumb.toml", CONFIG);
    let plumb = |args: &[&str]| {
        let mut command = env.command(args);
        for (key, value) in moto.env() {
            command.env(key, value);
        }
        Run::from(command.output().unwrap())
    };
    // Partial: the test account is denied Access Analyzer (CIS 1.20 is then an error).
    plumb(&["sync", "aws", "--regions", "us-east-1,eu-west-1"]).code(1);
    let report = plumb(&["check", "--pack", "cis-aws-1.5", "-o", "json"]).ok().json();
    let assets = plumb(&["asset", "list", "--limit", "1000", "-o", "json"]).ok().json();
    let names: BTreeMap<&str, &str> = assets["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].as_str().unwrap(), a["name"].as_str().unwrap()))
        .collect();

    let mut failures: BTreeMap<(String, String), usize> = BTreeMap::new();
    for finding in report["findings"].as_array().unwrap().iter().filter(|f| f["status"] == "fail") {
        let control = finding["check"].as_str().unwrap().trim_start_matches("cis-aws-1.5/").to_owned();
        let key = finding["key"].as_str().unwrap();
        *failures.entry((control, mask(names.get(key).copied().unwrap_or(key)))).or_default() += 1;
    }
    let expected: BTreeMap<(String, String), usize> =
        EXPECTED_FAILURES.iter().map(|(c, r, n)| (((*c).to_owned(), (*r).to_owned()), *n)).collect();
    assert_eq!(failures, expected);

    // Every recommendation is reported; manual ones as manual, never silently skipped; what
    // moto cannot give (Access Analyzer, the credential report's root row) is an error.
    let summary = report["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 63);
    let status_of =
        |id: &str| summary.iter().find(|s| s["check"] == format!("cis-aws-1.5/{id}")).unwrap().clone();
    for manual in ["1.1", "1.3", "1.21", "2.1.4"] {
        assert_eq!(status_of(manual)["manual"], 1, "{manual}");
    }
    assert_eq!(status_of("1.20")["error"], 1);
    assert_eq!(status_of("1.7")["error"], 1);
    let error = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "cis-aws-1.5/1.20")
        .unwrap()
        .clone();
    assert!(error["message"].as_str().unwrap().contains("accessanalyzer"), "{error}");
    for passing in ["1.17", "3.1", "3.10", "4.1", "4.3"] {
        let row = status_of(passing);
        assert_eq!((row["fail"].as_u64(), row["error"].as_u64()), (Some(0), Some(0)), "{passing}: {row}");
        assert!(row["pass"].as_u64().unwrap() > 0, "{passing}: {row}");
    }
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "cis-aws-1.5/2.1.5")
        .unwrap()
        .clone();
    assert_eq!(finding["controls"], serde_json::json!(["CIS 2.1.5", "CFG-01"]));
    assert!(finding["key"].as_str().unwrap().starts_with("arn:aws:s3:::"), "{finding}");
    assert!(!finding["remediation"].as_str().unwrap().is_empty());
}
