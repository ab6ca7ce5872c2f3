//! Slack through an incoming webhook: one message per scan that opened or resolved
//! something, nothing otherwise.
//!
//! ```toml
//! [[sink]]
//! type = "slack"
//! url_env = "SLACK_WEBHOOK_URL"   # the variable holding the incoming-webhook URL (a secret)
//! ```
//!
//! The message is Slack's incoming-webhook shape: `text` (the fallback for notifications)
//! and `blocks` of `section`s with `mrkdwn` text: a headline, then what is new and what was
//! resolved, each cut to `LISTED` items with "and N more".

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{self, Secret};
use crate::http;
use crate::{Alert, AlertItem, Outcome, Scan, Sink, SinkError, SinkState, SinkType, UNMANAGED};

/// The registry entry.
pub(crate) const TYPE: SinkType = SinkType { name: "slack", build, hears: Scan::ALL, can_hear: Scan::ALL };

/// Items listed per section; the rest are counted.
const LISTED: usize = 20;

/// Slack refuses a section whose text is over 3,000 characters; stop listing before that.
const SECTION_CHARS: usize = 2_800;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    url_env: String,
}

#[derive(Debug)]
struct Slack {
    name: String,
    url: Secret,
}

fn build(settings: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Sink>, SinkError> {
    let parsed = config::parse::<Keys>(settings, TYPE.name, "url_env, name (optional)")?;
    let url = config::secret(&parsed.label, "url_env", &parsed.keys.url_env, env)?;
    config::url(&parsed.label, &format!("the value of {}", parsed.keys.url_env), url.expose())?;
    Ok(Box::new(Slack { name: parsed.name, url }))
}

/// The item kinds headlines count, in their order; any other is "other".
const KINDS: &[&str] = &[UNMANAGED, "missing", "changed", "expired", "expiring", "due"];

/// "plumb drift: 2 new unmanaged, 1 new changed, 1 resolved (5 unmanaged open)";
/// "plumb exception-reminder: 1 expired, 2 expiring".
fn headline(alert: &Alert) -> String {
    // A reminder is about what stands, not what a scan newly found.
    let new = if alert.scan == Scan::Drift { "new " } else { "" };
    let mut parts = Vec::new();
    for kind in KINDS {
        let count = alert.opened.iter().filter(|item| item.kind == *kind).count();
        if count > 0 {
            parts.push(format!("{count} {new}{kind}"));
        }
    }
    let other = alert.opened.iter().filter(|item| !KINDS.contains(&item.kind.as_str())).count();
    if other > 0 {
        parts.push(format!("{other} {new}other"));
    }
    if !alert.resolved.is_empty() {
        parts.push(format!("{} resolved", alert.resolved.len()));
    }
    if parts.is_empty() {
        parts.push("nothing new".to_owned());
    }
    let open = alert.open_unmanaged.map(|n| format!(" ({n} unmanaged open)")).unwrap_or_default();
    match (alert.outcome, &alert.error) {
        (Outcome::Completed, _) | (_, None) => format!("plumb {}: {}{open}", alert.scan, parts.join(", ")),
        (outcome, Some(error)) => format!(
            "plumb {} {}: {error}; {}{open}",
            alert.scan,
            if outcome == Outcome::Failed { "failed" } else { "incomplete" },
            parts.join(", "),
        ),
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup; resource keys and messages are data.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn line(item: &AlertItem) -> String {
    // A backtick in a key would end the code span early.
    let key = escape(&item.key).replace('`', "'");
    format!("• {} `{key}` ({}): {}", escape(&item.kind), escape(&item.resource_type), escape(&item.message))
}

/// A section's text: the title, then as many items as fit, then "and N more".
fn list(title: &str, items: &[AlertItem]) -> String {
    let mut text = format!("*{title}*");
    let mut shown = 0;
    for item in items.iter().take(LISTED) {
        let line = line(item);
        if text.len() + line.len() + 1 > SECTION_CHARS {
            break;
        }
        text.push('\n');
        text.push_str(&line);
        shown += 1;
    }
    if shown < items.len() {
        text.push_str(&format!("\n…and {} more", items.len() - shown));
    }
    text
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// The webhook's body.
fn message(alert: &Alert) -> Value {
    let headline = headline(alert);
    let mut head =
        format!("*{}*\nrun `{}` at {}", escape(&headline), escape(&alert.run_id), escape(&alert.at));
    if let Some(url) = &alert.report_url {
        head.push_str(&format!("\n<{}|Report>", escape(url)));
    }
    let mut blocks = vec![section(head)];
    if !alert.opened.is_empty() {
        blocks.push(section(list("New", &alert.opened)));
    }
    if !alert.resolved.is_empty() {
        blocks.push(section(list("Resolved", &alert.resolved)));
    }
    json!({ "text": headline, "blocks": blocks })
}

impl Sink for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    fn sink_type(&self) -> &'static str {
        TYPE.name
    }

    fn send<'a>(
        &'a self,
        client: &'a reqwest::Client,
        alert: &'a Alert,
        state: &'a SinkState,
    ) -> BoxFuture<'a, Result<SinkState, SinkError>> {
        Box::pin(async move {
            if alert.is_news() {
                http::send(client.post(self.url.expose()).json(&message(alert))).await?;
            }
            Ok(state.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    fn item(kind: &str, key: &str) -> AlertItem {
        AlertItem {
            kind: kind.to_owned(),
            key: key.to_owned(),
            resource_type: "aws_s3_bucket".to_owned(),
            message: format!("{key} is {kind}"),
        }
    }

    fn alert(opened: Vec<AlertItem>, resolved: Vec<AlertItem>, open_unmanaged: u64) -> Alert {
        Alert {
            scan: Scan::Drift,
            run_id: "R1".to_owned(),
            at: "2026-05-01T12:00:00Z".to_owned(),
            outcome: Outcome::Completed,
            error: None,
            opened,
            resolved,
            open_unmanaged: Some(open_unmanaged),
            summary: json!({}),
            report_url: None,
        }
    }

    #[test]
    fn headlines() {
        let rows = [
            (
                alert(vec![item("unmanaged", "a"), item("unmanaged", "b")], vec![item("missing", "c")], 5),
                "plumb drift: 2 new unmanaged, 1 resolved (5 unmanaged open)",
            ),
            (
                alert(vec![item("changed", "a"), item("missing", "b"), item("unmanaged", "c")], vec![], 1),
                "plumb drift: 1 new unmanaged, 1 new missing, 1 new changed (1 unmanaged open)",
            ),
            (alert(vec![], vec![item("unmanaged", "a")], 0), "plumb drift: 1 resolved (0 unmanaged open)"),
        ];
        let mut reminder = alert(
            vec![item("expiring", "EX-2"), item("expired", "EX-1"), item("expiring", "EX-3")],
            vec![],
            0,
        );
        reminder.scan = Scan::ExceptionReminder;
        reminder.open_unmanaged = None;
        assert_eq!(headline(&reminder), "plumb exception-reminder: 1 expired, 2 expiring");
        for (alert, expect) in rows {
            assert_eq!(headline(&alert), expect);
        }
    }

    #[test]
    fn message_has_fallback_text_and_sections() {
        let body = message(&alert(vec![item("unmanaged", "arn:a")], vec![item("changed", "arn:b")], 1));
        assert_eq!(body["text"], "plumb drift: 1 new unmanaged, 1 resolved (1 unmanaged open)");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        assert!(blocks.iter().all(|b| b["type"] == "section" && b["text"]["type"] == "mrkdwn"));
        assert_eq!(
            blocks[1]["text"]["text"],
            "*New*\n• unmanaged `arn:a` (aws_s3_bucket): arn:a is unmanaged"
        );
        assert_eq!(
            blocks[2]["text"]["text"],
            "*Resolved*\n• changed `arn:b` (aws_s3_bucket): arn:b is changed"
        );
    }

    #[test]
    fn lists_are_cut_at_twenty_items() {
        let opened: Vec<AlertItem> = (0..25).map(|i| item("unmanaged", &format!("k{i}"))).collect();
        let text = list("New", &opened);
        assert_eq!(text.lines().count(), 1 + LISTED + 1);
        assert!(text.contains("`k19`") && !text.contains("`k20`"), "{text}");
        assert!(text.ends_with("\n…and 5 more"), "{text}");
    }

    #[test]
    fn lists_stay_under_slacks_section_limit() {
        let long = "x".repeat(500);
        let opened: Vec<AlertItem> = (0..10).map(|i| item("unmanaged", &format!("{long}{i}"))).collect();
        let text = list("New", &opened);
        assert!(text.len() <= SECTION_CHARS + 20, "{}", text.len());
        assert!(text.ends_with(" more"), "{text}");
    }

    #[test]
    fn markup_in_data_is_escaped() {
        let mut odd = item("unmanaged", "a<b>&`c`");
        odd.message = "<!channel> hello".to_owned();
        assert_eq!(line(&odd), "• unmanaged `a&lt;b&gt;&amp;'c'` (aws_s3_bucket): &lt;!channel&gt; hello");
    }
}
