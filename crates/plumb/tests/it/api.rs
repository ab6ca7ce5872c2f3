//! The API as its OpenAPI document describes it: every documented operation is served, an
//! auditor is refused every write (a table over the document, not a hand-kept list), and the
//! resources beyond assets and exceptions answer on both backends.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{Server, client, get, post, token_for};
use crate::support::{CONFIG, Env, both_backends};

both_backends!(
    every_documented_operation_is_served_and_refuses_auditors_every_write,
    an_assets_history_relationships_transition_and_findings,
    controls_are_never_a_pass_on_evidence_not_seen_and_runs_start_through_the_api,
    cursor_pages_return_every_asset_once_while_others_are_added,
);

/// Admins `root@`; SN-1 (staging laptop) and SN-2, linked; EX-1 requested.
fn seeded(env: &Env) -> [(&'static str, &'static str); 1] {
    env.write("plumb.toml", &format!("{CONFIG}admins = [\"root@example.com\"]\n"));
    let root = [("PLUMB_ACTOR", "root@example.com")];
    for key in ["SN-1", "SN-2"] {
        let add = [
            "asset",
            "add",
            "--key",
            key,
            "--kind",
            "hardware",
            "--type",
            "laptop",
            "--environment",
            "staging",
        ];
        env.plumb_with(&add, &root).ok();
    }
    env.plumb_with(&["asset", "link", "SN-1", "depends_on", "SN-2"], &root).ok();
    let expires =
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string()[..10].to_owned();
    let request = [
        "exception",
        "request",
        "--check",
        "inventory/*",
        "--select",
        "environment=staging",
        "--justification",
        "lab",
        "--control",
        "weekly review",
        "--expires",
        &expires,
    ];
    env.plumb_with(&request, &[("PLUMB_ACTOR", "sre@example.com")]).ok();
    root
}

/// A documented path with its parameters filled in for the seeded data.
fn concrete(path: &str) -> String {
    path.replace("{reference}", "SN-1").replace("{id}", "EX-1").replace("{decision}", "approve")
}

/// The documented operations: (method, path, example request body).
fn operations(document: &Value) -> Vec<(String, String, Option<Value>)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let example = operation.pointer("/requestBody/content/application~1json/example").cloned();
            found.push((method.to_uppercase(), path.clone(), example));
        }
    }
    found
}

