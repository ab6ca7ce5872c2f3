//! A standalone HTML page of findings (no scripts, no external assets), to attach to a ticket
//! or keep as evidence: counts by level, extra tables a command adds (drift coverage), and one
//! row per finding. Every piece of text is escaped.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::report::findings::{Findings, Kind, Level};

/// A table shown above the findings.
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// Its heading.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.error{color:#b00020;font-weight:600}.warning{color:#a15c00}.note{color:#555}\
.suppressed{color:#777}";

/// Writes the page.
pub fn write(out: &mut dyn Write, findings: &Findings, sections: &[Section]) -> io::Result<()> {
    let mut page = String::new();
    let title = escape(&findings.command);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    let count = |level: Level| {
        findings.findings.iter().filter(|f| f.level == level && f.suppressed.is_none()).count()
    };
    let suppressed = findings.findings.iter().filter(|f| f.suppressed.is_some()).count();
    let _ = writeln!(
        page,
        "<p id=\"summary\">{} errors, {} warnings, {} notes, {} suppressed, {} passed</p>",
        count(Level::Error),
        count(Level::Warning),
        count(Level::Note),
        suppressed,
        findings.passed.len()
    );
    for section in sections {
        let _ = writeln!(page, "<h2>{}</h2>", escape(&section.title));
        table(&mut page, &section.columns, &section.rows, |_| None);
    }
    let _ = writeln!(page, "<h2>Findings</h2>");
    let columns: Vec<String> =
        ["level", "rule", "subject", "message"].iter().map(|c| (*c).to_owned()).collect();
    let rows: Vec<Vec<String>> = findings
        .findings
        .iter()
        .map(|f| {
            let level = match (&f.suppressed, f.kind) {
                (Some(reason), _) => format!("suppressed: {reason}"),
                (None, Kind::Open) => format!("{} (not evaluated)", f.level.as_str()),
                (None, _) => f.level.as_str().to_owned(),
            };
            vec![level, f.rule_id.clone(), f.subject.clone(), f.message.clone()]
        })
        .collect();
    let classes: Vec<&str> = findings
        .findings
        .iter()
        .map(|f| if f.suppressed.is_some() { "suppressed" } else { f.level.as_str() })
        .collect();
    table(&mut page, &columns, &rows, |row| classes.get(row).copied());
    page.push_str("</body></html>\n");
    out.write_all(page.as_bytes())
}

fn table(
    page: &mut String,
    columns: &[String],
    rows: &[Vec<String>],
    class: impl Fn(usize) -> Option<&'static str>,
) {
    page.push_str("<table><thead><tr>");
    for column in columns {
        let _ = write!(page, "<th>{}</th>", escape(column));
    }
    page.push_str("</tr></thead><tbody>\n");
    for (index, row) in rows.iter().enumerate() {
        match class(index) {
            Some(class) => {
                let _ = write!(page, "<tr class=\"{class}\">");
            }
            None => page.push_str("<tr>"),
        }
        for cell in row {
            let _ = write!(page, "<td>{}</td>", escape(cell));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody></table>\n");
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings::{Finding, Rule};

    #[test]
    fn text_is_escaped_and_counted() {
        let mut findings = Findings::new("plumb drift");
        findings.rule(Rule::new("drift/unmanaged", "Unmanaged"));
        findings.findings.push(Finding {
            rule_id: "drift/unmanaged".into(),
            level: Level::Error,
            message: "<script>alert(1)</script> & more".into(),
            subject: "arn:aws:s3:::b".into(),
            location: None,
            suppressed: None,
            kind: Kind::Fail,
            properties: Default::default(),
        });
        let section = Section {
            title: "Coverage".into(),
            columns: vec!["type".into()],
            rows: vec![vec!["a<b".into()]],
        };
        let mut out = Vec::new();
        write(&mut out, &findings, &[section]).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("<td>a&lt;b</td>"));
        assert!(page.contains("1 errors, 0 warnings"));
        assert!(page.contains("<tr class=\"error\">"));
    }
}
