//! A moto server for the AWS tests: `tests/support/moto/launcher.py`, run in-process by
//! Python so it can be corrected and back-dated, seeded with `tests/support/moto/seeds.py`.
//! With `CI=true` a missing moto fails the test instead of skipping it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A running moto server.
pub struct Moto {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts moto; `None` (with a note) when it cannot run here outside CI.
    pub fn start() -> Option<Moto> {
        let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto/launcher.py");
        let spawned = Command::new("python3")
            .arg(launcher)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => return skip(&format!("cannot run python3: {err}")),
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return skip("moto's pipes are missing");
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let Some(port) = line.trim().strip_prefix("ready ") else {
            let _ = child.kill();
            return skip(&format!("moto did not start (pip install \"moto[server]==5.2.5\"): {line:?}"));
        };
        let endpoint = format!("http://127.0.0.1:{port}");
        Some(Moto { child, stdin, stdout, endpoint })
    }

    /// Runs a seed function of `seeds.py`.
    pub fn seed(&mut self, name: &str) {
        self.command(&format!("seed {name}"));
    }

    /// Makes moto answer as AWS does in a rare case (`FAULTS` in `launcher.py`).
    pub fn fault(&mut self, name: &str) {
        self.command(&format!("fault {name}"));
    }

    fn command(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ok", "{command} failed");
    }

    /// The environment that points plumb (and the AWS SDK) at this server and nothing else.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skip(reason: &str) -> Option<Moto> {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "moto is required in CI: {reason}");
    eprintln!("skipping AWS test: {reason}");
    None
}
