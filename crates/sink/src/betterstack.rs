//! Better Stack Uptime incidents for unmanaged resources: one incident while any are open,
//! resolved when none are left.
//!
//! ```toml
//! [[sink]]
//! type = "betterstack"
//! token_env = "BETTERSTACK_TOKEN"        # the variable holding an Uptime API token
//! requester_email = "ops@example.com"
//! # api_url = "https://uptime.betterstack.com"
//! ```
//!
//! The API (Better Stack's "Create a new incident" and "Resolve an ongoing incident" pages):
//! `POST {api_url}/api/v2/incidents` with `Authorization: Bearer TOKEN` and
//! `{requester_email, name, summary, description, email}` answers 201 with
//! `{"data": {"id": "…", "type": "incident", …}}`;
//! `POST {api_url}/api/v2/incidents/{id}/resolve` with `{resolved_by}` answers 200, or 409 when
//! the incident was already resolved.
//!
//! Decisions, per scan:
//! - a failed scan changes nothing (its counts say nothing about what is open);
//! - no incident remembered and unmanaged resources open → create one, remember its id;
//! - an incident remembered and none open → resolve it (409 and 404 mean someone already
//!   resolved or deleted it) and forget it;
//! - an incident remembered and some open → nothing: the team is already alerted, and more
//!   pages for the same problem would be noise. The next incident lists what is new then.
//!
//! Creating on "any open" rather than only "some opened this scan" means an incident whose
//! creation failed (its items are no longer new on the next scan) is still created later.
//! Missing and changed items never open incidents: the policy asks for alerts on unmanaged
//! resources. A create that times out after Better Stack acted can, when retried, open a
//! second incident; an extra page beats a missed one.

use futures_util::future::BoxFuture;
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{self, Secret};
use crate::http;
use crate::{Alert, AlertItem, Outcome, Scan, Sink, SinkError, SinkState, SinkType, UNMANAGED};

/// The registry entry. An incident is about unmanaged resources, so it hears drift only.
pub(crate) const TYPE: SinkType =
    SinkType { name: "betterstack", build, hears: &[Scan::Drift], can_hear: &[Scan::Drift] };

/// The resources listed in an incident's description; the rest are counted.
const LISTED: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    #[serde(default = "default_api_url")]
    api_url: String,
    token_env: String,
    requester_email: String,
}

fn default_api_url() -> String {
    "https://uptime.betterstack.com".to_owned()
}

#[derive(Debug)]
struct BetterStack {
    name: String,
    api_url: reqwest::Url,
    token: Secret,
    requester_email: String,
}

fn build(settings: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Sink>, SinkError> {
    let parsed = config::parse::<Keys>(
        settings,
        TYPE.name,
        "token_env, requester_email, api_url (optional), name (optional)",
    )?;
    let Keys { api_url, token_env, requester_email } = parsed.keys;
    let api_url = config::url(&parsed.label, "key `api_url`", &api_url)?;
    let token = config::secret(&parsed.label, "token_env", &token_env, env)?;
    Ok(Box::new(BetterStack { name: parsed.name, api_url, token, requester_email }))
}

/// What to do for one scan.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Create,
    Resolve(String),
    Keep,
}

/// The open incident a state remembers. A state without one (or not in the shape this sink
/// writes) is taken as no incident: opening a new one beats staying silent.
fn open_incident(state: &SinkState) -> Option<String> {
    let id = state.as_ref()?.get("incident_id")?;
    match id {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        _ => None,
    }
}

fn plan(alert: &Alert, state: &SinkState) -> Action {
    if alert.outcome == Outcome::Failed {
        return Action::Keep;
    }
    let any_open = alert.open_unmanaged.unwrap_or(0) > 0 || unmanaged(&alert.opened).next().is_some();
    match (open_incident(state), any_open) {
        (None, true) => Action::Create,
        // Only a scan that saw everything may say the unmanaged resources are gone.
        (Some(id), false) if alert.outcome == Outcome::Completed => Action::Resolve(id),
        _ => Action::Keep,
    }
}

fn unmanaged(items: &[AlertItem]) -> impl Iterator<Item = &AlertItem> {
    items.iter().filter(|item| item.kind == UNMANAGED)
}

