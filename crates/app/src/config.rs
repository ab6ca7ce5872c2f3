//! `plumb.toml`: defaults, then the file, then environment variables and flags (applied by the
//! CLI). Unknown keys are errors, so a typo never silently disables a rule. Secrets are never
//! read from the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plumb_core::InventoryRules;
use plumb_core::authz::RoleHolders;
use plumb_core::schedule::{Cron, Job};
use serde::Deserialize;

use crate::error::BadInput;

/// The commented file `plumb init` writes.
pub const TEMPLATE: &str = include_str!("config/init.toml");

/// The parsed configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A SQLite path (relative to the file) or a database URL.
    pub database: Option<String>,
    /// Role holders.
    #[serde(default)]
    pub roles: Roles,
    /// Environments and classification levels.
    #[serde(default)]
    pub inventory: Inventory,
    /// Cloud tag → field mapping.
    #[serde(default)]
    pub tags: TagConfig,
    /// Cron expressions of the recurring jobs.
    #[serde(default)]
    pub schedule: Schedule,
    /// Control id → description.
    #[serde(default)]
    pub controls: BTreeMap<String, Control>,
    /// The sources `plumb sync` runs, each a table with a `type` (`aws`, `terraform`, `file`)
    /// and that type's settings (checked by the source itself).
    #[serde(default, rename = "source")]
    pub sources: Vec<toml::Table>,
    /// Where drift alerts go, each a table with a `type` (`betterstack`, `slack`, `webhook`,
    /// `heartbeat`) and that type's settings (checked by the sink itself).
    #[serde(default, rename = "sink")]
    pub sinks: Vec<toml::Table>,
    /// Approved base images.
    #[serde(default)]
    pub baseline: Baseline,
    /// Settings of the policy checks.
    #[serde(default)]
    pub checks: Checks,
    /// Where the key secrets are sealed with is kept.
    #[serde(default)]
    pub secrets: Secrets,
    /// Limits of the exceptions register.
    #[serde(default)]
    pub exceptions: Exceptions,
    /// How often the fixed-asset register is reconciled.
    #[serde(default)]
    pub audit: Audit,
    /// Settings of `plumb serve`.
    #[serde(default)]
    pub serve: Serve,
    /// The folder the file is in; relative paths in the file are resolved against it.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// People holding the policy's roles (e-mail addresses; `group:NAME` for the API's SSO).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Ultimate owner of production assets.
    pub head_of_product: Option<String>,
    /// Day-to-day manager of production assets.
    pub sre_lead: Option<String>,
    /// Approves hardening standards and exceptions.
    pub infosec_manager: Option<String>,
    /// Manage configuration, tokens and any asset. None named: the local user administers.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Read everything and change nothing.
    #[serde(default)]
    pub auditors: Vec<String>,
}

/// Settings of `plumb serve`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// Single sign-on: bearer JWTs from this OpenID Connect issuer (besides API tokens).
    pub oidc: Option<Oidc>,
}

/// An OpenID Connect issuer whose access tokens the API accepts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oidc {
    /// The issuer (`iss`), such as `https://login.example.com/realms/acme`.
    #[serde(deserialize_with = "https_url")]
    pub issuer: String,
    /// The audience the tokens must be for (`aud`): this API's client id or resource.
    pub audience: String,
    /// Where the signing keys are; default: the `jwks_uri` of the issuer's discovery document.
    #[serde(default, deserialize_with = "optional_https_url")]
    pub jwks_url: Option<String>,
    /// The claim holding the person's email, which `[roles]` names.
    #[serde(default = "email_claim")]
    pub email_claim: String,
    /// The claim listing the person's groups, matched by `group:NAME` in `[roles]`.
    #[serde(default = "groups_claim")]
    pub groups_claim: String,
    /// Policy §5, "SSO with MFA": refuse tokens whose `amr` does not include mfa, otp or hwk.
    #[serde(default = "yes")]
    pub require_mfa: bool,
    /// The least time between two fetches of the keys when a token names an unknown key
    /// (rotation), so a flood of forged key ids cannot make plumb hammer the issuer.
    #[serde(default = "cool_down")]
    pub jwks_cooldown_seconds: u64,
}

/// A URL the signing keys may come from: HTTPS, or plain HTTP to this machine only (a local
/// test issuer), since keys read over plain HTTP elsewhere could be anyone's. Kept as written:
/// the issuer is compared with `iss` as a string.
fn https_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    let url = reqwest::Url::parse(&text)
        .map_err(|err| serde::de::Error::custom(format!("{text:?} is not a URL: {err}")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(text),
        "http" if loopback => Ok(text),
        _ => Err(serde::de::Error::custom(format!(
            "{text:?}: expected an https:// URL (plain http:// only to localhost)"
        ))),
    }
}

