//! The `snapshot` source: a recorded collection, replayed. A JSON Lines file opens with when
//! it was collected, holds resources in their collector's own shape (an AWS document with its
//! scope) and notes of how each scope ended, and closes with how many resources it holds;
//! replaying it gives the inventory exactly what the recorded collection gave, with the
//! recording's time as the scopes' collection time, so a week-old recording is as stale as a
//! week-old sync. For an air-gapped inventory (collect on one side, replay on the other), a
//! demonstration without a cloud, and benchmarks.
//!
//! ```toml
//! [[source]]
//! type = "snapshot"
//! path = "recordings/prod-2026-12-01.jsonl"
//! ```
//!
//! ```text
//! {"snapshot": {"collected_at": "2026-12-01T01:00:00Z"}}
//! {"scope": "aws:111122223333:eu-west-1:ec2", "type": "aws.ec2.instance", "native_id": "i-0abc",
//!  "arn": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", "account": "111122223333",
//!  "region": "eu-west-1", "name": "web-1", "attributes": {…}, "tags": {…}}
//! {"scope_complete": "aws:111122223333:eu-west-1:kms"}
//! {"scope_failed": "aws:111122223333:eu-west-1:accessanalyzer", "error": "AccessDenied"}
//! {"snapshot_end": {"resources": 1}}
//! ```
//!
//! Every scope a resource or a `scope_complete` line names is complete unless a
//! `scope_failed` line names it. A recording without its header (its age unknown) is refused,
//! and one that ends before its `snapshot_end` line, or holds another number of resources,
//! was cut short: its resources are stored and no scope is complete, so nothing is marked
//! absent and nothing is judged on it. Sync refuses a recording older than the last complete
//! collection of a scope (see `plumb sync`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::PathBuf;

use futures_util::future::BoxFuture;
use plumb_core::scope::ScopeId;
use plumb_core::sync::Resource;
use plumb_core::{Kind, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use crate::{CollectError, Emitter, PartError, Source, SourceType};

/// Registers the source.
pub const TYPE: SourceType = SourceType { name: "snapshot", build };

/// A `[[source]]` table of type `snapshot`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSettings {
    /// Always `snapshot`.
    #[serde(rename = "type")]
    pub source_type: String,
    /// The recording.
    pub path: PathBuf,
}

fn build(settings: Value) -> Result<Box<dyn Source>, CollectError> {
    let settings: SnapshotSettings = serde_json::from_value(settings)
        .map_err(|err| CollectError::Input(format!("[[source]] of type snapshot: {err}")))?;
    Ok(Box::new(SnapshotSource { path: settings.path }))
}

/// Replays one recording.
#[derive(Debug)]
pub struct SnapshotSource {
    path: PathBuf,
}

/// One line of a recording.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Line {
    Header { snapshot: Header },
    End { snapshot_end: End },
    Complete { scope_complete: String },
    Failed { scope_failed: String, error: String },
    Resource(Box<Recorded>),
}

/// When the recording was made.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    collected_at: Timestamp,
}

/// How the recording ends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    resources: u64,
}

/// A resource as its collector yielded it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    scope: String,
    #[serde(rename = "type")]
    resource_type: String,
    native_id: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<Kind>,
    #[serde(default)]
    attributes: Value,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

impl Recorded {
    fn into_resource(self) -> Resource {
        let source = ScopeId::parse(&self.scope).source;
        Resource {
            provider: source.clone(),
            source,
            scope: self.scope,
            resource_type: self.resource_type,
            kind: self.kind.unwrap_or(Kind::Cloud),
            native_id: self.native_id,
            natural_key: self.key,
            arn: self.arn,
            account: self.account,
            region: self.region,
            name: self.name,
            attributes: if self.attributes.is_null() {
                Value::Object(Default::default())
            } else {
                self.attributes
            },
            tags: self.tags,
            fields: BTreeMap::new(),
        }
    }
}

impl Source for SnapshotSource {
    fn describe(&self) -> String {
        format!("snapshot {}", self.path.display())
    }

