//! The `terraform` source: Terraform state (format version 4) as the managed view — what the
//! infrastructure code says exists. Every managed resource instance becomes a resource keyed
//! by its state and address (`terraform:prod.tfstate:module.net.aws_vpc.main`), with the
//! state's attributes under `values`. Drift compares these with the live inventory; sync links
//! each live asset to the state resource that manages it (`managed_by`, by ARN).
//!
//! A state's bytes are read whole and its resources handed on one at a time, so memory holds the
//! state's text and one resource, never the parsed state.
//!
//! Secrets never leave this file in clear: what `sensitive_attributes` names, attributes known
//! to be secret and string attributes whose name says so are sealed
//! ([`plumb_core::secrets::Sealer`]) as each instance is read.
//!
//! ```toml
//! [[source]]
//! type = "terraform"
//! states = ["infra/prod.tfstate", "s3://tf-state/prod/network.tfstate"]
//! ```

use std::fmt;
use std::io::Read;

use futures_util::future::BoxFuture;
use plumb_core::Kind;
use plumb_core::secrets::Sealer;
use plumb_core::sync::Resource;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::{CollectError, Emitter, PartError, Source, SourceType, Stopped};

/// Registers the source.
pub const TYPE: SourceType = SourceType { name: "terraform", build };

/// A `[[source]]` table of type `terraform`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerraformSettings {
    /// Always `terraform`.
    #[serde(rename = "type")]
    pub source_type: String,
    /// State files: local paths, or `s3://bucket/key`.
    pub states: Vec<String>,
}

fn build(settings: Value) -> Result<Box<dyn Source>, CollectError> {
    let settings: TerraformSettings = serde_json::from_value(settings)
        .map_err(|err| CollectError::Input(format!("[[source]] of type terraform: {err}")))?;
    if settings.states.is_empty() {
        return Err(CollectError::Input("[[source]] of type terraform: states is empty".to_owned()));
    }
    Ok(Box::new(TerraformSource { states: settings.states }))
}

/// Reads Terraform states.
#[derive(Debug)]
pub struct TerraformSource {
    states: Vec<String>,
}

impl TerraformSource {
    /// Reads the given states.
    pub fn new(states: Vec<String>) -> Self {
        TerraformSource { states }
    }
}

impl Source for TerraformSource {
    fn describe(&self) -> String {
        format!("terraform {}", self.states.join(", "))
    }

    fn source(&self) -> &'static str {
        "terraform"
    }

    fn collect(&self, out: Emitter) -> BoxFuture<'_, Result<(), CollectError>> {
        Box::pin(async move {
            for state in &self.states {
                match read_one(state, &out).await {
                    Ok(()) => out.scope_complete(scope(state)).await?,
                    Err(CollectError::Stopped(stopped)) => return Err(stopped.into()),
                    Err(err) => {
                        // The state's scope is failed, not left as it was: its resources are
                        // no longer the current managed view.
                        let failure = PartError {
                            scope: scope(state),
                            operation: "terraform:read".to_owned(),
                            message: err.to_string(),
                        };
                        out.failed(failure).await?;
                        return Err(err);
                    }
                }
            }
            Ok(())
        })
    }
}

/// Reads one state to `out`.
async fn read_one(state: &str, out: &Emitter) -> Result<(), CollectError> {
    let reader = open(state).await?;
    let name = state.to_owned();
    let emitter = out.clone();
    tokio::task::spawn_blocking(move || read_state(&name, reader, &emitter))
        .await
        .map_err(|err| CollectError::Unavailable(format!("reading {state} stopped: {err}")))?
}

fn scope(state: &str) -> String {
    plumb_core::scope::ScopeId::named("terraform", state).to_string()
}

/// Opens a state: a local file, or an object in S3.
pub async fn open(state: &str) -> Result<Box<dyn Read + Send>, CollectError> {
    if let Some(location) = state.strip_prefix("s3://") {
        return open_s3(location).await;
    }
    let file = std::fs::File::open(state)
        .map_err(|err| CollectError::Input(format!("cannot read {state}: {err}")))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, file)))
}

#[cfg(feature = "aws")]
async fn open_s3(location: &str) -> Result<Box<dyn Read + Send>, CollectError> {
    let bytes = crate::aws::s3_object(location).await?;
    Ok(Box::new(std::io::Cursor::new(bytes)))
}