fn optional_https_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    https_url(deserializer).map(Some)
}

fn email_claim() -> String {
    "email".to_owned()
}

fn groups_claim() -> String {
    "groups".to_owned()
}

fn yes() -> bool {
    true
}

fn cool_down() -> u64 {
    60
}

/// The register audit's interval (policy §6: bi-monthly).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// A register audit older than this many days is an INV-01 finding of `plumb check`.
    pub register_every_days: u32,
}

impl Default for Audit {
    fn default() -> Self {
        Audit { register_every_days: 62 }
    }
}

/// Limits of the exceptions register (policy §9).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Exceptions {
    /// The furthest an exception's expiry may be from the day it is requested.
    pub max_days: u32,
}

impl Default for Exceptions {
    fn default() -> Self {
        Exceptions { max_days: 365 }
    }
}

/// The seal key: secrets found in Terraform states are stored only as keyed hashes under it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Secrets {
    /// The key file, relative to this file; created (readable by its owner only) when missing.
    /// `PLUMB_SEAL_KEY` overrides it; every machine writing to one database needs the same key.
    pub key_file: PathBuf,
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets { key_file: PathBuf::from("plumb.key") }
    }
}

/// Settings the built-in checks read.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Checks {
    /// An in-service asset its source has not reported for longer is stale (inventory/stale).
    pub stale_after_days: u32,
    /// Asset types that are endpoint devices (policy §5: untrusted, no customer data).
    pub endpoint_types: Vec<String>,
    /// Classifications that mean "holds customer data".
    pub customer_data_classifications: Vec<String>,
    /// CIS 1.7 gives no threshold for "root used recently"; this many days (Prowler uses 1).
    pub root_recent_use_days: u32,
    /// Collected data older than this many hours is stale: what rests on it is `error`, never
    /// pass (a nightly sync may be late, never absent).
    pub max_data_age_hours: u32,
    /// One evaluation (a check over a batch or an account) is stopped after this long.
    pub eval_timeout_seconds: u32,
    /// Evaluations are stopped when they hold this much memory on top of what plumb held.
    pub eval_memory_mib: u32,
}

impl Default for Checks {
    fn default() -> Self {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect();
        Checks {
            stale_after_days: 30,
            endpoint_types: words(&["laptop", "desktop", "mobile", "tablet"]),
            customer_data_classifications: words(&["confidential", "restricted"]),
            root_recent_use_days: 1,
            max_data_age_hours: 36,
            eval_timeout_seconds: 60,
            eval_memory_mib: 2048,
        }
    }
}

/// The inventory's vocabularies.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Inventory {
    /// Environment names.
    pub environments: Vec<String>,
    /// Classification levels, lowest first.
    pub classifications: Vec<String>,
    /// The environment the production ownership rule applies to.
    pub production: String,
}

impl Default for Inventory {
    fn default() -> Self {
        let rules = InventoryRules::default();
        Inventory {
            environments: rules.environments,
            classifications: rules.classifications,
            production: rules.production,
        }
    }
}

/// Which tags fill which fields, and how tag values map onto configured words.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// Tag keys for the owner.
    #[serde(default)]
    pub owner: Vec<String>,
    /// Tag keys for the manager.
    #[serde(default)]
    pub manager: Vec<String>,
    /// Tag keys for the environment.
    #[serde(default)]
    pub environment: Vec<String>,
    /// Tag keys for the classification.
    #[serde(default)]
    pub classification: Vec<String>,
    /// Tag keys for the location.
    #[serde(default)]
    pub location: Vec<String>,
    /// Tag keys for the financial reference.
    #[serde(default)]
    pub financial_ref: Vec<String>,
    /// Tag value → environment.
    #[serde(default)]
    pub environment_values: BTreeMap<String, String>,
    /// Tag value → classification.
    #[serde(default)]
    pub classification_values: BTreeMap<String, String>,
}

