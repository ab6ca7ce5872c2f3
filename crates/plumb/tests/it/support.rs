//! Test helpers: a temporary workspace with a plumb.toml and a fresh database on either
//! backend, and a runner for the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use sqlx::Executor;

pub const CONFIG: &str = r#"
database = "plumb.db"

[roles]
head_of_product = "hop@example.com"
sre_lead = "sre@example.com"
infosec_manager = "infosec@example.com"
"#;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A folder with plumb.toml and a fresh database.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub url: String,
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(output: std::process::Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(self.code, expected, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Asserts success.
    #[track_caller]
    pub fn ok(self) -> Run {
        self.code(0)
    }

    /// Standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("{err}: {}", self.stdout))
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

impl Env {
    /// A workspace on the given backend; `None` when PostgreSQL is not reachable outside CI.
    pub fn new(backend: Backend) -> Option<Env> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plumb.toml"), CONFIG).unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("plumb.db").display()),
            Backend::Postgres => postgres_schema()?,
        };
        Some(Env { dir, url })
    }

    /// A folder with no plumb.toml and no database URL: a CI job without a database.
    pub fn bare() -> Env {
        Env { dir: tempfile::tempdir().unwrap(), url: String::new() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file in the workspace and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// The binary, with this workspace's database and a fixed actor.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plumb"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("PLUMB_ACTOR", "tester@example.com")
            .env_remove("PLUMB_CONFIG")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_API_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.url.is_empty() {
            command.env_remove("PLUMB_DATABASE_URL");
        } else {
            command.env("PLUMB_DATABASE_URL", &self.url);
        }
        command
    }

    /// Copies a file or folder of the repository's test_data/ into the workspace, so commands
    /// name it by a relative path (as CI jobs do, and as golden files need).
    pub fn fixture(&self, from: &str, to: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test_data").join(from);
        let target = self.path(to);
        copy(&source, &target);
        target
    }

    /// Runs the binary to completion.
    pub fn plumb(&self, args: &[&str]) -> Run {
        self.plumb_with(args, &[])
    }

    /// Runs the binary with extra environment variables.
    pub fn plumb_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        Run::from(self.command(args).envs(vars.iter().copied()).output().unwrap())
    }

    /// Runs SQL on the database directly, as someone editing it behind plumb's back would.
    pub fn sql(&self, statement: &str) {
        sqlx::any::install_default_drivers();
        runtime().block_on(async {
            let pool = sqlx::AnyPool::connect(&self.url).await.unwrap();
            pool.execute(sqlx::AssertSqlSafe(statement.to_owned())).await.unwrap();
            pool.close().await;
        });
    }

    /// The number of assets.
    pub fn count(&self) -> u64 {
        let run = self.plumb(&["asset", "list", "-o", "json", "--limit", "10000"]).ok();
        run.json()["items"].as_array().unwrap().len() as u64
    }
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(from, to).unwrap();
    }
}

/// A fresh schema on the test PostgreSQL, as a URL that selects it.
fn postgres_schema() -> Option<String> {
    let base = std::env::var("PLUMB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    sqlx::any::install_default_drivers();
    runtime().block_on(async {
        let admin = match sqlx::AnyPool::connect(&base).await {
            Ok(pool) => pool,
            Err(err) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipping PostgreSQL: {err}");
                return None;
            }
            Err(err) => panic!("PostgreSQL is required in CI: {err}"),
        };
        let schema = format!("plumb_t_{}", ulid::Ulid::generate().to_string().to_lowercase());
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.unwrap();
        admin.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        Some(format!("{base}{separator}options[search_path]={schema}"))
    })
}

/// Declares tests that run on both backends: `fn name(env: &Env)`.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() {
                let env = $crate::support::Env::new($crate::support::Backend::Sqlite).unwrap();
                super::$name(&env);
            })+
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(env) = $crate::support::Env::new($crate::support::Backend::Postgres) {
                    super::$name(&env);
                }
            })+
        }
    };
}
pub(crate) use both_backends;

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Validates SARIF output against the official OASIS schema.
pub fn assert_valid_sarif(text: &str) {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test_data/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let instance: Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
