//! Finance's fixed-asset register as exported: CSV with any delimiter (and a byte-order mark,
//! as spreadsheets write it) or an XLSX workbook's first sheet, read into register lines by
//! header names or a `--map`. The file's SHA-256 goes with it, so the audit records which
//! export it judged.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::Reader as _;
use plumb_core::register::{RegisterField, RegisterLine, header_word};
use sha2::{Digest, Sha256};

use crate::CollectError;

/// The file formats a register is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterFormat {
    /// Delimited text with a header row; the delimiter is read off the header.
    Csv,
    /// An Excel workbook; its first sheet, the header in its first non-empty row.
    Xlsx,
}

impl std::str::FromStr for RegisterFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(RegisterFormat::Csv),
            "xlsx" => Ok(RegisterFormat::Xlsx),
            other => Err(format!("expected csv or xlsx, found {other:?}")),
        }
    }
}

impl RegisterFormat {
    /// The format a file name implies: `.xlsx`/`.xlsm` a workbook, anything else text.
    pub fn from_path(path: &Path) -> RegisterFormat {
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("xlsx" | "xlsm") => RegisterFormat::Xlsx,
            _ => RegisterFormat::Csv,
        }
    }
}

/// A register as read.
#[derive(Debug)]
pub struct Register {
    /// Its lines (rows with every cell empty are left out).
    pub lines: Vec<RegisterLine>,
    /// Which column each field was read from.
    pub columns: BTreeMap<RegisterField, String>,
    /// The SHA-256 of the file, in hex.
    pub sha256: String,
}

/// Reads the register at `path`. `map` names columns for fields (`--map COLUMN=FIELD`); a
/// field not mapped is read from a column with one of its usual header names. A mapped column
/// the header lacks, or no column for either the asset number or the serial, is an input error.
pub fn read(
    path: &Path,
    format: RegisterFormat,
    map: &[(String, RegisterField)],
) -> Result<Register, CollectError> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|err| CollectError::Input(format!("cannot read {shown}: {err}")))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let rows = match format {
        RegisterFormat::Csv => {
            csv_rows(&bytes).map_err(|err| CollectError::Input(format!("{shown}:{err}")))?
        }
        RegisterFormat::Xlsx => {
            xlsx_rows(path).map_err(|err| CollectError::Input(format!("{shown}: {err}")))?
        }
    };
    let mut rows = rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let Some((_, header)) = rows.next() else {
        return Err(CollectError::Input(format!("{shown}: no header row: the register is empty")));
    };
    let columns = columns(&header, map).map_err(|err| CollectError::Input(format!("{shown}: {err}")))?;
    let at: BTreeMap<RegisterField, usize> = columns
        .iter()
        .filter_map(|(field, column)| header.iter().position(|h| h.trim() == column).map(|i| (*field, i)))
        .collect();
    let lines: Vec<RegisterLine> = rows
        .map(|(line, cells)| {
            let cell = |field| {
                at.get(&field)
                    .and_then(|i| cells.get(*i))
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
            };
            RegisterLine {
                line,
                asset_number: cell(RegisterField::AssetNumber),
                serial: cell(RegisterField::Serial),
                location: cell(RegisterField::Location),
                status: cell(RegisterField::Status),
                description: cell(RegisterField::Description),
            }
        })
        .collect();
    if lines.is_empty() {
        // An empty export would resolve every finding of the last audit: refused, not judged.
        return Err(CollectError::Input(format!(
            "{shown}: the register has a header but no lines; export it again with its assets"
        )));
    }
    Ok(Register { lines, columns, sha256 })
}

/// Which column each field is read from.
fn columns(
    header: &[String],
    map: &[(String, RegisterField)],
) -> Result<BTreeMap<RegisterField, String>, String> {
    let names: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    let mut columns = BTreeMap::new();
    for (column, field) in map {
        if !names.contains(&column.trim()) {
            return Err(format!(
                "--map {column}={field}: the header has no column {column:?} (it has: {})",
                names.join(", ")
            ));
        }
        columns.insert(*field, column.trim().to_owned());
    }
    for field in RegisterField::ALL {
        if columns.contains_key(field) {
            continue;
        }
        let usual = field.usual_headers();
        if let Some(name) = names.iter().find(|name| usual.contains(&header_word(name).as_str())) {
            columns.insert(*field, (*name).to_owned());
        }
    }
    if !columns.contains_key(&RegisterField::AssetNumber) && !columns.contains_key(&RegisterField::Serial) {
        return Err(format!(
            "no column for the asset number ({}) or the serial ({}) among: {}; name one with --map COLUMN=asset_number",
            RegisterField::AssetNumber.usual_headers().join(", "),
            RegisterField::Serial.usual_headers().join(", "),
            names.join(", ")
        ));
    }
    Ok(columns)
}