#[cfg(not(feature = "aws"))]
async fn open_s3(location: &str) -> Result<Box<dyn Read + Send>, CollectError> {
    Err(CollectError::Input(format!("s3://{location}: this plumb was built without AWS support")))
}

/// Streams the managed resources of one state to `out`. What was read before an error in the
/// state is sent too, as a file source sends its good rows; the scope is not reported
/// complete, so nothing is marked absent.
pub fn read_state(name: &str, reader: impl Read, out: &Emitter) -> Result<(), CollectError> {
    let mut batch = out.blocking_batch();
    let sealer = out.sealer().clone();
    let mut emit = |resource: StateResource| -> Result<(), Stopped> {
        for instance in resources(name, resource, &sealer) {
            batch.push(instance)?;
        }
        Ok(())
    };
    let parsed = parse(name, reader, &mut emit);
    batch.finish()?;
    parsed
}

/// Parses a state, calling `emit` for each resource as it is read.
///
/// The state's bytes are read whole first: parsing from memory is several times faster than
/// from a reader, and Terraform itself holds a state in memory. The JSON path of an error is
/// found by parsing again with the path tracked, which only a malformed state pays for.
pub fn parse(
    name: &str,
    mut reader: impl Read,
    emit: &mut dyn FnMut(StateResource) -> Result<(), Stopped>,
) -> Result<(), CollectError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|err| CollectError::Input(format!("cannot read {name}: {err}")))?;
    let mut stopped = false;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let result = StateSeed { emit, stopped: &mut stopped }.deserialize(&mut deserializer);
    if stopped {
        return Err(CollectError::Stopped(Stopped));
    }
    match result.and_then(|()| deserializer.end()) {
        Ok(()) => Ok(()),
        Err(err) => {
            Err(CollectError::Input(format!("{name}: not a Terraform state{}: {err}", error_path(&bytes))))
        }
    }
}

/// Where in a malformed state the first error is: ` at resources[0].instances[0].attributes`.
fn error_path(bytes: &[u8]) -> String {
    let mut ignore = |_: StateResource| Ok(());
    let mut stopped = false;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let seed = StateSeed { emit: &mut ignore, stopped: &mut stopped };
    let _ = seed.deserialize(serde_path_to_error::Deserializer::new(&mut deserializer, &mut track));
    let path = track.path().to_string();
    if path == "." { String::new() } else { format!(" at {path}") }
}

/// One resource block of a state, with its instances.
#[derive(Debug, Deserialize)]
pub struct StateResource {
    /// `module.a.module.b`, absent at the root.
    #[serde(default)]
    pub module: Option<String>,
    /// `managed` or `data`.
    pub mode: String,
    /// The resource type, such as `aws_s3_bucket`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name.
    pub name: String,
    /// `provider["registry.terraform.io/hashicorp/aws"]` (or the legacy `provider.aws`).
    pub provider: String,
    /// One per `count`/`for_each` key, or one.
    #[serde(default)]
    pub instances: Vec<Instance>,
}

/// One instance of a resource.
#[derive(Debug, Deserialize)]
pub struct Instance {
    /// The `count` index (a number) or `for_each` key (a string).
    #[serde(default)]
    pub index_key: Option<Value>,
    /// The attributes.
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
    /// Set for an instance replaced but not yet destroyed.
    #[serde(default)]
    pub deposed: Option<String>,
    /// The paths of the attributes Terraform marks sensitive.
    #[serde(default)]
    pub sensitive_attributes: Option<Value>,
}

/// A managed, current instance of a state resource block, as drift compares it.
#[derive(Debug)]
pub struct StateInstance {
    /// Its key in the inventory: `terraform:STATE:ADDRESS`.
    pub key: String,
    /// `module.net.aws_vpc.main[0]`.
    pub address: String,
    /// The Terraform type.
    pub resource_type: String,
    /// The provider configuration, as the state names it
    /// (`provider["registry.terraform.io/hashicorp/aws"].west`), shared by the block's
    /// instances.
    pub provider: std::sync::Arc<str>,
    /// The `count` index or `for_each` key.
    pub index_key: Option<Value>,
    /// The state's attributes.
    pub values: Value,
}

