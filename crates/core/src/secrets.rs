//! Secrets in Terraform states, sealed before anything is stored.
//!
//! A state holds what its providers returned: database passwords, generated keys, access-key
//! secrets. plumb keeps none of them. Every value Terraform marks sensitive
//! (`sensitive_attributes`), every attribute known to be secret, and every string attribute
//! whose name says it is one is replaced by a [`Sealer`]'s keyed hash
//! (`sealed:hmac-sha256:KEYID:HEX`) before it reaches the store, the event chain, an export or
//! a policy input. The same value under the same key seals the same, so a sync still sees a
//! secret change and two states can still be compared; without the key nothing can be
//! learned from it, not even by trying likely passwords.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::event_chain::canonical_json;

const PREFIX: &str = "sealed:hmac-sha256:";

/// Attributes known to be secret, by Terraform type (beyond the names [`secret_name`] knows).
const KNOWN: &[(&str, &[&str])] = &[
    ("aws_ssm_parameter", &["value"]),
    ("aws_kms_ciphertext", &["plaintext"]),
    ("aws_elasticache_user", &["passwords"]),
    ("aws_iam_access_key", &["secret", "ses_smtp_password_v4", "encrypted_secret"]),
    ("kubernetes_secret", &["data", "binary_data"]),
    ("kubernetes_secret_v1", &["data", "binary_data"]),
    ("vault_generic_secret", &["data", "data_json"]),
    ("random_string", &["result"]),
    ("random_password", &["result", "bcrypt_hash"]),
    ("github_actions_secret", &["plaintext_value", "encrypted_value"]),
    // Environments and container definitions hold whatever a team passes its code, secrets
    // included; Terraform marks none of it.
    ("aws_lambda_function", &["environment"]),
    ("aws_ecs_task_definition", &["container_definitions"]),
    ("aws_elastic_beanstalk_environment", &["setting"]),
];

