//! What every AWS service file shares: the per-scope context (config, account, region),
//! resources keyed and shaped the same way, and error handling that tells "not configured"
//! answers apart from failures.

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use plumb_core::Kind;
use plumb_core::sync::Resource;
use serde_json::Value;

use crate::{CollectError, Emitter, Stopped};

/// Why one service scope could not be collected.
#[derive(Debug)]
pub(crate) enum AwsError {
    /// A call failed after the SDK's retries.
    Call {
        /// Such as `s3:GetBucketPolicy`.
        operation: String,
        /// The error's code and message.
        message: String,
    },
    /// The sync stopped receiving.
    Stopped(Stopped),
}

impl From<Stopped> for AwsError {
    fn from(stopped: Stopped) -> Self {
        AwsError::Stopped(stopped)
    }
}

/// The error code of a service error (`NoSuchBucketPolicy`, `AccessDenied`), if it is one.
pub(crate) fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// A readable description of an SDK error.
pub(crate) fn describe<E: ProvideErrorMetadata + std::error::Error, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> String {
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => inner.to_string(),
            }
        }
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(connector) => format!("cannot reach the endpoint: {}", causes(connector)),
            None => "cannot reach the endpoint".to_owned(),
        },
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        other => format!("{other}"),
    }
}

/// An error and its causes, as one line without repeats: `tcp connect error: Connection
/// refused (os error 111)`.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        let text = current.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = current.source();
    }
    parts.join(": ")
}

/// Wraps an SDK error as the failure of `operation`.
pub(crate) fn failed<E: ProvideErrorMetadata + std::error::Error, R: std::fmt::Debug>(
    operation: &str,
    err: SdkError<E, R>,
) -> AwsError {
    AwsError::Call { operation: operation.to_owned(), message: describe(&err) }
}

/// A call that answered without what it must hold: a failure, never a default.
pub(crate) fn incomplete(operation: &str, what: &str) -> AwsError {
    AwsError::Call { operation: operation.to_owned(), message: what.to_owned() }
}

/// `Ok(None)` for the error codes that mean "not configured", the error otherwise.
pub(crate) fn absent_on<T, E, R>(
    operation: &str,
    result: Result<T, SdkError<E, R>>,
    codes: &[&str],
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error,
    R: std::fmt::Debug,
{
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if code(&err).is_some_and(|c| codes.contains(&c)) => Ok(None),
        Err(err) => Err(failed(operation, err)),
    }
}

/// The context of one scope: configuration for its region, the account, the region, and
/// every region this sync collects.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub config: SdkConfig,
    pub account: String,
    pub region: Option<String>,
    pub regions: std::sync::Arc<[String]>,
}

impl Ctx {
    pub fn new(
        config: &SdkConfig,
        account: &str,
        region: Option<&str>,
        regions: std::sync::Arc<[String]>,
    ) -> Self {
        let config = match region {
            Some(region) => config.to_builder().region(Region::new(region.to_owned())).build(),
            None => config.clone(),
        };
        Ctx { config, account: account.to_owned(), region: region.map(str::to_owned), regions }
    }

    /// The region calls are signed for.
    pub fn region(&self) -> String {
        self.region
            .clone()
            .or_else(|| self.config.region().map(ToString::to_string))
            .unwrap_or_else(|| "us-east-1".to_owned())
    }

    /// The configuration for another region (an S3 bucket's).
    pub fn config_for(&self, region: &str) -> SdkConfig {
        self.config.to_builder().region(Region::new(region.to_owned())).build()
    }

    /// Whether calls go to an overridden endpoint (a local emulator) rather than AWS.
    pub fn custom_endpoint(&self) -> bool {
        self.config.endpoint_url().is_some()
    }

    /// This context's scope for a service.
    pub fn scope(&self, service: &str) -> String {
        let place = self.region.as_deref().unwrap_or(plumb_core::scope::GLOBAL);
        plumb_core::scope::ScopeId::new("aws", &self.account, place, service).to_string()
    }

