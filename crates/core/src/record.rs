//! Reading an asset from a record of named fields: a CSV row, a JSON object, or the flags of
//! `plumb asset add`. One reader, so every way in applies the same checks and reports problems
//! the same way (the field, what was expected, what was found).

use std::str::FromStr;

use serde_json::Value;

use crate::lifecycle::check_record_for;
use crate::model::{Asset, AssetId, FIELDS, Kind, Status, Tags};
use crate::rules::{InventoryRules, OwnershipError};
use crate::time::Timestamp;

/// Fields every record must have.
pub const REQUIRED: &[&str] = &["key", "kind", "type"];

const TAGS_EXPECTED: &str = r#"a JSON object of text values such as {"team":"sre"}"#;

/// One field's value as the input format gives it: text from CSV cells and flags (where `tags`
/// and `attributes` hold JSON text), or a JSON value from JSON input.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text; empty text means "not set".
    Text(String),
    /// A JSON value; `null` means "not set".
    Json(Value),
}

/// A problem with one field of one record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem}")]
pub struct FieldError {
    /// The field's name.
    pub field: String,
    /// What was expected and what was found, or the rule that was broken.
    pub problem: String,
}

impl FieldError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        FieldError { field: field.to_owned(), problem: problem.into() }
    }
}

/// Values for fields a record leaves out.
#[derive(Clone, Debug)]
pub struct Defaults {
    /// The id a new asset gets.
    pub id: AssetId,
    /// Used for `first_seen` and `last_seen`.
    pub now: Timestamp,
    /// The status a new record gets (`registered` for people and imports).
    pub status: Status,
    /// The source a new record gets.
    pub source: String,
}

/// Checks the column names of a CSV header (or the keys a format promises): every required
/// field present, no unknown field.
pub fn check_columns<'a>(columns: impl IntoIterator<Item = &'a str>) -> Vec<FieldError> {
    let columns: Vec<&str> = columns.into_iter().collect();
    let mut problems: Vec<FieldError> =
        columns.iter().filter(|c| !FIELDS.contains(c)).map(|c| unknown_field(c)).collect();
    problems.extend(
        REQUIRED
            .iter()
            .filter(|r| !columns.contains(r))
            .map(|r| FieldError::new(r, "required column is missing")),
    );
    problems
}

fn unknown_field(name: &str) -> FieldError {
    FieldError::new(name, format!("unknown field; expected one of {}", FIELDS.join(", ")))
}

/// Reads one asset from its fields and applies the inventory rules: closed vocabularies,
/// configured environments and classifications, the production ownership rule and what
/// `in_service` requires. Returns every problem found, not just the first.
pub fn read_asset(
    fields: impl IntoIterator<Item = (String, Cell)>,
    rules: &InventoryRules,
    defaults: &Defaults,
) -> Result<Asset, Vec<FieldError>> {
    let mut reader = Reader::default();
    for (name, cell) in fields {
        reader.set(&name, cell);
    }
    let asset = reader.finish(rules, defaults)?;
    check_policy(asset, rules)
}

/// The production ownership rule and the `in_service` requirements, as field problems.
fn check_policy(mut asset: Asset, rules: &InventoryRules) -> Result<Asset, Vec<FieldError>> {
    if let Err(err) = rules.apply_production_ownership(&mut asset) {
        let field = match &err {
            OwnershipError::Conflict { role, .. } => role.field,
            OwnershipError::RoleUnassigned { .. } => "environment",
        };
        return Err(vec![FieldError::new(field, err.to_string())]);
    }
    if let Err(err) = check_record_for(&asset, asset.status) {
        return Err(vec![FieldError::new("status", err.to_string())]);
    }
    Ok(asset)
}

#[derive(Default)]
struct Reader {
    values: Vec<(&'static str, Cell)>,
    problems: Vec<FieldError>,
}

impl Reader {
    fn set(&mut self, name: &str, cell: Cell) {
        match FIELDS.iter().find(|f| **f == name) {
            Some(field) if self.values.iter().any(|(f, _)| f == field) => {
                self.problems.push(FieldError::new(name, "given more than once"));
            }
            Some(field) => self.values.push((field, cell)),
            None => self.problems.push(unknown_field(name)),
        }
    }

    fn take(&mut self, field: &str) -> Option<Cell> {
        let at = self.values.iter().position(|(f, _)| *f == field)?;
        let (_, cell) = self.values.swap_remove(at);
        match &cell {
            Cell::Text(text) if text.is_empty() => None,
            Cell::Json(Value::Null) => None,
            _ => Some(cell),
        }
    }

