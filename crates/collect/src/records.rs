//! Streaming readers of record files (CSV with a header, a JSON array of objects, JSON Lines),
//! each record with the line it starts on, so every problem can name its line. Memory stays
//! flat whatever the file size: one record is read at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use plumb_core::record::{Cell, Fields};
use serde_json::Value;

/// The file formats records are read from and written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    /// Comma-separated values with a header row; JSON fields hold JSON text.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line (also `.ndjson`).
    Jsonl,
}

impl std::str::FromStr for RecordFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(RecordFormat::Csv),
            "json" => Ok(RecordFormat::Json),
            "jsonl" | "ndjson" => Ok(RecordFormat::Jsonl),
            other => Err(format!("expected csv, json or jsonl, found {other:?}")),
        }
    }
}

impl RecordFormat {
    /// The format a file name implies.
    pub fn from_path(path: &Path) -> Option<RecordFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(RecordFormat::Csv),
            "json" => Some(RecordFormat::Json),
            "jsonl" | "ndjson" => Some(RecordFormat::Jsonl),
            _ => None,
        }
    }
}

/// One record and the line it starts on.
#[derive(Debug)]
pub struct Record {
    /// 1-based line number.
    pub line: u64,
    /// The record's fields, in file order.
    pub fields: Fields,
}

/// A record that could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
    /// Whether reading can go on with the next record.
    pub recoverable: bool,
}

impl LineError {
    fn fatal(line: u64, message: impl Into<String>) -> Self {
        LineError { line, message: message.into(), recoverable: false }
    }

    fn skip(line: u64, message: impl Into<String>) -> Self {
        LineError { line, message: message.into(), recoverable: true }
    }
}

/// A stream of records.
pub type Records = Box<dyn Iterator<Item = Result<Record, LineError>> + Send>;

/// Opens `path` as records of `format`; for CSV, also returns the header's column names.
pub fn open(path: &Path, format: RecordFormat) -> std::io::Result<(Records, Option<Vec<String>>)> {
    let file = BufReader::with_capacity(1 << 16, File::open(path)?);
    Ok(match format {
        RecordFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(file);
            let header = reader.headers().map_err(std::io::Error::other)?.clone();
            let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
            (
                Box::new(CsvRecords { reader, columns: columns.clone(), record: csv::StringRecord::new() }),
                Some(columns),
            )
        }
        RecordFormat::Jsonl => (Box::new(JsonLines { lines: file, line: 0 }), None),
        RecordFormat::Json => {
            (Box::new(JsonArray { bytes: file.bytes(), line: 1, state: ArrayState::Start }), None)
        }
    })
}

struct CsvRecords<R: Read> {
    reader: csv::Reader<R>,
    columns: Vec<String>,
    record: csv::StringRecord,
}

impl<R: Read> Iterator for CsvRecords<R> {
    type Item = Result<Record, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                let fields = self
                    .columns
                    .iter()
                    .zip(self.record.iter())
                    .map(|(column, value)| (column.clone(), Cell::Text(value.to_owned())))
                    .collect();
                Some(Ok(Record { line, fields }))
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                let message = match err.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("expected {expected_len} columns as in the header, found {len}")
                    }
                    _ => err.to_string(),
                };
                Some(Err(LineError::skip(line, message)))
            }
        }
    }
}

struct JsonLines<R: BufRead> {
    lines: R,
    line: u64,
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<Record, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut text = String::new();
        loop {
            text.clear();
            self.line += 1;
            match self.lines.read_line(&mut text) {
                Ok(0) => return None,
                Ok(_) if text.trim().is_empty() => continue,
                Ok(_) => return Some(object(self.line, text.trim_end().as_bytes())),
                Err(err) => return Some(Err(LineError::fatal(self.line, err.to_string()))),
            }
        }
    }
}

/// Parses one JSON object whose text starts on `line`.
fn object(line: u64, text: &[u8]) -> Result<Record, LineError> {
    match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(map)) => {
            Ok(Record { line, fields: map.into_iter().map(|(k, v)| (k, Cell::Json(v))).collect() })
        }
        Ok(other) => Err(LineError::skip(line, format!("expected a JSON object, found {}", kind_of(&other)))),
        Err(err) => {
            // serde_json counts lines from the start of the record; report file lines instead.
            let message = err.to_string();
            let message = message.rfind(" at line ").map_or(message.as_str(), |at| &message[..at]);
            Err(LineError::skip(
                line + err.line().saturating_sub(1) as u64,
                format!("invalid JSON at column {}: {message}", err.column()),
            ))
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    Start,
    Elements,
    Done,
}

/// Splits a top-level JSON array into its elements without holding the whole array: it tracks
/// nesting and strings only to find where each element ends, and hands each element's text to
/// serde_json with the line it starts on.
struct JsonArray<R: Read> {
    bytes: std::io::Bytes<R>,
    line: u64,
    state: ArrayState,
}

