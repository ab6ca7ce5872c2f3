//! CloudWatch Logs (regional): metric filters, which the CIS monitoring controls (4.1–4.15)
//! follow from a trail's log group to an alarm.

use aws_sdk_cloudwatchlogs::Client;
use serde_json::json;

use super::support::{AwsError, Ctx, Spec, failed};
use crate::Emitter;

const SERVICE: &str = "logs";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    let filters = client
        .describe_metric_filters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("logs:DescribeMetricFilters", e))?;
    for filter in &filters {
        let (Some(name), Some(group)) = (filter.filter_name(), filter.log_group_name()) else { continue };
        let transformations: Vec<_> = filter
            .metric_transformations()
            .iter()
            .map(|t| json!({"MetricName": t.metric_name(), "MetricNamespace": t.metric_namespace(), "MetricValue": t.metric_value()}))
            .collect();
        let attributes = json!({
            "FilterName": name,
            "LogGroupName": group,
            "FilterPattern": filter.filter_pattern(),
            "MetricTransformations": transformations,
        });
        let spec = Spec {
            kind: "metric_filter",
            id: format!("{group}:{name}"),
            arn: Some(format!(
                "arn:aws:logs:{}:{}:log-group:{group}:metric-filter:{name}",
                ctx.region(),
                ctx.account
            )),
            name: Some(name.to_owned()),
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}
