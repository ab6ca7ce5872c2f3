//! The `file` source: resources from a CSV, JSON or JSON Lines export of a system plumb has no
//! collector for (an MDM's laptops, a spreadsheet of hardware), with a field mapping from
//! `plumb.toml`.
//!
//! ```toml
//! [[source]]
//! type = "file"
//! name = "mdm"                     # the scope; default: the file name
//! path = "exports/laptops.csv"
//! kind = "hardware"                # unless a mapped `kind` column says otherwise
//! asset_type = "laptop"            # unless a mapped `type` column says otherwise
//! [source.fields]                  # inventory field = file column
//! key = "serial_number"
//! name = "device_name"
//! owner = "user_email"
//! location = "office"
//! ```
//!
//! Without a mapping, columns named like the inventory fields are used as such. Columns that
//! map to no field become the resource's attributes (unless an `attributes` column holds them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;
use plumb_core::Kind;
use plumb_core::record::{Cell, Fields};
use plumb_core::sync::{Resource, SYNCED_FIELDS};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::records::{self, RecordFormat};
use crate::{CollectError, Emitter, PartError, Source, SourceType};

/// Registers the source.
pub const TYPE: SourceType = SourceType { name: "file", build };

/// Problems listed before giving up on a file.
const MAX_PROBLEMS: usize = 50;

/// A `[[source]]` table of type `file`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// Always `file`.
    #[serde(rename = "type")]
    pub source_type: String,
    /// The scope name; default: the file name.
    pub name: Option<String>,
    /// The file.
    pub path: PathBuf,
    /// csv, json or jsonl; default: from the extension.
    pub format: Option<String>,
    /// Kind of every resource unless a mapped `kind` column gives one.
    pub kind: Option<String>,
    /// Type of every resource unless a mapped `type` column gives one.
    pub asset_type: Option<String>,
    /// Inventory field = file column.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

fn build(settings: Value) -> Result<Box<dyn Source>, CollectError> {
    let settings: FileSettings = serde_json::from_value(settings)
        .map_err(|err| CollectError::Input(format!("[[source]] of type file: {err}")))?;
    FileSource::new(settings).map(|s| Box::new(s) as Box<dyn Source>)
}

/// Reads one file.
#[derive(Debug)]
pub struct FileSource {
    settings: FileSettings,
    format: RecordFormat,
    scope: String,
}

impl FileSource {
    /// Checks the settings.
    pub fn new(settings: FileSettings) -> Result<Self, CollectError> {
        let format = match &settings.format {
            Some(format) => format.parse().map_err(|err| CollectError::Input(format!("format: {err}")))?,
            None => RecordFormat::from_path(&settings.path).ok_or_else(|| {
                CollectError::Input(format!(
                    "cannot tell the format of {} from its extension; set format = \"csv\", \"json\" or \"jsonl\"",
                    settings.path.display()
                ))
            })?,
        };
        if let Some(kind) = &settings.kind {
            kind.parse::<Kind>().map_err(|err| CollectError::Input(format!("kind: {err}")))?;
        }
        for field in settings.fields.keys() {
            if !MAPPABLE.contains(&field.as_str()) {
                return Err(CollectError::Input(format!(
                    "[source.fields] {field:?} is not a field a file can fill; expected one of {}",
                    MAPPABLE.join(", ")
                )));
            }
        }
        let name = settings.name.clone().unwrap_or_else(|| file_name(&settings.path));
        Ok(FileSource {
            scope: plumb_core::scope::ScopeId::named("file", &name).to_string(),
            settings,
            format,
        })
    }
}

/// Inventory fields a file column can fill.
const MAPPABLE: &[&str] = &[
    "key",
    "name",
    "kind",
    "type",
    "tags",
    "attributes",
    "owner",
    "manager",
    "environment",
    "classification",
    "location",
    "financial_ref",
];

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

impl Source for FileSource {
    fn describe(&self) -> String {
        format!("file {}", self.settings.path.display())
    }

    fn source(&self) -> &'static str {
        "file"
    }

    fn collect(&self, out: Emitter) -> BoxFuture<'_, Result<(), CollectError>> {
        let reader =
            Reader { settings: self.settings.clone(), format: self.format, scope: self.scope.clone() };
        Box::pin(async move {
            tokio::task::spawn_blocking(move || reader.run(&out))
                .await
                .map_err(|err| CollectError::Unavailable(format!("reading the file stopped: {err}")))?
        })
    }
}

