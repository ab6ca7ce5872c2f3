//! plumb's inputs: sources (collectors) that yield normalized resources, and streaming readers
//! of record files.
//!
//! A [`Source`] sends what it finds through an [`Emitter`] as it goes, so memory does not grow
//! with the estate: resources, the scopes it finished (only a finished scope may mark unseen
//! assets absent), and the parts that failed (a service denied in one region), which are
//! reported without stopping the rest. Adding a source is one file implementing [`Source`]
//! and one line in [`SOURCES`].

#[cfg(feature = "aws")]
pub mod aws;
pub mod file;
pub mod records;
pub mod register;
pub mod snapshot;
pub mod terraform;

use futures_util::future::BoxFuture;
use plumb_core::Timestamp;
use plumb_core::secrets::Sealer;
pub use plumb_core::sync::Resource;
use serde_json::Value;
use tokio::sync::mpsc;

/// What a source reports, in order.
#[derive(Debug)]
pub enum Collected {
    /// Resources, each with its content hash (computed on the source's side of the channel).
    Resources(Vec<(Resource, String)>),
    /// Everything in this scope was reported: what was not is no longer there.
    ScopeComplete {
        /// The scope.
        scope: String,
        /// When it was collected, when that was not now (a recorded collection replayed).
        at: Option<Timestamp>,
    },
    /// A part could not be collected; the rest goes on.
    Failed(PartError),
}

/// A part of a collection that failed, such as one service in one region.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PartError {
    /// The scope that could not be collected.
    pub scope: String,
    /// What failed, such as `s3:GetBucketVersioning`.
    pub operation: String,
    /// Why.
    pub message: String,
}

/// Where a source sends what it finds, with what the configuration gives every source: the
/// tag mapping's fingerprint (part of every hash) and the sealer secrets are sealed with
/// before they leave the source.
#[derive(Clone, Debug)]
pub struct Emitter {
    sender: mpsc::Sender<Collected>,
    fingerprint: String,
    sealer: Sealer,
}

const BLOCKING_BATCH: usize = 256;

/// Sends resources from a blocking thread (a file or state reader) one batch per message, so
/// the writer wakes once per batch rather than once per resource. Call [`BlockingBatch::finish`]
/// before reporting the scope: what is still pending is not sent otherwise.
#[derive(Debug)]
pub struct BlockingBatch<'a> {
    out: &'a Emitter,
    pending: Vec<(Resource, String)>,
}

impl BlockingBatch<'_> {
    /// Adds a resource; sends the batch when it is full.
    pub fn push(&mut self, resource: Resource) -> Result<(), Stopped> {
        let hash = resource.content_hash(&self.out.fingerprint);
        self.pending.push((resource, hash));
        if self.pending.len() >= BLOCKING_BATCH {
            self.send()?;
        }
        Ok(())
    }

    /// Sends what is pending.
    pub fn finish(mut self) -> Result<(), Stopped> {
        self.send()
    }

    fn send(&mut self) -> Result<(), Stopped> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BLOCKING_BATCH));
        self.out.sender.blocking_send(Collected::Resources(batch)).map_err(|_| Stopped)
    }
}

/// The receiving side went away: the sync stopped.
#[derive(Debug, thiserror::Error)]
#[error("the sync stopped receiving resources")]
pub struct Stopped;

impl Emitter {
    /// A channel of `capacity` messages (an async send is one resource, a blocking batch up to
    /// 256); `fingerprint` is the tag mapping's, part of every hash.
    pub fn channel(
        capacity: usize,
        fingerprint: String,
        sealer: Sealer,
    ) -> (Emitter, mpsc::Receiver<Collected>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Emitter { sender, fingerprint, sealer }, receiver)
    }

    /// What secrets are sealed with.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Sends a resource.
    pub async fn resource(&self, resource: Resource) -> Result<(), Stopped> {
        let hash = resource.content_hash(&self.fingerprint);
        self.sender.send(Collected::Resources(vec![(resource, hash)])).await.map_err(|_| Stopped)
    }

    /// A sender of resources from a blocking thread, in batches.
    pub fn blocking_batch(&self) -> BlockingBatch<'_> {
        BlockingBatch { out: self, pending: Vec::with_capacity(BLOCKING_BATCH) }
    }

    /// Reports a scope as complete.
    pub async fn scope_complete(&self, scope: String) -> Result<(), Stopped> {
        self.sender.send(Collected::ScopeComplete { scope, at: None }).await.map_err(|_| Stopped)
    }

    /// Reports a scope as complete from a blocking thread; `at` when it was collected earlier
    /// than now (a replayed recording: its freshness is the recording's).
    pub fn blocking_scope_complete(&self, scope: String, at: Option<Timestamp>) -> Result<(), Stopped> {
        self.sender.blocking_send(Collected::ScopeComplete { scope, at }).map_err(|_| Stopped)
    }

    /// Reports a failed part.
    pub async fn failed(&self, error: PartError) -> Result<(), Stopped> {
        self.sender.send(Collected::Failed(error)).await.map_err(|_| Stopped)
    }

    /// Reports a failed part from a blocking thread.
    pub fn blocking_failed(&self, error: PartError) -> Result<(), Stopped> {
        self.sender.blocking_send(Collected::Failed(error)).map_err(|_| Stopped)
    }
}

/// Why a whole collection failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The source's configuration or input is wrong (exit code 2).
    #[error("{0}")]
    Input(String),
    /// The provider could not be reached or refused the credentials, after retries
    /// (exit code 3).
    #[error("{0}")]
    Unavailable(String),
    /// The sync stopped receiving.
    #[error(transparent)]
    Stopped(#[from] Stopped),
}

/// A source of resources.
pub trait Source: Send + Sync {
    /// What it collects, for messages and the run record (`aws`, `file:laptops.csv`).
    fn describe(&self) -> String;

    /// The source's name on resources (`aws`, `terraform`, `file`).
    fn source(&self) -> &'static str;

    /// Collects everything, sending it through `out` as it goes.
    fn collect(&self, out: Emitter) -> BoxFuture<'_, Result<(), CollectError>>;
}

/// A kind of source: its `type` in `plumb.toml` and how to build one from its settings.
#[derive(Debug)]
pub struct SourceType {
    /// The `type` of a `[[source]]` table.
    pub name: &'static str,
    /// Builds a source from the table's settings (as JSON).
    pub build: fn(Value) -> Result<Box<dyn Source>, CollectError>,
}

/// Every kind of source plumb has.
pub const SOURCES: &[SourceType] = &[
    file::TYPE,
    terraform::TYPE,
    snapshot::TYPE,
    #[cfg(feature = "aws")]
    aws::TYPE,
];

/// Builds a source from a `[[source]]` table.
pub fn build(settings: Value) -> Result<Box<dyn Source>, CollectError> {
    let kind = settings.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let Some(source) = SOURCES.iter().find(|s| s.name == kind) else {
        let names: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
        return Err(CollectError::Input(format!(
            "unknown source type {kind:?}; expected one of {}",
            names.join(", ")
        )));
    };
    (source.build)(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_unique() {
        let mut names: Vec<&str> = SOURCES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SOURCES.len());
    }

    #[test]
    fn unknown_types_name_the_known_ones() {
        let err = build(serde_json::json!({"type": "vmware"})).err().unwrap();
        assert!(
            err.to_string().starts_with(
                "unknown source type \"vmware\"; expected one of file, terraform, snapshot, aws"
            ),
            "{err}"
        );
    }
}
