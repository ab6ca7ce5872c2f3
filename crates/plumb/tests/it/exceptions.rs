//! The exceptions register and the roles of policy §7, end to end through the binary on both
//! backends: request, a refused self-approval, approval by the Information Security Manager,
//! risk acceptance by the Head of Product for production, `check` showing the results
//! excepted, the clock passing the expiry (`PLUMB_TEST_NOW`), `check` reopening them and
//! `exception remind` telling a local receiver once.

use serde_json::Value;

use crate::fake_http::{FakeHttp, Response};
use crate::support::{CONFIG, Env, both_backends};

both_backends!(
    exceptions_are_governed_and_expire,
    bad_requests_name_the_field,
    drift_items_are_excepted_too,
    image_gate_honours_the_register,
    file_gates_honour_the_register,
    roles_decide_who_changes_assets,
    reminders_reach_each_sink_once,
);

const DEV: &str = "dev@example.com";
const ISM: &str = "infosec@example.com";
const HOP: &str = "hop@example.com";

fn as_who(env: &Env, who: &str, args: &[&str]) -> crate::support::Run {
    env.plumb_with(args, &[("PLUMB_ACTOR", who)])
}

/// A day `days` from today, as a request writes it.
fn day(days: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days)).to_string()[..10].to_owned()
}

fn inventory(env: &Env, vars: &[(&str, &str)]) -> Value {
    env.plumb_with(&["check", "--pack", "inventory", "-o", "json"], vars).ok().json()
}

/// (status, message) of one check's result for one key.
fn result(report: &Value, check: &str, key: &str) -> (String, String) {
    let found = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check && f["key"] == key)
        .unwrap_or_else(|| panic!("no {check} result for {key}: {report}"));
    (found["status"].as_str().unwrap().to_owned(), found["message"].as_str().unwrap().to_owned())
}

fn request(env: &Env, who: &str, select: &str, expires: &str) -> Value {
    request_for(env, who, "inventory/*", select, expires)
}

fn request_for(env: &Env, who: &str, check: &str, select: &str, expires: &str) -> Value {
    let args = [
        "exception",
        "request",
        "--check",
        check,
        "--select",
        select,
        "--justification",
        "lab hardware, recorded in the spreadsheet until the CMDB import",
        "--control",
        "weekly manual review by the SRE Lead",
        "--expires",
        expires,
        "--ref",
        "SECURITY-42",
        "-o",
        "json",
    ];
    as_who(env, who, &args).ok().json()
}

/// Sinks for reminders: a signed webhook, and a heartbeat that watches the drift scan only
/// (a reminder must never tell it the daily scan ran).
fn sinks(hook: &FakeHttp) -> String {
    format!(
        "\n[[sink]]\ntype = \"webhook\"\nname = \"security\"\nurl = \"{}/hook\"\nsecret_env = \"PLUMB_TEST_HOOK_SECRET\"\n\
         \n[[sink]]\ntype = \"heartbeat\"\nurl_env = \"PLUMB_TEST_HEARTBEAT\"\n",
        hook.url
    )
}

