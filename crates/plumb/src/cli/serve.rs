//! `plumb serve`: the HTTP API.

use std::net::SocketAddr;

use clap::Args;
use plumb_store::OpenOptions;

use crate::app::Settings;
use crate::error::Outcome;

/// Serve the HTTP API (`/api/v1`, JSON with the field names of `-o json`) to bearer tokens
/// (`plumb token create`), with `/healthz` and `/readyz` for the load balancer, and run the
/// [schedule] of plumb.toml (cron, UTC): the nightly sync, the daily drift scan, checks and
/// reminders, each slot once however many servers share one PostgreSQL database, each job a
/// recorded run (`plumb schedule` shows them). Runs until SIGTERM or Ctrl-C, letting requests
/// in flight finish. TLS is a reverse proxy's job.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen; port 0 picks a free one (the address is printed on standard error).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Do not run the [schedule] jobs here (another server sharing the database runs them;
    /// there is no harm in several doing so: each slot runs once).
    #[arg(long)]
    no_schedule: bool,
}

pub async fn run(settings: &Settings, args: ServeArgs) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    crate::api::serve(ctx.config, ctx.store, args.listen, !args.no_schedule).await?;
    Ok(Outcome::Clean)
}
