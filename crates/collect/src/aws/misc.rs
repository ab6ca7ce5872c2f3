//! Smaller regional services: EFS file systems, ECR repositories, IAM Access Analyzer and
//! Security Hub (each region's state as one settings document).

use serde_json::{Value, json};

use super::support::{AwsError, Ctx, Spec, absent_on, failed, time};
use crate::Emitter;

pub(crate) async fn collect_efs(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = aws_sdk_efs::Client::new(&ctx.config);
    let systems = client
        .describe_file_systems()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("efs:DescribeFileSystems", e))?;
    for fs in &systems {
        let id = fs.file_system_id();
        let arn = fs.file_system_arn().map_or_else(
            || format!("arn:aws:elasticfilesystem:{}:{}:file-system/{id}", ctx.region(), ctx.account),
            str::to_owned,
        );
        let attributes = json!({
            "FileSystemId": id,
            "FileSystemArn": arn,
            "Encrypted": fs.encrypted(),
            "KmsKeyId": fs.kms_key_id(),
            "LifeCycleState": fs.life_cycle_state().as_str(),
            "CreationTime": time(Some(fs.creation_time())),
        });
        let tags = fs.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        let spec = Spec {
            kind: "file_system",
            id: id.to_owned(),
            arn: Some(arn),
            name: fs.name().map(str::to_owned),
            tags,
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, "efs", spec).await?;
    }
    Ok(())
}

pub(crate) async fn collect_ecr(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = aws_sdk_ecr::Client::new(&ctx.config);
    let repositories = client
        .describe_repositories()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ecr:DescribeRepositories", e))?;
    for repository in &repositories {
        let (Some(name), Some(arn)) = (repository.repository_name(), repository.repository_arn()) else {
            continue;
        };
        let attributes = json!({
            "RepositoryName": name,
            "RepositoryArn": arn,
            "RepositoryUri": repository.repository_uri(),
            "ImageTagMutability": repository.image_tag_mutability().map(|m| m.as_str()),
            "ScanOnPush": repository.image_scanning_configuration().map(|c| c.scan_on_push()),
            "EncryptionType": repository.encryption_configuration().map(|c| c.encryption_type().as_str()),
            "CreatedAt": time(repository.created_at()),
        });
        let spec = Spec {
            kind: "repository",
            id: name.to_owned(),
            arn: Some(arn.to_owned()),
            name: Some(name.to_owned()),
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, "ecr", spec).await?;
    }
    Ok(())
}

pub(crate) async fn collect_access_analyzer(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = aws_sdk_accessanalyzer::Client::new(&ctx.config);
    let analyzers = client
        .list_analyzers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("access-analyzer:ListAnalyzers", e))?;
    let analyzers: Vec<Value> = analyzers
        .iter()
        .map(|a| json!({"Arn": a.arn(), "Name": a.name(), "Type": a.r#type().as_str(), "Status": a.status().as_str()}))
        .collect();
    let spec = Spec {
        kind: "region",
        id: ctx.region(),
        key: Some(ctx.settings_key("accessanalyzer-region")),
        name: Some(format!("IAM Access Analyzer of {} in {}", ctx.account, ctx.region())),
        attributes: json!({"Region": ctx.region(), "Analyzers": analyzers}),
        ..Spec::default()
    };
    ctx.emit(out, "accessanalyzer", spec).await
}

pub(crate) async fn collect_security_hub(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = aws_sdk_securityhub::Client::new(&ctx.config);
    // "Not subscribed" is an answer (Security Hub is off in this region), not a failure.
    let hub = absent_on(
        "securityhub:DescribeHub",
        client.describe_hub().send().await,
        &["InvalidAccessException", "ResourceNotFoundException"],
    )?;
    // The enabled standards are context (Prowler also wants some); CIS 4.16 needs only the
    // hub, so a failure here is noted in the document rather than failing the region.
    let standards = match &hub {
        Some(_) => match client.get_enabled_standards().send().await {
            Ok(found) => json!(found
                .standards_subscriptions()
                .iter()
                .map(|s| json!({"StandardsArn": s.standards_arn(), "Status": s.standards_status().map(|x| x.as_str())}))
                .collect::<Vec<_>>()),
            Err(err) => json!({"Error": super::support::describe(&err)}),
        },
        None => json!([]),
    };
    let spec = Spec {
        kind: "region",
        id: ctx.region(),
        key: Some(ctx.settings_key("securityhub-region")),
        name: Some(format!("Security Hub of {} in {}", ctx.account, ctx.region())),
        attributes: json!({
            "Region": ctx.region(),
            "Enabled": hub.is_some(),
            "HubArn": hub.as_ref().and_then(|h| h.hub_arn()),
            "SubscribedAt": hub.as_ref().and_then(|h| h.subscribed_at()),
            "Standards": standards,
        }),
        ..Spec::default()
    };
    ctx.emit(out, "securityhub", spec).await
}
