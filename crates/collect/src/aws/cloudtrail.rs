//! CloudTrail (regional): each trail whose home is this region, with its status and event
//! selectors (classic and advanced). Multi-region trails are listed in their home region only,
//! so a trail is never collected twice.

use aws_sdk_cloudtrail::Client;
use serde_json::{Value, json};

use super::support::{AwsError, Ctx, Spec, failed, time};

/// An SDK timestamp truncated to the hour, as RFC 3339 text.
fn hour(value: Option<&aws_smithy_types::DateTime>) -> Value {
    let truncated =
        value.map(|t| aws_smithy_types::DateTime::from_secs(t.secs() - t.secs().rem_euclid(3600)));
    time(truncated.as_ref())
}
use crate::Emitter;

const SERVICE: &str = "cloudtrail";

/// Whether a trail is reported by this region's scope: each trail once, in its home region,
/// or (a multi-region or organization trail whose home region this sync does not collect) in
/// the first region collected.
fn reported_here(ctx: &Ctx, home: Option<&str>) -> bool {
    let region = ctx.region();
    match home {
        None => true,
        Some(home) if home == region => true,
        Some(home) => !ctx.regions.iter().any(|r| r == home) && ctx.regions.first() == Some(&region),
    }
}

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    // Shadow trails too: an organization trail shows in a member account only as one, and
    // leaving it out fails the 3.x checks of every member account.
    let trails = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| failed("cloudtrail:DescribeTrails", e))?;
    for trail in trails.trail_list().iter().filter(|t| reported_here(ctx, t.home_region())) {
        let Some(arn) = trail.trail_arn() else { continue };
        // A trail answers for itself in its home region.
        let home = trail.home_region().map(|home| Client::new(&ctx.config_for(home)));
        let client = home.as_ref().unwrap_or(&client);
        let status = client
            .get_trail_status()
            .name(arn)
            .send()
            .await
            .map_err(|e| failed("cloudtrail:GetTrailStatus", e))?;
        let selectors = client
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
            .map_err(|e| failed("cloudtrail:GetEventSelectors", e))?;
        let classic: Vec<Value> = selectors
            .event_selectors()
            .iter()
            .map(|s| {
                json!({
                    "ReadWriteType": s.read_write_type().map(|t| t.as_str()),
                    "IncludeManagementEvents": s.include_management_events(),
                    "DataResources": s.data_resources().iter().map(|d| json!({"Type": d.r#type(), "Values": d.values()})).collect::<Vec<_>>(),
                    "ExcludeManagementEventSources": s.exclude_management_event_sources(),
                })
            })
            .collect();
        let advanced: Vec<Value> = selectors
            .advanced_event_selectors()
            .iter()
            .map(|s| {
                let fields: Vec<Value> = s
                    .field_selectors()
                    .iter()
                    .map(|f| {
                        json!({
                            "Field": f.field(),
                            "Equals": f.equals(),
                            "NotEquals": f.not_equals(),
                            "StartsWith": f.starts_with(),
                            "NotStartsWith": f.not_starts_with(),
                        })
                    })
                    .collect();
                json!({"Name": s.name(), "FieldSelectors": fields})
            })
            .collect();
        let attributes = json!({
            "Name": trail.name(),
            "TrailARN": arn,
            "HomeRegion": trail.home_region(),
            "IsMultiRegionTrail": trail.is_multi_region_trail(),
            "IsOrganizationTrail": trail.is_organization_trail(),
            "IncludeGlobalServiceEvents": trail.include_global_service_events(),
            "LogFileValidationEnabled": trail.log_file_validation_enabled(),
            "S3BucketName": trail.s3_bucket_name(),
            "KmsKeyId": trail.kms_key_id(),
            "CloudWatchLogsLogGroupArn": trail.cloud_watch_logs_log_group_arn(),
            "CloudWatchLogsRoleArn": trail.cloud_watch_logs_role_arn(),
            "SnsTopicARN": trail.sns_topic_arn(),
            // Delivery times move every few minutes; kept to the hour, a sync within the hour
            // sees no change, while CIS 3.4's 24-hour test keeps its meaning.
            "Status": {
                "IsLogging": status.is_logging(),
                "LatestCloudWatchLogsDeliveryTime": hour(status.latest_cloud_watch_logs_delivery_time()),
                "LatestDeliveryTime": hour(status.latest_delivery_time()),
            },
            "EventSelectors": classic,
            "AdvancedEventSelectors": advanced,
        });
        let spec = Spec {
            kind: "trail",
            id: trail.name().unwrap_or(arn).to_owned(),
            arn: Some(arn.to_owned()),
            name: trail.name().map(str::to_owned),
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}