    fn text(&mut self, field: &str) -> Option<String> {
        match self.take(field)? {
            Cell::Text(text) => Some(text),
            Cell::Json(Value::String(text)) if text.is_empty() => None,
            Cell::Json(Value::String(text)) => Some(text),
            Cell::Json(value @ (Value::Number(_) | Value::Bool(_))) => Some(value.to_string()),
            Cell::Json(other) => {
                self.problems.push(FieldError::new(field, format!("expected text, found {other}")));
                None
            }
        }
    }

    fn required(&mut self, field: &str) -> Option<String> {
        let value = self.text(field).filter(|v| !v.trim().is_empty());
        if value.is_none() && !self.problems.iter().any(|p| p.field == field) {
            self.problems.push(FieldError::new(field, "is required"));
        }
        value
    }

    fn parsed<T: FromStr>(&mut self, field: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.text(field)?;
        match text.trim().parse() {
            Ok(value) => Some(value),
            Err(err) => {
                self.problems.push(FieldError::new(field, err.to_string()));
                None
            }
        }
    }

    fn one_of(&mut self, field: &str, allowed: &[String]) -> Option<String> {
        let value = self.text(field)?;
        if allowed.contains(&value) {
            Some(value)
        } else {
            let expected = allowed.join(", ");
            self.problems.push(FieldError::new(
                field,
                format!("expected one of {expected} (as configured in plumb.toml), found {value:?}"),
            ));
            None
        }
    }

    fn json(&mut self, field: &str, expected: &str) -> Option<Value> {
        match self.take(field)? {
            Cell::Json(value) => Some(value),
            Cell::Text(text) => match serde_json::from_str(&text) {
                Ok(value) => Some(value),
                Err(err) => {
                    self.problems
                        .push(FieldError::new(field, format!("expected {expected}, found {text:?} ({err})")));
                    None
                }
            },
        }
    }

