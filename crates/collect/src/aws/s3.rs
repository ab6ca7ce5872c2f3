//! S3 (global listing, per-bucket calls in the bucket's region): every bucket with its public
//! access block, encryption, versioning (with MFA delete), policy, logging and ACL, and the
//! account's public access block (S3 Control). Also reads objects for Terraform states kept
//! in S3.

use std::collections::HashMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::Grant;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Value, json};

use super::support::{AwsError, Ctx, Spec, absent_on, failed, policy_document, text, time};
use crate::{CollectError, Emitter};

const SERVICE: &str = "s3";

/// A client for `config`; path-style addressing when the endpoint is overridden, because a
/// local emulator cannot answer `bucket.host` names.
fn client(config: &aws_config::SdkConfig) -> Client {
    let custom = config.endpoint_url().is_some();
    Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(custom).build())
}

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    account_block(ctx, out).await?;
    let listing = client(&ctx.config);
    // Every page: an account with more buckets than one answer holds is listed to the end.
    let buckets: Vec<aws_sdk_s3::types::Bucket> = listing
        .list_buckets()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("s3:ListBuckets", e))?;
    let mut clients: HashMap<String, Client> = HashMap::new();
    for bucket in &buckets {
        let Some(name) = bucket.name() else { continue };
        let location = listing.get_bucket_location().bucket(name).send().await;
        // Deleted since it was listed: gone, which the next sync records.
        let Some(location) = absent_on("s3:GetBucketLocation", location, &["NoSuchBucket"])? else {
            continue;
        };
        let region = match location.location_constraint().map(|c| c.as_str()) {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(other) => other.to_owned(),
        };
        let client = clients.entry(region.clone()).or_insert_with(|| client(&ctx.config_for(&region)));
        let mut attributes = bucket_settings(client, name).await?;
        attributes["Name"] = json!(name);
        attributes["CreationDate"] = time(bucket.creation_date());
        attributes["Region"] = json!(region);
        let tags = bucket_tags(client, name).await?;
        let spec = Spec {
            kind: "bucket",
            id: name.to_owned(),
            arn: Some(format!("arn:aws:s3:::{name}")),
            region: Some(region),
            name: Some(name.to_owned()),
            tags,
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}

async fn bucket_settings(client: &Client, name: &str) -> Result<Value, AwsError> {
    let block = absent_on(
        "s3:GetPublicAccessBlock",
        client.get_public_access_block().bucket(name).send().await,
        &["NoSuchPublicAccessBlockConfiguration"],
    )?;
    let block = block.and_then(|b| b.public_access_block_configuration().cloned()).map_or(Value::Null, |c| {
        json!({
            "BlockPublicAcls": c.block_public_acls(),
            "IgnorePublicAcls": c.ignore_public_acls(),
            "BlockPublicPolicy": c.block_public_policy(),
            "RestrictPublicBuckets": c.restrict_public_buckets(),
        })
    });
    let encryption = absent_on(
        "s3:GetBucketEncryption",
        client.get_bucket_encryption().bucket(name).send().await,
        &["ServerSideEncryptionConfigurationNotFoundError"],
    )?;
    let encryption =
        encryption.and_then(|e| e.server_side_encryption_configuration().cloned()).map_or(Value::Null, |c| {
            let rules: Vec<Value> = c
                .rules()
                .iter()
                .map(|r| {
                    let default = r.apply_server_side_encryption_by_default();
                    json!({
                        "SSEAlgorithm": default.map(|d| d.sse_algorithm().as_str()),
                        "KMSMasterKeyID": text(default.and_then(|d| d.kms_master_key_id())),
                        "BucketKeyEnabled": r.bucket_key_enabled(),
                    })
                })
                .collect();
            json!({"Rules": rules})
        });
    let versioning = client
        .get_bucket_versioning()
        .bucket(name)
        .send()
        .await
        .map_err(|e| failed("s3:GetBucketVersioning", e))?;
    let policy = absent_on(
        "s3:GetBucketPolicy",
        client.get_bucket_policy().bucket(name).send().await,
        &["NoSuchBucketPolicy"],
    )?;
    let logging = client
        .get_bucket_logging()
        .bucket(name)
        .send()
        .await
        .map_err(|e| failed("s3:GetBucketLogging", e))?;
    let acl = client.get_bucket_acl().bucket(name).send().await.map_err(|e| failed("s3:GetBucketAcl", e))?;
    Ok(json!({
        "PublicAccessBlock": block,
        "Encryption": encryption,
        "Versioning": {
            "Status": versioning.status().map(|s| s.as_str()),
            "MFADelete": versioning.mfa_delete().map(|s| s.as_str()),
        },
        "Policy": policy.and_then(|p| p.policy().map(policy_document)),
        "Logging": logging.logging_enabled().map(|l| json!({"TargetBucket": l.target_bucket(), "TargetPrefix": l.target_prefix()})),
        "Acl": {
            "Owner": text(acl.owner().and_then(|o| o.id())),
            "Grants": acl.grants().iter().map(grant).collect::<Vec<_>>(),
        },
    }))
}

fn grant(grant: &Grant) -> Value {
    let grantee = grant.grantee();
    json!({
        "Permission": grant.permission().map(|p| p.as_str()),
        "GranteeType": grantee.map(|g| g.r#type().as_str()),
        "GranteeURI": text(grantee.and_then(|g| g.uri())),
        "GranteeID": text(grantee.and_then(|g| g.id())),
    })
}

async fn bucket_tags(
    client: &Client,
    name: &str,
) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
    let tags = absent_on(
        "s3:GetBucketTagging",
        client.get_bucket_tagging().bucket(name).send().await,
        &["NoSuchTagSet"],
    )?;
    Ok(tags
        .map(|t| t.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
        .unwrap_or_default())
}

/// The account-level public access block (CIS 2.1.5), from S3 Control.
async fn account_block(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let mut builder = aws_sdk_s3control::config::Builder::from(&ctx.config);
    if ctx.custom_endpoint() {
        builder = builder.interceptor(AccountHostPrefix { account: ctx.account.clone() });
    }
    let control = aws_sdk_s3control::Client::from_conf(builder.build());
    let block = absent_on(
        "s3control:GetPublicAccessBlock",
        control.get_public_access_block().account_id(&ctx.account).send().await,
        &["NoSuchPublicAccessBlockConfiguration"],
    )?;
    let block = block.and_then(|b| b.public_access_block_configuration().cloned()).map_or(Value::Null, |c| {
        json!({
            "BlockPublicAcls": c.block_public_acls(),
            "IgnorePublicAcls": c.ignore_public_acls(),
            "BlockPublicPolicy": c.block_public_policy(),
            "RestrictPublicBuckets": c.restrict_public_buckets(),
        })
    });
    let spec = Spec {
        kind: "account",
        id: ctx.account.clone(),
        key: Some(ctx.settings_key("s3-account")),
        name: Some(format!("S3 settings of {}", ctx.account)),
        attributes: json!({"PublicAccessBlock": block}),
        ..Spec::default()
    };
    ctx.emit(out, SERVICE, spec).await
}

/// S3 Control addresses the account as a host prefix (`ACCOUNT.s3-control.…`). A local
/// emulator on an IP address has no such names, so with an overridden endpoint the prefix is
/// taken off again; the account still travels in the `x-amz-account-id` header.
#[derive(Debug)]
struct AccountHostPrefix {
    account: String,
}

impl Intercept for AccountHostPrefix {
    fn name(&self) -> &'static str {
        "AccountHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let prefixed = format!("://{}.", self.account);
        if request.uri().contains(&prefixed) {
            let uri = request.uri().replacen(&prefixed, "://", 1);
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// The bytes of `s3://BUCKET/KEY` (given without the scheme).
pub async fn object(location: &str) -> Result<Vec<u8>, CollectError> {
    let (bucket, key) = location
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| CollectError::Input(format!("s3://{location}: expected s3://BUCKET/KEY")))?;
    let config = super::sdk_config(None).await;
    let client = client(&config);
    let object =
        client.get_object().bucket(bucket).key(key).send().await.map_err(
            |err| match super::support::code(&err) {
                Some("NoSuchKey" | "NoSuchBucket") => {
                    CollectError::Input(format!("s3://{location}: no such object"))
                }
                _ => CollectError::Unavailable(format!(
                    "cannot read s3://{location}: {}",
                    super::support::describe(&err)
                )),
            },
        )?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|err| CollectError::Unavailable(format!("cannot read s3://{location}: {err}")))?;
    Ok(bytes.into_bytes().to_vec())
}
