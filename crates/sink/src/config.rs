//! Reading one `[[sink]]` table: the keys every sink has (`type`, `name`, `scans`), the sink's own keys
//! (unknown ones refused), secrets from environment variables, and error messages that name
//! the sink and the key.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Scan, SinkError};

/// The keys every sink table has.
pub(crate) struct Head {
    /// The `type` key.
    pub sink_type: String,
    /// The `name` key, when given.
    pub name: Option<String>,
    /// The `scans` key, when given.
    pub scans: Option<Vec<Scan>>,
}

/// The keys every sink has, taken out before a type reads its own.
const COMMON: &[&str] = &["type", "name", "scans"];

impl Head {
    /// Reads `type` and `name` from a table.
    pub fn read(settings: &Value) -> Result<Head, SinkError> {
        let fail = |message: &str| Err(SinkError::Config(format!("sink: {message}")));
        let Some(table) = settings.as_object() else {
            return fail("a [[sink]] entry must be a table");
        };
        let name = match table.get("name") {
            None => None,
            Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
            Some(_) => return fail("key `name` must be a non-empty string"),
        };
        let sink_type = match table.get("type") {
            Some(Value::String(sink_type)) => sink_type.clone(),
            Some(_) => return fail("key `type` must be a string"),
            None => {
                let known: Vec<&str> = crate::SINKS.iter().map(|t| t.name).collect();
                let named = name.map(|name| format!(" \"{name}\"")).unwrap_or_default();
                return fail(&format!("[[sink]]{named} has no `type`, expected one of {}", known.join(", ")));
            }
        };
        let mut head = Head { sink_type, name, scans: None };
        if let Some(value) = table.get("scans") {
            let problem = |problem| SinkError::Config(format!("{}: key `scans`: {problem}", head.label()));
            head.scans = Some(scans(value).map_err(problem)?);
        }
        Ok(head)
    }

    /// How messages name this sink: its name when it has one, else its type.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("sink \"{name}\" ({})", self.sink_type),
            None => format!("sink ({})", self.sink_type),
        }
    }
}

/// A sink table read: its name (the type when none was given), how messages name it, and
/// its own keys.
pub(crate) struct Parsed<T> {
    pub name: String,
    pub label: String,
    pub keys: T,
}

/// Reads a table for the sink type `sink_type` into its own keys `T`. `T` denies unknown
/// fields; `type` and `name` are taken out first because every sink has them. `keys` lists
/// what the type takes, for the message when something is wrong.
pub(crate) fn parse<T: DeserializeOwned>(
    settings: &Value,
    sink_type: &'static str,
    keys: &str,
) -> Result<Parsed<T>, SinkError> {
    let head = Head::read(settings)?;
    let label = head.label();
    if head.sink_type != sink_type {
        return Err(SinkError::Config(format!("{label}: expected type `{sink_type}`")));
    }
    let mut table = settings.as_object().cloned().unwrap_or_default();
    for key in COMMON {
        table.remove(*key);
    }
    // serde_path_to_error names the key when a value has the wrong type; serde alone says
    // only "invalid type: integer, expected a string".
    let parsed: T = serde_path_to_error::deserialize(Value::Object(table)).map_err(|err| {
        let path = err.path().to_string();
        let at = if path == "." { String::new() } else { format!("key `{path}`: ") };
        SinkError::Config(format!("{label}: {at}{} ({sink_type} takes {keys})", err.inner()))
    })?;
    Ok(Parsed { name: head.name.unwrap_or_else(|| sink_type.to_owned()), label, keys: parsed })
}

/// A `scans` value: a non-empty array of scan names.
fn scans(value: &Value) -> Result<Vec<Scan>, String> {
    let known = || Scan::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    let Some(items) = value.as_array().filter(|items| !items.is_empty()) else {
        return Err(format!("expected a non-empty array of {}", known()));
    };
    items
        .iter()
        .map(|item| {
            let text = item.as_str().unwrap_or_default();
            Scan::ALL
                .iter()
                .copied()
                .find(|scan| scan.as_str() == text)
                .ok_or_else(|| format!("unknown scan {item}, expected one of {}", known()))
        })
        .collect()
}

