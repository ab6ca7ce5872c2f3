//! Every check's cases: `tests/cases/*.yaml`, one file per check, each case resources in and
//! the expected (key, status) results out. One data-driven test runs them all.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected errors")]

use std::collections::BTreeSet;

use plumb_policy::{Document, PACKS, PolicySet, Scope};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    check: String,
    #[serde(default)]
    context: Value,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    resources: Vec<Value>,
    #[serde(default)]
    documents: Vec<Value>,
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    key: String,
    status: String,
    /// Text the message must contain.
    #[serde(default)]
    message: Option<String>,
}

/// The context every case starts from; a file's `context` is merged over it.
fn context() -> Value {
    json!({
        "now": "2026-11-28T00:00:00Z",
        "production": "production",
        "roles": {"head_of_product": "hop@example.com", "sre_lead": "sre@example.com"},
        "owner_tags": ["Owner", "owner"],
        "endpoint_types": ["laptop", "desktop", "mobile", "tablet"],
        "customer_data_classifications": ["confidential", "restricted"],
        "stale_after_days": 30,
        "tag_keys": {"environment": ["Environment"], "classification": ["Classification"]},
        "words": {"environment": ["production", "staging", "corporate"], "classification": ["public", "internal", "confidential", "restricted"]},
        "tag_values": {"environment": {"prod": "production"}, "classification": {}},
        "root_recent_use_days": 1,
        "documents": [],
    })
}

/// An inventory asset with defaults for what a case leaves out.
fn asset(mut value: Value) -> Value {
    let defaults = json!({
        "name": value["key"], "kind": "cloud", "environment": null, "owner": null, "manager": null,
        "classification": null, "location": null, "status": "registered", "source": "aws",
        "financial_ref": null, "tags": {}, "attributes": {}, "first_seen": "2026-11-01T00:00:00Z",
        "last_seen": "2026-11-27T00:00:00Z", "scope": null, "absent_since": null,
    });
    if let (Value::Object(asset), Value::Object(defaults)) = (&mut value, defaults) {
        for (k, v) in defaults {
            asset.entry(k).or_insert(v);
        }
    }
    value
}

#[test]
fn every_case_of_every_check() {
    let groups: Vec<_> = PACKS.iter().map(|p| (p.name.to_owned(), p.sources())).collect();
    let set = PolicySet::load(&groups, &Default::default()).unwrap();
    let mut evaluator = set.evaluator();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    for path in files {
        let file: File = yaml_serde::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let check = set
            .checks()
            .iter()
            .find(|c| c.id == file.check)
            .unwrap_or_else(|| panic!("no check {}", file.check));
        covered.insert(check.id.clone());
        for case in file.cases {
            let mut ctx = context();
            if let (Value::Object(base), Value::Object(extra)) = (&mut ctx, file.context.clone()) {
                base.extend(extra);
            }
            ctx["documents"] = Value::Array(case.documents.into_iter().map(asset).collect());
            let resources: Vec<Document> =
                case.resources.into_iter().map(|r| Document::from_json(&asset(r)).unwrap()).collect();
            let ctx = Document::from_json(&ctx).unwrap();
            let input = match check.scope {
                Scope::Account => plumb_policy::account_input(
                    "123456789012",
                    &["us-east-1".to_owned(), "eu-west-1".to_owned()],
                    resources,
                    &ctx,
                ),
                Scope::Resource => plumb_policy::resource_input(resources, &ctx),
            };
            let outcomes =
                evaluator.evaluate(check, &input).unwrap_or_else(|err| panic!("{}: {err}", case.name));
            let got: BTreeSet<(String, String)> = outcomes
                .iter()
                .map(|o| (o.key.clone().unwrap_or_default(), o.status.as_str().to_owned()))
                .collect();
            let want: BTreeSet<(String, String)> =
                case.expect.iter().map(|e| (e.key.clone(), e.status.clone())).collect();
            if got != want {
                failures.push(format!("{} / {}: got {got:?}, want {want:?}", check.id, case.name));
            }
            for expect in case.expect.iter().filter(|e| e.message.is_some()) {
                let text = expect.message.as_deref().unwrap_or_default();
                let found = outcomes
                    .iter()
                    .any(|o| o.key.as_deref() == Some(&expect.key) && o.message.contains(text));
                if !found {
                    failures.push(format!(
                        "{} / {}: no message containing {text:?} for {}",
                        check.id, case.name, expect.key
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<&str> =
        set.checks().iter().map(|c| c.id.as_str()).filter(|id| !covered.contains(*id)).collect();
    assert!(missing.is_empty(), "checks without cases: {missing:?}");
}
