//! The terminal's progress bar as the use cases' `Progress`.

use std::sync::Arc;

use indicatif::ProgressBar;

use crate::app::progress::{Progress, Shared};

/// A bar the use case moves, for the CLI to style, start and clear.
pub struct Bar(ProgressBar);

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }

    fn advance(&self, done: u64) {
        self.0.inc(done);
    }

    fn note(&self, message: &str) {
        self.0.set_message(message.to_owned());
    }
}

/// `bar` as the use cases see it; the CLI keeps `bar` to clear it when they are done.
pub fn shared(bar: &ProgressBar) -> Shared {
    Arc::new(Bar(bar.clone()))
}
