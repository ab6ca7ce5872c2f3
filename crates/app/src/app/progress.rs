//! How a use case tells whoever started it how far long work has got. The CLI draws a bar
//! (`cli::progress`), the API will keep it on the run, a test ignores it: a use case knows only
//! this trait, never a terminal.

use std::sync::Arc;

/// What long work reports. Cheap to share: use cases hold it as [`Shared`] and hand clones to
/// their worker threads.
pub trait Progress: Send + Sync {
    /// How many units the work has, once known.
    fn set_total(&self, total: u64);
    /// `done` more units finished.
    fn advance(&self, done: u64);
    /// What is happening now, in a few words.
    fn note(&self, message: &str);
}

/// A progress report shared between a use case and its threads.
pub type Shared = Arc<dyn Progress>;

/// Nobody is watching.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn set_total(&self, _total: u64) {}

    fn advance(&self, _done: u64) {}

    fn note(&self, _message: &str) {}
}