/// Seals values with a secret key.
#[derive(Clone)]
pub struct Sealer {
    key: Vec<u8>,
    id: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("Sealer").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer for `key`; its id (the first 8 hex digits of the key's SHA-256) goes into
    /// every sealed value, so values sealed under another key are told apart, not compared.
    pub fn new(key: &[u8]) -> Sealer {
        let id = hex::encode(Sha256::digest(key))[..8].to_owned();
        Sealer { key: key.to_vec(), id }
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sealed form of a value: its canonical JSON under HMAC-SHA256.
    pub fn seal(&self, value: &Value) -> Value {
        if is_sealed(value) {
            return value.clone();
        }
        // HMAC takes keys of any length.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => return Value::String(format!("{PREFIX}{}:", self.id)),
        };
        mac.update(canonical_json(value).as_bytes());
        Value::String(format!("{PREFIX}{}:{}", self.id, hex::encode(mac.finalize().into_bytes())))
    }

    /// Seals the secrets among one state resource's attributes: the paths Terraform lists in
    /// `sensitive` (its `sensitive_attributes`), the type's known secrets, and string values
    /// whose name says secret. Returns the paths sealed, for the record.
    pub fn seal_state(
        &self,
        terraform_type: &str,
        values: &mut Value,
        sensitive: Option<&Value>,
    ) -> Vec<String> {
        let mut sealed = Vec::new();
        for path in sensitive.and_then(Value::as_array).into_iter().flatten().filter_map(state_path) {
            if let Some(found) = pointer_mut(values, &path).filter(|v| !v.is_null() && !is_sealed(v)) {
                *found = self.seal(found);
                sealed.push(path.join("."));
            }
        }
        let known = KNOWN.iter().find(|(t, _)| *t == terraform_type).map_or(&[][..], |(_, names)| *names);
        if let Value::Object(map) = values {
            for name in known {
                if let Some(found) = map.get_mut(*name).filter(|v| !v.is_null() && !is_sealed(v)) {
                    *found = self.seal(found);
                    sealed.push((*name).to_owned());
                }
            }
        }
        self.seal_named(values, &mut String::new(), &mut sealed);
        sealed
    }

    /// Seals, at any depth, the strings, objects and lists under names that say secret
    /// (`password`, `*_secret`, `private_key*`, `*_token`, …). Flags and numbers are left, as
    /// a name like `allow_users_to_change_password` holds no secret.
    fn seal_named(&self, value: &mut Value, at: &mut String, sealed: &mut Vec<String>) {
        // Every attribute of every state resource passes here: the path is one buffer grown
        // and cut back as the walk goes in and out, copied only for what is sealed.
        let within = |at: &mut String, part: &dyn std::fmt::Display| {
            let len = at.len();
            if len > 0 {
                at.push('.');
            }
            // Writing to a String cannot fail.
            let _ = write!(at, "{part}");
            len
        };
        match value {
            Value::Object(map) => {
                for (name, child) in map.iter_mut() {
                    let holds_data = matches!(child, Value::String(s) if !s.is_empty())
                        || matches!(child, Value::Object(m) if !m.is_empty())
                        || matches!(child, Value::Array(a) if !a.is_empty());
                    if holds_data && secret_name(name) && !is_sealed(child) {
                        *child = self.seal(child);
                        let len = within(at, name);
                        sealed.push(at.clone());
                        at.truncate(len);
                    } else if matches!(child, Value::Object(_) | Value::Array(_)) {
                        let len = within(at, name);
                        self.seal_named(child, at, sealed);
                        at.truncate(len);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if matches!(item, Value::Object(_) | Value::Array(_)) {
                        let len = within(at, &i);
                        self.seal_named(item, at, sealed);
                        at.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a value is sealed already.
pub fn is_sealed(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with(PREFIX))
}

/// Whether an attribute's name says it holds a secret: it speaks of a password, a secret or
/// a private key (`master_password`, `secret_key`, `private_key_pem`, `password_data`), or is
/// a token or API key, unless it names something about one (`secret_arn`,
/// `password_policy`, `password_length`).
pub fn secret_name(name: &str) -> bool {
    // Attribute names are lower case nearly always: copy only the others.
    let lowered;
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = name.to_ascii_lowercase();
        lowered.as_str()
    } else {
        name
    };
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "private_key",
        "client_key",
        "connection_string",
        "kube_config",
        "credential",
    ];
    const ENDINGS: &[&str] = &["_token", "api_key", "bcrypt_hash"];
    const ABOUT: &[&str] = &[
        "_arn",
        "_id",
        "_ids",
        "_name",
        "_policy",
        "_length",
        "_required",
        "_enabled",
        "_rotation",
        "_version",
        "_type",
        "_mode",
    ];
    let says =
        name == "token" || WORDS.iter().any(|w| holds(name, w)) || ENDINGS.iter().any(|e| name.ends_with(e));
    says && !ABOUT.iter().any(|a| name.ends_with(a))
}

/// Whether `word` occurs in `name`. Attribute names are short: comparing windows costs less
/// than building `str::contains`'s searcher, and this runs for every attribute of a state.
fn holds(name: &str, word: &str) -> bool {
    name.as_bytes().windows(word.len()).any(|window| window == word.as_bytes())
}

/// A path of `sensitive_attributes`: `[{"type": "get_attr", "value": "password"},
/// {"type": "index", "value": {"value": 0, "type": "number"}}]`, or a dotted string.
fn state_path(path: &Value) -> Option<Vec<String>> {
    match path {
        Value::String(text) => Some(text.split('.').map(str::to_owned).collect()),
        Value::Array(steps) => steps
            .iter()
            .map(|step| match (step.get("type").and_then(Value::as_str), step.get("value")) {
                (Some("get_attr"), Some(Value::String(name))) => Some(name.clone()),
                (Some("index"), Some(index)) => match index.get("value").unwrap_or(index) {
                    Value::String(key) => Some(key.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn pointer_mut<'v>(value: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    let mut current = value;
    for step in path {
        current = match current {
            Value::Object(map) => map.get_mut(step)?,
            Value::Array(items) => items.get_mut(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Seals the Terraform values inside a stored asset document (an asset's `attributes`, or an
/// event's before/after holding them): `{"type": …, "values": {…}}`. Returns whether anything
/// changed. Documents of other shapes are left alone.
pub fn seal_stored(sealer: &Sealer, attributes: &mut Map<String, Value>) -> bool {
    let Some(terraform_type) = attributes.get("type").and_then(Value::as_str).map(str::to_owned) else {
        return false;
    };
    match attributes.get_mut("values") {
        Some(values @ Value::Object(_)) => !sealer.seal_state(&terraform_type, values, None).is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sensitive_known_and_named_values_are_sealed_alike_and_only_they() {
        let sealer = Sealer::new(b"test key of any length");
        let mut values = json!({
            "identifier": "orders", "password": "hunter2", "port": 5432,
            "master_user": [{"name": "admin", "secret_key": "abc"}],
            "custom": {"note": "not secret by name"},
            "allow_users_to_change_password": true,
        });
        let sensitive =
            json!([[{"type": "get_attr", "value": "custom"}, {"type": "get_attr", "value": "note"}]]);
        let mut sealed = sealer.seal_state("aws_db_instance", &mut values, Some(&sensitive));
        sealed.sort();
        assert_eq!(sealed, ["custom.note", "master_user.0.secret_key", "password"]);
        assert_eq!(values["identifier"], "orders");
        assert_eq!(values["port"], 5432);
        assert_eq!(values["allow_users_to_change_password"], true);
        assert!(is_sealed(&values["password"]));
        assert!(!values.to_string().contains("hunter2"));
        // The same secret seals the same (a sync sees when it changes); another key differs.
        assert_eq!(values["password"], sealer.seal(&json!("hunter2")));
        assert_ne!(values["password"], sealer.seal(&json!("hunter3")));
        assert_ne!(values["password"], Sealer::new(b"other").seal(&json!("hunter2")));
        // Sealing again changes nothing.
        let again = values.clone();
        assert!(sealer.seal_state("aws_db_instance", &mut values, Some(&sensitive)).is_empty());
        assert_eq!(values, again);
    }

    #[test]
    fn known_secrets_of_generators_and_indexed_paths() {
        let sealer = Sealer::new(b"k");
        let mut password =
            json!({"id": "none", "length": 24, "result": "s3cr3t!", "bcrypt_hash": "$2a$10$x"});
        assert_eq!(sealer.seal_state("random_password", &mut password, None), ["result", "bcrypt_hash"]);
        let mut key = json!({"private_key_pem": "-----BEGIN", "public_key_pem": "-----BEGIN PUBLIC"});
        assert_eq!(sealer.seal_state("tls_private_key", &mut key, None), ["private_key_pem"]);
        let mut listed = json!({"users": [{"name": "a", "pin": "1234"}]});
        let path = json!([[{"type": "get_attr", "value": "users"}, {"type": "index", "value": {"value": 0, "type": "number"}}, {"type": "get_attr", "value": "pin"}]]);
        assert_eq!(sealer.seal_state("x", &mut listed, Some(&path)), ["users.0.pin"]);
        let secret = Sealer::new(b"DO-NOT-PRINT");
        assert!(!format!("{secret:?}").contains("DO-NOT-PRINT"), "{secret:?}");
    }

    #[test]
    fn names_that_say_secret() {
        for name in [
            "password",
            "master_password",
            "secret",
            "secret_key",
            "client_secret",
            "private_key_pem",
            "password_data",
            "auth_token",
            "token",
            "api_key",
            "secret_string",
            "passphrase",
            "client_key",
            "primary_connection_string",
            "kube_config_raw",
            "credentials",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in [
            "secret_arn",
            "kms_key_id",
            "password_policy",
            "minimum_password_length",
            "token_name",
            "public_key_pem",
            "name",
            "password_reset_required",
            "credential_type",
            "client_key_id",
        ] {
            assert!(!secret_name(name), "{name}");
        }
    }

    #[test]
    fn stored_documents_are_sealed_in_place() {
        let sealer = Sealer::new(b"k");
        let mut attributes =
            json!({"type": "aws_db_instance", "address": "aws_db_instance.db", "values": {"password": "p"}});
        let Value::Object(map) = &mut attributes else { unreachable!() };
        assert!(seal_stored(&sealer, map));
        assert!(!seal_stored(&sealer, map));
        assert!(is_sealed(&attributes["values"]["password"]));
        let mut other = json!({"InstanceType": "t3.micro"});
        let Value::Object(map) = &mut other else { unreachable!() };
        assert!(!seal_stored(&sealer, map));
    }
}