/// When `plumb serve` runs the recurring jobs (cron expressions, UTC). A job left out does not
/// run on a schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Inventory sync from every configured source.
    #[serde(default, deserialize_with = "cron")]
    pub sync: Option<Cron>,
    /// Drift scan.
    #[serde(default, deserialize_with = "cron")]
    pub drift: Option<Cron>,
    /// Baseline checks.
    #[serde(default, deserialize_with = "cron")]
    pub check: Option<Cron>,
    /// Reminder of the fixed-asset register reconciliation.
    #[serde(default, deserialize_with = "cron")]
    pub audit_reminder: Option<Cron>,
    /// Reminder of exceptions about to expire.
    #[serde(default, deserialize_with = "cron")]
    pub exception_reminder: Option<Cron>,
    /// How many days ahead the exception reminder warns of an expiry.
    #[serde(default = "notice_days")]
    pub exception_notice_days: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            sync: None,
            drift: None,
            check: None,
            audit_reminder: None,
            exception_reminder: None,
            exception_notice_days: notice_days(),
        }
    }
}

impl Schedule {
    /// The scheduled jobs with their expressions, in `Job::ALL` order.
    pub fn jobs(&self) -> Vec<(Job, &Cron)> {
        Job::ALL
            .iter()
            .filter_map(|&job| {
                let cron = match job {
                    Job::Sync => &self.sync,
                    Job::Drift => &self.drift,
                    Job::Check => &self.check,
                    Job::AuditReminder => &self.audit_reminder,
                    Job::ExceptionReminder => &self.exception_reminder,
                };
                cron.as_ref().map(|cron| (job, cron))
            })
            .collect()
    }
}

/// Set (to anything) by tests that cannot wait minutes: `[schedule]` then takes a sixth field,
/// seconds, first.
pub const TEST_SCHEDULE_SECONDS: &str = "PLUMB_TEST_SCHEDULE_SECONDS";

fn cron<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cron>, D::Error> {
    let text = String::deserialize(d)?;
    let seconds = std::env::var_os(TEST_SCHEDULE_SECONDS).is_some();
    Cron::parse(&text, seconds).map(Some).map_err(serde::de::Error::custom)
}

fn notice_days() -> u32 {
    14
}

/// A control evidence is collected for.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Short title.
    pub title: String,
    /// What the control covers.
    #[serde(default)]
    pub description: String,
}

/// The hardened baselines of policy §4.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Approved base images (`[[baseline.image]]`).
    #[serde(default)]
    pub image: Vec<BaselineImage>,
}

/// One approved base image repository.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineImage {
    /// `registry/path`, without tag or digest (`python` means `docker.io/library/python`).
    pub repository: String,
    /// What it is and how it was hardened.
    #[serde(default)]
    pub description: String,
}

