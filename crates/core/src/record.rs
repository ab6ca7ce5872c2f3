//! Reading assets from records of named fields: a CSV row, a JSON object, or the flags of
//! `plumb asset add` and `plumb asset set`. One reader, so every way in applies the same checks
//! and reports problems the same way (the field, what was expected, what was found).

use serde_json::Value;

use crate::lifecycle::{check_record_for, check_transition};
use crate::model::{Asset, AssetId, FIELDS, Kind, Status, Tags};
use crate::rules::{InventoryRules, OwnershipError};
use crate::time::Timestamp;

/// Fields every new record must have.
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

/// A record: field names with their values, in input order.
pub type Fields = Vec<(String, Cell)>;

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

/// Values for fields a new record leaves out.
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

/// Checks the column names of a CSV header: every required field present, no unknown field.
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

/// Reads a new asset from its fields and applies the inventory rules: closed vocabularies,
/// configured environments and classifications, the production ownership rule and what its
/// status requires. Returns every problem found, not just the first.
pub fn read_asset(
    fields: &Fields,
    rules: &InventoryRules,
    defaults: &Defaults,
) -> Result<Asset, Vec<FieldError>> {
    let mut asset = Asset {
        id: defaults.id,
        key: String::new(),
        name: String::new(),
        kind: Kind::Hardware,
        asset_type: String::new(),
        environment: None,
        owner: None,
        manager: None,
        classification: None,
        location: None,
        status: defaults.status,
        source: defaults.source.clone(),
        financial_ref: None,
        tags: Tags::new(),
        attributes: empty_object(),
        first_seen: defaults.now,
        last_seen: defaults.now,
        scope: None,
        absent_since: None,
        provenance: Default::default(),
    };
    let mut problems = set_fields(&mut asset, fields, rules);
    for required in REQUIRED {
        let given = fields.iter().any(|(name, cell)| name == required && !is_empty(cell));
        if !given && !problems.iter().any(|p| p.field == *required) {
            problems.push(FieldError::new(required, "is required"));
        }
    }
    let given = |field: &str| fields.iter().any(|(name, cell)| name == field && !is_empty(cell));
    if !given("name") {
        asset.name = asset.key.clone();
    }
    if given("first_seen") && !given("last_seen") {
        asset.last_seen = asset.first_seen;
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    check_policy(asset, rules)
}

/// Applies the given fields to a stored asset (`plumb asset set`, or an import row for a key
/// that exists). Fields not given keep their values; a given empty value clears an optional
/// field. A status change must be an allowed lifecycle move, and completing decommissioning
/// needs `plumb asset transition` with its evidence.
pub fn apply_changes(
    stored: &Asset,
    fields: &Fields,
    rules: &InventoryRules,
) -> Result<Asset, Vec<FieldError>> {
    let mut asset = stored.clone();
    let problems = set_fields(&mut asset, fields, rules);
    if !problems.is_empty() {
        return Err(problems);
    }
    if asset.id != stored.id {
        let problem =
            format!("{} does not match the stored id {} of key {:?}", asset.id, stored.id, stored.key);
        return Err(vec![FieldError::new("id", problem)]);
    }
    if asset.status != stored.status {
        if asset.status == Status::Decommissioned {
            let problem = "completing decommissioning needs its evidence: use `plumb asset transition KEY decommissioned --evidence …`";
            return Err(vec![FieldError::new("status", problem)]);
        }
        if let Err(err) = check_transition(stored, asset.status, None) {
            return Err(vec![FieldError::new("status", err.to_string())]);
        }
    }
    check_policy(asset, rules)
}

/// The production ownership rule and the status requirements, as field problems.
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

/// Fields an empty value clears; an empty value of any other field means "not given".
const CLEARABLE: &[&str] = &[
    "environment",
    "owner",
    "manager",
    "classification",
    "location",
    "financial_ref",
    "scope",
    "absent_since",
];

fn set_fields(asset: &mut Asset, fields: &Fields, rules: &InventoryRules) -> Vec<FieldError> {
    let mut problems = Vec::new();
    for (i, (name, cell)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(earlier, _)| earlier == name) {
            problems.push(FieldError::new(name, "given more than once"));
        } else if is_empty(cell) && FIELDS.contains(&name.as_str()) && !CLEARABLE.contains(&name.as_str()) {
            continue;
        } else if let Err(problem) = set_field(asset, name, cell, rules) {
            problems.push(problem);
        }
    }
    problems
}

