//! `plumb sync` with the file source: discovery, unchanged re-syncs, changes, absence and
//! return, the tag mapping and the production rule, bad rows, a malformed Terraform state, and
//! the recorded runs.

use crate::support::{CONFIG, Env, arg, both_backends};

both_backends!(
    file_sync_follows_the_source,
    bad_rows_are_named_and_nothing_is_marked_absent,
    a_malformed_state_is_named_by_its_json_path,
    tags_never_overwrite_what_people_set
);

const MAPPING: &str = r#"
[tags]
owner = ["Owner"]
environment = ["Environment"]

[tags.environment_values]
prod = "production"

[[source]]
type = "file"
name = "mdm"
path = "devices.csv"
kind = "hardware"
asset_type = "laptop"

[source.fields]
key = "serial"
name = "device"
owner = "user"
location = "office"
tags = "labels"
"#;

fn write_devices(env: &Env, rows: &[&str]) {
    let mut content = String::from("serial,device,user,office,labels,os\n");
    for row in rows {
        content.push_str(row);
        content.push('\n');
    }
    env.write("devices.csv", &content);
}

fn events(env: &Env) -> i64 {
    env.plumb(&["log", "verify", "-o", "json"]).ok().json()["events"].as_i64().unwrap()
}

fn asset(env: &Env, key: &str) -> serde_json::Value {
    env.plumb(&["asset", "show", key, "-o", "json"]).ok().json()
}

fn sync(env: &Env) -> serde_json::Value {
    env.plumb(&["sync", "-o", "json"]).ok().json()["items"][0].clone()
}

fn file_sync_follows_the_source(env: &Env) {
    env.write("plumb.toml", &format!("{CONFIG}{MAPPING}"));
    write_devices(
        env,
        &[
            "A1,Ana's Mac,ana@example.com,HQ,{},macOS 15",
            "B2,Bo's Mac,bo@example.com,Remote,\"{\"\"Environment\"\":\"\"prod\"\",\"\"Owner\"\":\"\"dev@example.com\"\"}\",macOS 14",
            "C3,Spare,,HQ,\"{\"\"Environment\"\":\"\"sandbox\"\"}\",macOS 13",
        ],
    );
    let first = sync(env);
    assert_eq!(
        (first["new"].as_u64(), first["changed"].as_u64(), first["absent"].as_u64()),
        (Some(3), Some(0), Some(0))
    );
    assert_eq!(first["scopes"], serde_json::json!(["file:mdm"]));

    let a1 = asset(env, "file:mdm:laptop:A1");
    assert_eq!(a1["status"], "discovered");
    assert_eq!(a1["owner"], "ana@example.com");
    assert_eq!(a1["location"], "HQ");
    assert_eq!(a1["source"], "file");
    assert_eq!(a1["attributes"], serde_json::json!({"os": "macOS 15"}));
    let b2 = asset(env, "file:mdm:laptop:B2");
    assert_eq!(b2["environment"], "production");
    assert_eq!(b2["owner"], "hop@example.com", "production owners come from the roles");
    assert_eq!(b2["manager"], "sre@example.com");
    assert_eq!(b2["tags"]["Owner"], "dev@example.com", "the conflicting owner tag stays a tag");
    let c3 = asset(env, "file:mdm:laptop:C3");
    assert_eq!(c3["environment"], serde_json::Value::Null);
    assert_eq!(c3["tags"]["Environment"], "sandbox");

    // Nothing changed: no event but the run's own and the scope's (its status is evidence
    // that the sync ran and was complete).
    let before = events(env);
    let again = sync(env);
    assert_eq!(again["unchanged"], 3);
    assert_eq!(events(env), before + 2);
    assert!(asset(env, "file:mdm:laptop:A1")["last_seen"].as_str() > a1["last_seen"].as_str());

    // A person registers A1; then A1 changes, C3 goes, D4 arrives.
    env.plumb(&["asset", "transition", "file:mdm:laptop:A1", "registered"]).ok();
    env.plumb(&["asset", "set", "file:mdm:laptop:A1", "--classification", "internal"]).ok();
    write_devices(
        env,
        &[
            "A1,Ana's Mac,ana@example.com,HQ,{},macOS 16",
            "B2,Bo's Mac,bo@example.com,Remote,\"{\"\"Environment\"\":\"\"prod\"\",\"\"Owner\"\":\"\"dev@example.com\"\"}\",macOS 14",
            "D4,New Mac,dara@example.com,HQ,{},macOS 16",
        ],
    );
    let third = sync(env);
    assert_eq!(
        (
            third["new"].as_u64(),
            third["changed"].as_u64(),
            third["unchanged"].as_u64(),
            third["absent"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    let a1 = asset(env, "file:mdm:laptop:A1");
    assert_eq!(a1["status"], "registered", "a collector never changes the lifecycle");
    assert_eq!(a1["classification"], "internal", "registered data stays");
    assert_eq!(a1["attributes"]["os"], "macOS 16");
    let history = env.plumb(&["asset", "history", "file:mdm:laptop:A1", "-o", "json"]).ok().json();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "synced");
    assert_eq!(last["before"]["attributes"], serde_json::json!({"os": "macOS 15"}));
    assert_eq!(last["after"]["attributes"], serde_json::json!({"os": "macOS 16"}));
    let c3 = asset(env, "file:mdm:laptop:C3");
    assert!(c3["absent_since"].is_string(), "{c3}");

    // C3 comes back.
    write_devices(env, &["A1,Ana's Mac,ana@example.com,HQ,{},macOS 16", "C3,Spare,,HQ,{},macOS 13"]);
    let fourth = sync(env);
    assert_eq!((fourth["returned"].as_u64(), fourth["absent"].as_u64()), (Some(1), Some(2)));
    assert_eq!(asset(env, "file:mdm:laptop:C3")["absent_since"], serde_json::Value::Null);
    let history = env.plumb(&["asset", "history", "file:mdm:laptop:C3", "-o", "json"]).ok().json();
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "absent", "returned"]);

    let runs = env.plumb(&["run", "list", "--kind", "sync", "-o", "json"]).ok().json();
    let runs = runs["items"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[0]["outcome"], "succeeded");
    assert_eq!(runs[0]["counts"]["returned"], 1);
    env.plumb(&["log", "verify"]).ok();
}

