//! Secrets in Terraform states never reach the database, an export or a policy input: they
//! are sealed with the key plumb keeps beside its configuration, and a changed secret is still
//! seen. Secrets an older plumb stored in clear are sealed once, on open, with the chain
//! re-sealed and the old bytes gone.

use serde_json::{Value, json};

use crate::support::{Backend, Env, both_backends};

both_backends!(state_secrets_are_sealed_before_anything_is_stored, secrets_stored_in_clear_are_sealed_once);

const PASSWORD: &str = "db-password-Zq8w";
const GENERATED: &str = "generated-Kx93-result";
const PRIVATE_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA";
const ACCESS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn state(password: &str) -> Value {
    let resource = |kind: &str, name: &str, attributes: Value, sensitive: Value| {
        json!({"mode": "managed", "type": kind, "name": name,
               "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
               "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": sensitive}]})
    };
    json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "l", "outputs": {}, "resources": [
        resource("aws_db_instance", "orders", json!({"id": "orders", "identifier": "orders", "password": password,
            "arn": "arn:aws:rds:eu-west-1:111122223333:db:orders", "instance_class": "db.t3.micro"}),
            json!([[{"type": "get_attr", "value": "password"}]])),
        resource("random_password", "db", json!({"id": "none", "length": 24, "result": GENERATED}), json!([])),
        resource("tls_private_key", "deploy", json!({"id": "k", "algorithm": "RSA", "private_key_pem": PRIVATE_KEY}), json!([])),
        resource("aws_iam_access_key", "ci", json!({"id": "AKIAEXAMPLE", "user": "ci", "secret": ACCESS_SECRET}), json!([])),
    ]})
}

/// Whether any file of the workspace (the database, its WAL) holds `secret`.
fn on_disk(env: &Env, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tfstate") || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
            found.push(path.display().to_string());
        }
    }
    found
}

fn state_secrets_are_sealed_before_anything_is_stored(env: &Env) {
    env.write("prod.tfstate", &state(PASSWORD).to_string());
    let sync = env.plumb(&["sync", "terraform", "prod.tfstate"]).ok();
    assert!(sync.stderr.contains("created the seal key"), "{}", sync.stderr);
    for secret in [PASSWORD, GENERATED, PRIVATE_KEY, ACCESS_SECRET] {
        assert_eq!(on_disk(env, secret), Vec::<String>::new(), "{secret}");
    }
    let export = env.plumb(&["asset", "export", "-o", "json"]).ok();
    for secret in [PASSWORD, GENERATED, PRIVATE_KEY, ACCESS_SECRET] {
        assert!(!export.stdout.contains(secret), "{secret} in the export");
    }
    let db = env
        .plumb(&["asset", "show", "terraform:prod.tfstate:aws_db_instance.orders", "-o", "json"])
        .ok()
        .json();
    let sealed = db["attributes"]["values"]["password"].as_str().unwrap().to_owned();
    assert!(sealed.starts_with("sealed:hmac-sha256:"), "{sealed}");
    assert_eq!(db["attributes"]["values"]["instance_class"], "db.t3.micro", "only secrets are sealed");

    // What a policy sees: every document as conftest would get it, printed back.
    std::fs::create_dir_all(env.path("policies")).unwrap();
    env.write(
        "policies/echo.rego",
        "package echo\nimport rego.v1\ndeny contains msg if { msg := json.marshal(input) }\n",
    );
    let check = env.plumb(&["check", "--policy", "policies", "-o", "json"]).ok();
    assert!(check.stdout.contains("sealed:hmac-sha256:"), "{}", check.stdout);
    for secret in [PASSWORD, GENERATED, PRIVATE_KEY, ACCESS_SECRET] {
        assert!(!check.stdout.contains(secret), "{secret} in a policy input");
    }

    // A changed secret is still seen, as a change of its sealed value.
    env.write("prod.tfstate", &state("rotated-password-77").to_string());
    let again = env.plumb(&["sync", "terraform", "prod.tfstate", "-o", "json"]).ok().json();
    assert_eq!(again["items"][0]["changed"], 1, "{again}");
    let history = env
        .plumb(&["asset", "history", "terraform:prod.tfstate:aws_db_instance.orders", "-o", "json"])
        .ok()
        .json();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["before"]["attributes"]["values"]["password"], sealed.as_str(), "{last}");
    let rotated = last["after"]["attributes"]["values"]["password"].as_str().unwrap();
    assert!(rotated.starts_with("sealed:hmac-sha256:") && rotated != sealed, "{last}");
    assert_eq!(on_disk(env, "rotated-password-77"), Vec::<String>::new());
    env.plumb(&["log", "verify"]).ok();
}