fn exceptions_are_governed_and_expire(env: &Env) {
    let hook = FakeHttp::start(|_, _, _| Response::json(serde_json::json!({})));
    let heartbeat = FakeHttp::start(|_, _, _| Response::json(serde_json::json!({})));
    env.write("plumb.toml", &format!("{CONFIG}auditors = [\"audit@example.com\"]\n{}", sinks(&hook)));
    for args in [
        ["--key", "SN-2", "--kind", "hardware", "--type", "laptop", "--environment", "staging"],
        ["--key", "SN-P", "--kind", "hardware", "--type", "server", "--environment", "production"],
    ] {
        let mut all = vec!["asset", "add"];
        all.extend_from_slice(&args);
        as_who(env, DEV, &all).ok();
    }
    let before = inventory(env, &[]);
    assert_eq!(result(&before, "inventory/required-fields", "SN-2").0, "fail");
    assert_eq!(result(&before, "inventory/required-fields", "SN-P").0, "fail");

    // Staging only: the Information Security Manager's approval is enough, never the
    // requester's own.
    let staging = request(env, DEV, "environment=staging", &day(30));
    assert_eq!((staging["id"].as_str(), staging["state"].as_str()), (Some("EX-1"), Some("requested")));
    assert_eq!(staging["production"], false);
    let refused = as_who(env, DEV, &["exception", "approve", "EX-1"]).code(4);
    assert!(refused.stderr.contains("approved by the Information Security Manager"), "{}", refused.stderr);
    let own = request(env, ISM, "key=SN-2", &day(10));
    let refused = as_who(env, ISM, &["exception", "approve", own["id"].as_str().unwrap()]).code(4);
    assert!(refused.stderr.contains("nobody approves their own request"), "{}", refused.stderr);
    // Nor may they turn it down themselves: it waits for someone else.
    as_who(env, ISM, &["exception", "reject", "EX-2", "--reason", "covered by EX-1"]).code(4);
    let approved = as_who(env, ISM, &["exception", "approve", "EX-1", "-o", "json"]).ok().json();
    assert_eq!(approved["state"], "active");

    // Production: approved, but not in force until the Head of Product accepts the risk.
    let production = request(env, DEV, "key=SN-P", &day(60));
    assert_eq!(production["production"], true);
    as_who(env, ISM, &["exception", "approve", "EX-3"]).ok();
    let waiting = inventory(env, &[]);
    assert_eq!(result(&waiting, "inventory/required-fields", "SN-2").0, "excepted");
    assert_eq!(result(&waiting, "inventory/required-fields", "SN-P").0, "fail");
    let refused = as_who(env, ISM, &["exception", "accept-risk", "EX-3"]).code(4);
    assert!(refused.stderr.contains("Head of Product"), "{}", refused.stderr);
    as_who(env, HOP, &["exception", "accept-risk", "EX-3"]).ok();
    let excepted = inventory(env, &[]);
    let (status, message) = result(&excepted, "inventory/required-fields", "SN-P");
    assert_eq!(status, "excepted");
    assert!(message.starts_with("excepted by EX-3 until "), "{message}");
    // The register reconciled (policy §6), so nothing but excepted results is left to fail.
    let register = env.write("far.csv", "asset_tag,serial\nFA-9,NOT-HERE\n");
    env.plumb(&["audit", "register", crate::support::arg(&register)]).code(1);
    env.plumb(&["check", "--pack", "inventory", "--fail-on", "info"]).ok();
    let shown = env.plumb(&["exception", "show", "EX-3", "-o", "json"]).ok().json();
    let actions: Vec<&str> =
        shown["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["requested", "approved", "risk_accepted"], "{shown}");
    assert!(
        shown["covers"].as_array().unwrap().contains(&"inventory/required-fields|SN-P".into()),
        "{shown}"
    );
    env.plumb(&["exception", "show", "EX-3"]).ok();
    let sarif = env.plumb(&["check", "--pack", "inventory", "-o", "sarif"]).ok();
    assert!(sarif.stdout.contains("\"suppressions\""), "{}", sarif.stdout);

    // An auditor reads the register and changes nothing.
    let listed =
        as_who(env, "audit@example.com", &["exception", "list", "--status", "active", "-o", "json"]).ok();
    let listed = listed.json();
    let ids: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["EX-1", "EX-3"]);
    let refused = as_who(env, "audit@example.com", &["check", "--pack", "inventory"]).code(4);
    assert!(refused.stderr.contains("auditors read everything and change nothing"), "{}", refused.stderr);
    let soon = env.plumb(&["exception", "list", "--expiring-within", "45d", "-o", "json"]).ok().json();
    let soon: Vec<&str> =
        soon["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(soon, ["EX-1", "EX-2"]);

    // Past EX-1's last day: staging's results fail again and say why; --fail-on blocks.
    let later = format!("{}T12:00:00Z", day(31));
    let vars = [("PLUMB_TEST_NOW", later.as_str())];
    let reopened = inventory(env, &vars);
    let (status, message) = result(&reopened, "inventory/required-fields", "SN-2");
    assert_eq!(status, "fail");
    assert!(message.ends_with(&format!("(exception EX-1 expired {})", day(30))), "{message}");
    assert_eq!(result(&reopened, "inventory/required-fields", "SN-P").0, "excepted");
    // The expired exception whose results still fail is a finding of its own (CFG-01).
    let (status, message) = result(&reopened, "exceptions/expired", "EX-1");
    assert_eq!(status, "fail");
    assert!(message.contains("inventory/required-fields SN-2"), "{message}");
    env.plumb_with(&["check", "--pack", "inventory", "--fail-on", "info"], &vars).code(1);
    // A run judged at the test clock says so in its record.
    let runs = env.plumb(&["run", "list", "--kind", "check", "-o", "json"]).ok().json();
    assert_eq!(
        runs["items"][0]["inputs"]["test_clock"].as_str().map(|t| &t[..10]),
        Some(&later[..10]),
        "{runs}"
    );
    assert!(
        runs["items"].as_array().unwrap().last().unwrap()["inputs"].get("test_clock").is_none(),
        "{runs}"
    );

    // Reminders: EX-1 ended, EX-3 ends within 30 days; one signed alert, and a second run
    // sends nothing. The heartbeat hears drift only.
    let beat = format!("{}/beat", heartbeat.url);
    let remind_vars = [
        ("PLUMB_TEST_NOW", later.as_str()),
        ("PLUMB_TEST_HOOK_SECRET", "s3cret"),
        ("PLUMB_TEST_HEARTBEAT", &beat),
    ];
    let reminded =
        env.plumb_with(&["exception", "remind", "--within", "30d", "-o", "json"], &remind_vars).ok();
    let due: Vec<(String, String)> = reminded.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["exception"].as_str().unwrap().to_owned(), d["reminder"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        due,
        [("EX-1".into(), "expired".into()), ("EX-3".into(), "expiring".into())],
        "{}",
        reminded.stdout
    );
    let sent = hook.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].headers["x-plumb-event"], "exception-reminder");
    assert!(sent[0].headers["x-plumb-signature-256"].starts_with("sha256="), "{:?}", sent[0].headers);
    let alert: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(alert["scan"], "exception-reminder");
    assert_eq!(alert["summary"], serde_json::json!({"expiring": 1, "expired": 1}));
    assert!(alert.get("open_unmanaged").is_none(), "{alert}");
    let keys: Vec<&str> =
        alert["opened"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["EX-1", "EX-3"]);
    let again = env.plumb_with(&["exception", "remind", "--within", "30d"], &remind_vars).ok();
    assert!(again.stderr.contains("nothing sent"), "{}", again.stderr);
    assert_eq!(hook.requests().len(), 1);
    assert!(heartbeat.requests().is_empty(), "{:?}", heartbeat.requests());

    // The register is on the chain: an edit beside it is found.
    env.plumb(&["log", "verify"]).ok();
    env.sql("UPDATE exceptions SET document = REPLACE(document, 'SECURITY-42', 'SECURITY-43')");
    let edited = env.plumb(&["log", "verify", "-o", "json"]).code(1).json();
    assert_eq!(edited["table"], "exceptions", "{edited}");
}

