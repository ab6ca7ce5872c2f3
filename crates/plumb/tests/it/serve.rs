//! `plumb serve` on both backends: the real binary on a loopback port, driven over HTTP with
//! tokens made by `plumb token create`.

use std::io::{BufRead, BufReader};
use std::process::Child;

use serde_json::Value;

use crate::support::{CONFIG, Env, both_backends};

both_backends!(tokens_open_the_api_and_nothing_else_does, the_api_decides_exceptions_by_the_role_table);

/// With `--log-format json`, each request is one JSON log line with its request id.
#[test]
fn request_logs_are_json_lines_with_the_request_id() {
    let env = Env::new(crate::support::Backend::Sqlite).unwrap();
    let server = Server::start_with(&env, &[("PLUMB_LOG_FORMAT", "json")]);
    let response =
        client().get(format!("{}/healthz", server.url)).header("X-Request-Id", "trace-42").send().unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let line = loop {
        let found = server.log().into_iter().find(|l| l.contains("trace-42"));
        if let Some(line) = found {
            break line;
        }
        assert!(std::time::Instant::now() < deadline, "no log line for the request: {:?}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let entry: Value = serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
    assert_eq!(
        (entry["request_id"].as_str(), entry["route"].as_str()),
        (Some("trace-42"), Some("/healthz")),
        "{entry}"
    );
    assert_eq!((entry["method"].as_str(), entry["status"].as_u64()), (Some("GET"), Some(200)), "{entry}");
}

/// A running `plumb serve`, killed (SIGKILL: no goodbyes) when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    /// What it wrote to standard error after saying where it listens.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(env: &Env) -> Server {
        Server::start_with(env, &[])
    }

    /// With extra environment variables.
    pub fn start_with(env: &Env, vars: &[(&str, &str)]) -> Server {
        let mut command = env.command(&["serve", "--listen", "127.0.0.1:0"]);
        let mut child = command.envs(vars.iter().copied()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines.next().expect("plumb serve ended before listening").unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        // Keep draining standard error so the server never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            lines.map_while(Result::ok).for_each(|line| kept.lock().unwrap().push(line))
        });
        Server { child, url, log }
    }

    /// Its log lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Stops it as an orchestrator does, with SIGTERM, and waits for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// GET `path` with `token` (if any): the status and the body as JSON (or as a JSON string).