/// Rows and events as plumb wrote them before it sealed secrets, with a valid chain.
fn write_legacy(env: &Env) {
    let runtime = crate::support::runtime();
    runtime.block_on(async {
        let store = plumb_store::Store::open(&env.url, &plumb_store::OpenOptions::default()).await.unwrap();
        let asset = plumb_core::Asset {
            id: plumb_core::AssetId(ulid::Ulid::generate()),
            key: "terraform:old.tfstate:aws_db_instance.legacy".into(),
            name: "aws_db_instance.legacy".into(),
            kind: plumb_core::Kind::Cloud,
            asset_type: "terraform.aws_db_instance".into(),
            environment: None,
            owner: None,
            manager: None,
            classification: None,
            location: None,
            status: plumb_core::Status::Discovered,
            source: "terraform".into(),
            financial_ref: None,
            tags: Default::default(),
            attributes: json!({"address": "aws_db_instance.legacy", "type": "aws_db_instance", "state": "old.tfstate",
                "values": {"identifier": "legacy", "password": PASSWORD}}),
            first_seen: plumb_core::Timestamp::from_jiff(jiff::Timestamp::now()),
            last_seen: plumb_core::Timestamp::from_jiff(jiff::Timestamp::now()),
            scope: Some("terraform:old.tfstate".into()),
            absent_since: None,
            provenance: Default::default(),
        };
        let mut tx = store.begin_write("old-plumb").await.unwrap();
        tx.create_assets(vec![plumb_core::NewAsset::new(asset).into()]).await.unwrap();
        tx.commit().await.unwrap();
        store.close().await;
    });
    // The task never ran on this database.
    env.sql("DELETE FROM maintenance");
}

fn secrets_stored_in_clear_are_sealed_once(env: &Env) {
    env.plumb(&["asset", "list"]).ok();
    write_legacy(env);
    if env.url.starts_with("sqlite") {
        assert!(!on_disk(env, PASSWORD).is_empty(), "the legacy secret is on disk to begin with");
    }
    let first = env.plumb(&["asset", "list", "-o", "json"]).ok();
    assert!(
        first.stderr.contains("sealed the secrets an earlier plumb stored in clear: 1 assets and 1 events"),
        "{}",
        first.stderr
    );
    assert!(!first.stdout.contains(PASSWORD));
    let second = env.plumb(&["asset", "list"]).ok();
    assert!(!second.stderr.contains("sealed the secrets"), "once only: {}", second.stderr);
    assert_eq!(on_disk(env, PASSWORD), Vec::<String>::new());
    let verify = env.plumb(&["log", "verify", "-o", "json"]).ok().json();
    assert_eq!(verify["status"], "intact", "{verify}");
    let history =
        env.plumb(&["asset", "history", "terraform:old.tfstate:aws_db_instance.legacy", "-o", "json"]).ok();
    assert!(!history.stdout.contains(PASSWORD), "{}", history.stdout);
}

#[test]
fn a_short_seal_key_is_refused_without_being_shown() {
    let env = Env::new(Backend::Sqlite).unwrap();
    env.write("prod.tfstate", &state(PASSWORD).to_string());
    let run =
        env.plumb_with(&["sync", "terraform", "prod.tfstate"], &[("PLUMB_SEAL_KEY", "tiny-key")]).code(2);
    assert!(run.stderr.contains("PLUMB_SEAL_KEY is too short"), "{}", run.stderr);
    assert!(!run.stderr.contains("tiny-key"), "{}", run.stderr);
}