struct Reader {
    settings: FileSettings,
    format: RecordFormat,
    scope: String,
}

impl Reader {
    fn run(&self, out: &Emitter) -> Result<(), CollectError> {
        let path = &self.settings.path;
        let (records, _) = records::open(path, self.format)
            .map_err(|err| CollectError::Input(format!("cannot read {}: {err}", path.display())))?;
        let mut problems = Vec::new();
        let mut batch = out.blocking_batch();
        for record in records {
            let resource = record
                .map_err(|err| (err.line, err.message))
                .and_then(|record| self.resource(record.fields).map_err(|message| (record.line, message)));
            match resource {
                Ok(resource) => batch.push(resource)?,
                Err((line, message)) => {
                    problems.push(format!("{}:{line}: {message}", path.display()));
                    if problems.len() >= MAX_PROBLEMS {
                        break;
                    }
                }
            }
        }
        batch.finish()?;
        if problems.is_empty() {
            out.blocking_scope_complete(self.scope.clone(), None)?;
            return Ok(());
        }
        // A file with bad rows is not complete: nothing it lacks is marked absent.
        let error = PartError {
            scope: self.scope.clone(),
            operation: "read".to_owned(),
            message: problems.join("\n"),
        };
        out.blocking_failed(error)?;
        Err(CollectError::Input(format!(
            "{} has rows that cannot be read; the rest was synced, nothing was marked absent:\n  {}",
            path.display(),
            problems.join("\n  ")
        )))
    }

    /// The column a field comes from.
    fn column<'a>(&'a self, field: &'a str) -> &'a str {
        self.settings.fields.get(field).map_or(field, String::as_str)
    }

    fn resource(&self, fields: Fields) -> Result<Resource, String> {
        let mut values: BTreeMap<String, Cell> = fields.into_iter().collect();
        let mut take = |field: &str| values.remove(self.column(field));
        let key = take("key")
            .and_then(text)
            .ok_or_else(|| format!("field `{}`: the key is required", self.column("key")))?;
        let name = take("name").and_then(text);
        let kind = match take("kind").and_then(text).or_else(|| self.settings.kind.clone()) {
            Some(kind) => {
                kind.parse::<Kind>().map_err(|err| format!("field `{}`: {err}", self.column("kind")))?
            }
            None => {
                return Err(format!(
                    "field `{}`: no kind (set kind = … for the source)",
                    self.column("kind")
                ));
            }
        };
        let resource_type =
            take("type").and_then(text).or_else(|| self.settings.asset_type.clone()).ok_or_else(|| {
                format!("field `{}`: no type (set asset_type = … for the source)", self.column("type"))
            })?;
        let tags = match take("tags") {
            None => BTreeMap::new(),
            Some(cell) => tags(cell).map_err(|err| format!("field `{}`: {err}", self.column("tags")))?,
        };
        let attributes =
            take("attributes").map(json).transpose().map_err(|err| format!("field `attributes`: {err}"))?;
        let mut mapped = BTreeMap::new();
        for field in SYNCED_FIELDS {
            if let Some(value) = take(field).and_then(text) {
                mapped.insert((*field).to_owned(), value);
            }
        }
        let attributes = attributes.unwrap_or_else(|| {
            Value::Object(
                values.into_iter().map(|(column, cell)| (column, cell_value(cell))).collect::<Map<_, _>>(),
            )
        });
        Ok(Resource {
            source: "file".to_owned(),
            scope: self.scope.clone(),
            provider: self.scope.clone(),
            resource_type,
            kind,
            native_id: key,
            natural_key: None,
            arn: None,
            account: None,
            region: None,
            name,
            attributes,
            tags,
            fields: mapped,
        })
    }
}

fn text(cell: Cell) -> Option<String> {
    let text = match cell {
        Cell::Text(text) | Cell::Json(Value::String(text)) => text,
        Cell::Json(Value::Null) => return None,
        Cell::Json(other) => other.to_string(),
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn json(cell: Cell) -> Result<Value, String> {
    match cell {
        Cell::Json(value) => Ok(value),
        Cell::Text(text) if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        Cell::Text(text) => {
            serde_json::from_str(&text).map_err(|err| format!("expected JSON, found {text:?} ({err})"))
        }
    }
}

fn tags(cell: Cell) -> Result<BTreeMap<String, String>, String> {
    match json(cell)? {
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(_) | Value::Bool(_) => Ok((k, v.to_string())),
                other => Err(format!("tag {k:?} has a value that is not text: {other}")),
            })
            .collect(),
        other => Err(format!("expected a JSON object of tags, found {other}")),
    }
}