fn set_field(asset: &mut Asset, field: &str, cell: &Cell, rules: &InventoryRules) -> Result<(), FieldError> {
    match field {
        "id" => asset.id = parse(field, required_text(field, cell)?)?,
        "key" => asset.key = required_text(field, cell)?,
        "name" => asset.name = required_text(field, cell)?,
        "kind" => asset.kind = parse(field, required_text(field, cell)?)?,
        "type" => asset.asset_type = required_text(field, cell)?,
        "environment" => asset.environment = one_of(field, cell, &rules.environments)?,
        "owner" => asset.owner = text(field, cell)?,
        "manager" => asset.manager = text(field, cell)?,
        "classification" => asset.classification = one_of(field, cell, &rules.classifications)?,
        "location" => asset.location = text(field, cell)?,
        "status" => asset.status = parse(field, required_text(field, cell)?)?,
        "source" => asset.source = required_text(field, cell)?,
        "financial_ref" => asset.financial_ref = text(field, cell)?,
        "tags" => asset.tags = tags(cell)?,
        "attributes" => asset.attributes = attributes(cell)?,
        "first_seen" => asset.first_seen = parse(field, required_text(field, cell)?)?,
        "last_seen" => asset.last_seen = parse(field, required_text(field, cell)?)?,
        "scope" => asset.scope = text(field, cell)?,
        "absent_since" => asset.absent_since = text(field, cell)?.map(|t| parse(field, t)).transpose()?,
        // plumb's own record of who set what: what a person gives is theirs by definition, so
        // an exported `provenance` column is read back as nothing at all.
        "provenance" => return Ok(()),
        _ => return Err(unknown_field(field)),
    }
    if crate::sync::SYNCED_FIELDS.contains(&field) {
        let value = crate::sync::field_slot(asset, field).clone();
        crate::provenance::set_by_person(&mut asset.provenance, field, value.as_deref());
    }
    Ok(())
}

fn is_empty(cell: &Cell) -> bool {
    match cell {
        Cell::Text(text) | Cell::Json(Value::String(text)) => text.trim().is_empty(),
        Cell::Json(value) => value.is_null(),
    }
}

fn text(field: &str, cell: &Cell) -> Result<Option<String>, FieldError> {
    if is_empty(cell) {
        return Ok(None);
    }
    match cell {
        Cell::Text(text) | Cell::Json(Value::String(text)) => Ok(Some(text.trim().to_owned())),
        Cell::Json(value @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(value.to_string())),
        Cell::Json(other) => Err(FieldError::new(field, format!("expected text, found {other}"))),
    }
}

fn required_text(field: &str, cell: &Cell) -> Result<String, FieldError> {
    text(field, cell)?.ok_or_else(|| FieldError::new(field, "is required"))
}

fn parse<T>(field: &str, text: String) -> Result<T, FieldError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|err: T::Err| FieldError::new(field, err.to_string()))
}

fn one_of(field: &str, cell: &Cell, allowed: &[String]) -> Result<Option<String>, FieldError> {
    match text(field, cell)? {
        Some(value) if !allowed.contains(&value) => Err(FieldError::new(
            field,
            format!("expected one of {} (as configured in plumb.toml), found {value:?}", allowed.join(", ")),
        )),
        value => Ok(value),
    }
}

