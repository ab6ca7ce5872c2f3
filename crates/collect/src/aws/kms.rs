//! KMS (regional): keys with their metadata and rotation status.

use aws_sdk_kms::Client;
use serde_json::{Value, json};

use super::support::{AwsError, Ctx, Spec, absent_on, failed, time};
use crate::Emitter;

const SERVICE: &str = "kms";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    let keys = client
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("kms:ListKeys", e))?;
    for key in &keys {
        let Some(id) = key.key_id() else { continue };
        let described =
            client.describe_key().key_id(id).send().await.map_err(|e| failed("kms:DescribeKey", e))?;
        let Some(meta) = described.key_metadata() else { continue };
        // Rotation only exists for symmetric keys (others answer UnsupportedOperation), and a
        // key policy may deny reading it: either way this key's status is unknown (null, which
        // CIS 3.8 reports as an error for the key) and the region's other keys still count.
        let rotation = absent_on(
            "kms:GetKeyRotationStatus",
            client.get_key_rotation_status().key_id(id).send().await,
            &["UnsupportedOperationException", "UnsupportedOperation", "AccessDeniedException"],
        )?;
        let arn = meta
            .arn()
            .map_or_else(|| format!("arn:aws:kms:{}:{}:key/{id}", ctx.region(), ctx.account), str::to_owned);
        let attributes = json!({
            "KeyId": id,
            "Arn": arn,
            "KeyManager": meta.key_manager().map(|m| m.as_str()),
            "KeySpec": meta.key_spec().map(|s| s.as_str()),
            "KeyUsage": meta.key_usage().map(|u| u.as_str()),
            "KeyState": meta.key_state().map(|s| s.as_str()),
            "Origin": meta.origin().map(|o| o.as_str()),
            "Enabled": meta.enabled(),
            "CreationDate": time(meta.creation_date()),
            "Description": meta.description(),
            "KeyRotationEnabled": rotation.map_or(Value::Null, |r| json!(r.key_rotation_enabled())),
        });
        let spec = Spec { kind: "key", id: id.to_owned(), arn: Some(arn), attributes, ..Spec::default() };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}
