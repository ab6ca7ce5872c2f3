//! The `aws` source: an account's resources and settings through the official AWS SDK for
//! Rust, with everything the CIS AWS Foundations Benchmark v1.5 checks need in the documents.
//!
//! Credentials and endpoints come from the SDK's default chain (`AWS_PROFILE`, SSO, instance
//! roles, `AWS_ENDPOINT_URL`, …). Regions and services are collected concurrently with bounded
//! parallelism; throttling is retried with backoff by the SDK's standard retry mode. Each
//! (service, region) is its own scope: one that fails (access denied, not enabled) is reported
//! and the others go on; only a scope collected completely may mark unseen assets absent.
//!
//! One file per service; each exposes `collect(&Ctx, &Emitter)` for a regional or global
//! scope and is listed once in [`SERVICES`].

mod account;
mod cloudtrail;
mod cloudwatch;
mod config_service;
mod ec2;
mod iam;
mod kms;
mod logs;
mod misc;
mod rds;
mod s3;
mod sns;
mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{Region, SdkConfig};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

pub use self::s3::object as s3_object;
use self::support::Ctx;
use crate::{CollectError, Emitter, PartError, Source, SourceType};

/// Registers the source.
pub const TYPE: SourceType = SourceType { name: "aws", build };

/// Where a service is collected: once per account, or in every region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    Global,
    Regional,
}

/// A service the collector knows: its name (for `--services` and scopes), where it runs and
/// how it is collected.
struct Service {
    name: &'static str,
    reach: Reach,
    collect: for<'a> fn(&'a Ctx, &'a Emitter) -> BoxFuture<'a, Result<(), support::AwsError>>,
}

/// Every service, one line each.
const SERVICES: &[Service] = &[
    Service { name: "iam", reach: Reach::Global, collect: |c, o| Box::pin(iam::collect(c, o)) },
    Service { name: "s3", reach: Reach::Global, collect: |c, o| Box::pin(s3::collect(c, o)) },
    Service { name: "account", reach: Reach::Global, collect: |c, o| Box::pin(account::collect(c, o)) },
    Service { name: "ec2", reach: Reach::Regional, collect: |c, o| Box::pin(ec2::collect(c, o)) },
    Service {
        name: "cloudtrail",
        reach: Reach::Regional,
        collect: |c, o| Box::pin(cloudtrail::collect(c, o)),
    },
    Service { name: "logs", reach: Reach::Regional, collect: |c, o| Box::pin(logs::collect(c, o)) },
    Service {
        name: "cloudwatch",
        reach: Reach::Regional,
        collect: |c, o| Box::pin(cloudwatch::collect(c, o)),
    },
    Service { name: "sns", reach: Reach::Regional, collect: |c, o| Box::pin(sns::collect(c, o)) },
    Service { name: "kms", reach: Reach::Regional, collect: |c, o| Box::pin(kms::collect(c, o)) },
    Service {
        name: "config",
        reach: Reach::Regional,
        collect: |c, o| Box::pin(config_service::collect(c, o)),
    },
    Service { name: "rds", reach: Reach::Regional, collect: |c, o| Box::pin(rds::collect(c, o)) },
    Service { name: "efs", reach: Reach::Regional, collect: |c, o| Box::pin(misc::collect_efs(c, o)) },
    Service { name: "ecr", reach: Reach::Regional, collect: |c, o| Box::pin(misc::collect_ecr(c, o)) },
    Service {
        name: "accessanalyzer",
        reach: Reach::Regional,
        collect: |c, o| Box::pin(misc::collect_access_analyzer(c, o)),
    },
    Service {
        name: "securityhub",
        reach: Reach::Regional,
        collect: |c, o| Box::pin(misc::collect_security_hub(c, o)),
    },
];

