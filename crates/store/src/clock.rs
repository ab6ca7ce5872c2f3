//! The one clock every use case and transaction reads.
//!
//! `PLUMB_TEST_NOW` (an RFC 3339 time) sets it, for tests that must see an exception expire or
//! data go stale without waiting. It is a test-only override: plumb logs a warning whenever it
//! is in force, and nothing in production should set it.

use std::sync::OnceLock;

use plumb_core::Timestamp;

/// The environment variable that sets the clock (tests only).
pub const TEST_NOW: &str = "PLUMB_TEST_NOW";

/// Now: the system clock, or `PLUMB_TEST_NOW` when set.
pub fn now() -> Timestamp {
    overridden().unwrap_or_else(|| Timestamp::from_jiff(jiff::Timestamp::now()))
}

/// The instant `PLUMB_TEST_NOW` fixes the clock at, when it is in force: every run recorded
/// then says so (`inputs.test_clock`), so no evidence hides that its time was not the real one.
pub fn overridden() -> Option<Timestamp> {
    static FIXED: OnceLock<Option<Timestamp>> = OnceLock::new();
    *FIXED.get_or_init(|| {
        let text = std::env::var(TEST_NOW).ok()?;
        match text.parse::<Timestamp>() {
            Ok(at) => {
                tracing::warn!("{TEST_NOW} is set: the clock reads {at} (a test-only override)");
                Some(at)
            }
            Err(err) => {
                tracing::warn!("{TEST_NOW} ignored: {err}");
                None
            }
        }
    })
}
