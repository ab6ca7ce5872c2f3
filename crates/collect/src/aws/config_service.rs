//! AWS Config (regional): the region's configuration recorders, their status and the delivery
//! channels, as one settings document per region (CIS 3.5).

use aws_sdk_config::Client;
use serde_json::json;

use super::support::{AwsError, Ctx, Spec, failed, time};
use crate::Emitter;

const SERVICE: &str = "config";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    let recorders = client
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|e| failed("config:DescribeConfigurationRecorders", e))?;
    let statuses = client
        .describe_configuration_recorder_status()
        .send()
        .await
        .map_err(|e| failed("config:DescribeConfigurationRecorderStatus", e))?;
    let channels = client
        .describe_delivery_channels()
        .send()
        .await
        .map_err(|e| failed("config:DescribeDeliveryChannels", e))?;
    let recorders: Vec<_> = recorders
        .configuration_recorders()
        .iter()
        .map(|r| {
            let group = r.recording_group();
            json!({
                "Name": r.name(),
                "RoleARN": r.role_arn(),
                "RecordingGroup": group.map(|g| json!({
                    "AllSupported": g.all_supported(),
                    "IncludeGlobalResourceTypes": g.include_global_resource_types(),
                })),
            })
        })
        .collect();
    let statuses: Vec<_> = statuses
        .configuration_recorders_status()
        .iter()
        .map(|s| {
            json!({
                "Name": s.name(),
                "Recording": s.recording(),
                "LastStatus": s.last_status().map(|l| l.as_str()),
                "LastStartTime": time(s.last_start_time()),
            })
        })
        .collect();
    let channels: Vec<_> = channels
        .delivery_channels()
        .iter()
        .map(|c| json!({"Name": c.name(), "S3BucketName": c.s3_bucket_name(), "SnsTopicARN": c.sns_topic_arn()}))
        .collect();
    let spec = Spec {
        kind: "region",
        id: ctx.region(),
        key: Some(ctx.settings_key("config-region")),
        name: Some(format!("AWS Config of {} in {}", ctx.account, ctx.region())),
        attributes: json!({
            "Region": ctx.region(),
            "ConfigurationRecorders": recorders,
            "RecorderStatus": statuses,
            "DeliveryChannels": channels,
        }),
        ..Spec::default()
    };
    ctx.emit(out, SERVICE, spec).await
}