fn send(
    server: &Server,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, String, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method, format!("{}{path}", server.url)).bearer_auth(token);
    request = request.header("If-Match", "\"not-the-etag\"");
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let kind =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = response.text().unwrap();
    (status, kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn every_documented_operation_is_served_and_refuses_auditors_every_write(env: &Env) {
    seeded(env);
    let auditor = token_for(env, "audit@example.com", "auditor");
    let server = Server::start(env);
    let (status, document, _) = get(&server, "/api/v1/openapi.json", None);
    assert_eq!(status, 200, "{document}");
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document["openapi"]);
    let operations = operations(&document);
    assert!(operations.len() >= 25, "{operations:?}");

    let mut writes = 0;
    for (method, path, example) in &operations {
        let (status, kind, body) = send(&server, method, &concrete(path), &auditor, example.as_ref());
        // A route the router does not know answers 404/405 with an empty body, not a problem.
        let routed = !matches!(status, 404 | 405) || kind == "application/problem+json";
        assert!(routed, "{method} {path} is documented but not served: {status} {body}");
        if method == "GET" {
            assert!(status < 500, "{method} {path}: {status} {body}");
            continue;
        }
        writes += 1;
        assert!(example.is_some(), "{method} {path} documents no example body to try");
        assert_eq!(status, 403, "an auditor's {method} {path}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("auditors read everything and change nothing"), "{method} {path}: {detail}");
    }
    assert!(writes >= 6, "writes found in the document: {writes}");
    // Nothing an auditor sent changed anything.
    let shown = env.plumb(&["asset", "show", "SN-1", "-o", "json"]).ok().json();
    assert_eq!(shown["status"], "registered", "{shown}");
}

fn an_assets_history_relationships_transition_and_findings(env: &Env) {
    let root = seeded(env);
    let editor = token_for(env, "root@example.com", "admin");
    let server = Server::start(env);
    let (status, history, _) = get(&server, "/api/v1/assets/SN-1/history", Some(&editor));
    assert_eq!(status, 200, "{history}");
    let actions: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.first(), Some(&"created"), "{history}");
    let (status, related, _) = get(&server, "/api/v1/assets/SN-2/relationships", Some(&editor));
    assert_eq!(status, 200, "{related}");
    assert_eq!(related["items"][0]["direction"], "in", "{related}");
    assert_eq!(related["items"][0]["key"], "SN-1", "{related}");

    // What a status needs is the same rule as on the command line.
    let (status, refused) =
        post(&server, "/api/v1/assets/SN-1/transition", &editor, Some(r#"{"status": "in_service"}"#));
    assert_eq!(status, 400, "in service needs an owner, a classification and a location: {refused}");
    let (status, bad) =
        post(&server, "/api/v1/assets/SN-1/transition", &editor, Some(r#"{"status": "lost"}"#));
    assert_eq!(status, 400, "{bad}");
    assert!(bad["detail"].as_str().unwrap().starts_with("status: "), "{bad}");
    let set: Vec<&str> =
        "asset set SN-1 --owner ana@example.com --classification internal --location HQ".split(' ').collect();
    env.plumb_with(&set, &root).ok();
    let (status, moved) =
        post(&server, "/api/v1/assets/SN-1/transition", &editor, Some(r#"{"status": "in_service"}"#));
    assert_eq!((status, moved["status"].as_str()), (200, Some("in_service")), "{moved}");
    let (_, history, _) = get(&server, "/api/v1/assets/SN-1/history", Some(&editor));
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("transitioned"), Some("root@example.com")),
        "{last}"
    );

    env.plumb_with(&["check", "--pack", "inventory"], &root).ok();
    let (status, findings, _) = get(&server, "/api/v1/assets/SN-2/findings", Some(&editor));
    assert_eq!(status, 200, "{findings}");
    let items = findings["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|f| f["key"] == "SN-2"), "{findings}");
    assert_eq!(get(&server, "/api/v1/assets/SN-404/history", Some(&editor)).0, 404);
}

/// Waits for a job started through the API to be recorded.
fn recorded(server: &Server, location: &str, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, run, _) = get(server, location, Some(token));
        match status {
            200 => return run,
            202 => assert_eq!(run["status"], "running", "{run}"),
            other => panic!("{location}: {other} {run}"),
        }
        assert!(Instant::now() < deadline, "the job never finished: {run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn controls_are_never_a_pass_on_evidence_not_seen_and_runs_start_through_the_api(env: &Env) {
    seeded(env);
    let sre = token_for(env, "sre@example.com", "sre_lead");
    let server = Server::start(env);
    let (status, controls, _) = get(&server, "/api/v1/controls", Some(&sre));
    assert_eq!(status, 200, "{controls}");
    for control in controls["items"].as_array().unwrap() {
        assert_eq!(control["status"], "error", "nothing ran yet, so nothing passes: {control}");
    }
    // A check run of the inventory pack alone evaluated no baseline: it is no evidence for CFG-01.
    env.plumb_with(&["check", "--pack", "inventory"], &[("PLUMB_ACTOR", "root@example.com")]);
    let (_, controls, _) = get(&server, "/api/v1/controls", Some(&sre));
    let cfg01 =
        controls["items"].as_array().unwrap().iter().find(|c| c["control"] == "CFG-01").unwrap().clone();
    assert_eq!(cfg01["status"], "error", "{cfg01}");
    assert!(cfg01["reasons"].to_string().contains("no recent check run covering CFG-01"), "{cfg01}");
    let (status, checks, _) = get(&server, "/api/v1/checks", Some(&sre));
    assert_eq!(status, 200);
    assert!(checks["items"].as_array().unwrap().iter().any(|c| c["id"] == "cis-aws-1.5/1.4"), "{checks}");
    let (status, packs, _) = get(&server, "/api/v1/packs", Some(&sre));
    assert!(
        status == 200 && packs["items"].as_array().unwrap().iter().any(|p| p["name"] == "inventory"),
        "{packs}"
    );

    // Start a check as the SRE Lead: 202 and the URL of the run it will be.
    let response = client()
        .post(format!("{}/api/v1/runs", server.url))
        .bearer_auth(&sre)
        .json(&json!({"job": "check"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let started: Value = response.json().unwrap();
    assert_eq!(location, format!("/api/v1/runs/{}", started["run_id"].as_str().unwrap()));
    let run = recorded(&server, &location, &sre);
    assert_eq!(
        (run["kind"].as_str(), run["actor"].as_str()),
        (Some("job"), Some("sre@example.com")),
        "{run}"
    );
    assert_eq!(run["inputs"]["on_request"], true, "{run}");
    let check_run = run["details"]["runs"][0].as_str().unwrap();
    let (_, check, _) = get(&server, &format!("/api/v1/runs/{check_run}"), Some(&sre));
    assert_eq!(
        (check["kind"].as_str(), check["actor"].as_str()),
        (Some("check"), Some("sre@example.com")),
        "{check}"
    );

    let (status, unknown) = post(&server, "/api/v1/runs", &sre, Some(r#"{"job": "party"}"#));
    assert_eq!(status, 400, "{unknown}");
    let (status, drift, _) = get(&server, "/api/v1/drift", Some(&sre));
    assert_eq!(status, 200, "{drift}");
    assert!(drift["run"].is_null() && drift["items"].as_array().unwrap().is_empty(), "{drift}");
    // With a check run recorded, the controls resting only on checks still want their other evidence.
    let (_, controls, _) = get(&server, "/api/v1/controls", Some(&sre));
    let cfg02 =
        controls["items"].as_array().unwrap().iter().find(|c| c["control"] == "CFG-02").unwrap().clone();
    assert_eq!(cfg02["status"], "error", "{cfg02}");
    assert!(cfg02["reasons"].to_string().contains("no recent drift run covering CFG-02"), "{cfg02}");
    let (status, schedule, _) = get(&server, "/api/v1/schedule", Some(&sre));
    assert_eq!(status, 200, "{schedule}");
}

fn cursor_pages_return_every_asset_once_while_others_are_added(env: &Env) {
    seeded(env);
    let editor = token_for(env, "root@example.com", "admin");
    let server = Server::start(env);
    let keys: Vec<String> = (0..60).map(|i| format!("A-{:03}", i * 2)).collect();
    for key in &keys {
        let body = json!({"key": key, "kind": "hardware", "type": "laptop"}).to_string();
        assert_eq!(post(&server, "/api/v1/assets", &editor, Some(&body)).0, 201);
    }
    // While one client pages, another registers assets between and around the pages' keys.
    let adding = {
        let (url, token) = (server.url.clone(), editor.clone());
        std::thread::spawn(move || {
            for i in 0..60 {
                let body =
                    json!({"key": format!("A-{:03}", i * 2 + 1), "kind": "hardware", "type": "laptop"});
                let response =
                    client().post(format!("{url}/api/v1/assets")).bearer_auth(&token).json(&body).send();
                assert_eq!(response.unwrap().status().as_u16(), 201);
            }
        })
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (status, page, _) =
            get(&server, &format!("/api/v1/assets?type=laptop&limit=7{query}"), Some(&editor));
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    adding.join().unwrap();
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an asset came twice: {seen:?}");
    for key in &keys {
        assert!(seen.contains(key), "{key}, there before paging began, was not returned: {seen:?}");
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "pages follow the key order: {seen:?}");
}