fn bad_requests_name_the_field(env: &Env) {
    env.plumb(&["asset", "add", "--key", "SN-1", "--kind", "hardware", "--type", "laptop"]).ok();
    let base = |check: &str, select: &str, expires: &str| {
        let args = [
            "exception",
            "request",
            "--check",
            check,
            "--select",
            select,
            "--justification",
            "j",
            "--control",
            "c",
            "--expires",
            expires,
        ];
        env.plumb(&args)
    };
    let ok_day = day(10);
    for (check, select, expires, said) in [
        ("inventory/*", "", day(-1).as_str(), "--expires: "),
        ("inventory/*", "", day(400).as_str(), "more than 365 days"),
        ("inventory/*", "", "31/12/2026", "expected YYYY-MM-DD"),
        ("cis-aws-1.5/9.9", "", ok_day.as_str(), "--check: \"cis-aws-1.5/9.9\" names no check"),
        ("inventory/*", "colour=red", ok_day.as_str(), "--select: \"colour=red\""),
    ] {
        let run = base(check, select, expires).code(2);
        assert!(run.stderr.contains(said), "{check} {select} {expires}: {}", run.stderr);
    }
    let idle = base("cis-aws-1.5/2.1.*", "", &ok_day).ok();
    assert!(idle.stderr.contains("covers no open finding today"), "{}", idle.stderr);
    env.plumb_with(&["exception", "reject", "EX-1", "--reason", "no"], &[("PLUMB_ACTOR", ISM)]).ok();
    let again = env.plumb_with(&["exception", "approve", "EX-1"], &[("PLUMB_ACTOR", ISM)]).code(2);
    assert!(again.stderr.contains("EX-1 is rejected"), "{}", again.stderr);
    // A request whose last day passed before anyone looked at it cannot be approved any more.
    base("inventory/*", "", &day(3)).ok();
    let later = format!("{}T12:00:00Z", day(5));
    let late = [("PLUMB_ACTOR", ISM), ("PLUMB_TEST_NOW", later.as_str())];
    let expired = env.plumb_with(&["exception", "approve", "EX-2"], &late).code(2);
    assert!(expired.stderr.contains("EX-2 is expired"), "{}", expired.stderr);
    // The register exports with the field names of -o json.
    let csv = env.plumb(&["exception", "list", "-o", "csv"]).ok();
    let header = csv.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("id,state,checks,selector,justification,controls,reference,production,"),
        "{header}"
    );
    assert_eq!(csv.stdout.lines().count(), 3, "{}", csv.stdout);
    let missing = env.plumb(&["exception", "show", "EX-9"]).code(2);
    assert!(missing.stderr.contains("EX-9"), "{}", missing.stderr);
}