fn bad_rows_are_named_and_nothing_is_marked_absent(env: &Env) {
    env.write("plumb.toml", &format!("{CONFIG}{MAPPING}"));
    write_devices(env, &["A1,Ana's Mac,,HQ,{},x", "B2,Bo's Mac,,HQ,{},x"]);
    sync(env);
    write_devices(env, &["A1,Ana's Mac,,HQ,{},y", ",No serial,,HQ,{},x", "C3,Tagged,,HQ,not-json,x"]);
    let run = env.plumb(&["sync"]).code(2);
    assert!(run.stderr.contains("devices.csv:3: field `serial`: the key is required"), "{}", run.stderr);
    assert!(run.stderr.contains("devices.csv:4: field `labels`: expected JSON"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was marked absent"), "{}", run.stderr);
    assert_eq!(asset(env, "file:mdm:laptop:A1")["attributes"]["os"], "y", "good rows are synced");
    assert_eq!(asset(env, "file:mdm:laptop:B2")["absent_since"], serde_json::Value::Null);
    let runs = env.plumb(&["run", "list", "-o", "json"]).ok().json();
    assert_eq!(runs["items"][0]["outcome"], "failed");

    let unmapped =
        env.write("plain.jsonl", "{\"key\": \"db-1\", \"kind\": \"data\", \"type\": \"dataset\"}\n");
    env.plumb(&["sync", "file", arg(&unmapped)]).ok();
    assert_eq!(asset(env, "file:plain.jsonl:dataset:db-1")["kind"], "data");
    let unknown = env.write("x.txt", "");
    env.plumb(&["sync", "file", arg(&unknown)]).code(2);
}

fn a_malformed_state_is_named_by_its_json_path(env: &Env) {
    let resource = |name: &str, attributes: &str| {
        format!(
            r#"{{"mode": "managed", "type": "aws_vpc", "name": "{name}", "provider": "provider.aws",
                "instances": [{{"attributes": {attributes}}}]}}"#
        )
    };
    let good = resource("main", r#"{"id": "vpc-1"}"#);
    let bad = resource("broken", "[]");
    env.write("bad.tfstate", &format!(r#"{{"version": 4, "resources": [{good}, {bad}]}}"#));
    let run = env.plumb(&["sync", "terraform", "bad.tfstate"]).code(2);
    assert!(
        run.stderr.contains(
            "bad.tfstate: not a Terraform state at resources[1].instances[0].attributes: invalid type"
        ),
        "{}",
        run.stderr
    );
    // As with a file's good rows: what was read before the error is synced, nothing is absent.
    assert_eq!(asset(env, "terraform:bad.tfstate:aws_vpc.main")["attributes"]["values"]["id"], "vpc-1");
    let runs = env.plumb(&["run", "list", "-o", "json"]).ok().json();
    assert_eq!(runs["items"][0]["outcome"], "failed");
}

const TAGGED: &str = r#"
[tags]
owner = ["Owner"]
environment = ["Environment"]
classification = ["Classification"]

[tags.environment_values]
prod = "production"
stg = "staging"

[[source]]
type = "file"
name = "cmdb"
path = "servers.csv"
kind = "hardware"
asset_type = "server"

[source.fields]
key = "serial"
tags = "labels"
"#;

/// A tag fills an empty field and follows what tags set, but never overwrites what a person
/// set: retagging a server cannot reclassify it or move it out of production. The tag that
/// disagrees is a finding until someone settles it.
fn tags_never_overwrite_what_people_set(env: &Env) {
    env.write("plumb.toml", &format!("{CONFIG}{TAGGED}"));
    let servers = |labels: &str| {
        env.write("servers.csv", &format!("serial,labels\nS-1,\"{}\"\n", labels.replace('"', "\"\"")));
        env.plumb(&["sync"]).ok();
        env.plumb(&["asset", "show", "file:cmdb:server:S-1", "-o", "json"]).ok().json()
    };
    let first = servers(r#"{"Owner":"dev@example.com","Classification":"internal","Environment":"stg"}"#);
    assert_eq!(first["owner"], "dev@example.com");
    assert_eq!(first["provenance"]["owner"]["set_by"], "tag:Owner");
    let again = servers(r#"{"Owner":"ops@example.com","Classification":"internal","Environment":"stg"}"#);
    assert_eq!(again["owner"], "ops@example.com", "a tag may change what a tag set");

    env.plumb(&[
        "asset",
        "set",
        "file:cmdb:server:S-1",
        "--owner",
        "ana@example.com",
        "--classification",
        "confidential",
    ])
    .ok();
    let retagged =
        servers(r#"{"Owner":"mallory@example.com","Classification":"public","Environment":"stg"}"#);
    assert_eq!(retagged["owner"], "ana@example.com");
    assert_eq!(retagged["classification"], "confidential");
    assert_eq!(
        retagged["provenance"]["owner"],
        serde_json::json!({"set_by": "person", "conflicting_tag": "Owner=mallory@example.com"})
    );
    let report = env.plumb(&["check", "--pack", "inventory", "-o", "json"]).ok().json();
    let conflict = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "inventory/tag-conflict")
        .unwrap()
        .clone();
    assert_eq!(conflict["status"], "fail");
    assert!(
        conflict["message"]
            .as_str()
            .unwrap()
            .contains("classification is confidential but Classification=public"),
        "{conflict}"
    );

    // Production, set by a person, is not left by retagging.
    let production =
        ["--environment", "production", "--owner", "hop@example.com", "--manager", "sre@example.com"];
    env.plumb(&[&["asset", "set", "file:cmdb:server:S-1"][..], &production[..]].concat()).ok();
    let moved = servers(r#"{"Owner":"ana@example.com","Classification":"confidential","Environment":"stg"}"#);
    assert_eq!(moved["environment"], "production");
    assert_eq!(moved["owner"], "hop@example.com", "production owners come from the roles");
    let settled = servers(r#"{"Classification":"confidential","Environment":"prod"}"#);
    assert_eq!(settled["provenance"]["environment"], serde_json::json!({"set_by": "person"}));
    let report = env.plumb(&["check", "--pack", "inventory", "-o", "json"]).ok().json();
    assert!(
        !report["findings"].as_array().unwrap().iter().any(|f| f["check"] == "inventory/tag-conflict"),
        "{report}"
    );
    env.plumb(&["log", "verify"]).ok();
}