    fn source(&self) -> &'static str {
        "snapshot"
    }

    fn collect(&self, out: Emitter) -> BoxFuture<'_, Result<(), CollectError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || replay(&path, &out))
                .await
                .map_err(|err| CollectError::Unavailable(format!("reading the snapshot stopped: {err}")))?
        })
    }
}

/// Sends the recording's resources, then every scope as it ended. A line that cannot be read,
/// or a recording without its header or cut short, stops the replay with nothing marked
/// complete: the recording is not what it claims.
fn replay(path: &std::path::Path, out: &Emitter) -> Result<(), CollectError> {
    let name = path.display();
    let file =
        std::fs::File::open(path).map_err(|err| CollectError::Input(format!("cannot read {name}: {err}")))?;
    let mut collected_at = None;
    let mut end = None;
    let mut resources = 0_u64;
    let mut complete = BTreeSet::new();
    let mut failed = BTreeMap::new();
    let mut batch = out.blocking_batch();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|err| CollectError::Input(format!("cannot read {name}: {err}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = number + 1;
        let parsed: Line = serde_json::from_str(&line).map_err(|err| {
            CollectError::Input(format!(
                "{name}:{at}: expected a recorded resource (scope, type, native_id, …), a snapshot header, \
                 scope_complete, scope_failed or snapshot_end: {err}"
            ))
        })?;
        if end.is_some() {
            return Err(CollectError::Input(format!("{name}:{at}: a line after snapshot_end")));
        }
        match parsed {
            Line::Header { snapshot } if collected_at.is_none() => {
                collected_at = Some(snapshot.collected_at);
            }
            Line::Header { .. } => {
                return Err(CollectError::Input(format!("{name}:{at}: a second snapshot header")));
            }
            _ if collected_at.is_none() => {
                return Err(CollectError::Input(format!(
                    "{name}:{at}: expected the header {{\"snapshot\": {{\"collected_at\": \"…\"}}}} first: \
                     without the time it was collected, a recording's data is of unknown age"
                )));
            }
            Line::End { snapshot_end } => end = Some(snapshot_end.resources),
            Line::Complete { scope_complete } => {
                complete.insert(scope_complete);
            }
            Line::Failed { scope_failed, error } => {
                failed.insert(scope_failed, error);
            }
            Line::Resource(recorded) => {
                resources += 1;
                complete.insert(recorded.scope.clone());
                let mut resource = recorded.into_resource();
                // A recorded state resource is sealed as a state read now would be.
                if let ("terraform", Value::Object(attributes)) =
                    (resource.source.as_str(), &mut resource.attributes)
                {
                    plumb_core::secrets::seal_stored(out.sealer(), attributes);
                }
                batch.push(resource)?;
            }
        }
    }
    batch.finish()?;
    match end {
        Some(expected) if expected == resources => {}
        Some(expected) => {
            return Err(CollectError::Input(format!(
                "{name}: holds {resources} resources, its snapshot_end says {expected}: the recording is not \
                 what was collected"
            )));
        }
        None => {
            return Err(CollectError::Input(format!(
                "{name}: ends before its snapshot_end line ({resources} resources read): the recording was \
                 cut short"
            )));
        }
    }
    for scope in complete.into_iter().filter(|s| !failed.contains_key(s)) {
        out.blocking_scope_complete(scope, collected_at)?;
    }
    for (scope, message) in failed {
        out.blocking_failed(PartError { scope, operation: "recorded".to_owned(), message })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Collected;

    /// Replays `text` as the recording at `path`; returns what replay said and what it emitted.
    fn replay_text(path: &std::path::Path, text: &str) -> (Result<(), CollectError>, Vec<Collected>) {
        std::fs::write(path, text).unwrap();
        let (emitter, mut received) =
            Emitter::channel(64, "m".into(), plumb_core::secrets::Sealer::new(b"k"));
        let result = replay(path, &emitter);
        drop(emitter);
        let mut seen = Vec::new();
        while let Ok(item) = received.try_recv() {
            seen.push(item);
        }
        (result, seen)
    }

    #[test]
    fn a_recording_replays_its_resources_and_how_each_scope_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.jsonl");
        let (result, emitted) = replay_text(
            &path,
            concat!(
                r#"{"snapshot": {"collected_at": "2026-12-01T01:00:00Z"}}"#,
                "\n",
                r#"{"scope": "aws:1:eu-west-1:ec2", "type": "aws.ec2.instance", "native_id": "i-1", "arn": "arn:aws:ec2:eu-west-1:1:instance/i-1", "account": "1", "region": "eu-west-1", "attributes": {"InstanceId": "i-1"}}"#,
                "\n",
                r#"{"scope_complete": "aws:1:eu-west-1:kms"}"#,
                "\n",
                r#"{"scope_failed": "aws:1:eu-west-1:accessanalyzer", "error": "AccessDenied"}"#,
                "\n",
                r#"{"snapshot_end": {"resources": 1}}"#,
                "\n",
            ),
        );
        result.unwrap();
        let mut seen = Vec::new();
        for item in emitted {
            seen.push(match item {
                Collected::Resources(list) => format!("resource {} {}", list[0].0.key(), list[0].0.source),
                Collected::ScopeComplete { scope, at } => format!("complete {scope} {}", at.unwrap()),
                Collected::Failed(error) => format!("failed {} {}", error.scope, error.message),
            });
        }
        assert_eq!(
            seen,
            [
                "resource arn:aws:ec2:eu-west-1:1:instance/i-1 aws",
                "complete aws:1:eu-west-1:ec2 2026-12-01T01:00:00.000000Z",
                "complete aws:1:eu-west-1:kms 2026-12-01T01:00:00.000000Z",
                "failed aws:1:eu-west-1:accessanalyzer AccessDenied",
            ]
        );
        let header = r#"{"snapshot": {"collected_at": "2026-12-01T01:00:00Z"}}"#;
        let resource = r#"{"scope": "aws:1:eu-west-1:ec2", "type": "aws.ec2.instance", "native_id": "i-1"}"#;
        for (text, expected) in [
            (
                format!("{header}\n{{\"scope\": \"aws:1:eu-west-1:ec2\"}}\n"),
                "prod.jsonl:2: expected a recorded resource",
            ),
            (format!("{resource}\n"), "prod.jsonl:1: expected the header"),
            (format!("{header}\n{resource}\n"), "ends before its snapshot_end line (1 resources read)"),
            (
                format!("{header}\n{resource}\n{{\"snapshot_end\": {{\"resources\": 2}}}}\n"),
                "holds 1 resources",
            ),
            (
                format!("{header}\n{{\"snapshot_end\": {{\"resources\": 0}}}}\n{resource}\n"),
                ":3: a line after snapshot_end",
            ),
        ] {
            let (result, emitted) = replay_text(&path, &text);
            let err = result.unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(
                !emitted.iter().any(|item| matches!(item, Collected::ScopeComplete { .. })),
                "{expected}"
            );
        }
    }

    #[test]
    fn recorded_state_resources_are_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tf.jsonl");
        let (result, emitted) = replay_text(
            &path,
            concat!(
                r#"{"snapshot": {"collected_at": "2026-12-01T01:00:00Z"}}"#,
                "\n",
                r#"{"scope": "terraform:prod.tfstate", "type": "terraform.aws_db_instance", "native_id": "aws_db_instance.db", "attributes": {"type": "aws_db_instance", "values": {"password": "hunter2"}}}"#,
                "\n",
                r#"{"snapshot_end": {"resources": 1}}"#,
                "\n",
            ),
        );
        result.unwrap();
        let Some(Collected::Resources(list)) = emitted.into_iter().next() else { panic!("no resources") };
        let password = &list[0].0.attributes["values"]["password"];
        assert!(plumb_core::secrets::is_sealed(password), "{password}");
    }
}