/// A missing instance excepted (its environment is unknown, so as production): drift stores it
/// as excepted, --fail-on lets it through, and nobody is paged for it.
fn drift_items_are_excepted_too(env: &Env) {
    let scope = "aws:111122223333:us-east-1:ec2";
    let at = jiff::Timestamp::now().to_string();
    env.write(
        "live.jsonl",
        &format!(
            "{{\"snapshot\": {{\"collected_at\": \"{at}\"}}}}\n{{\"scope_complete\": \"{scope}\"}}\n{{\"snapshot_end\": {{\"resources\": 0}}}}\n"
        ),
    );
    env.plumb(&["sync", "snapshot", "live.jsonl"]).ok();
    let state = serde_json::json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "l", "outputs": {},
        "resources": [{"mode": "managed", "type": "aws_instance", "name": "web",
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"attributes": {"id": "i-a", "instance_type": "t3.micro",
                "arn": "arn:aws:ec2:us-east-1:111122223333:instance/i-a"}}]}]});
    env.write("a.tfstate", &state.to_string());
    let drift = ["drift", "--state", "a.tfstate", "--fail-on", "missing"];
    env.plumb(&drift).code(1);
    let args = [
        "exception",
        "request",
        "--check",
        "drift/missing",
        "--select",
        "key=terraform:a.tfstate:*",
        "--justification",
        "instance retired, state cleanup in SECURITY-7",
        "--control",
        "weekly review",
        "--expires",
        &day(7),
    ];
    as_who(env, DEV, &args).ok();
    as_who(env, ISM, &["exception", "approve", "EX-1"]).ok();
    env.plumb(&drift).code(1);
    as_who(env, HOP, &["exception", "accept-risk", "EX-1"]).ok();
    env.plumb(&drift).ok();
    let history =
        env.plumb(&["drift", "--history", "terraform:a.tfstate:aws_instance.web", "-o", "json"]).ok().json();
    let statuses: Vec<&str> =
        history["items"].as_array().unwrap().iter().filter_map(|e| e["status"].as_str()).collect();
    assert!(statuses.contains(&"excepted"), "{history}");
}