/// The create request's body.
fn incident(alert: &Alert, requester_email: &str) -> Value {
    let new: Vec<&AlertItem> = unmanaged(&alert.opened).collect();
    let open = alert.open_unmanaged.unwrap_or(0).max(new.len() as u64);
    let plural = if open == 1 { "resource" } else { "resources" };
    let summary = format!("plumb {}: {open} unmanaged {plural} found", alert.scan);
    json!({
        "requester_email": requester_email,
        "name": format!("plumb {}: unmanaged resources", alert.scan),
        "summary": summary,
        "description": description(alert, &new, open),
        "email": true,
    })
}

fn description(alert: &Alert, new: &[&AlertItem], open: u64) -> String {
    let mut text = format!(
        "The {} scan (run {}, {}) found {open} live resources that no desired state manages.\n",
        alert.scan, alert.run_id, alert.at
    );
    if !new.is_empty() {
        text.push_str("\nNew in this scan:\n");
        for item in new.iter().take(LISTED) {
            text.push_str(&format!("- {} ({})\n", item.key, item.resource_type));
        }
        if new.len() > LISTED {
            text.push_str(&format!("- and {} more\n", new.len() - LISTED));
        }
    }
    let earlier = open.saturating_sub(new.len() as u64);
    if earlier > 0 {
        text.push_str(&format!("\n{earlier} more were found by earlier scans and are still open.\n"));
    }
    if let Some(url) = &alert.report_url {
        text.push_str(&format!("\nReport: {url}\n"));
    }
    text
}

/// The created incident's id, from `{"data": {"id": …}}`; JSON:API ids are strings, but a
/// number is accepted too.
fn created_id(body: &Value) -> Result<String, SinkError> {
    match body.pointer("/data/id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ => Err(SinkError::Response(format!(
            "Better Stack created an incident but its answer has no data.id: {}",
            http::excerpt(&body.to_string())
        ))),
    }
}

impl BetterStack {
    /// `{api_url}/api/v2/incidents[/…]`, each segment escaped.
    fn endpoint(&self, tail: &[&str]) -> Result<reqwest::Url, SinkError> {
        let mut url = self.api_url.clone();
        url.path_segments_mut()
            .map_err(|()| SinkError::Config(format!("sink \"{}\": api_url cannot take a path", self.name)))?
            .pop_if_empty()
            .extend(["api", "v2", "incidents"])
            .extend(tail);
        Ok(url)
    }

    fn post(&self, client: &reqwest::Client, url: reqwest::Url, body: &Value) -> reqwest::RequestBuilder {
        client.post(url).header(AUTHORIZATION, format!("Bearer {}", self.token.expose())).json(body)
    }

    async fn create(&self, client: &reqwest::Client, alert: &Alert) -> Result<SinkState, SinkError> {
        let request = self.post(client, self.endpoint(&[])?, &incident(alert, &self.requester_email));
        let response = http::send(request).await?;
        let body: Value = response.json().await.map_err(|err| {
            SinkError::Response(format!("Better Stack created an incident but its answer is not JSON: {err}"))
        })?;
        let id = created_id(&body)?;
        tracing::info!(message = "Better Stack incident opened.", sink = %self.name, incident = %id);
        Ok(Some(json!({ "incident_id": id })))
    }

    async fn resolve(&self, client: &reqwest::Client, id: &str) -> Result<SinkState, SinkError> {
        let request = self.post(
            client,
            self.endpoint(&[id, "resolve"])?,
            &json!({ "resolved_by": self.requester_email }),
        );
        match http::send(request).await {
            Ok(_) => {}
            // 409: already resolved (by a person, say); 404: deleted. Either way it is not
            // open any more, and remembering it would keep the next incident from opening.
            Err(SinkError::Http { status: 404 | 409, .. }) => {
                tracing::info!(message = "Better Stack incident was already closed.", sink = %self.name, incident = %id);
            }
            Err(err) => return Err(err),
        }
        tracing::info!(message = "Better Stack incident resolved.", sink = %self.name, incident = %id);
        Ok(None)
    }
}

