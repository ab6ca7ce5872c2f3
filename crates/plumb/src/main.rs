//! The `plumb` binary: parse the command line, run the command, map the outcome to an exit
//! code. This is the only place that decides how the process exits.

use std::process::ExitCode;

use plumb::{cli, error};

// The process allocator is mimalloc, declared by regorus (its `allocator-memory-limits`
// feature): imports and syncs allocate many short-lived strings and JSON values, glibc malloc
// took 40% of an import's time (measured with perf), and regorus's build of it counts live
// bytes, which is how a policy's memory is limited (plumb_policy::Limits).

fn main() -> ExitCode {
    let cli = cli::parse();
    // A server's log is its access log: `plumb serve` logs every request by default.
    let serving = matches!(cli.command, cli::Command::Serve(_));
    init_tracing(cli.global.verbose, serving, cli.global.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    // Work abandoned at a server's shutdown (a sync blocked reading a slow source) must not
    // hold the process: its claim is released already and another server takes it over.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(outcome) => outcome.into(),
        Err(err) if error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            error::exit_code(&err)
        }
    }
}

/// Logs go to standard error, so standard output stays clean for `-o json` and exports.
fn init_tracing(verbose: u8, serving: bool, format: cli::LogFormat) {
    let default = match verbose {
        0 if serving => "warn,plumb::api::requests=info,plumb_app::app::schedule=info,sqlx=error",
        0 => "warn,sqlx=error",
        1 => "info,sqlx=warn",
        2 => "debug,sqlx=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLUMB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    match format {
        cli::LogFormat::Text => builder.init(),
        cli::LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