/// A critical CVE in a real Trivy report blocks the image gate until the register excepts it
/// for that image (its environment is unknown, so as production).
fn image_gate_honours_the_register(env: &Env) {
    env.fixture("trivy/trivy-alpine-39.json", "alpine.json");
    let gate = [
        "gate",
        "image",
        "--report",
        "alpine.json",
        "--image",
        "registry.example.com/alpine:3.9",
        "-o",
        "json",
    ];
    let blocked = env.plumb(&gate).code(1).json();
    assert_eq!(blocked["decisions"]["blocked"], 2, "{blocked}");
    let args = [
        "exception",
        "request",
        "--check",
        "image/CVE-2019-14697",
        "--select",
        "registry.example.com/alpine:*",
        "--justification",
        "musl fix not in 3.9; image retired in SECURITY-9",
        "--control",
        "no shell in the pod",
        "--expires",
        &day(14),
    ];
    as_who(env, DEV, &args).ok();
    as_who(env, ISM, &["exception", "approve", "EX-1"]).ok();
    as_who(env, HOP, &["exception", "accept-risk", "EX-1"]).ok();
    let passed = env.plumb(&gate).ok().json();
    assert_eq!(passed["decisions"]["blocked"], 0, "{passed}");
    assert_eq!(passed["decisions"]["excepted"], 2, "{passed}");
    // Another image is not covered.
    let other = [
        "gate",
        "image",
        "--report",
        "alpine.json",
        "--image",
        "registry.example.com/musl-app:1",
        "-o",
        "json",
    ];
    env.plumb(&other).code(1);
}

fn approved_exception(env: &Env, check: &str, select: &str) {
    let requested = request_for(env, DEV, check, select, &day(20));
    let id = requested["id"].as_str().unwrap().to_owned();
    as_who(env, ISM, &["exception", "approve", &id]).ok();
    as_who(env, HOP, &["exception", "accept-risk", &id]).ok();
}