/// The rows of a delimited text, each with its line; the delimiter is the one of `,` `;` tab
/// `|` that the header holds most of (outside quotes). Errors start with the line.
fn csv_rows(bytes: &[u8]) -> Result<Vec<(u64, Vec<String>)>, String> {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let delimiter = sniff_delimiter(text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text);
    let mut rows = Vec::new();
    let mut width = None;
    for record in reader.records() {
        let record = record.map_err(|err| {
            let line = err.position().map_or(0, |p| p.line());
            format!("{line}: {err}")
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        match width {
            None => width = Some(cells.len()),
            Some(expected) if cells.len() != expected && cells.iter().any(|c| !c.is_empty()) => {
                return Err(format!(
                    "{line}: expected {expected} columns as in the header, found {}",
                    cells.len()
                ));
            }
            Some(_) => {}
        }
        rows.push((line, cells));
    }
    Ok(rows)
}

fn sniff_delimiter(text: &[u8]) -> u8 {
    let header = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut quoted = false;
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    for byte in header {
        if *byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(entry) = counts.iter_mut().find(|(d, _)| d == byte) {
            entry.1 += 1;
        }
    }
    // The first of the most frequent: a header without any is one column, read as CSV.
    counts.iter().fold((b',', 0), |best, c| if c.1 > best.1 { *c } else { best }).0
}

/// The rows of the workbook's first sheet, each with its spreadsheet row number.
fn xlsx_rows(path: &Path) -> Result<Vec<(u64, Vec<String>)>, String> {
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(|err| format!("not a readable XLSX workbook: {err}"))?;
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Err("the workbook has no sheet".to_owned());
    };
    let range = workbook.worksheet_range(&sheet).map_err(|err| format!("sheet {sheet:?}: {err}"))?;
    let first = range.start().map_or(0, |(row, _)| u64::from(row));
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| (first + i as u64 + 1, cells.iter().map(cell_text).collect()))
        .collect())
}

/// A cell as text: whole numbers without a fraction (an asset number typed as a number).
fn cell_text(cell: &calamine::Data) -> String {
    match cell {
        calamine::Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, map: &[(String, RegisterField)]) -> Result<Register, CollectError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("far.csv");
        std::fs::write(&path, text).unwrap();
        read(&path, RegisterFormat::Csv, map)
    }

    #[test]
    fn semicolons_a_bom_and_usual_headers() {
        let text = "\u{feff}Asset Number;Serial Number;Location;Status;Kosten\nFA-1;\"S;1\";DC1;in use;3\n;;;;\nFA-2;S2;;disposed;4\n";
        let register = lines(text, &[]).unwrap();
        assert_eq!(register.lines.len(), 2, "{register:?}");
        assert_eq!(register.lines[0].serial.as_deref(), Some("S;1"));
        assert_eq!((register.lines[0].line, register.lines[1].line), (2, 4));
        assert_eq!(register.lines[1].location, None);
        assert!(register.lines[1].disposed());
        assert_eq!(register.columns[&RegisterField::AssetNumber], "Asset Number");
        assert_eq!(register.sha256.len(), 64);
    }

    #[test]
    fn a_mapped_column_the_header_lacks_is_named() {
        let map = [("Inventarnummer".to_owned(), RegisterField::AssetNumber)];
        let Err(CollectError::Input(message)) = lines("Anlage,Seriennummer\nA,B\n", &map) else { panic!() };
        assert!(
            message.contains("--map Inventarnummer=asset_number") && message.contains("Anlage"),
            "{message}"
        );
        let Err(CollectError::Input(message)) = lines("Anlage,Bezeichnung\nA,B\n", &[]) else { panic!() };
        assert!(message.contains("no column for the asset number"), "{message}");
        let map = [("Anlage".to_owned(), RegisterField::AssetNumber)];
        assert_eq!(
            lines("Anlage,Bezeichnung\nA,B\n", &map).unwrap().lines[0].asset_number.as_deref(),
            Some("A")
        );
    }

    #[test]
    fn a_register_without_lines_is_refused() {
        let Err(CollectError::Input(message)) = lines("asset_tag,serial\n,\n", &[]) else { panic!() };
        assert!(message.contains("no lines"), "{message}");
    }

    #[test]
    fn a_short_row_names_its_line() {
        let Err(CollectError::Input(message)) = lines("asset_tag,serial\nA,1\nB\n", &[]) else { panic!() };
        assert!(message.ends_with(":3: expected 2 columns as in the header, found 1"), "{message}");
    }
}
