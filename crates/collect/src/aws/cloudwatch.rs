//! CloudWatch (regional): metric alarms and their actions.

use aws_sdk_cloudwatch::Client;
use serde_json::json;

use super::support::{AwsError, Ctx, Spec, failed};
use crate::Emitter;

const SERVICE: &str = "cloudwatch";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    let pages = client
        .describe_alarms()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("cloudwatch:DescribeAlarms", e))?;
    for alarm in pages.iter().flat_map(|p| p.metric_alarms()) {
        let (Some(name), Some(arn)) = (alarm.alarm_name(), alarm.alarm_arn()) else { continue };
        let attributes = json!({
            "AlarmName": name,
            "AlarmArn": arn,
            "MetricName": alarm.metric_name(),
            "Namespace": alarm.namespace(),
            "Statistic": alarm.statistic().map(|s| s.as_str()),
            "Threshold": alarm.threshold(),
            "ComparisonOperator": alarm.comparison_operator().map(|c| c.as_str()),
            "ActionsEnabled": alarm.actions_enabled(),
            "AlarmActions": alarm.alarm_actions(),
            "StateValue": alarm.state_value().map(|s| s.as_str()),
        });
        let spec = Spec {
            kind: "alarm",
            id: name.to_owned(),
            arn: Some(arn.to_owned()),
            name: Some(name.to_owned()),
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}
