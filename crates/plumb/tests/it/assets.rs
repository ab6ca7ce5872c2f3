//! Adding, reading, changing and moving assets through the CLI.

use crate::support::{Env, both_backends};

both_backends!(
    add_show_and_list_with_every_output,
    list_filters_and_pages,
    set_changes_fields_and_tags,
    lifecycle_transitions,
    production_ownership_rule,
    reassignment_follows_the_config,
    links_are_typed_and_recorded,
);

fn add(env: &Env, key: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["asset", "add", "--key", key, "--kind", "hardware", "--type", "laptop"];
    args.extend_from_slice(extra);
    env.plumb(&args)
}

fn add_show_and_list_with_every_output(env: &Env) {
    let added =
        add(env, "SN-1", &["--owner", "ana@example.com", "--tag", "team=it", "-o", "json"]).ok().json();
    assert_eq!(added["status"], "registered");
    assert_eq!(added["source"], "manual");
    assert_eq!(added["tags"], serde_json::json!({"team": "it"}));
    assert_eq!(
        added["provenance"],
        serde_json::json!({"owner": {"set_by": "person"}}),
        "who set what is kept"
    );

    let by_id = env.plumb(&["asset", "show", added["id"].as_str().unwrap(), "-o", "json"]).ok().json();
    assert_eq!(by_id["key"], "SN-1");
    assert_eq!(by_id["relationships"], serde_json::json!([]));

    let table = env.plumb(&["asset", "show", "SN-1"]).ok().stdout;
    assert!(table.contains(" owner ") && table.contains("ana@example.com"), "{table}");

    let csv = env.plumb(&["asset", "list", "-o", "csv"]).ok().stdout;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,key,name,kind,type,environment,owner,manager,classification,location,status,source,financial_ref,tags,attributes,first_seen,last_seen,scope,absent_since,provenance"
        )
    );
    assert!(lines.next().unwrap().contains(",SN-1,SN-1,hardware,laptop,,ana@example.com,"));

    let listed = env.plumb(&["asset", "list"]).ok().stdout;
    assert!(listed.starts_with(" KEY "), "{listed}");

    let again = add(env, "SN-1", &[]).code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let missing = env.plumb(&["asset", "show", "nope"]).code(2);
    assert!(missing.stderr.contains("no asset with id or key \"nope\""), "{}", missing.stderr);
}

