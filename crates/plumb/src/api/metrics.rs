//! `/metrics` (Prometheus text): requests by route and status with their latency, kept as they
//! happen; and, read at each scrape, open findings by control and severity and assets by
//! lifecycle status. Behind a token like every read: the counts say where the estate is weak.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::Api;
use crate::api::auth::Caller;
use crate::api::problem::{Problem, Problems};
use crate::app;
use plumb_core::model::RunOutcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    control: String,
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The request metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
}

impl Metrics {
    /// Empty metrics, registered.
    pub fn new() -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms to about 16 s, doubling.
        let latency: Latency =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15)));
        let mut registry = Registry::with_prefix("plumb");
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern and status",
            requests.clone(),
        );
        registry.register(
            "http_request_seconds",
            "HTTP request durations, by route pattern",
            latency.clone(),
        );
        Metrics { registry, requests, latency }
    }

    /// Counts one answered request.
    pub fn record(&self, route: &str, status: u16, took: Duration) {
        self.requests.get_or_create(&RequestLabels { route: route.to_owned(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route: route.to_owned() }).observe(took.as_secs_f64());
    }
}

/// The scheduled jobs' last success (Unix seconds) and how long it took, from their runs.
async fn jobs(ctx: &crate::app::Context, snapshot: &mut Registry) -> anyhow::Result<()> {
    let last_success = Family::<JobLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let duration = Family::<JobLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let mut seen = std::collections::BTreeSet::new();
    let runs = app::findings::runs(ctx, Some(plumb_core::model::RunKind::Job), 1_000).await?;
    for run in runs.iter().filter(|r| matches!(r.outcome, RunOutcome::Succeeded | RunOutcome::Blocked)) {
        if seen.insert(run.name.clone()) {
            let labels = JobLabels { job: run.name.clone() };
            let micros = run.finished_at.as_micros();
            last_success.get_or_create(&labels).set(micros as f64 / 1e6);
            let took = (micros - run.started_at.as_micros()) as f64 / 1e6;
            duration.get_or_create(&labels).set(took);
        }
    }
    snapshot.register(
        "job_last_success_timestamp_seconds",
        "When each scheduled job last succeeded",
        last_success,
    );
    snapshot.register("job_last_success_duration_seconds", "How long its last success took", duration);
    Ok(())
}

/// The Prometheus metrics of this server and of the inventory.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"), Problems))]
pub async fn scrape(State(api): State<Arc<Api>>, Caller(ctx): Caller) -> Result<impl IntoResponse, Problem> {
    let mut snapshot = Registry::with_prefix("plumb");
    let findings = Family::<FindingLabels, Gauge>::default();
    for listed in app::findings::list(&ctx, &app::findings::FindingFilter::default()).await? {
        let finding = &listed.finding;
        for control in &finding.controls {
            let labels =
                FindingLabels { control: control.clone(), severity: finding.severity.as_str().to_owned() };
            findings.get_or_create(&labels).inc();
        }
    }
    snapshot.register(
        "open_findings",
        "Open findings (fail, error, manual, excepted), by control and severity",
        findings,
    );
    let assets = Family::<StatusLabels, Gauge>::default();
    for (status, count) in app::assets::count_by_status(&ctx).await? {
        assets.get_or_create(&StatusLabels { status: status.as_str().to_owned() }).set(count);
    }
    snapshot.register("assets", "Assets, by lifecycle status", assets);
    jobs(&ctx, &mut snapshot).await?;
    let mut text = String::new();
    let encoded = encode(&mut text, &api.metrics.registry).and_then(|()| {
        // Each registry ends with `# EOF`; only the last may.
        text.truncate(text.trim_end().trim_end_matches("# EOF").len());
        encode(&mut text, &snapshot)
    });
    encoded.map_err(|err| anyhow::anyhow!("cannot write the metrics: {err}"))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text))
}