fn cell_value(cell: Cell) -> Value {
    match cell {
        Cell::Json(value) => value,
        Cell::Text(text) => Value::String(text),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::Collected;

    fn settings(path: &Path, extra: Value) -> Value {
        let mut value = serde_json::json!({"type": "file", "path": path});
        if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
            map.extend(more);
        }
        value
    }

    async fn collect(
        text: &str,
        extension: &str,
        extra: Value,
    ) -> (Vec<Collected>, Result<(), CollectError>) {
        let mut file = tempfile::Builder::new().suffix(extension).tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let source = build(settings(file.path(), extra)).unwrap();
        let (emitter, mut receiver) =
            Emitter::channel(16, "m".into(), plumb_core::secrets::Sealer::new(b"k"));
        let result = source.collect(emitter).await;
        let mut items = Vec::new();
        while let Some(item) = receiver.recv().await {
            items.push(item);
        }
        (items, result)
    }

    #[tokio::test]
    async fn mapped_csv_columns_fill_fields_and_the_rest_is_attributes() {
        let text = "serial,device,user,office,os\nC02X,Ana's Mac,ana@example.com,HQ,macOS 15\n";
        let mapping = serde_json::json!({
            "name": "mdm", "kind": "hardware", "asset_type": "laptop",
            "fields": {"key": "serial", "name": "device", "owner": "user", "location": "office"},
        });
        let (items, result) = collect(text, ".csv", mapping).await;
        result.unwrap();
        let Collected::Resources(resources) = &items[0] else { panic!("{items:?}") };
        let (resource, _) = &resources[0];
        assert_eq!(resource.key(), "file:mdm:laptop:C02X");
        assert_eq!(resource.name.as_deref(), Some("Ana's Mac"));
        assert_eq!(resource.kind, Kind::Hardware);
        assert_eq!(resource.fields.get("owner").map(String::as_str), Some("ana@example.com"));
        assert_eq!(resource.attributes, serde_json::json!({"os": "macOS 15"}));
        assert!(matches!(&items[1], Collected::ScopeComplete { scope, .. } if scope == "file:mdm"));
    }

    #[tokio::test]
    async fn unmapped_json_lines_use_the_field_names() {
        let text = r#"{"key": "db-1", "kind": "data", "type": "dataset", "tags": {"team": "data"}, "attributes": {"rows": 5}}"#;
        let (items, result) = collect(text, ".jsonl", serde_json::json!({})).await;
        result.unwrap();
        let Collected::Resources(resources) = &items[0] else { panic!("{items:?}") };
        let (resource, _) = &resources[0];
        assert_eq!(resource.tags.get("team").map(String::as_str), Some("data"));
        assert_eq!(resource.attributes, serde_json::json!({"rows": 5}));
    }

    #[tokio::test]
    async fn bad_rows_are_named_and_the_scope_is_not_completed() {
        let text = "key,kind,type\nA,hardware,laptop\n,hardware,laptop\nC,server,laptop\n";
        let (items, result) = collect(text, ".csv", serde_json::json!({})).await;
        let message = result.unwrap_err().to_string();
        assert!(message.contains(":3: field `key`: the key is required"), "{message}");
        assert!(message.contains(":4: field `kind`: expected one of hardware"), "{message}");
        assert_eq!(items.len(), 2, "one resource and one failure: {items:?}");
        assert!(matches!(&items[1], Collected::Failed(_)));
    }

    #[test]
    fn settings_are_checked() {
        let path = Path::new("x.txt");
        assert!(build(settings(path, serde_json::json!({}))).err().unwrap().to_string().contains("format"));
        let err = build(settings(Path::new("x.csv"), serde_json::json!({"fields": {"colour": "c"}})))
            .err()
            .unwrap();
        assert!(err.to_string().contains("\"colour\" is not a field"), "{err}");
        let err = build(settings(Path::new("x.csv"), serde_json::json!({"pth": "y"}))).err().unwrap();
        assert!(err.to_string().contains("unknown field `pth`"), "{err}");
    }
}