impl<R: Read> JsonArray<R> {
    fn next_byte(&mut self) -> Result<Option<u8>, LineError> {
        match self.bytes.next() {
            None => Ok(None),
            Some(Ok(byte)) => {
                if byte == b'\n' {
                    self.line += 1;
                }
                Ok(Some(byte))
            }
            Some(Err(err)) => Err(LineError::fatal(self.line, err.to_string())),
        }
    }

    fn next_significant(&mut self) -> Result<Option<u8>, LineError> {
        while let Some(byte) = self.next_byte()? {
            if !byte.is_ascii_whitespace() {
                return Ok(Some(byte));
            }
        }
        Ok(None)
    }

    /// Reads one element starting with `first`; returns its text and the byte after it.
    fn element(&mut self, first: u8) -> Result<(Vec<u8>, Option<u8>), LineError> {
        let mut text = vec![first];
        let mut depth: u32 = u32::from(matches!(first, b'{' | b'['));
        let mut in_string = first == b'"';
        let mut escaped = false;
        loop {
            let Some(byte) = self.next_byte()? else {
                return Ok((text, None));
            };
            if in_string {
                text.push(byte);
                match (escaped, byte) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b',' | b']' if depth == 0 => return Ok((text, Some(byte))),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                b'"' => in_string = true,
                _ => {}
            }
            text.push(byte);
        }
    }

    fn read(&mut self) -> Result<Option<Record>, LineError> {
        if self.state == ArrayState::Start {
            match self.next_significant()? {
                Some(b'[') => self.state = ArrayState::Elements,
                None => return Err(LineError::fatal(self.line, "the file is empty; expected a JSON array")),
                Some(_) => {
                    return Err(LineError::fatal(self.line, "expected a JSON array of objects (`[` first)"));
                }
            }
        }
        if self.state == ArrayState::Done {
            return Ok(None);
        }
        let Some(first) = self.next_significant()? else {
            return Err(LineError::fatal(self.line, "the JSON array is not closed with `]`"));
        };
        if first == b']' {
            self.state = ArrayState::Done;
            return Ok(None);
        }
        let line = self.line;
        let (text, after) = self.element(first)?;
        match after {
            Some(b',') => {}
            Some(_) => self.state = ArrayState::Done,
            None => return Err(LineError::fatal(self.line, "the JSON array is not closed with `]`")),
        }
        object(line, &text).map(Some)
    }
}

impl<R: Read> Iterator for JsonArray<R> {
    type Item = Result<Record, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read() {
            Ok(record) => record.map(Ok),
            Err(err) => {
                if !err.recoverable {
                    self.state = ArrayState::Done;
                }
                Some(Err(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Reads `text` as `format` and lists `line: fields` or `line: error` per record.
    fn check(format: RecordFormat, text: &str, expect: &[&str]) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let (records, _) = open(file.path(), format).unwrap();
        let got: Vec<String> = records
            .map(|r| match r {
                Ok(record) => {
                    let names: Vec<String> = record
                        .fields
                        .iter()
                        .map(|(k, v)| match v {
                            Cell::Text(t) => format!("{k}={t}"),
                            Cell::Json(j) => format!("{k}={j}"),
                        })
                        .collect();
                    format!("{}: {}", record.line, names.join(" "))
                }
                Err(err) => err.to_string(),
            })
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn csv_records_carry_their_line() {
        check(
            RecordFormat::Csv,
            "key,kind\na,data\n\"multi\nline\",data\nb\n",
            &[
                "2: key=a kind=data",
                "3: key=multi\nline kind=data",
                "line 5: expected 2 columns as in the header, found 1",
            ],
        );
    }

    #[test]
    fn json_lines_skip_blank_lines() {
        check(
            RecordFormat::Jsonl,
            "{\"key\":\"a\"}\n\n{\"key\":\"b\"}\n[1]\n{\"key\":\n",
            &[
                "1: key=\"a\"",
                "3: key=\"b\"",
                "line 4: expected a JSON object, found an array",
                "line 5: invalid JSON at column 7: EOF while parsing a value",
            ],
        );
    }

    #[test]
    fn json_arrays_stream_elements_with_lines() {
        check(
            RecordFormat::Json,
            "[\n  {\"key\": \"a]\\\"\", \"tags\": {\"x\": [1, 2]}},\n  {\n    \"key\": \"b\"\n  },\n  3\n]\n",
            &[
                "2: key=\"a]\\\"\" tags={\"x\":[1,2]}",
                "3: key=\"b\"",
                "line 6: expected a JSON object, found a number",
            ],
        );
        check(RecordFormat::Json, " [ ] ", &[]);
    }

    #[test]
    fn broken_json_arrays_stop_with_a_position() {
        check(RecordFormat::Json, "{\"key\": 1}", &["line 1: expected a JSON array of objects (`[` first)"]);
        check(
            RecordFormat::Json,
            "[{\"key\": 1},\n{\"key\": 2}\n",
            &["1: key=1", "line 3: the JSON array is not closed with `]`"],
        );
        check(RecordFormat::Json, "[{\"key\": tru}]", &["line 1: invalid JSON at column 12: expected ident"]);
        check(RecordFormat::Json, "", &["line 1: the file is empty; expected a JSON array"]);
    }
}