/// `gate dockerfile` and `gate iac` read the register too, selected by the file's path; what it
/// does not cover still blocks.
fn file_gates_honour_the_register(env: &Env) {
    env.fixture("dockerfile", "dockerfile");
    env.fixture("gate/terraform", "tf");
    let django = ["gate", "dockerfile", "dockerfile/defectdojo-Dockerfile.django-alpine", "-o", "json"];
    env.plumb(&django).code(1);
    approved_exception(env, "dockerfile/*", "dockerfile/defectdojo-*");
    let passed = env.plumb(&django).ok().json();
    assert_eq!(passed["outcome"], "passed", "{passed}");
    assert_eq!(passed["files"][0]["violations"][0]["excepted"]["exception"], "EX-1", "{passed}");
    let table = env.plumb(&django[..3]).ok();
    assert!(table.stdout.contains("[excepted: exception EX-1 until"), "{}", table.stdout);
    env.plumb(&["gate", "dockerfile", "dockerfile/prowler-ui.Dockerfile"]).code(1);

    let iac = ["gate", "iac", "tf/live", "--env", "production", "-o", "json"];
    env.plumb(&iac).code(1);
    approved_exception(env, "iac/*", "tf/live/modules/*");
    let partly = env.plumb(&iac).code(1).json();
    let excepted: Vec<&str> = partly["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["excepted"]["exception"] == "EX-2")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(excepted, ["tf/live/modules/network/main.tf"; 4], "{partly}");
    approved_exception(env, "iac/*", "tf/live/main.tf");
    let sarif = env.plumb(&["gate", "iac", "tf/live", "--env", "production", "-o", "sarif"]).ok();
    assert!(sarif.stdout.contains("\"suppressions\""), "{}", sarif.stdout);
}

/// With admins named, an asset is changed by its keepers only, through `asset set` and through
/// an import alike; a refused import writes nothing.
fn roles_decide_who_changes_assets(env: &Env) {
    env.write("plumb.toml", &format!("{CONFIG}admins = [\"root@example.com\"]\n"));
    let add = [
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
    ];
    as_who(env, DEV, &add).ok();
    let refused = as_who(env, DEV, &["asset", "set", "SN-1", "--location", "HQ"]).code(4);
    assert!(refused.stderr.contains("kept by its owner or manager"), "{}", refused.stderr);
    env.write("change.csv", "key,kind,type,location\nSN-9,hardware,laptop,HQ\nSN-1,hardware,laptop,Lab\n");
    let refused = as_who(env, DEV, &["asset", "import", "change.csv"]).code(4);
    assert!(refused.stderr.contains("line 3: SN-1"), "{}", refused.stderr);
    assert_eq!(env.count(), 1, "nothing of the refused file was written");
    as_who(env, "ana@example.com", &["asset", "import", "change.csv"]).ok();
    as_who(env, "root@example.com", &["asset", "set", "SN-1", "--location", "HQ"]).ok();
}

/// A sink that fails keeps its reminders due and the command exits 3; the sink that took them
/// is not told twice; a sink added later hears what is still due; nothing due, nothing sent.
fn reminders_reach_each_sink_once(env: &Env) {
    let good = FakeHttp::start(|_, _, _| Response::json(serde_json::json!({})));
    let flaky = FakeHttp::start(|_, _, seen| {
        if seen < 4 { Response::status(503, "down") } else { Response::json(serde_json::json!({})) }
    });
    let hooks = format!(
        "\n[[sink]]\ntype = \"webhook\"\nname = \"good\"\nurl = \"{}/hook\"\nsecret_env = \"S\"\n\
         \n[[sink]]\ntype = \"webhook\"\nname = \"flaky\"\nurl = \"{}/hook\"\nsecret_env = \"S\"\n",
        good.url, flaky.url
    );
    env.write("plumb.toml", CONFIG);
    let vars = [("S", "s3cret")];
    // No sink hears reminders: a configuration problem, said as one.
    let none = env.plumb(&["exception", "remind"]).code(2);
    assert!(none.stderr.contains("no [[sink]]"), "{}", none.stderr);
    env.write("plumb.toml", &format!("{CONFIG}{hooks}"));
    env.plumb_with(&["exception", "remind"], &vars).ok();
    assert!(good.requests().is_empty(), "nothing is due, nothing is sent");

    let add: Vec<&str> =
        "asset add --key SN-1 --kind hardware --type laptop --environment staging".split(' ').collect();
    env.plumb(&add).ok();
    request(env, DEV, "environment=staging", &day(5));
    as_who(env, ISM, &["exception", "approve", "EX-1"]).ok();
    let failed = env.plumb_with(&["exception", "remind", "--within", "14d"], &vars).code(3);
    assert!(
        failed.stderr.contains("sink flaky (webhook)") && failed.stderr.contains("stay due"),
        "{}",
        failed.stderr
    );
    assert_eq!((good.requests().len(), flaky.requests().len()), (1, 4));
    // The next run tells the sink that failed, and only it.
    env.plumb_with(&["exception", "remind", "--within", "14d"], &vars).ok();
    assert_eq!((good.requests().len(), flaky.requests().len()), (1, 5));
    let runs = env.plumb(&["run", "list", "-o", "json"]).ok().json();
    let outcomes: Vec<&str> = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "reminder")
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 2, "{runs}");
    assert!(outcomes.contains(&"partial") && outcomes.contains(&"succeeded"), "{runs}");
    env.plumb(&["log", "verify"]).ok();
}