impl Sink for BetterStack {
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
            match plan(alert, state) {
                Action::Create => self.create(client, alert).await,
                Action::Resolve(id) => self.resolve(client, &id).await,
                Action::Keep => Ok(state.clone()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &str, key: &str) -> AlertItem {
        AlertItem {
            kind: kind.to_owned(),
            key: key.to_owned(),
            resource_type: "aws.s3.bucket".to_owned(),
            message: format!("{key} is {kind}"),
        }
    }

    fn alert(outcome: Outcome, opened: Vec<AlertItem>, open_unmanaged: u64) -> Alert {
        Alert {
            scan: Scan::Drift,
            run_id: "01J0000000000000000000000".to_owned(),
            at: "2026-05-01T12:00:00Z".to_owned(),
            outcome,
            error: None,
            opened,
            resolved: Vec::new(),
            open_unmanaged: Some(open_unmanaged),
            summary: json!({}),
            report_url: None,
        }
    }

    #[test]
    fn plans() {
        use Action::*;
        let open = Some(json!({"incident_id": "7"}));
        let rows: Vec<(Outcome, Vec<AlertItem>, u64, SinkState, Action)> = vec![
            (Outcome::Completed, vec![item("unmanaged", "a")], 1, None, Create),
            // Still open from an earlier scan whose create failed: create now.
            (Outcome::Completed, vec![], 2, None, Create),
            (Outcome::Completed, vec![item("changed", "c"), item("missing", "m")], 0, None, Keep),
            (Outcome::Completed, vec![], 0, None, Keep),
            (Outcome::Completed, vec![item("unmanaged", "b")], 3, open.clone(), Keep),
            (Outcome::Completed, vec![], 0, open.clone(), Resolve("7".to_owned())),
            // A failed scan says nothing about what is open.
            (Outcome::Failed, vec![], 0, open.clone(), Keep),
            (Outcome::Failed, vec![item("unmanaged", "a")], 1, None, Keep),
            // An incomplete scan's finds are real, but its silence proves nothing.
            (Outcome::Incomplete, vec![item("unmanaged", "a")], 1, None, Create),
            (Outcome::Incomplete, vec![], 0, open.clone(), Keep),
            // A state not in this sink's shape is no incident.
            (Outcome::Completed, vec![], 1, Some(json!({"other": 1})), Create),
            (Outcome::Completed, vec![], 1, Some(json!({"incident_id": 7})), Create),
        ];
        for (outcome, opened, open_unmanaged, state, expect) in rows {
            let alert = alert(outcome, opened, open_unmanaged);
            assert_eq!(plan(&alert, &state), expect, "{alert:?} {state:?}");
        }
    }

    #[test]
    fn incident_lists_new_unmanaged_and_counts_the_rest() {
        let alert = alert(Outcome::Completed, vec![item("unmanaged", "arn:a"), item("changed", "arn:c")], 3);
        let body = incident(&alert, "ops@example.com");
        assert_eq!(body["requester_email"], "ops@example.com");
        assert_eq!(body["summary"], "plumb drift: 3 unmanaged resources found");
        let description = body["description"].as_str().unwrap();
        assert!(description.contains("- arn:a (aws.s3.bucket)\n"), "{description}");
        assert!(!description.contains("arn:c"), "{description}");
        assert!(description.contains("2 more were found by earlier scans"), "{description}");
    }

    #[test]
    fn long_lists_are_cut() {
        let opened = (0..LISTED + 5).map(|i| item("unmanaged", &format!("k{i}"))).collect();
        let alert = alert(Outcome::Completed, opened, (LISTED + 5) as u64);
        let description = incident(&alert, "e")["description"].as_str().unwrap().to_owned();
        assert!(description.contains(&format!("- k{}", LISTED - 1)));
        assert!(!description.contains(&format!("- k{} ", LISTED)));
        assert!(description.contains("- and 5 more\n"), "{description}");
    }

    #[test]
    fn created_ids() {
        assert_eq!(created_id(&json!({"data": {"id": "42", "type": "incident"}})).unwrap(), "42");
        assert_eq!(created_id(&json!({"data": {"id": 42}})).unwrap(), "42");
        let err = created_id(&json!({"data": {}})).unwrap_err();
        assert!(matches!(err, SinkError::Response(_)), "{err:?}");
    }
}