pub fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = client().get(format!("{}{path}", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
}

/// POST `body` (JSON, or nothing) to `path` with `token`: the status and the body.
pub fn post(server: &Server, path: &str, token: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = client().post(format!("{}{path}", server.url)).bearer_auth(token);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A token for `name` with `role`, made by the admin.
pub fn token_for(env: &Env, name: &str, role: &str) -> String {
    let args = ["token", "create", "--name", name, "--role", role];
    env.plumb_with(&args, &[("PLUMB_ACTOR", "root@example.com")]).ok().stdout.trim().to_owned()
}

/// The same role table as the CLI: an auditor is refused every write, the requester may not
/// approve, the Information Security Manager may; bad bodies are problems naming why.
fn the_api_decides_exceptions_by_the_role_table(env: &Env) {
    env.write("plumb.toml", &format!("{CONFIG}admins = [\"root@example.com\"]\n"));
    let add: Vec<&str> =
        "asset add --key SN-1 --kind hardware --type laptop --environment staging".split(' ').collect();
    env.plumb(&add).ok();
    let (auditor, sre, ism) = (
        token_for(env, "audit@example.com", "auditor"),
        token_for(env, "sre@example.com", "sre_lead"),
        token_for(env, "infosec@example.com", "infosec_manager"),
    );
    let server = Server::start(env);
    let body = r#"{"check": "inventory/*", "select": "environment=staging", "justification": "lab hardware",
        "controls": ["weekly review"], "expires": "2099-01-01"}"#;
    let expires =
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string()[..10].to_owned();
    let body = body.replace("2099-01-01", &expires);
    let (status, refused) = post(&server, "/api/v1/exceptions", &auditor, Some(&body));
    assert_eq!(status, 403, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("auditors read everything"), "{refused}");
    let (status, requested) = post(&server, "/api/v1/exceptions", &sre, Some(&body));
    assert_eq!((status, requested["id"].as_str()), (201, Some("EX-1")), "{requested}");
    for decision in ["approve", "reject", "accept-risk", "revoke"] {
        let (status, problem) = post(
            &server,
            &format!("/api/v1/exceptions/EX-1/{decision}"),
            &auditor,
            Some(r#"{"reason": "x"}"#),
        );
        assert_eq!(status, 403, "{decision}: {problem}");
    }
    let (status, own) = post(&server, "/api/v1/exceptions/EX-1/approve", &sre, None);
    assert_eq!(status, 403, "{own}");
    let (status, approved) = post(&server, "/api/v1/exceptions/EX-1/approve", &ism, None);
    assert_eq!((status, approved["state"].as_str()), (200, Some("active")), "{approved}");
    let (status, reasonless) = post(&server, "/api/v1/exceptions/EX-1/revoke", &ism, None);
    assert_eq!(status, 400, "{reasonless}");
    // A body of the wrong shape is 422 naming the field; one that is not JSON, 400.
    let (status, broken) = post(&server, "/api/v1/exceptions", &sre, Some("{\"check\": 1}"));
    assert_eq!(status, 422, "{broken}");
    assert!(broken["detail"].as_str().unwrap().contains("check: invalid type"), "{broken}");
    let (status, broken) = post(&server, "/api/v1/exceptions", &sre, Some("{not json"));
    assert_eq!(status, 400, "{broken}");
    let (status, listed, _) = get(&server, "/api/v1/exceptions?status=active", Some(&auditor));
    assert_eq!((status, listed["items"][0]["id"].as_str()), (200, Some("EX-1")), "{listed}");
    // What a check then records reads back: the excepted result, and the run.
    env.plumb_with(&["check", "--pack", "inventory"], &[("PLUMB_ACTOR", "root@example.com")]).ok();
    let (status, found, _) = get(
        &server,
        "/api/v1/findings?check=inventory/*&key=SN-1&status=excepted&severity=medium",
        Some(&auditor),
    );
    assert_eq!(status, 200, "{found}");
    let checks: Vec<&str> =
        found["items"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    assert_eq!(
        checks,
        ["inventory/required-fields"],
        "the low financial-ref result is below medium: {found}"
    );
    let run = found["items"][0]["run_id"].as_str().unwrap().to_owned();
    let (status, runs, _) = get(&server, "/api/v1/runs?kind=check", Some(&auditor));
    assert_eq!((status, runs["items"][0]["id"].as_str()), (200, Some(run.as_str())), "{runs}");
    assert_eq!(get(&server, &format!("/api/v1/runs/{run}"), Some(&auditor)).0, 200);
    assert_eq!(get(&server, "/api/v1/findings?severity=dire", Some(&auditor)).0, 400);
    let (_, metrics, _) = get(&server, "/metrics", Some(&auditor));
    let metrics = metrics.as_str().unwrap().to_owned();
    // One result not excepted, and the register never reconciled (register/overdue).
    let line = r#"plumb_open_findings{control="INV-01",severity="medium"} 2"#;
    assert!(metrics.lines().any(|l| l == line), "no {line} in:\n{metrics}");
    let (status, shown, _) = get(&server, "/api/v1/exceptions/EX-1", Some(&auditor));
    let actions: Vec<&str> =
        shown["history"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!((status, actions), (200, vec!["sre@example.com", "infosec@example.com"]), "{shown}");
}

fn tokens_open_the_api_and_nothing_else_does(env: &Env) {
    env.write("plumb.toml", &format!("{CONFIG}admins = [\"root@example.com\"]\n"));
    let root = [("PLUMB_ACTOR", "root@example.com")];
    let arn = "arn:aws:s3:::logs/with/slashes";
    for key in ["SN-1", "SN-2", arn] {
        env.plumb_with(&["asset", "add", "--key", key, "--kind", "hardware", "--type", "server"], &root).ok();
    }
    let create = ["token", "create", "--name", "audit@example.com", "--role", "auditor"];
    // Only an admin makes tokens.
    let refused = env.plumb(&create).code(4);
    assert!(refused.stderr.contains("not permitted"), "{}", refused.stderr);
    let created = env.plumb_with(&create, &root).ok();
    let token = created.stdout.trim().to_owned();
    assert!(token.starts_with("plumb_"), "{token}");

    let server = Server::start(env);
    let (status, _, headers) = get(&server, "/healthz", None);
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"].len(), 26, "every answer names its request");
    assert_eq!(get(&server, "/readyz", None).0, 200);
    let (status, problem, headers) = get(&server, "/api/v1/assets", None);
    assert_eq!((status, problem["status"].as_u64()), (401, Some(401)), "{problem}");
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert_eq!(headers["content-type"], "application/problem+json");
    let forged = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
    assert_eq!(get(&server, "/api/v1/assets", Some(&forged)).0, 401);

    // Cursor pages return every asset once.
    let (status, first, _) = get(&server, "/api/v1/assets?limit=2", Some(&token));
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second, _) = get(&server, &format!("/api/v1/assets?limit=2&cursor={cursor}"), Some(&token));
    let mut keys: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["SN-1", "SN-2", arn]);
    assert!(second["next_cursor"].is_null(), "{second}");
    // A key is one path segment, its slashes percent-encoded.
    let (status, asset, _) =
        get(&server, &format!("/api/v1/assets/{}", arn.replace('/', "%2F")), Some(&token));
    assert_eq!((status, asset["key"].as_str()), (200, Some(arn)), "{asset}");
    assert_eq!(get(&server, &format!("/api/v1/assets/{arn}"), Some(&token)).0, 404);
    let (status, missing, _) = get(&server, "/api/v1/assets/SN-404", Some(&token));
    assert_eq!(status, 404, "{missing}");
    let (status, bad, _) = get(&server, "/api/v1/assets?status=lost", Some(&token));
    assert_eq!(status, 400, "{bad}");
    assert!(bad["detail"].as_str().unwrap().starts_with("status: "), "{bad}");
    // A query that does not fit is a problem document too, naming what is wrong.
    for query in ["limit=many", "colour=red"] {
        let (status, bad, headers) = get(&server, &format!("/api/v1/assets?{query}"), Some(&token));
        assert_eq!(
            (status, headers["content-type"].to_str().unwrap()),
            (400, "application/problem+json"),
            "{bad}"
        );
    }

    // The metrics: what was asked so far, and the inventory as it stands; behind a token too.
    assert_eq!(get(&server, "/metrics", None).0, 401);
    let (status, metrics, headers) = get(&server, "/metrics", Some(&token));
    let metrics = metrics.as_str().unwrap().to_owned();
    assert_eq!(status, 200, "{metrics}");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    for line in [
        r#"plumb_http_requests_total{route="/api/v1/assets",status="200"} 2"#,
        r#"plumb_http_requests_total{route="/api/v1/assets",status="401"} 2"#,
        r#"plumb_assets{status="registered"} 3"#,
        r#"plumb_assets{status="in_service"} 0"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line} in:\n{metrics}");
    }
    assert_eq!(metrics.matches("# EOF").count(), 1, "{metrics}");

    // A change lands only on the asset as it was read.
    let editor = token_for(env, "root@example.com", "admin");
    let created = client()
        .post(format!("{}/api/v1/assets", server.url))
        .bearer_auth(&editor)
        .header("content-type", "application/json")
        .body(r#"{"key": "SN-9", "kind": "hardware", "type": "laptop", "owner": "ana@example.com"}"#)
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(get(&server, &location, Some(&token)).1["key"], "SN-9", "Location names the new asset");
    let (status, problem) =
        post(&server, "/api/v1/assets", &editor, Some(r#"{"key": "SN-10", "kind": "hardware"}"#));
    assert_eq!(status, 400, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("type"), "{problem}");
    assert_eq!(
        post(&server, "/api/v1/assets", &token, Some(r#"{"key": "SN-11", "kind": "hardware", "type": "x"}"#))
            .0,
        403
    );
    let (_, _, headers) = get(&server, "/api/v1/assets/SN-1", Some(&editor));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let patch = |etag: Option<&str>, who: &str, body: &str| {
        let mut request = client()
            .patch(format!("{}/api/v1/assets/SN-1", server.url))
            .bearer_auth(who)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned()))
    };
    assert_eq!(patch(None, &editor, r#"{"location": "HQ"}"#).0, 428);
    assert_eq!(patch(Some(&etag), &token, r#"{"location": "HQ"}"#).0, 403, "an auditor changes nothing");
    let (status, new_etag) = patch(Some(&etag), &editor, r#"{"location": "HQ"}"#);
    assert_eq!(status, 200);
    assert_ne!(new_etag.as_deref(), Some(etag.as_str()));
    assert_eq!(patch(Some(&etag), &editor, r#"{"location": "Lab"}"#).0, 412, "a write on a stale read");
    let (_, asset, _) = get(&server, "/api/v1/assets/SN-1", Some(&token));
    assert_eq!(asset["location"], "HQ", "the stale write changed nothing");

    // Listed without its secret, with its last use; revoked, it opens nothing.
    let listed = env.plumb(&["token", "list", "-o", "json"]).ok();
    assert!(!listed.stdout.contains(&token[33..]), "the secret is never shown again");
    let items = listed.json()["items"].clone();
    let audit = items.as_array().unwrap().iter().find(|t| t["name"] == "audit@example.com").unwrap();
    let id = audit["id"].as_str().unwrap().to_owned();
    assert!(audit["last_used_at"].is_string(), "{}", listed.stdout);
    env.plumb_with(&["token", "revoke", &id], &root).ok();
    let (status, ended, _) = get(&server, "/api/v1/assets", Some(&token));
    assert_eq!(status, 401);
    assert!(ended["detail"].as_str().unwrap().contains("revoked"), "{ended}");
    env.plumb(&["log", "verify"]).ok();
}
