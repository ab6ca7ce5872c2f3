//! The `[[sink]]`s as a use case can use them: built from the configuration, told of an alert,
//! and what they remember kept in the store. Drift scans and exception reminders both tell
//! them.

use std::collections::HashMap;

use plumb_sink::{Alert, Delivery, Retry, Sink, SinkState};
use serde_json::Value;

use crate::app::Context;
use crate::error::BadInput;

/// Tells every sink that hears the alert's scan, then remembers their states and, for a recorded run, notes the
/// deliveries on it.
pub async fn tell(
    ctx: &Context,
    sinks: &[Box<dyn Sink>],
    retry: &Retry,
    alert: &Alert,
    run_id: Option<&str>,
) -> anyhow::Result<Vec<Delivery>> {
    if sinks.is_empty() {
        return Ok(Vec::new());
    }
    let remembered: HashMap<String, Value> = ctx.store.sink_states().await?;
    let states: Vec<SinkState> = sinks.iter().map(|s| remembered.get(s.name()).cloned()).collect();
    let deliveries = plumb_sink::deliver(sinks, alert, &states, retry).await;
    let mut tx = ctx.begin_write().await?;
    for delivery in &deliveries {
        let before = remembered.get(&delivery.sink);
        tx.set_sink_state(&delivery.sink, before, delivery.state.as_ref()).await?;
    }
    if let Some(run_id) = run_id {
        tx.annotate_run(run_id, "alerts", &serde_json::to_value(&deliveries)?).await?;
    }
    tx.commit().await?;
    Ok(deliveries)
}

/// The sinks of `[[sink]]`, built with secrets from the environment. Names must differ: a
/// sink's remembered state is kept under its name.
pub fn sinks(ctx: &Context) -> anyhow::Result<Vec<Box<dyn Sink>>> {
    let env = |name: &str| std::env::var(name).ok();
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for (index, settings) in ctx.config.sink_settings()?.iter().enumerate() {
        let sink = plumb_sink::build(settings, &env)
            .map_err(|err| BadInput(format!("[[sink]] #{} in plumb.toml: {err}", index + 1)))?;
        if sinks.iter().any(|s| s.name() == sink.name()) {
            return Err(BadInput(format!(
                "[[sink]] #{}: another sink is named {:?}; give each a different `name`",
                index + 1,
                sink.name()
            ))
            .into());
        }
        sinks.push(sink);
    }
    Ok(sinks)
}