/// A `[[source]]` table of type `aws` (and the flags of `plumb sync aws`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// Always `aws`.
    #[serde(rename = "type")]
    pub source_type: String,
    /// A named profile; default: the SDK's default chain.
    pub profile: Option<String>,
    /// `all` (every enabled region) or a list; default `all`.
    pub regions: Option<Vec<String>>,
    /// Services to collect; default: all.
    pub services: Option<Vec<String>>,
    /// How many (service, region) parts run at once; default 8.
    pub concurrency: Option<usize>,
}

fn build(settings: Value) -> Result<Box<dyn Source>, CollectError> {
    let settings: AwsSettings = serde_json::from_value(settings)
        .map_err(|err| CollectError::Input(format!("[[source]] of type aws: {err}")))?;
    if let Some(services) = &settings.services {
        for name in services {
            if !SERVICES.iter().any(|s| s.name == name) {
                let known: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
                return Err(CollectError::Input(format!(
                    "unknown AWS service {name:?}; expected some of {}",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(Box::new(AwsSource { settings }))
}

/// Collects one AWS account.
#[derive(Debug)]
pub struct AwsSource {
    settings: AwsSettings,
}

impl Source for AwsSource {
    fn describe(&self) -> String {
        match &self.settings.profile {
            Some(profile) => format!("aws (profile {profile})"),
            None => "aws".to_owned(),
        }
    }

    fn source(&self) -> &'static str {
        "aws"
    }

    fn collect(&self, out: Emitter) -> BoxFuture<'_, Result<(), CollectError>> {
        Box::pin(self.run(out))
    }
}

impl AwsSource {
    async fn run(&self, out: Emitter) -> Result<(), CollectError> {
        let config = sdk_config(self.settings.profile.as_deref()).await;
        let account = support::caller_account(&config).await?;
        let regions = self.regions(&config).await?;
        let services: Vec<&Service> = SERVICES
            .iter()
            .filter(|s| self.settings.services.as_ref().is_none_or(|only| only.iter().any(|n| n == s.name)))
            .collect();
        let limit = Arc::new(Semaphore::new(self.settings.concurrency.unwrap_or(8).max(1)));
        let collected: Arc<[String]> = regions.clone().into();
        let mut parts = Vec::new();
        for service in services {
            let places: Vec<Option<&String>> = match service.reach {
                Reach::Global => vec![None],
                Reach::Regional => regions.iter().map(Some).collect(),
            };
            for region in places {
                let ctx = Ctx::new(&config, &account, region.map(String::as_str), collected.clone());
                parts.push(part(service, ctx, out.clone(), limit.clone()));
            }
        }
        for result in futures_util::future::join_all(parts).await {
            result?;
        }
        Ok(())
    }

    /// The regions to collect: the configured list, or every enabled region.
    async fn regions(&self, config: &SdkConfig) -> Result<Vec<String>, CollectError> {
        match self.settings.regions.as_deref() {
            Some(list) if !(list.len() == 1 && list[0] == "all") => Ok(list.to_vec()),
            _ => support::enabled_regions(config).await,
        }
    }
}

/// Collects one (service, region); a failure is reported, not returned, so the rest goes on.
async fn part(service: &Service, ctx: Ctx, out: Emitter, limit: Arc<Semaphore>) -> Result<(), CollectError> {
    let _permit = limit.acquire_owned().await.map_err(|_| CollectError::Unavailable("stopped".to_owned()))?;
    let scope = ctx.scope(service.name);
    match (service.collect)(&ctx, &out).await {
        Ok(()) => out.scope_complete(scope).await?,
        Err(support::AwsError::Stopped(stopped)) => return Err(stopped.into()),
        Err(support::AwsError::Call { operation, message }) => {
            tracing::debug!(message = "AWS part failed.", %scope, %operation, error = %message);
            out.failed(PartError { scope, operation, message }).await?;
        }
    }
    Ok(())
}

/// The SDK configuration: default chain, optional profile, bounded retries and timeouts.
async fn sdk_config(profile: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard().with_max_attempts(4).with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    if config.region().is_some() {
        return config;
    }
    // Global services need a region to sign with; us-east-1 is where they live.
    config.into_builder().region(Region::from_static("us-east-1")).build()
}