/// A secret read from the environment; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    /// The secret itself, to send.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The value of the environment variable that the key `key` names. Unset and empty are the
/// same: an empty token or URL can only fail later, further from the cause.
pub(crate) fn secret(
    label: &str,
    key: &str,
    variable: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, SinkError> {
    match env(variable) {
        Some(value) if !value.is_empty() => Ok(Secret(value)),
        _ => Err(SinkError::Config(format!(
            "{label}: key `{key}` names the environment variable {variable}, which is not set"
        ))),
    }
}

/// An http(s) URL. `what` says where it came from; the URL itself is not repeated in the
/// message because it may be a secret (a Slack webhook, a heartbeat token).
pub(crate) fn url(label: &str, what: &str, text: &str) -> Result<reqwest::Url, SinkError> {
    let fail = |why: &str| SinkError::Config(format!("{label}: {what} is not an http(s) URL: {why}"));
    let url = reqwest::Url::parse(text).map_err(|err| fail(&err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(fail(&format!("scheme `{}`", url.scheme())));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // Read only through Debug here.
    struct Keys {
        url: String,
        #[serde(default)]
        retries: u32,
    }

    fn check(settings: Value, expect: &str) {
        let got = match parse::<Keys>(&settings, "demo", "url, retries (optional)") {
            Ok(parsed) => format!("ok {} | {} | {:?}", parsed.name, parsed.label, parsed.keys),
            Err(err) => format!("err {err}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn tables() {
        check(
            json!({"type": "demo", "url": "u"}),
            r#"ok demo | sink (demo) | Keys { url: "u", retries: 0 }"#,
        );
        check(
            json!({"type": "demo", "name": "ops", "url": "u", "retries": 2}),
            r#"ok ops | sink "ops" (demo) | Keys { url: "u", retries: 2 }"#,
        );
        check(
            json!({"type": "demo", "name": "ops", "url": "u", "urll": "v"}),
            r#"err sink "ops" (demo): key `urll`: unknown field `urll`, expected `url` or `retries` (demo takes url, retries (optional))"#,
        );
        check(
            json!({"type": "demo"}),
            "err sink (demo): missing field `url` (demo takes url, retries (optional))",
        );
        check(
            json!({"type": "demo", "url": 3}),
            "err sink (demo): key `url`: invalid type: integer `3`, expected a string (demo takes url, retries (optional))",
        );
        check(json!({"type": "other", "url": "u"}), "err sink (other): expected type `demo`");
        check(
            json!({"url": "u"}),
            "err sink: [[sink]] has no `type`, expected one of betterstack, slack, webhook, heartbeat",
        );
        check(json!({"type": 1}), "err sink: key `type` must be a string");
        check(json!({"type": "demo", "name": ""}), "err sink: key `name` must be a non-empty string");
        check(json!(["demo"]), "err sink: a [[sink]] entry must be a table");
        // `scans` is everyone's key, read before the type's own.
        check(
            json!({"type": "demo", "url": "u", "scans": ["drift"]}),
            r#"ok demo | sink (demo) | Keys { url: "u", retries: 0 }"#,
        );
        check(
            json!({"type": "demo", "name": "ops", "url": "u", "scans": ["drfit"]}),
            r#"err sink "ops" (demo): key `scans`: unknown scan "drfit", expected one of drift, exception-reminder, sync, check, audit-reminder"#,
        );
        check(
            json!({"type": "demo", "url": "u", "scans": "drift"}),
            "err sink (demo): key `scans`: expected a non-empty array of drift, exception-reminder, sync, check, audit-reminder",
        );
    }

    #[test]
    fn secrets_must_be_set_and_not_empty() {
        let env = |name: &str| match name {
            "SET" => Some("s3cret".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(secret("sink (x)", "token_env", "SET", &env).unwrap().expose(), "s3cret");
        for variable in ["EMPTY", "UNSET"] {
            let err = secret("sink (x)", "token_env", variable, &env).unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "sink (x): key `token_env` names the environment variable {variable}, which is not set"
                )
            );
        }
    }

    #[test]
    fn urls_must_be_http_and_are_not_echoed() {
        assert!(url("sink (x)", "key `url`", "https://example.com/a").is_ok());
        assert!(url("sink (x)", "key `url`", "http://127.0.0.1:9/a").is_ok());
        let err = url("sink (x)", "the value of HOOK", "ftp://secret.example.com/").unwrap_err().to_string();
        assert_eq!(err, "sink (x): the value of HOOK is not an http(s) URL: scheme `ftp`");
        let err = url("sink (x)", "the value of HOOK", "mailto:secret@example.com").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