/// The managed, current instances of one state resource block, their secrets sealed.
pub fn instances(
    state: &str,
    resource: StateResource,
    sealer: &Sealer,
) -> impl Iterator<Item = StateInstance> {
    let managed = resource.mode == "managed";
    let prefix = resource.module.as_deref().map(|m| format!("{m}.")).unwrap_or_default();
    let provider: std::sync::Arc<str> = resource.provider.into();
    let (resource_type, name) = (resource.resource_type, resource.name);
    resource.instances.into_iter().filter(move |instance| managed && instance.deposed.is_none()).map(
        move |instance| {
            let address = format!("{prefix}{resource_type}.{name}{}", index(&instance.index_key));
            let mut values = Value::Object(instance.attributes.unwrap_or_default());
            sealer.seal_state(&resource_type, &mut values, instance.sensitive_attributes.as_ref());
            StateInstance {
                key: format!("terraform:{state}:{address}"),
                address,
                resource_type: resource_type.clone(),
                provider: provider.clone(),
                index_key: instance.index_key,
                values,
            }
        },
    )
}

/// The resources of one state resource block: its managed, current instances.
pub fn resources(state: &str, resource: StateResource, sealer: &Sealer) -> Vec<Resource> {
    let module = resource.module.clone();
    instances(state, resource, sealer)
        .map(|instance| resource_of(state, module.as_deref(), instance))
        .collect()
}

/// An instance as the inventory keeps it.
fn resource_of(state: &str, module: Option<&str>, instance: StateInstance) -> Resource {
    let StateInstance { key, address, resource_type, provider, index_key, values } = instance;
    let tags = tags(&values);
    let arn = values.get("arn").and_then(Value::as_str).map(str::to_owned);
    let attributes = json!({
        "address": address,
        "type": resource_type,
        "provider": provider_name(&provider),
        "provider_config": &*provider,
        "module": module,
        "index_key": index_key,
        "state": state,
        "arn": arn,
        "values": values,
    });
    Resource {
        source: "terraform".to_owned(),
        scope: scope(state),
        provider: "terraform".to_owned(),
        resource_type: format!("terraform.{resource_type}"),
        kind: Kind::Cloud,
        native_id: address.clone(),
        natural_key: Some(key),
        arn: None,
        account: None,
        region: None,
        name: Some(address),
        attributes,
        tags,
        fields: Default::default(),
    }
}

/// `[0]` for a `count` index, `["key"]` for a `for_each` key, nothing otherwise.
fn index(key: &Option<Value>) -> String {
    match key {
        Some(Value::Number(n)) => format!("[{n}]"),
        Some(Value::String(s)) => format!("[{}]", Value::String(s.clone())),
        _ => String::new(),
    }
}

/// `registry.terraform.io/hashicorp/aws` from `provider["registry.terraform.io/hashicorp/aws"]`,
/// `aws` from the legacy `provider.aws`.
fn provider_name(provider: &str) -> String {
    if let Some(start) = provider.find("[\"") {
        let rest = &provider[start + 2..];
        return rest.split("\"]").next().unwrap_or(rest).to_owned();
    }
    provider.strip_prefix("provider.").unwrap_or(provider).to_owned()
}

fn tags(values: &Value) -> std::collections::BTreeMap<String, String> {
    let tags = values.get("tags").filter(|t| t.is_object()).or_else(|| values.get("tags_all"));
    tags.and_then(Value::as_object)
        .map(|map| map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
        .unwrap_or_default()
}

struct StateSeed<'a> {
    emit: &'a mut dyn FnMut(StateResource) -> Result<(), Stopped>,
    stopped: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for StateSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StateSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Terraform state object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut version = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    let found: u64 = map.next_value()?;
                    if found != 4 {
                        return Err(A::Error::custom(format!(
                            "state format version {found} is not supported; expected 4 (Terraform 0.12 and later)"
                        )));
                    }
                    version = Some(found);
                }
                "resources" => {
                    map.next_value_seed(ResourcesSeed { emit: &mut *self.emit, stopped: &mut *self.stopped })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        version.map(|_| ()).ok_or_else(|| A::Error::missing_field("version"))
    }
}

