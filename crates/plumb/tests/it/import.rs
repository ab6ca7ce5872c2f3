//! Importing and exporting whole files: all or nothing, problems by line and field, exact
//! round trips, and concurrent importers.

use crate::support::{Env, arg, both_backends};

both_backends!(
    imports_each_format,
    bad_rows_fail_the_whole_file,
    existing_keys_are_updated_with_the_given_fields,
    export_then_import_reproduces_the_inventory,
    concurrent_imports_both_land,
);

const HEADER: &str = "key,kind,type,environment,owner,classification,location,status,tags,attributes";

fn imports_each_format(env: &Env) {
    let csv = env.write(
        "a.csv",
        &format!("{HEADER}\nSN-1,hardware,laptop,corporate,ana@example.com,internal,HQ,in_service,\"{{\"\"team\"\":\"\"it\"\"}}\",\n"),
    );
    let json = env.write(
        "b.json",
        r#"[
  {"key": "i-1", "kind": "cloud", "type": "vm", "environment": "production", "attributes": {"InstanceType": "t3.micro"}},
  {"key": "i-2", "kind": "cloud", "type": "vm", "tags": {"cost": 12}}
]"#,
    );
    let jsonl = env.write("c.jsonl", "{\"key\": \"db-1\", \"kind\": \"data\", \"type\": \"dataset\"}\n\n");
    let ndjson = env.write("d.txt", "{\"key\": \"db-2\", \"kind\": \"data\", \"type\": \"dataset\"}\n");
    for file in [&csv, &json, &jsonl] {
        env.plumb(&["asset", "import", arg(file)]).ok();
    }
    let unknown = env.plumb(&["asset", "import", arg(&ndjson)]).code(2);
    assert!(unknown.stderr.contains("pass --format"), "{}", unknown.stderr);
    let summary =
        env.plumb(&["asset", "import", arg(&ndjson), "--format", "jsonl", "-o", "json"]).ok().json();
    assert_eq!(summary, serde_json::json!({"records": 1, "created": 1, "updated": 0, "unchanged": 0}));

    assert_eq!(env.count(), 5);
    let laptop = env.plumb(&["asset", "show", "SN-1", "-o", "json"]).ok().json();
    assert_eq!(laptop["status"], "in_service");
    assert_eq!(laptop["tags"]["team"], "it");
    let vm = env.plumb(&["asset", "show", "i-1", "-o", "json"]).ok().json();
    assert_eq!(vm["owner"], "hop@example.com");
    assert_eq!(vm["attributes"]["InstanceType"], "t3.micro");
    assert_eq!(env.plumb(&["asset", "show", "i-2", "-o", "json"]).ok().json()["tags"]["cost"], "12");
    env.plumb(&["asset", "import", "missing.csv"]).code(2);
}