    fn tags(&mut self) -> Tags {
        let Some(value) = self.json("tags", TAGS_EXPECTED) else {
            return Tags::new();
        };
        let parsed = match value {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    Value::Number(_) | Value::Bool(_) => Some((k, v.to_string())),
                    _ => None,
                })
                .collect::<Option<Tags>>(),
            _ => None,
        };
        parsed.unwrap_or_else(|| {
            self.problems.push(FieldError::new("tags", format!("expected {TAGS_EXPECTED}")));
            Tags::new()
        })
    }

    fn attributes(&mut self) -> Value {
        match self.json("attributes", "a JSON object") {
            None => Value::Object(Default::default()),
            Some(value @ Value::Object(_)) => value,
            Some(other) => {
                self.problems
                    .push(FieldError::new("attributes", format!("expected a JSON object, found {other}")));
                Value::Object(Default::default())
            }
        }
    }

    fn finish(mut self, rules: &InventoryRules, defaults: &Defaults) -> Result<Asset, Vec<FieldError>> {
        let key = self.required("key");
        let kind = self.required("kind").and_then(|k| self.word::<Kind>("kind", &k));
        let asset_type = self.required("type");
        let id = self.parsed::<AssetId>("id");
        let name = self.text("name");
        let environment = self.one_of("environment", &rules.environments);
        let classification = self.one_of("classification", &rules.classifications);
        let status = self.parsed::<Status>("status");
        let first_seen = self.parsed::<Timestamp>("first_seen");
        let last_seen = self.parsed::<Timestamp>("last_seen");
        let tags = self.tags();
        let attributes = self.attributes();
        let asset = Asset {
            id: id.unwrap_or(defaults.id),
            name: name.or_else(|| key.clone()).unwrap_or_default(),
            key: key.unwrap_or_default(),
            kind: kind.unwrap_or(Kind::Hardware),
            asset_type: asset_type.unwrap_or_default(),
            environment,
            owner: self.text("owner"),
            manager: self.text("manager"),
            classification,
            location: self.text("location"),
            status: status.unwrap_or(defaults.status),
            source: self.text("source").unwrap_or_else(|| defaults.source.clone()),
            financial_ref: self.text("financial_ref"),
            tags,
            attributes,
            first_seen: first_seen.unwrap_or(defaults.now),
            last_seen: last_seen.or(first_seen).unwrap_or(defaults.now),
        };
        if self.problems.is_empty() { Ok(asset) } else { Err(self.problems) }
    }

    fn word<T: FromStr>(&mut self, field: &str, text: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        match text.trim().parse() {
            Ok(value) => Some(value),
            Err(err) => {
                self.problems.push(FieldError::new(field, err.to_string()));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> InventoryRules {
        InventoryRules {
            head_of_product: Some("hop@example.com".into()),
            sre_lead: Some("sre@example.com".into()),
            ..InventoryRules::default()
        }
    }

    fn defaults() -> Defaults {
        Defaults {
            id: "01JDQ8W8F4Z6S6YB4C4ZQXK3VQ".parse().unwrap(),
            now: "2026-01-01T00:00:00Z".parse().unwrap(),
            status: Status::Registered,
            source: "manual".into(),
        }
    }

    fn text(pairs: &[(&str, &str)]) -> Vec<(String, Cell)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Cell::Text((*v).to_owned()))).collect()
    }

    /// Reads a record and returns either the asset's JSON or the problems, one per line.
    fn check(fields: Vec<(String, Cell)>, expect: &str) {
        let got = match read_asset(fields, &rules(), &defaults()) {
            Ok(asset) => serde_json::to_string(&asset).unwrap(),
            Err(problems) => problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn minimal_record_gets_defaults() {
        check(
            text(&[("key", "SN-1"), ("kind", "hardware"), ("type", "laptop")]),
            r#"{"id":"01JDQ8W8F4Z6S6YB4C4ZQXK3VQ","key":"SN-1","name":"SN-1","kind":"hardware","type":"laptop","environment":null,"owner":null,"manager":null,"classification":null,"location":null,"status":"registered","source":"manual","financial_ref":null,"tags":{},"attributes":{},"first_seen":"2026-01-01T00:00:00.000000Z","last_seen":"2026-01-01T00:00:00.000000Z"}"#,
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        check(
            text(&[
                ("key", "SN-1"),
                ("kind", "server"),
                ("type", "laptop"),
                ("environment", "prod"),
                ("status", "live"),
                ("first_seen", "31/01/2026"),
                ("tags", "team=sre"),
                ("colour", "red"),
            ]),
            [
                "field `colour`: unknown field; expected one of id, key, name, kind, type, environment, owner, manager, classification, location, status, source, financial_ref, tags, attributes, first_seen, last_seen",
                "field `kind`: expected one of hardware, software, data, cloud, found \"server\"",
                "field `environment`: expected one of production, staging, corporate (as configured in plumb.toml), found \"prod\"",
                "field `status`: expected one of discovered, registered, in_service, decommissioning, decommissioned, found \"live\"",
                "field `first_seen`: expected an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, found \"31/01/2026\"",
                r#"field `tags`: expected a JSON object of text values such as {"team":"sre"}, found "team=sre" (expected ident at line 1 column 2)"#,
            ]
            .join("\n")
            .as_str(),
        );
    }

    #[test]
    fn required_fields_must_be_present_and_non_empty() {
        check(
            text(&[("key", " "), ("type", "laptop")]),
            "field `key`: is required\nfield `kind`: is required",
        );
    }

    #[test]
    fn json_cells_are_read_as_json() {
        let fields = vec![
            ("key".to_owned(), Cell::Json(json!("arn:aws:s3:::logs"))),
            ("kind".to_owned(), Cell::Json(json!("cloud"))),
            ("type".to_owned(), Cell::Json(json!("aws.s3.bucket"))),
            ("financial_ref".to_owned(), Cell::Json(json!(4711))),
            ("tags".to_owned(), Cell::Json(json!({"Owner": "data", "cost": 12}))),
            ("attributes".to_owned(), Cell::Json(json!({"versioning": {"status": "Enabled"}}))),
            ("owner".to_owned(), Cell::Json(Value::Null)),
        ];
        let asset = read_asset(fields, &rules(), &defaults()).unwrap();
        assert_eq!(asset.financial_ref.as_deref(), Some("4711"));
        assert_eq!(asset.tags.get("cost").map(String::as_str), Some("12"));
        assert_eq!(asset.attributes["versioning"]["status"], "Enabled");
        assert_eq!(asset.owner, None);
    }

    #[test]
    fn production_ownership_is_applied_or_refused() {
        let base =
            [("key", "i-1"), ("kind", "cloud"), ("type", "aws.ec2.instance"), ("environment", "production")];
        let asset = read_asset(text(&base), &rules(), &defaults()).unwrap();
        assert_eq!(asset.owner.as_deref(), Some("hop@example.com"));
        assert_eq!(asset.manager.as_deref(), Some("sre@example.com"));

        let mut conflicting = base.to_vec();
        conflicting.push(("owner", "dev@example.com"));
        let problems = read_asset(text(&conflicting), &rules(), &defaults()).unwrap_err();
        assert_eq!(problems[0].field, "owner");
        assert!(problems[0].problem.contains("Head of Product"), "{}", problems[0]);
    }

    #[test]
    fn in_service_records_need_required_fields() {
        let fields =
            text(&[("key", "SN-1"), ("kind", "hardware"), ("type", "laptop"), ("status", "in_service")]);
        let problems = read_asset(fields, &rules(), &defaults()).unwrap_err();
        assert_eq!(problems[0].field, "status");
        assert!(problems[0].problem.contains("without owner, classification, location"), "{}", problems[0]);
    }

    #[test]
    fn columns_are_checked() {
        let problems = check_columns(["key", "name", "ownr"]);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["ownr", "kind", "type"]);
    }
}
