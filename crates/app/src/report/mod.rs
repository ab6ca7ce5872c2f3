//! Output for read commands: aligned tables for people, JSON and CSV for machines, always with
//! the field names the API uses. Every view is described once (which columns a table shows,
//! which a CSV holds) and rendered by the same three functions.
//!
//! Commands that produce findings (checks, drift, the gates, audits) also render SARIF, JUnit
//! and HTML from one generic list of findings (`findings`, `sarif`, `junit`, `html`).

pub mod certificate;
pub mod findings;
pub mod html;
pub mod junit;
pub mod pack;
pub mod sarif;

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;

/// How a read command prints its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON with the API's field names.
    Json,
    /// CSV with a header row.
    Csv,
    /// SARIF 2.1.0, for code scanning (gates and audits).
    Sarif,
    /// JUnit XML, for CI test reports (gates and audits).
    Junit,
    /// A standalone HTML page (checks, drift, gates and audits).
    Html,
}

impl Format {
    /// Every format, in the order help lists them.
    pub const ALL: [Format; 6] =
        [Format::Table, Format::Json, Format::Csv, Format::Sarif, Format::Junit, Format::Html];

    /// What it is, in a few words (the `-o` help).
    pub fn describe(self) -> &'static str {
        match self {
            Format::Table => "Aligned columns for people",
            Format::Json => "JSON with the API's field names",
            Format::Csv => "CSV with a header row",
            Format::Sarif => "SARIF 2.1.0, for code scanning (gates and audits)",
            Format::Junit => "JUnit XML, for CI test reports (gates and audits)",
            Format::Html => "A standalone HTML page (checks, drift, gates and audits)",
        }
    }

    /// The word given to `-o`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }

    /// Whether records (assets, migrations, runs) can be printed this way; findings formats
    /// cannot hold them.
    pub fn is_for_records(self) -> bool {
        matches!(self, Format::Table | Format::Json | Format::Csv)
    }
}

/// Writes findings as SARIF, JUnit or HTML; `false` for the other formats, which each command
/// prints its own way.
pub fn write_findings(
    out: &mut dyn Write,
    format: Format,
    findings: &findings::Findings,
    sections: &[html::Section],
) -> io::Result<bool> {
    match format {
        Format::Sarif => sarif::write(out, findings)?,
        Format::Junit => junit::write(out, findings)?,
        Format::Html => html::write(out, findings, sections)?,
        Format::Table | Format::Json | Format::Csv => return Ok(false),
    }
    Ok(true)
}

/// The error for a format a command cannot print.
pub fn unsupported(format: Format, what: &str, supported: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("-o {} cannot print {what}; use {supported}", format.as_str()),
    )
}

/// The columns of a kind of record: a few for tables, all for CSV.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Columns shown in a table.
    pub table: &'static [&'static str],
    /// Columns of a CSV file, in order.
    pub all: &'static [&'static str],
}

/// Prints a list of records (JSON: `{"items": […], "next_cursor": …}`).
pub fn list<T: Serialize>(
    out: &mut dyn Write,
    format: Format,
    view: View,
    items: &[T],
    next_cursor: Option<&str>,
) -> io::Result<()> {
    let values: Vec<Value> = items.iter().map(to_value).collect::<io::Result<_>>()?;
    match format {
        Format::Sarif | Format::Junit | Format::Html => {
            Err(unsupported(format, "records", "table, json or csv"))
        }
        Format::Json => {
            let envelope = serde_json::json!({"items": values, "next_cursor": next_cursor});
            write_json(out, &envelope)
        }
        Format::Csv => {
            let mut writer = csv_writer(out, view.all)?;
            for value in &values {
                write_csv_row(&mut writer, view.all, value)?;
            }
            writer.flush()
        }
        Format::Table => {
            let mut table = table(view.table.iter().map(|c| c.to_uppercase()));
            for value in &values {
                table.add_row(view.table.iter().map(|c| cell_text(value.get(*c))));
            }
            writeln!(out, "{table}")
        }
    }
}

/// Prints one record: a two-column table of fields for people, an object in JSON, one row in CSV.
pub fn one<T: Serialize>(out: &mut dyn Write, format: Format, view: View, item: &T) -> io::Result<()> {
    let value = to_value(item)?;
    match format {
        Format::Sarif | Format::Junit | Format::Html => {
            Err(unsupported(format, "records", "table, json or csv"))
        }
        Format::Json => write_json(out, &value),
        Format::Csv => {
            let mut writer = csv_writer(out, view.all)?;
            write_csv_row(&mut writer, view.all, &value)?;
            writer.flush()
        }
        Format::Table => {
            let mut table = table(["FIELD".to_owned(), "VALUE".to_owned()]);
            for column in view.all {
                table.add_row([(*column).to_owned(), cell_text(value.get(*column))]);
            }
            writeln!(out, "{table}")
        }
    }
}

/// Pretty JSON followed by a newline.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    // Standard output is line-buffered, and pretty JSON is many short lines.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

/// A CSV writer that has written the header.
pub fn csv_writer<'a>(
    out: &'a mut dyn Write,
    columns: &[&str],
) -> io::Result<csv::Writer<&'a mut dyn Write>> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(columns).map_err(csv_io)?;
    Ok(writer)
}

/// One CSV row: text as is, absent as empty, objects and arrays as compact JSON.
pub fn write_csv_row(
    writer: &mut csv::Writer<&mut dyn Write>,
    columns: &[&str],
    value: &Value,
) -> io::Result<()> {
    let cells = columns.iter().map(|c| match value.get(*c) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    });
    writer.write_record(cells).map_err(csv_io)
}

/// Keeps the I/O error inside a CSV error, so a closed pipe is still recognised as one.
fn csv_io(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(err) => err,
        other => io::Error::other(format!("{other:?}")),
    }
}

fn to_value<T: Serialize>(item: &T) -> io::Result<Value> {
    serde_json::to_value(item).map_err(io::Error::other)
}

fn table(header: impl IntoIterator<Item = String>) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    table
}

fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) if map.is_empty() => "-".to_owned(),
        Some(Value::Array(items)) if items.is_empty() => "-".to_owned(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")
        }
        Some(Value::Object(map)) if map.values().all(Value::is_string) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const VIEW: View = View { table: &["key", "tags"], all: &["key", "owner", "tags"] };

    fn render(format: Format, items: &[Value]) -> String {
        let mut out = Vec::new();
        list(&mut out, format, VIEW, items, Some("6b")).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_three_formats() {
        let items = [
            json!({"key": "a", "owner": null, "tags": {"team": "sre"}}),
            json!({"key": "b,c", "owner": "x", "tags": {}}),
        ];
        assert_eq!(
            render(Format::Csv, &items),
            "key,owner,tags\na,,\"{\"\"team\"\":\"\"sre\"\"}\"\n\"b,c\",x,{}\n"
        );
        let table = render(Format::Table, &items);
        assert_eq!(
            table.lines().map(str::trim_end).collect::<Vec<_>>(),
            [" KEY  TAGS", " a    team=sre", " b,c  -"]
        );
        let json: Value = serde_json::from_str(&render(Format::Json, &items)).unwrap();
        assert_eq!(json["next_cursor"], "6b");
        assert_eq!(json["items"][1]["key"], "b,c");
    }
}