/// Each bad file fails with the file, line and field, and leaves the inventory untouched.
fn bad_rows_fail_the_whole_file(env: &Env) {
    env.plumb(&["asset", "add", "--key", "SN-0", "--kind", "hardware", "--type", "laptop"]).ok();
    let good = "SN-1,hardware,laptop,,,,,,,";
    let cases: &[(&str, String, &[&str])] = &[
        ("enum.csv", format!("{HEADER}\n{good}\nSN-2,server,laptop,,,,,,,\n"), &["enum.csv:3: field `kind`: expected one of hardware, software, data, cloud, found \"server\""]),
        ("column.csv", "key,type\nSN-1,laptop\n".to_owned(), &["column.csv:1: field `kind`: required column is missing"]),
        ("unknown.csv", format!("{HEADER},colour\n{good},red\n"), &["unknown.csv:1: field `colour`: unknown field"]),
        ("date.csv", "key,kind,type,first_seen\nSN-1,hardware,laptop,2026-02-30\n".to_owned(), &["date.csv:2: field `first_seen`: expected an RFC 3339 timestamp"]),
        ("dup.csv", format!("{HEADER}\n{good}\nSN-3,hardware,laptop,,,,,,,\n{good}\n"), &["dup.csv:4: field `key`: duplicate key \"SN-1\", first on line 2"]),
        ("env.csv", format!("{HEADER}\nSN-1,hardware,laptop,prod,,,,,,\n"), &["env.csv:2: field `environment`: expected one of production, staging, corporate"]),
        ("owner.csv", format!("{HEADER}\ni-9,cloud,vm,production,dev@example.com,,,,,\n"), &["owner.csv:2: field `owner`: i-9: owner must be hop@example.com", "Head of Product"]),
        ("service.csv", format!("{HEADER}\nSN-1,hardware,laptop,,,,,in_service,,\n"), &["service.csv:2: field `status`: SN-1: cannot enter in_service without owner, classification, location"]),
        ("width.csv", format!("{HEADER}\nSN-1,hardware\n"), &["width.csv:2: expected 10 columns as in the header, found 2"]),
        ("tags.csv", format!("{HEADER}\nSN-1,hardware,laptop,,,,,,team=it,\n"), &["tags.csv:2: field `tags`: expected a JSON object"]),
        ("bad.json", "[\n {\"key\": \"SN-1\", \"kind\": \"hardware\", \"type\": \"laptop\"},\n {\"key\": \"SN-2\", \"kind\": \"hardware\" \"type\": \"laptop\"}\n]".to_owned(), &["bad.json:3: invalid JSON"]),
        ("missing.jsonl", "{\"key\": \"SN-1\", \"kind\": \"hardware\", \"type\": \"laptop\"}\n{\"key\": \"SN-2\", \"type\": \"laptop\"}\n".to_owned(), &["missing.jsonl:2: field `kind`: is required"]),
        ("taken.jsonl", "{\"key\": \"SN-1\", \"kind\": \"hardware\", \"type\": \"laptop\"}\n{\"key\": \"SN-0\", \"kind\": \"hardware\", \"type\": \"laptop\", \"status\": \"decommissioned\"}\n".to_owned(), &["taken.jsonl:2: field `status`: completing decommissioning needs its evidence"]),
    ];
    let events_before = env.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"].clone();
    for (name, content, expected) in cases {
        let file = env.write(name, content);
        let run = env.plumb(&["asset", "import", arg(&file)]).code(2);
        assert!(run.stderr.contains("nothing was imported"), "{name}: {}", run.stderr);
        for fragment in *expected {
            assert!(run.stderr.contains(fragment), "{name}: expected {fragment:?} in\n{}", run.stderr);
        }
    }
    assert_eq!(env.count(), 1);
    assert_eq!(env.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"], events_before);
}

fn existing_keys_are_updated_with_the_given_fields(env: &Env) {
    env.plumb(&[
        "asset",
        "add",
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
    ])
    .ok();
    let file = env.write(
        "update.csv",
        "key,kind,type,owner\nSN-1,hardware,laptop,bo@example.com\nSN-2,hardware,laptop,\n",
    );
    let summary = env.plumb(&["asset", "import", arg(&file), "-o", "json"]).ok().json();
    assert_eq!(summary, serde_json::json!({"records": 2, "created": 1, "updated": 1, "unchanged": 0}));
    let asset = env.plumb(&["asset", "show", "SN-1", "-o", "json"]).ok().json();
    assert_eq!(asset["owner"], "bo@example.com");
    assert_eq!(asset["location"], "HQ", "a column the file does not have is left alone");
    let again = env.plumb(&["asset", "import", arg(&file), "-o", "json"]).ok().json();
    assert_eq!(again["unchanged"], 2);
    let history = env.plumb(&["asset", "history", "SN-1", "-o", "json"]).ok().json();
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
    assert_eq!(history["items"][1]["action"], "imported");
}

fn export_then_import_reproduces_the_inventory(env: &Env) {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/assets.csv");
    env.plumb(&["asset", "import", sample]).ok();
    env.plumb(&[
        "asset",
        "set",
        "SN-C02FX1ABQ05D",
        "--attributes",
        r#"{"n": 1.5, "deep": {"list": [1, "two", null]}, "unicode": "ø→✓"}"#,
    ])
    .ok();
    for format in ["csv", "json", "jsonl"] {
        let exported = env.plumb(&["asset", "export", "--format", format]).ok().stdout;
        let file = env.write(&format!("export.{format}"), &exported);
        let copy = Env::new(crate::support::Backend::Sqlite).unwrap();
        copy.plumb(&["asset", "import", arg(&file)]).ok();
        let again = copy.plumb(&["asset", "export", "--format", format]).ok().stdout;
        assert_eq!(again, exported, "{format} round trip");
    }
    let out = env.path("out.json");
    env.plumb(&["asset", "export", "--out", arg(&out), "--environment", "production"]).ok();
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written.as_array().unwrap().len(), 6);
}

fn concurrent_imports_both_land(env: &Env) {
    let file = |name: &str, prefix: &str| {
        let mut content = String::from("key,kind,type,location\n");
        for i in 0..3_000 {
            content.push_str(&format!("{prefix}-{i},hardware,laptop,HQ\n"));
        }
        env.write(name, &content)
    };
    env.plumb(&["asset", "import", arg(&file("a0.csv", "A0"))]).ok();
    let (a, b) = (file("a.csv", "A"), file("b.csv", "B"));
    let one = env.command(&["asset", "import", arg(&a)]).spawn().unwrap();
    let two = env.command(&["asset", "import", arg(&b)]).spawn().unwrap();
    for child in [one, two] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let verified = env.plumb(&["log", "verify", "-o", "json"]).ok().json();
    assert_eq!(verified["events"], 9_000);
    assert_eq!(env.count(), 9_000);
}
