//! `plumb serve`'s HTTP API (`/api/v1`, JSON with the field names of `-o json`): a thin front
//! end over the same use cases as the CLI. A handler reads the request, authenticates it into
//! a `Principal` (`auth.rs`), calls one use case and writes its result or an RFC 9457 problem
//! (`problem.rs`); no rule or verdict is decided here.

mod assets;
mod auth;
mod exceptions;
mod findings;
mod metrics;
mod problem;
mod requests;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use plumb_core::secrets::Sealer;
use plumb_store::Store;

use crate::config::Config;

/// What every request shares: the configuration and the open store.
#[derive(Debug)]
pub struct Api {
    config: Arc<Config>,
    store: Store,
    /// The seal key's keyed hash, read once: token secrets are checked with it.
    sealer: Sealer,
    metrics: metrics::Metrics,
}

/// The largest request body accepted (413 above it): the API takes fields and decisions, not
/// files.
const MAX_BODY: usize = 1 << 20;

/// The routes.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/api/v1/assets", get(assets::list).post(assets::create))
        .route("/api/v1/assets/{*reference}", get(assets::get).patch(assets::update))
        .route("/api/v1/exceptions", get(exceptions::list).post(exceptions::request))
        .route("/api/v1/exceptions/{id}", get(exceptions::show))
        .route("/api/v1/exceptions/{id}/{decision}", post(exceptions::decide))
        .route("/api/v1/findings", get(findings::list))
        .route("/api/v1/runs", get(findings::runs))
        .route("/api/v1/runs/{id}", get(findings::run))
        .route("/metrics", get(metrics::scrape))
        .layer(axum::middleware::from_fn_with_state(api.clone(), requests::track))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

/// Serves on `listen`, and runs the `[schedule]` unless `schedule` is false, until SIGTERM or
/// Ctrl-C; requests in flight finish first and jobs in flight release their claims. Says where
/// it listens on standard error (`listening on http://ADDR`), the port chosen when `listen`
/// asks for port 0.
pub async fn serve(
    config: Arc<Config>,
    store: Store,
    listen: SocketAddr,
    schedule: bool,
) -> anyhow::Result<()> {
    let sealer = crate::app::seal::sealer(&config)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| crate::error::Environment(format!("cannot listen on {listen}: {err}")))?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = schedule.then(|| {
        let timing = crate::app::schedule::Timing::from_env();
        tokio::spawn(crate::app::schedule::run(
            config.clone(),
            store.clone(),
            holder(),
            timing,
            stopped.clone(),
        ))
    });
    let app = router(Arc::new(Api { config, store, sealer, metrics: metrics::Metrics::new() }));
    let mut until = stopped;
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown() => {}
                _ = until.changed() => {}
            }
        })
        .await;
    let _ = stop.send(true);
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    served?;
    Ok(())
}

/// This server's name on its slot claims: the host and process, unique among servers sharing
/// a database.
fn holder() -> String {
    let host =
        std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}:{}", std::process::id(), ulid::Ulid::generate())
}

async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    eprintln!("shutting down: finishing requests in flight");
}

/// Ready when the database answers and every migration this binary knows is applied.
async fn ready(State(api): State<Arc<Api>>) -> (StatusCode, &'static str) {
    match api.store.migration_status().await {
        Ok(states) if states.iter().all(|m| m.applied) => (StatusCode::OK, "ready"),
        Ok(_) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