fn list_filters_and_pages(env: &Env) {
    for i in 0..7 {
        let owner = if i % 2 == 0 { "ana@example.com" } else { "bo@example.com" };
        let tag = format!("floor={}", i % 3);
        add(env, &format!("SN-{i}"), &["--owner", owner, "--tag", &tag, "--location", "Copenhagen HQ"]).ok();
    }
    let keys = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["asset", "list", "-o", "json"];
        all.extend_from_slice(args);
        let json = env.plumb(&all).ok().json();
        json["items"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(keys(&["--owner", "bo@example.com"]), ["SN-1", "SN-3", "SN-5"]);
    assert_eq!(keys(&["--tag", "floor=0", "--owner", "ana@example.com"]), ["SN-0", "SN-6"]);
    assert_eq!(keys(&["--tag", "floor"]).len(), 7);
    assert_eq!(
        keys(&["-q", "hq", "--kind", "hardware", "--status", "registered", "--type", "laptop"]).len(),
        7
    );
    assert!(keys(&["--environment", "production"]).is_empty());

    let first = env.plumb(&["asset", "list", "-o", "json", "--limit", "3"]).ok().json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = env.plumb(&["asset", "list", "-o", "json", "--limit", "3", "--cursor", &cursor]).ok().json();
    assert_eq!(second["items"][0]["key"], "SN-3");
    let table = env.plumb(&["asset", "list", "--limit", "3"]).ok();
    assert!(table.stderr.contains("--cursor"), "{}", table.stderr);
    env.plumb(&["asset", "list", "--cursor", "not-a-cursor"]).code(2);
    env.plumb(&["asset", "list", "--kind", "server"]).code(2);
}

fn set_changes_fields_and_tags(env: &Env) {
    add(env, "SN-1", &["--owner", "ana@example.com", "--tag", "a=1", "--tag", "b=2"]).ok();
    let set = env
        .plumb(&[
            "asset",
            "set",
            "SN-1",
            "--owner",
            "bo@example.com",
            "--location",
            "HQ",
            "--tag",
            "c=3",
            "--untag",
            "a",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(set["owner"], "bo@example.com");
    assert_eq!(set["tags"], serde_json::json!({"b": "2", "c": "3"}));
    let cleared = env.plumb(&["asset", "set", "SN-1", "--location", "", "-o", "json"]).ok().json();
    assert_eq!(cleared["location"], serde_json::Value::Null);

    let bad = env.plumb(&["asset", "set", "SN-1", "--classification", "secret"]).code(2);
    assert!(
        bad.stderr
            .contains("field `classification`: expected one of public, internal, confidential, restricted"),
        "{}",
        bad.stderr
    );
    env.plumb(&["asset", "set", "SN-1"]).code(2);
    let history = env.plumb(&["asset", "history", "SN-1", "-o", "json"]).ok().json();
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "updated", "updated"]);
    assert_eq!(history["items"][1]["actor"], "tester@example.com");
    assert_eq!(history["items"][1]["before"]["owner"], "ana@example.com");
    assert_eq!(history["items"][1]["after"]["owner"], "bo@example.com");
}

fn lifecycle_transitions(env: &Env) {
    add(env, "SN-1", &["--status", "discovered"]).ok();
    let status = |run: crate::support::Run| run.ok().json()["status"].as_str().unwrap().to_owned();

    let refused = env.plumb(&["asset", "transition", "SN-1", "in_service"]).code(2);
    assert!(
        refused.stderr.contains(
            "cannot move from discovered to in_service; from discovered an asset may move to registered"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(status(env.plumb(&["asset", "transition", "SN-1", "registered", "-o", "json"])), "registered");

    let incomplete = env.plumb(&["asset", "transition", "SN-1", "in_service"]).code(2);
    assert!(incomplete.stderr.contains("without owner, classification, location"), "{}", incomplete.stderr);
    env.plumb(&[
        "asset",
        "set",
        "SN-1",
        "--owner",
        "ana@example.com",
        "--classification",
        "internal",
        "--location",
        "HQ",
    ])
    .ok();
    assert_eq!(status(env.plumb(&["asset", "transition", "SN-1", "in_service", "-o", "json"])), "in_service");
    env.plumb(&["asset", "transition", "SN-1", "registered"]).code(2);
    env.plumb(&["asset", "set", "SN-1", "--owner", ""]).code(2);
    assert_eq!(
        status(env.plumb(&["asset", "transition", "SN-1", "decommissioning", "-o", "json"])),
        "decommissioning"
    );

    let shortcut = env
        .plumb(&["asset", "transition", "SN-1", "decommissioned", "--evidence", "wipe certificate WC-77"])
        .code(2);
    assert!(shortcut.stderr.contains("plumb asset decommission SN-1 --complete"), "{}", shortcut.stderr);
    env.plumb(&["asset", "decommission", "SN-1", "--method", "device-wipe", "--ticket", "WC-77"]).ok();
    let done = env.plumb(&[
        "asset",
        "decommission",
        "SN-1",
        "--complete",
        "--returned-to",
        "it@example.com",
        "-o",
        "json",
    ]);
    assert_eq!(done.ok().json()["asset"]["status"], "decommissioned");
    env.plumb(&["asset", "transition", "SN-1", "in_service"]).code(2);

    let history = env.plumb(&["asset", "history", "SN-1", "-o", "json"]).ok().json();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "transitioned");
    assert_eq!(
        last["after"],
        serde_json::json!({"status": "decommissioned", "evidence": "sanitization record: plumb asset certificate SN-1"})
    );

    add(env, "SN-2", &[]).ok();
    assert_eq!(
        status(env.plumb(&["asset", "transition", "SN-2", "decommissioning", "-o", "json"])),
        "decommissioning"
    );
    env.plumb(&["asset", "transition", "SN-2", "retired"]).code(2);
}

fn production_ownership_rule(env: &Env) {
    let vm = |key: &str, extra: &[&str]| {
        let mut args = vec![
            "asset",
            "add",
            "--key",
            key,
            "--kind",
            "cloud",
            "--type",
            "vm",
            "--environment",
            "production",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        env.plumb(&args)
    };
    let filled = vm("i-1", &[]).ok().json();
    assert_eq!(filled["owner"], "hop@example.com");
    assert_eq!(filled["manager"], "sre@example.com");
    vm("i-2", &["--owner", "HOP@example.com"]).ok();

    let owner = vm("i-3", &["--owner", "dev@example.com"]).code(2);
    assert!(owner.stderr.contains("owner must be hop@example.com (the head_of_product)"), "{}", owner.stderr);
    assert!(owner.stderr.contains("ultimate asset owner is the Head of Product"), "{}", owner.stderr);
    let manager = vm("i-3", &["--manager", "dev@example.com"]).code(2);
    assert!(manager.stderr.contains("delegated to the SRE Lead"), "{}", manager.stderr);

    let changed = env.plumb(&["asset", "set", "i-1", "--owner", "dev@example.com"]).code(2);
    assert!(changed.stderr.contains("Head of Product"), "{}", changed.stderr);

    add(env, "SN-9", &["--owner", "dev@example.com"]).ok();
    let moved = env.plumb(&["asset", "set", "SN-9", "--environment", "production"]).code(2);
    assert!(moved.stderr.contains("Head of Product"), "{}", moved.stderr);
    let moved = env
        .plumb(&["asset", "set", "SN-9", "--environment", "production", "--owner", "", "-o", "json"])
        .ok()
        .json();
    assert_eq!(moved["owner"], "hop@example.com");
    assert_eq!(moved["manager"], "sre@example.com");
}

fn reassignment_follows_the_config(env: &Env) {
    for key in ["i-1", "i-2"] {
        env.plumb(&[
            "asset",
            "add",
            "--key",
            key,
            "--kind",
            "cloud",
            "--type",
            "vm",
            "--environment",
            "production",
        ])
        .ok();
    }
    add(env, "SN-1", &["--owner", "ana@example.com"]).ok();
    env.write("plumb.toml", &crate::support::CONFIG.replace("hop@example.com", "new-hop@example.com"));
    let run = env.plumb(&["asset", "reassign-production", "-o", "json"]).ok();
    assert!(run.stderr.contains("reassigned 2 production asset(s)"), "{}", run.stderr);
    for key in ["i-1", "i-2"] {
        let asset = env.plumb(&["asset", "show", key, "-o", "json"]).ok().json();
        assert_eq!(asset["owner"], "new-hop@example.com");
        assert_eq!(asset["manager"], "sre@example.com");
        let history = env.plumb(&["asset", "history", key, "-o", "json"]).ok().json();
        let last = history["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["action"], "reassigned");
        assert_eq!(last["before"], serde_json::json!({"owner": "hop@example.com"}));
        assert_eq!(last["after"], serde_json::json!({"owner": "new-hop@example.com"}));
    }
    assert_eq!(env.plumb(&["asset", "show", "SN-1", "-o", "json"]).ok().json()["owner"], "ana@example.com");
    let again = env.plumb(&["asset", "reassign-production"]).ok();
    assert!(again.stderr.contains("reassigned 0"), "{}", again.stderr);
}

fn links_are_typed_and_recorded(env: &Env) {
    add(env, "host-1", &[]).ok();
    add(env, "vm-1", &[]).ok();
    let linked = env.plumb(&["asset", "link", "vm-1", "runs_on", "host-1"]).ok();
    assert!(linked.stderr.contains("linked: vm-1 runs_on host-1"), "{}", linked.stderr);
    let again = env.plumb(&["asset", "link", "vm-1", "runs_on", "host-1"]).ok();
    assert!(again.stderr.contains("already linked"), "{}", again.stderr);
    env.plumb(&["asset", "link", "vm-1", "hosted_by", "host-1"]).code(2);
    env.plumb(&["asset", "link", "vm-1", "depends_on", "vm-1"]).code(2);
    env.plumb(&["asset", "link", "vm-1", "depends_on", "nope"]).code(2);

    let host = env.plumb(&["asset", "show", "host-1", "-o", "json"]).ok().json();
    assert_eq!(host["relationships"][0]["direction"], "in");
    assert_eq!(host["relationships"][0]["kind"], "runs_on");
    assert_eq!(host["relationships"][0]["key"], "vm-1");
    let history = env.plumb(&["asset", "history", "host-1", "-o", "json"]).ok().json();
    assert_eq!(history["items"].as_array().unwrap().len(), 2);
}