fn json(field: &str, cell: &Cell, expected: &str) -> Result<Option<Value>, FieldError> {
    match cell {
        _ if is_empty(cell) => Ok(None),
        Cell::Json(value) => Ok(Some(value.clone())),
        Cell::Text(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|err| FieldError::new(field, format!("expected {expected}, found {text:?} ({err})"))),
    }
}

fn tags(cell: &Cell) -> Result<Tags, FieldError> {
    let Some(value) = json("tags", cell, TAGS_EXPECTED)? else {
        return Ok(Tags::new());
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
    parsed.ok_or_else(|| FieldError::new("tags", format!("expected {TAGS_EXPECTED}")))
}

fn attributes(cell: &Cell) -> Result<Value, FieldError> {
    match json("attributes", cell, "a JSON object")? {
        None => Ok(empty_object()),
        Some(value @ Value::Object(_)) => Ok(value),
        Some(other) => Err(FieldError::new("attributes", format!("expected a JSON object, found {other}"))),
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::tests::rules;

    fn defaults() -> Defaults {
        Defaults {
            id: "01JDQ8W8F4Z6S6YB4C4ZQXK3VQ".parse().unwrap(),
            now: "2026-01-01T00:00:00Z".parse().unwrap(),
            status: Status::Registered,
            source: "manual".into(),
        }
    }

    fn text_fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Cell::Text((*v).to_owned()))).collect()
    }

    fn outcome(result: Result<Asset, Vec<FieldError>>) -> String {
        match result {
            Ok(asset) => serde_json::to_string(&asset).unwrap(),
            Err(problems) => problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        }
    }

    /// Reads a new record and compares the asset's JSON, or the problems one per line.
    fn check(fields: Fields, expect: &str) {
        assert_eq!(outcome(read_asset(&fields, &rules(), &defaults())), expect);
    }

    #[test]
    fn minimal_record_gets_defaults() {
        check(
            text_fields(&[("key", "SN-1"), ("kind", "hardware"), ("type", "laptop")]),
            r#"{"id":"01JDQ8W8F4Z6S6YB4C4ZQXK3VQ","key":"SN-1","name":"SN-1","kind":"hardware","type":"laptop","environment":null,"owner":null,"manager":null,"classification":null,"location":null,"status":"registered","source":"manual","financial_ref":null,"tags":{},"attributes":{},"first_seen":"2026-01-01T00:00:00.000000Z","last_seen":"2026-01-01T00:00:00.000000Z","scope":null,"absent_since":null}"#,
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        check(
            text_fields(&[
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
                "field `kind`: expected one of hardware, software, data, cloud, found \"server\"",
                "field `environment`: expected one of production, staging, corporate (as configured in plumb.toml), found \"prod\"",
                "field `status`: expected one of discovered, registered, in_service, decommissioning, decommissioned, found \"live\"",
                "field `first_seen`: expected an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, found \"31/01/2026\"",
                r#"field `tags`: expected a JSON object of text values such as {"team":"sre"}, found "team=sre" (expected ident at line 1 column 2)"#,
                "field `colour`: unknown field; expected one of id, key, name, kind, type, environment, owner, manager, classification, location, status, source, financial_ref, tags, attributes, first_seen, last_seen, scope, absent_since, provenance",
            ]
            .join("\n")
            .as_str(),
        );
    }

    #[test]
    fn required_fields_must_be_present_and_non_empty() {
        check(
            text_fields(&[("key", " "), ("type", "laptop")]),
            "field `key`: is required\nfield `kind`: is required",
        );
    }

    #[test]
    fn repeated_fields_are_refused() {
        check(
            text_fields(&[("key", "a"), ("kind", "data"), ("type", "t"), ("key", "b")]),
            "field `key`: given more than once",
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
            ("first_seen".to_owned(), Cell::Json(json!("2025-05-05T05:05:05Z"))),
        ];
        let asset = read_asset(&fields, &rules(), &defaults()).unwrap();
        assert_eq!(asset.financial_ref.as_deref(), Some("4711"));
        assert_eq!(asset.tags.get("cost").map(String::as_str), Some("12"));
        assert_eq!(asset.attributes["versioning"]["status"], "Enabled");
        assert_eq!(asset.owner, None);
        assert_eq!(asset.last_seen, asset.first_seen);
    }

    #[test]
    fn production_ownership_is_applied_or_refused() {
        let base =
            [("key", "i-1"), ("kind", "cloud"), ("type", "aws.ec2.instance"), ("environment", "production")];
        let asset = read_asset(&text_fields(&base), &rules(), &defaults()).unwrap();
        assert_eq!(asset.owner.as_deref(), Some("hop@example.com"));
        assert_eq!(asset.manager.as_deref(), Some("sre@example.com"));

        let mut conflicting = base.to_vec();
        conflicting.push(("owner", "dev@example.com"));
        let problems = read_asset(&text_fields(&conflicting), &rules(), &defaults()).unwrap_err();
        assert_eq!(problems[0].field, "owner");
        assert!(problems[0].problem.contains("Head of Product"), "{}", problems[0]);
    }

    #[test]
    fn in_service_records_need_required_fields() {
        let fields = text_fields(&[
            ("key", "SN-1"),
            ("kind", "hardware"),
            ("type", "laptop"),
            ("status", "in_service"),
        ]);
        let problems = read_asset(&fields, &rules(), &defaults()).unwrap_err();
        assert_eq!(problems[0].field, "status");
        assert!(problems[0].problem.contains("without owner, classification, location"), "{}", problems[0]);
    }

    #[test]
    fn changes_keep_what_is_not_given_and_clear_what_is_empty() {
        let stored = read_asset(
            &text_fields(&[
                ("key", "SN-1"),
                ("kind", "hardware"),
                ("type", "laptop"),
                ("owner", "ana"),
                ("location", "HQ"),
            ]),
            &rules(),
            &defaults(),
        )
        .unwrap();
        let changed =
            apply_changes(&stored, &text_fields(&[("owner", "bo"), ("location", "")]), &rules()).unwrap();
        assert_eq!(changed.owner.as_deref(), Some("bo"));
        assert_eq!(changed.location, None);
        assert_eq!(changed.asset_type, "laptop");
    }

    #[test]
    fn changes_follow_the_lifecycle_and_the_ownership_rule() {
        let stored = read_asset(
            &text_fields(&[("key", "i-1"), ("kind", "cloud"), ("type", "vm"), ("environment", "production")]),
            &rules(),
            &defaults(),
        )
        .unwrap();
        let check = |pairs: &[(&str, &str)], expect: &str| {
            assert_eq!(
                outcome(apply_changes(&stored, &text_fields(pairs), &rules())).lines().next().unwrap_or(""),
                expect
            );
        };
        check(&[("status", "decommissioning"), ("status", "x")], "field `status`: given more than once");
        check(
            &[("status", "in_service")],
            "field `status`: i-1: cannot enter in_service without classification, location: policy §3 requires owner, classification and location on every record before service",
        );
        check(
            &[("status", "decommissioned")],
            "field `status`: completing decommissioning needs its evidence: use `plumb asset transition KEY decommissioned --evidence …`",
        );
        check(
            &[("status", "discovered")],
            "field `status`: i-1: cannot move from registered to discovered; from registered an asset may move to in_service or decommissioning",
        );
        assert!(
            outcome(apply_changes(&stored, &text_fields(&[("manager", "x@example.com")]), &rules()))
                .contains("SRE Lead")
        );
        assert!(
            outcome(apply_changes(&stored, &text_fields(&[("id", "01JDQ8W8F4Z6S6YB4C4ZQXK3VR")]), &rules()))
                .contains("does not match the stored id")
        );
    }

    #[test]
    fn columns_are_checked() {
        let problems = check_columns(["key", "name", "ownr"]);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["ownr", "kind", "type"]);
    }
}