struct ResourcesSeed<'a> {
    emit: &'a mut dyn FnMut(StateResource) -> Result<(), Stopped>,
    stopped: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for ResourcesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResourcesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of resources")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(resource) = seq.next_element::<StateResource>()? {
            if (self.emit)(resource).is_err() {
                *self.stopped = true;
                return Err(A::Error::custom("the sync stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a state and lists `key type arn` per resource.
    fn read(text: &str) -> Result<Vec<Resource>, String> {
        let mut found = Vec::new();
        let mut emit = |resource: StateResource| {
            found.extend(resources("prod.tfstate", resource, &Sealer::new(b"test")));
            Ok(())
        };
        parse("prod.tfstate", text.as_bytes(), &mut emit).map_err(|err| err.to_string())?;
        Ok(found)
    }

    fn keys(text: &str) -> Vec<String> {
        read(text).unwrap().iter().map(Resource::key).collect()
    }

    const REALWORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test_data/tfstate/");

    fn realworld(name: &str) -> String {
        std::fs::read_to_string(format!("{REALWORLD}{name}")).unwrap()
    }

    #[test]
    fn modules_count_and_for_each_make_addresses() {
        assert_eq!(
            keys(&realworld("opentofu-v4-modules.tfstate")),
            [
                "terraform:prod.tfstate:null_resource.bar",
                "terraform:prod.tfstate:module.modB.null_resource.bar[\"a\"]",
                "terraform:prod.tfstate:module.modB.null_resource.bar[\"b\"]",
                "terraform:prod.tfstate:module.modA.null_resource.resource",
            ]
        );
        assert_eq!(
            keys(&realworld("opentofu-state-list-nested-modules.tfstate")),
            [
                "terraform:prod.tfstate:test_instance.root",
                "terraform:prod.tfstate:module.nest.test_instance.nest",
                "terraform:prod.tfstate:module.nest.module.subnest.test_instance.subnest",
                "terraform:prod.tfstate:module.nonexist.module.child.test_instance.child",
                "terraform:prod.tfstate:module.count[0].test_instance.count",
                "terraform:prod.tfstate:module.count[1].test_instance.count",
            ]
        );
        let records = keys(&realworld("driftctl-aws_route53_record_multiples.tfstate"));
        assert!(
            records.contains(&"terraform:prod.tfstate:aws_route53_record.test[3]".to_owned()),
            "{records:?}"
        );
    }

    #[test]
    fn data_sources_are_not_managed_and_attributes_are_kept() {
        let found = read(&realworld("driftctl-aws_s3_full.tfstate")).unwrap();
        assert!(found.iter().all(|r| r.resource_type.starts_with("terraform.aws_s3")));
        let bucket = &found[0];
        assert_eq!(bucket.attributes["provider"], "aws");
        assert_eq!(bucket.attributes["values"]["bucket"], bucket.attributes["values"]["id"]);
        assert!(bucket.attributes["arn"].as_str().unwrap().starts_with("arn:aws:s3:::"));
        let lookup = read(&realworld("tfstate-lookup-terraform.tfstate")).unwrap();
        assert!(lookup.iter().all(|r| !r.resource_type.contains("caller_identity")));
    }

    #[test]
    fn malformed_states_name_the_json_path() {
        let err = read(r#"{"version": 4, "resources": [{"mode": "managed", "type": "aws_vpc", "name": "a", "provider": "p", "instances": [{"attributes": []}]}]}"#).unwrap_err();
        assert!(
            err.starts_with(
                "prod.tfstate: not a Terraform state at resources[0].instances[0].attributes: invalid type"
            ),
            "{err}"
        );
        let err = read(r#"{"version": 3, "resources": []}"#).unwrap_err();
        assert!(err.contains("state format version 3 is not supported"), "{err}");
        let err = read(r#"{"resources": []}"#).unwrap_err();
        assert!(err.contains("missing field `version`"), "{err}");
        let err = read("{\"version\": 4,\n \"resources\": [\n  {\"mode\": }]}").unwrap_err();
        assert!(err.contains("line 3 column"), "{err}");
    }

    #[test]
    fn provider_names() {
        assert_eq!(
            provider_name("provider[\"registry.terraform.io/hashicorp/aws\"]"),
            "registry.terraform.io/hashicorp/aws"
        );
        assert_eq!(provider_name("provider.aws"), "aws");
        assert_eq!(
            provider_name("module.x.provider[\"registry.terraform.io/hashicorp/aws\"].west"),
            "registry.terraform.io/hashicorp/aws"
        );
    }
}
