//! The one error type of the gates. Input problems always say which file, and where the
//! format allows it, which line and column or field; a GitHub failure after retries is an
//! environment problem, not bad input.

use std::path::PathBuf;

/// Why a gate could not reach a verdict.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input is not valid in its own syntax (JSON, YAML, HCL, Dockerfile).
    #[error("{}:{line}{}: {message}", file.display(), column_suffix(*column))]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (0 when the format does not say).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The input is well-formed but a field does not hold what its format documents.
    #[error("{}: {field}: {message}", file.display())]
    Field {
        /// The file.
        file: PathBuf,
        /// Where in the document, such as `Results[2].Vulnerabilities` or `line 4`.
        field: String,
        /// What was expected and found.
        message: String,
    },
    /// GitHub did not answer usefully, after retries.
    #[error("GitHub API {url}: {message}")]
    GitHub {
        /// The request.
        url: String,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// The status and GitHub's message, or the transport error.
        message: String,
    },
}

impl GateError {
    /// Whether the failure lies in the environment (a service), not in what the user gave.
    pub fn is_environment(&self) -> bool {
        matches!(self, GateError::GitHub { .. })
    }

    /// A syntax error from serde_json, with its position.
    pub fn json(file: &std::path::Path, err: &serde_json::Error) -> GateError {
        GateError::Syntax {
            file: file.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message: format!("not valid JSON: {}", strip_position(&err.to_string())),
        }
    }

    /// A well-formed document whose field at `path` does not match its format.
    pub fn schema(file: &std::path::Path, path: &str, err: &serde_json::Error) -> GateError {
        GateError::Field {
            file: file.to_path_buf(),
            field: format!("{path} (line {}, column {})", err.line(), err.column()),
            message: strip_position(&err.to_string()).to_owned(),
        }
    }
}

/// `:column`, or nothing when the format gives no column.
fn column_suffix(column: usize) -> String {
    if column == 0 { String::new() } else { format!(":{column}") }
}

/// serde_json appends " at line L column C" to its messages; the position is printed once,
/// in front.
fn strip_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |at| &message[..at])
}

/// Reads a whole file as UTF-8 text.
pub fn read(path: &std::path::Path) -> Result<String, GateError> {
    std::fs::read_to_string(path).map_err(|source| GateError::Read { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_carry_the_position_once() {
        let err = serde_json::from_str::<serde_json::Value>("{\n  \"a\": 1,\n}").unwrap_err();
        let gate = GateError::json(std::path::Path::new("r.json"), &err);
        assert_eq!(gate.to_string(), "r.json:3:1: not valid JSON: trailing comma");
    }
}