impl Config {
    /// Reads the file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| BadInput(format!("cannot read {}: {err}", path.display())))?;
        let mut config =
            Config::parse(&text).map_err(|err| BadInput(format!("{}: {err}", path.display())))?;
        config.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.validate().with_context(|| format!("{} is not valid", path.display()))?;
        Ok(config)
    }

    /// Parses configuration text; errors carry the line and column.
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    fn validate(&self) -> anyhow::Result<()> {
        for image in &self.baseline.image {
            let last = image.repository.rsplit('/').next().unwrap_or_default();
            if image.repository.trim().is_empty() || image.repository.contains('@') || last.contains(':') {
                return Err(BadInput(format!(
                    "[[baseline.image]] repository = {:?}: name the repository only (registry/path), without tag or digest",
                    image.repository
                ))
                .into());
            }
        }
        let inventory = &self.inventory;
        if !inventory.environments.contains(&inventory.production) {
            return Err(BadInput(format!(
                "[inventory] production = {:?} is not one of the environments {:?}",
                inventory.production, inventory.environments
            ))
            .into());
        }
        Ok(())
    }

    /// The database URL the file names (a bare path is a SQLite file next to the file).
    pub fn database_url(&self) -> String {
        let database = self.database.as_deref().unwrap_or("plumb.db");
        if database.contains("://") || database.starts_with("sqlite:") {
            database.to_owned()
        } else {
            format!("sqlite://{}", self.dir.join(database).display())
        }
    }

    /// The tag mapping sync applies.
    pub fn tag_mapping(&self) -> plumb_core::sync::TagMapping {
        let tags = &self.tags;
        let fields = [
            ("owner", &tags.owner),
            ("manager", &tags.manager),
            ("environment", &tags.environment),
            ("classification", &tags.classification),
            ("location", &tags.location),
            ("financial_ref", &tags.financial_ref),
        ];
        plumb_core::sync::TagMapping {
            fields: fields.into_iter().map(|(field, keys)| (field.to_owned(), keys.clone())).collect(),
            environment_values: tags.environment_values.clone(),
            classification_values: tags.classification_values.clone(),
        }
    }

    /// The `[[source]]` tables as JSON, with relative paths resolved against this file.
    pub fn source_settings(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.sources
            .iter()
            .map(|table| {
                let mut value = serde_json::to_value(table)?;
                if let Some(path) = value.get_mut("path")
                    && let Some(text) = path.as_str()
                {
                    *path = serde_json::Value::String(self.dir.join(text).display().to_string());
                }
                Ok(value)
            })
            .collect()
    }

    /// The `[[sink]]` tables as JSON.
    pub fn sink_settings(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.sinks.iter().map(|table| Ok(serde_json::to_value(table)?)).collect()
    }

    /// Who holds which role, for the authorisation table.
    pub fn role_holders(&self) -> RoleHolders {
        RoleHolders {
            head_of_product: self.roles.head_of_product.clone(),
            sre_lead: self.roles.sre_lead.clone(),
            infosec_manager: self.roles.infosec_manager.clone(),
            admins: self.roles.admins.clone(),
            auditors: self.roles.auditors.clone(),
        }
    }

    /// The inventory rules the domain core applies.
    pub fn rules(&self) -> InventoryRules {
        InventoryRules {
            environments: self.inventory.environments.clone(),
            classifications: self.inventory.classifications.clone(),
            production: self.inventory.production.clone(),
            head_of_product: self.roles.head_of_product.clone(),
            sre_lead: self.roles.sre_lead.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_and_encodes_the_policy() {
        let config = Config::parse(TEMPLATE).unwrap();
        assert!(config.roles.head_of_product.is_some());
        assert!(config.roles.sre_lead.is_some());
        assert!(config.roles.infosec_manager.is_some());
        assert_eq!(config.inventory.environments, ["production", "staging", "corporate"]);
        assert_eq!(config.inventory.classifications, ["public", "internal", "confidential", "restricted"]);
        assert_eq!(config.controls.keys().collect::<Vec<_>>(), ["CFG-01", "CFG-02", "INV-01"]);
        assert_eq!(config.tags.environment_values.get("prod").map(String::as_str), Some("production"));
        assert_eq!(config.schedule.jobs().len(), Job::ALL.len(), "every job is scheduled");
        assert!(config.baseline.image.is_empty(), "the baseline example is commented out");
        config.validate().unwrap();
    }

    #[test]
    fn the_commented_baseline_example_parses() {
        let uncommented: String = TEMPLATE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("[[baseline.image]]")
                        || rest.starts_with("repository")
                        || rest.starts_with("description") =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::parse(&uncommented).unwrap();
        assert_eq!(config.baseline.image.len(), 2);
        config.validate().unwrap();
        let tagged = Config::parse("[[baseline.image]]\nrepository = \"python:3.12\"\n").unwrap();
        assert!(tagged.validate().unwrap_err().to_string().contains("without tag or digest"));
    }

    #[test]
    fn unknown_keys_are_errors_with_a_position() {
        let err = Config::parse("[roles]\nhead_of_prodct = \"x\"\n").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("head_of_prodct"), "{message}");
    }

    #[test]
    fn the_issuer_and_its_keys_are_https_urls_or_on_this_machine() {
        let oidc = |issuer: &str, jwks: &str| {
            let text =
                format!("[serve.oidc]\nissuer = \"{issuer}\"\naudience = \"plumb\"\njwks_url = \"{jwks}\"\n");
            Config::parse(&text).map(|_| ()).map_err(|err| err.to_string())
        };
        assert_eq!(oidc("https://idp.example.com/realms/acme", "http://127.0.0.1:8080/jwks"), Ok(()));
        let not_url = oidc("idp.example.com", "https://idp.example.com/jwks").unwrap_err();
        assert!(not_url.contains("line 2") && not_url.contains("is not a URL"), "{not_url}");
        let plain = oidc("https://idp.example.com", "http://idp.example.com/jwks").unwrap_err();
        assert!(plain.contains("line 4") && plain.contains("expected an https:// URL"), "{plain}");
    }

    #[test]
    fn a_bad_cron_expression_names_its_line_and_what_a_cron_is() {
        let err = Config::parse("[schedule]\nsync = \"0 1 * *\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("expected 5 fields, found 4"), "{err}");
    }

    #[test]
    fn database_paths_are_relative_to_the_file() {
        let config = Config { dir: PathBuf::from("/etc/plumb"), ..Config::default() };
        assert_eq!(config.database_url(), "sqlite:///etc/plumb/plumb.db");
        let config = Config { database: Some("postgres://db/plumb".into()), ..config };
        assert_eq!(config.database_url(), "postgres://db/plumb");
    }
}
