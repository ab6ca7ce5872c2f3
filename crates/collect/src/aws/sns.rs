//! SNS (regional): topics with their subscriptions (a CIS alarm must reach a confirmed one).

use aws_sdk_sns::Client;
use serde_json::json;

use super::support::{AwsError, Ctx, Spec, failed};
use crate::Emitter;

const SERVICE: &str = "sns";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    let topics = client
        .list_topics()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("sns:ListTopics", e))?;
    for topic in &topics {
        let Some(arn) = topic.topic_arn() else { continue };
        let subscriptions = client
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| failed("sns:ListSubscriptionsByTopic", e))?;
        let subscriptions: Vec<_> = subscriptions
            .iter()
            .map(|s| json!({"SubscriptionArn": s.subscription_arn(), "Protocol": s.protocol(), "Endpoint": s.endpoint()}))
            .collect();
        let name = arn.rsplit(':').next().unwrap_or(arn).to_owned();
        let spec = Spec {
            kind: "topic",
            id: name.clone(),
            arn: Some(arn.to_owned()),
            name: Some(name),
            attributes: json!({"TopicArn": arn, "Subscriptions": subscriptions}),
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}
