//! `plumb serve`'s HTTP API (`/api/v1`, JSON with the field names of `-o json`): a thin front
//! end over the same use cases as the CLI. A handler reads the request, authenticates it into
//! a `Principal` (`auth.rs`), calls one use case and writes its result or an RFC 9457 problem
//! (`problem.rs`); no rule or verdict is decided here.

mod assets;
mod auth;
mod catalogue;
mod exceptions;
mod findings;
mod metrics;
mod problem;
mod requests;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use plumb_core::secrets::Sealer;
use plumb_store::Store;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::check::CheckInfo;
use crate::config::Config;

/// What every request shares: the configuration and the open store.
#[derive(Debug)]
pub struct Api {
    config: Arc<Config>,
    store: Store,
    /// The seal key's keyed hash, read once: token secrets are checked with it.
    sealer: Sealer,
    metrics: metrics::Metrics,
    /// This server's name on the slot claims of the jobs it runs.
    holder: String,
    /// Turns true at shutdown: jobs started through the API release their claims.
    stopping: watch::Receiver<bool>,
    /// The built-in checks, compiled on first use.
    checks: OnceLock<Vec<CheckInfo>>,
    /// Single sign-on, when `[serve.oidc]` is configured.
    sso: Option<crate::app::sso::Sso>,
}

impl Api {
    /// The built-in checks, described (compiling the packs once per server).
    fn checks(&self) -> anyhow::Result<&[CheckInfo]> {
        if let Some(checks) = self.checks.get() {
            return Ok(checks);
        }
        let described = crate::app::cpu_bound(|| crate::app::check::catalogue(&Default::default()))?;
        Ok(self.checks.get_or_init(|| described))
    }
}

/// A list: `items`, and the cursor of the next page when there is one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page {
    /// The records, with the field names of `-o json`.
    items: Vec<Value>,
    /// Pass as `cursor=` for the next page; null on the last.
    next_cursor: Option<String>,
}

impl Page {
    fn of(items: Vec<Value>, next_cursor: Option<String>) -> Page {
        Page { items, next_cursor }
    }

    /// A list that is never paged.
    fn all(items: Vec<Value>) -> Page {
        Page { items, next_cursor: None }
    }
}

/// Records as JSON values.
fn json_of<T: Serialize>(items: &[T]) -> anyhow::Result<Vec<Value>> {
    items.iter().map(|item| Ok(serde_json::to_value(item)?)).collect()
}

/// The largest request body accepted (413 above it): the API takes fields and decisions, not
/// files.
const MAX_BODY: usize = 1 << 20;

#[derive(OpenApi)]
#[openapi(
    info(title = "plumb", description = "The inventory, its findings, exceptions and runs. Every route but \
        /healthz and /readyz takes `Authorization: Bearer <token>` (`plumb token create`); errors are RFC 9457 \
        problems."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct Document;

/// Declares the bearer token every authenticated route takes.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme =
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A plumb API token")).build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The routes and the OpenAPI document, built from the same registrations: a route cannot be
/// served without being documented.
fn routes() -> (Router<Arc<Api>>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(Document::openapi())
        .routes(routes!(assets::list, assets::create))
        .routes(routes!(assets::get, assets::update))
        .routes(routes!(assets::transition))
        .routes(routes!(assets::history))
        .routes(routes!(assets::relationships))
        .routes(routes!(assets::findings))
        .routes(routes!(exceptions::list, exceptions::request))
        .routes(routes!(exceptions::show))
        .routes(routes!(exceptions::decide))
        .routes(routes!(findings::list))
        .routes(routes!(findings::drift))
        .routes(routes!(findings::runs, findings::start))
        .routes(routes!(findings::run))
        .routes(routes!(catalogue::checks))
        .routes(routes!(catalogue::packs))
        .routes(routes!(catalogue::controls))
        .routes(routes!(catalogue::schedule))
        .routes(routes!(metrics::scrape))
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .split_for_parts();
    document.paths.paths.entry("/api/v1/openapi.json".to_owned()).or_insert_with(openapi_path);
    (router, document)
}

/// The routes.
pub fn router(api: Arc<Api>) -> Router {
    let (router, document) = routes();
    let document = Arc::new(document);
    router
        .route("/api/v1/openapi.json", get(move || openapi(document.clone())))
        .layer(axum::middleware::from_fn_with_state(api.clone(), requests::track))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

/// The OpenAPI document, for tools and for the route tests.
pub fn document() -> utoipa::openapi::OpenApi {
    routes().1
}

async fn openapi(document: Arc<utoipa::openapi::OpenApi>) -> Json<Value> {
    Json(serde_json::to_value(&*document).unwrap_or_default())
}

/// `/api/v1/openapi.json` itself, which is served outside the generated router.
fn openapi_path() -> utoipa::openapi::PathItem {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::{ResponseBuilder, ResponsesBuilder};
    let ok = ResponseBuilder::new().description("The OpenAPI 3.1 document of this API").build();
    let operation = OperationBuilder::new()
        .tag("operations")
        .summary(Some("This document"))
        .security(utoipa::openapi::security::SecurityRequirement::default())
        .responses(ResponsesBuilder::new().response("200", ok).build())
        .build();
    utoipa::openapi::PathItem::new(HttpMethod::Get, operation)
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "Up", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
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
    if store.search_index_missing().await? {
        tracing::warn!(message = plumb_store::NO_SEARCH_INDEX);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let holder = server_name();
    let scheduler = schedule.then(|| {
        let timing = crate::app::schedule::Timing::from_env();
        tokio::spawn(crate::app::schedule::run(
            config.clone(),
            store.clone(),
            holder.clone(),
            timing,
            stopped.clone(),
        ))
    });
    let sso = config.serve.oidc.clone().map(crate::app::sso::Sso::new).transpose()?;
    let api = Api {
        config,
        store,
        sealer,
        metrics: metrics::Metrics::new(),
        holder,
        stopping: stopped.clone(),
        checks: OnceLock::new(),
        sso,
    };
    let app = router(Arc::new(api));
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
fn server_name() -> String {
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
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "The database is unreachable or migrations are pending", body = String, content_type = "text/plain")))]
async fn ready(State(api): State<Arc<Api>>) -> (StatusCode, &'static str) {
    match api.store.migration_status().await {
        Ok(states) if states.iter().all(|m| m.applied) => (StatusCode::OK, "ready"),
        Ok(_) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
