//! JUnit XML as CI systems read it (GitLab, Jenkins, Azure DevOps, GitHub test reporters):
//! `testsuites/testsuite/testcase`, a blocking finding as a `failure`, a result that could not
//! be evaluated as an `error` (never a passing test), a suppressed one as `skipped` with the
//! reason, a warning as a passing test with the message in `system-out`,
//! and every checked item without findings as a passing test. Text is escaped by quick-xml;
//! characters XML 1.0 cannot hold (control characters in scanner output) are replaced.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::report::findings::{Finding, Findings, Kind, Level};

/// Writes the findings as a JUnit XML document.
pub fn write(out: &mut dyn Write, findings: &Findings) -> io::Result<()> {
    let tests = (findings.findings.len() + findings.passed.len()).to_string();
    let failures =
        findings.findings.iter().filter(|f| f.blocks() && f.kind != Kind::Open).count().to_string();
    let errors = findings.findings.iter().filter(|f| f.kind == Kind::Open).count().to_string();
    let skipped = findings.findings.iter().filter(|f| f.suppressed.is_some()).count().to_string();
    let suite = clean(&findings.command);
    let mut writer = Writer::new_with_indent(out, b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let counts = [
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", errors.as_str()),
        ("skipped", skipped.as_str()),
    ];
    writer
        .create_element("testsuites")
        .with_attribute(("name", "plumb"))
        .with_attributes(counts)
        .write_inner_content(|writer| {
            writer
                .create_element("testsuite")
                .with_attribute(("name", suite.as_str()))
                .with_attributes(counts)
                .write_inner_content(|writer| {
                    for finding in &findings.findings {
                        testcase(writer, &suite, finding)?;
                    }
                    for subject in &findings.passed {
                        writer
                            .create_element("testcase")
                            .with_attributes([
                                ("classname", suite.as_str()),
                                ("name", clean(subject).as_str()),
                            ])
                            .write_empty()?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    writer.into_inner().write_all(b"\n")
}

fn testcase<W: Write>(writer: &mut Writer<W>, suite: &str, finding: &Finding) -> io::Result<()> {
    let classname = clean(&format!("{suite}.{}", finding.rule_id));
    let name = clean(&finding.subject);
    let mut element = writer
        .create_element("testcase")
        .with_attributes([("classname", classname.as_str()), ("name", name.as_str())]);
    if let Some(location) = &finding.location {
        element = element.with_attribute(("file", clean(&location.uri).as_str()));
        if let Some(line) = location.line {
            element = element.with_attribute(("line", line.to_string().as_str()));
        }
    }
    let message = clean(&finding.message);
    let details = clean(&details(finding));
    element.write_inner_content(|writer| {
        match (&finding.suppressed, finding.level) {
            (_, _) if finding.kind == Kind::Open => {
                writer
                    .create_element("error")
                    .with_attributes([("message", message.as_str()), ("type", finding.rule_id.as_str())])
                    .write_text_content(BytesText::new(&details))?;
            }
            (Some(reason), _) => {
                writer
                    .create_element("skipped")
                    .with_attribute(("message", clean(reason).as_str()))
                    .write_empty()?;
            }
            (None, Level::Error) => {
                writer
                    .create_element("failure")
                    .with_attributes([("message", message.as_str()), ("type", finding.rule_id.as_str())])
                    .write_text_content(BytesText::new(&details))?;
            }
            (None, Level::Warning | Level::Note) => {
                writer.create_element("system-out").write_text_content(BytesText::new(&details))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// The message and the finding's properties, one per line.
fn details(finding: &Finding) -> String {
    let mut text = finding.message.clone();
    for (key, value) in &finding.properties {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("\n{key}: {value}"));
    }
    text
}

/// Replaces characters XML 1.0 does not allow (escaping cannot represent them).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings::Location;

    #[test]
    fn escaping_and_invalid_characters() {
        let mut findings = Findings::new("plumb gate <x>");
        findings.findings.push(Finding {
            rule_id: "r&1".to_owned(),
            level: Level::Error,
            message: "bad \"quote\" <tag> & \u{1b}[31mred".to_owned(),
            subject: "s".to_owned(),
            location: Some(Location { uri: "a b.tf".to_owned(), line: Some(3) }),
            suppressed: None,
            kind: Kind::Fail,
            properties: serde_json::Map::new(),
        });
        findings.passed.push("other".to_owned());
        let mut out = Vec::new();
        write(&mut out, &findings).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(
            xml.contains(
                r#"<testsuite name="plumb gate &lt;x&gt;" tests="2" failures="1" errors="0" skipped="0">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"message="bad &quot;quote&quot; &lt;tag&gt; &amp; �[31mred" type="r&amp;1">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase classname="plumb gate &lt;x&gt;" name="other"/>"#), "{xml}");
        assert!(!xml.contains('\u{1b}'));
    }
}
