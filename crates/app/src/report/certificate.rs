//! The certificate of sanitization as a standalone HTML page (no scripts, no external assets),
//! laid out as NIST SP 800-88 Appendix G's sample: person, media, sanitization, destination,
//! validation. Every piece of text is escaped.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::app::decommission::Certificate;
use crate::report::html::escape;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:60em}\
table{border-collapse:collapse;margin:0 0 1.5em;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;\
text-align:left;vertical-align:top}th{background:#f4f4f4;width:16em}.pending{color:#b00020;font-weight:600}";

/// Writes the page.
pub fn write(out: &mut dyn Write, certificate: &Certificate) -> io::Result<()> {
    let record = &certificate.record;
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "–".to_owned());
    let mut page = String::new();
    let title = format!("Certificate of sanitization: {}", record.asset_key);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style>\
         </head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    if certificate.missing.is_empty() {
        let _ =
            writeln!(page, "<p>Complete: the asset is {}.</p>", escape(certificate.asset.status.as_str()));
    } else {
        let _ = writeln!(page, "<p class=\"pending\">Pending: still needs</p><ul>");
        for missing in &certificate.missing {
            let _ = writeln!(page, "<li>{}</li>", escape(missing));
        }
        let _ = writeln!(page, "</ul>");
    }
    let attachments: Vec<String> = record
        .attachments
        .iter()
        .map(|a| format!("{} (SHA-256 {}, {} bytes)", a.name, a.sha256, a.size))
        .collect();
    let sections: [(&str, Vec<(&str, String)>); 4] = [
        (
            "Person performing sanitization",
            vec![
                ("Started by", record.started_by.clone()),
                ("Started at", record.started_at.to_string()),
                ("Ticket", record.ticket.clone()),
            ],
        ),
        (
            "Media",
            vec![
                ("Asset", format!("{} ({})", record.asset_key, record.asset_id)),
                ("Media type", record.media.media_type.clone()),
                ("Serial number", text(&record.media.serial)),
                ("Property number", text(&record.media.property_number)),
                ("Classification", text(&record.media.classification)),
            ],
        ),
        (
            "Sanitization",
            vec![
                ("Method type", record.category.as_str().to_owned()),
                ("Method used", record.method.as_str().to_owned()),
                ("Tool (version)", text(&record.tool)),
                (
                    "Verification",
                    record.verification.map_or_else(|| "–".to_owned(), |v| v.as_str().to_owned()),
                ),
                ("KMS key", text(&record.kms_key)),
                (
                    "Evidence files",
                    if attachments.is_empty() { "–".to_owned() } else { attachments.join("; ") },
                ),
            ],
        ),
        (
            "Destination and validation",
            vec![
                (
                    "Media destination",
                    record.destination.map_or_else(|| "–".to_owned(), |d| d.as_str().to_owned()),
                ),
                ("Returned to", text(&record.returned_to)),
                ("Validated by", text(&record.validated_by)),
                ("Completed by", text(&record.completed_by)),
                ("Completed at", record.completed_at.map_or_else(|| "–".to_owned(), |t| t.to_string())),
            ],
        ),
    ];
    for (heading, rows) in sections {
        let _ = writeln!(page, "<h2>{}</h2>\n<table>", escape(heading));
        for (field, value) in rows {
            let _ = writeln!(page, "<tr><th>{}</th><td>{}</td></tr>", escape(field), escape(&value));
        }
        let _ = writeln!(page, "</table>");
    }
    if let Some(cloud) = &certificate.cloud {
        let _ = writeln!(
            page,
            "<h2>What sync saw</h2>\n<table><tr><th>KMS key state</th><td>{}</td></tr>\
             <tr><th>Key collected in time</th><td>{}</td></tr><tr><th>Resource absent</th><td>{}</td></tr></table>",
            escape(cloud.key_state.as_deref().unwrap_or("gone or unknown")),
            cloud.key_seen,
            cloud.resource_absent
        );
    }
    page.push_str("</body></html>\n");
    out.write_all(page.as_bytes())
}