    /// A resource of this scope.
    pub fn resource(&self, service: &str, spec: Spec) -> Resource {
        Resource {
            source: "aws".to_owned(),
            scope: self.scope(service),
            provider: "aws".to_owned(),
            resource_type: format!("aws.{service}.{}", spec.kind),
            kind: Kind::Cloud,
            native_id: spec.id,
            natural_key: spec.key,
            arn: spec.arn,
            account: Some(self.account.clone()),
            region: Some(spec.region.unwrap_or_else(|| {
                self.region.clone().unwrap_or_else(|| plumb_core::scope::GLOBAL.to_owned())
            })),
            name: spec.name,
            attributes: spec.attributes,
            tags: spec.tags,
            fields: BTreeMap::new(),
        }
    }

    /// Sends a resource of this scope.
    pub async fn emit(&self, out: &Emitter, service: &str, spec: Spec) -> Result<(), AwsError> {
        Ok(out.resource(self.resource(service, spec)).await?)
    }

    /// The key of a settings document of this account (and region): `aws:ACCOUNT:REGION:WHAT`.
    pub fn settings_key(&self, what: &str) -> String {
        let place = self.region.as_deref().unwrap_or(plumb_core::scope::GLOBAL);
        format!("aws:{}:{place}:{what}", self.account)
    }
}

/// What a service file says about one resource.
#[derive(Debug, Default)]
pub(crate) struct Spec {
    /// The type within the service: `instance`, `bucket`, ….
    pub kind: &'static str,
    /// The provider's id.
    pub id: String,
    /// The ARN, when it has one.
    pub arn: Option<String>,
    /// A key for settings documents without an ARN.
    pub key: Option<String>,
    /// The region, when not the scope's (S3 buckets).
    pub region: Option<String>,
    /// The `Name` tag or similar.
    pub name: Option<String>,
    /// The configuration document.
    pub attributes: Value,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// RFC 3339 text for an SDK timestamp.
pub(crate) fn time(value: Option<&DateTime>) -> Value {
    value.and_then(|t| t.fmt(Format::DateTime).ok()).map_or(Value::Null, Value::String)
}

/// JSON text or null.
pub(crate) fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |v| Value::String(v.to_owned()))
}

/// A policy document as JSON: IAM returns them percent-encoded (the Rust SDK does not decode
/// them, unlike boto3); S3 returns plain JSON.
pub(crate) fn policy_document(raw: &str) -> Value {
    let decoded = if raw.trim_start().starts_with('%') { percent_decode(raw) } else { raw.to_owned() };
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The account the credentials belong to; fails with exit code 3 when AWS cannot be reached or
/// refuses the credentials.
pub(crate) async fn caller_account(config: &SdkConfig) -> Result<String, CollectError> {
    let client = aws_sdk_sts::Client::new(config);
    match client.get_caller_identity().send().await {
        Ok(identity) => identity.account().map(str::to_owned).ok_or_else(|| {
            CollectError::Unavailable("AWS did not say which account the credentials belong to".to_owned())
        }),
        Err(err) => Err(CollectError::Unavailable(match &err {
            _ if credentials_missing(&err) => {
                "no usable AWS credentials (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, or run where an instance role is available)"
                    .to_owned()
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
                "cannot reach AWS{}: {}",
                config.endpoint_url().map(|u| format!(" at {u}")).unwrap_or_default(),
                describe(&err)
            ),
            SdkError::ServiceError(_) => format!("AWS refused the credentials: {}", describe(&err)),
            _ => format!("cannot verify the AWS credentials: {}", describe(&err)),
        })),
    }
}

/// Whether the call never left because no credentials could be found.
fn credentials_missing(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if current.downcast_ref::<aws_credential_types::provider::error::CredentialsError>().is_some() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The regions enabled for the account (opted-in and default ones).
pub(crate) async fn enabled_regions(config: &SdkConfig) -> Result<Vec<String>, CollectError> {
    let client = aws_sdk_ec2::Client::new(config);
    let output = client.describe_regions().send().await.map_err(|err| {
        CollectError::Unavailable(format!("cannot list the enabled regions: {}", describe(&err)))
    })?;
    let mut regions: Vec<String> =
        output.regions().iter().filter_map(|r| r.region_name().map(str::to_owned)).collect();
    regions.sort();
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_decoded_when_encoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(policy_document(encoded), serde_json::json!({"Version": "2012-10-17", "Statement": []}));
        assert_eq!(policy_document(r#"{"a": 1}"#), serde_json::json!({"a": 1}));
        assert_eq!(policy_document("not json"), Value::String("not json".into()));
    }
}
