//! Recordings for `plumb sync snapshot`: a header saying when they were collected, then the
//! resources, then `snapshot_end` with how many. Generated recordings are kept between runs
//! (a million lines take a while), and dated afresh in place before each replay: the header
//! always has the same length.

use std::io::{BufRead, Seek, Write};
use std::path::Path;

use anyhow::Context;

/// The header of a recording collected at `at`, to the second.
pub fn header(at: jiff::Timestamp) -> String {
    let at = at.strftime("%Y-%m-%dT%H:%M:%SZ");
    serde_json::json!({"snapshot": {"collected_at": at.to_string()}}).to_string()
}

/// The closing line of a recording of `resources` resources.
pub fn end(resources: u64) -> String {
    serde_json::json!({"snapshot_end": {"resources": resources}}).to_string()
}

/// Whether a kept recording is of the current format (opens with a header).
pub fn usable(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).is_ok() && first.starts_with("{\"snapshot\":")
}

/// Dates a kept recording now, so its replay counts as a fresh collection.
pub fn date_now(path: &Path) -> anyhow::Result<()> {
    let header = header(jiff::Timestamp::now());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("dating {}", path.display()))?;
    file.seek(std::io::SeekFrom::Start(0))?;
    file.write_all(header.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_have_one_length() {
        let early = header("2026-01-01T00:00:00Z".parse().unwrap());
        let late = header("2026-12-31T23:59:59.999Z".parse().unwrap());
        assert_eq!(early.len(), late.len(), "{early} {late}");
    }
}
