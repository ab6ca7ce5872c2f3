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
pub mod terraform;

use futures_util::future::BoxFuture;
pub use plumb_core::sync::Resource;
use serde_json::Value;
use tokio::sync::mpsc;

/// What a source reports, in order.
#[derive(Debug)]
pub enum Collected {
    /// A resource, with its content hash (computed on the source's side of the channel).
    Resource(Box<Resource>, String),
    /// Everything in this scope was reported: what was not is no longer there.
    ScopeComplete {
        /// The scope.
        scope: String,
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

/// Where a source sends what it finds.
#[derive(Clone, Debug)]
pub struct Emitter {
    sender: mpsc::Sender<Collected>,
    fingerprint: String,
}

/// The receiving side went away: the sync stopped.
#[derive(Debug, thiserror::Error)]
#[error("the sync stopped receiving resources")]
pub struct Stopped;

impl Emitter {
    /// A channel of `capacity` items; `fingerprint` is the tag mapping's, part of every hash.
    pub fn channel(capacity: usize, fingerprint: String) -> (Emitter, mpsc::Receiver<Collected>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Emitter { sender, fingerprint }, receiver)
    }

    /// Sends a resource.
    pub async fn resource(&self, resource: Resource) -> Result<(), Stopped> {
        let hash = resource.content_hash(&self.fingerprint);
        self.sender.send(Collected::Resource(Box::new(resource), hash)).await.map_err(|_| Stopped)
    }

    /// Sends a resource from a blocking thread.
    pub fn blocking_resource(&self, resource: Resource) -> Result<(), Stopped> {
        let hash = resource.content_hash(&self.fingerprint);
        self.sender.blocking_send(Collected::Resource(Box::new(resource), hash)).map_err(|_| Stopped)
    }

    /// Reports a scope as complete.
    pub async fn scope_complete(&self, scope: String) -> Result<(), Stopped> {
        self.sender.send(Collected::ScopeComplete { scope }).await.map_err(|_| Stopped)
    }

    /// Reports a scope as complete from a blocking thread.
    pub fn blocking_scope_complete(&self, scope: String) -> Result<(), Stopped> {
        self.sender.blocking_send(Collected::ScopeComplete { scope }).map_err(|_| Stopped)
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
            err.to_string()
                .starts_with("unknown source type \"vmware\"; expected one of file, terraform, aws"),
            "{err}"
        );
    }
}
