//! Comparing one state attribute with one collected attribute, after bringing both to the same
//! shape: Terraform and the cloud APIs spell the same setting differently (a policy as text
//! or as JSON, security group rules as blocks or as permissions, `true` or `Enabled`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::types::{Attribute, Compare};
use crate::secrets::{Sealer, is_sealed};

/// One attribute that differs: what the state says and what is live.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Change {
    /// The Terraform attribute (`instance_type`, `tags.Owner`).
    pub attribute: String,
    /// The state's value.
    pub state: Value,
    /// The live value.
    pub live: Value,
}

/// The changes of one attribute, or none. A state attribute that is null or absent is not
/// managed and never differs.
pub fn compare(
    attribute: &Attribute,
    state: &Value,
    live: &Value,
    live_tags: &Value,
    sealer: &Sealer,
) -> Vec<Change> {
    let Some(wanted) = state.pointer(attribute.state).filter(|v| !v.is_null()) else { return Vec::new() };
    if attribute.live == "/tags" {
        return tags(wanted, live_tags, sealer);
    }
    let found = read(live, attribute.live);
    if is_sealed(wanted) {
        // A value the state marks sensitive is known only sealed: the live one is sealed the
        // same way and the two compared so, and neither is ever shown in clear.
        let found = sealer.seal(&found);
        if *wanted == found {
            return Vec::new();
        }
        return vec![Change { attribute: attribute.name.to_owned(), state: wanted.clone(), live: found }];
    }
    let (wanted, found) = match attribute.compare {
        Compare::Value => (number_or_self(wanted), number_or_self(&found)),
        Compare::Document => (document(wanted), document(&found)),
        Compare::Set => (set(wanted), set(&found)),
        Compare::Rules => (terraform_rules(wanted), ec2_rules(&found)),
        Compare::Enabled => (enabled(wanted), enabled(&found)),
    };
    if wanted == found {
        return Vec::new();
    }
    vec![Change { attribute: attribute.name.to_owned(), state: wanted, live: found }]
}

/// A pointer that may go through every element of a list with `*`
/// (`/SecurityGroups/*/GroupId`).
fn read(document: &Value, pointer: &str) -> Value {
    match pointer.split_once("/*") {
        None => document.pointer(pointer).cloned().unwrap_or(Value::Null),
        Some((list, rest)) => match document.pointer(list) {
            Some(Value::Array(items)) => Value::Array(items.iter().map(|item| read(item, rest)).collect()),
            _ => Value::Null,
        },
    }
}

/// Tags key by key, so a change names the tag: `tags.Owner`.
fn tags(wanted: &Value, live_tags: &Value, sealer: &Sealer) -> Vec<Change> {
    let as_map = |value: &Value| -> BTreeMap<String, Value> {
        value.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    };
    let (wanted, live) = (as_map(wanted), as_map(live_tags));
    let keys: BTreeSet<&String> = wanted.keys().chain(live.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let state = wanted.get(key);
            let found = match (state, live.get(key)) {
                (Some(state), Some(found)) if is_sealed(state) => Some(sealer.seal(found)),
                (_, found) => found.cloned(),
            };
            (state != found.as_ref()).then(|| Change {
                attribute: format!("tags.{key}"),
                state: state.cloned().unwrap_or(Value::Null),
                live: found.unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Numbers as floats so `1` equals `1.0`; numeric text stays text.
fn number_or_self(value: &Value) -> Value {
    match value {
        Value::Number(n) => {
            n.as_f64().and_then(serde_json::Number::from_f64).map_or(value.clone(), Value::Number)
        }
        _ => value.clone(),
    }
}

/// A JSON document given as text is parsed; statements that are single objects or one-element
/// lists are the same to IAM, and so are a single string and a one-element list.
fn document(value: &Value) -> Value {
    let parsed = match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    };
    normalize_document(&parsed)
}

fn normalize_document(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), normalize_document(v)))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) if items.len() == 1 => normalize_document(&items[0]),
        Value::Array(items) => Value::Array(items.iter().map(normalize_document).collect()),
        other => other.clone(),
    }
}

fn set(value: &Value) -> Value {
    let mut items: Vec<String> = match value {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![text(other)],
    };
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

fn enabled(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::Bool(s.eq_ignore_ascii_case("enabled") || s.eq_ignore_ascii_case("true")),
        Value::Bool(b) => Value::Bool(*b),
        _ => Value::Bool(false),
    }
}

/// Protocol names as EC2 reports them.
fn protocol(value: Option<&Value>) -> String {
    let raw = value.map(text).unwrap_or_else(|| "-1".to_owned()).to_lowercase();
    match raw.as_str() {
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        "1" => "icmp".to_owned(),
        "all" => "-1".to_owned(),
        _ => raw,
    }
}

fn ports(protocol: &str, from: Option<&Value>, to: Option<&Value>) -> String {
    if protocol == "-1" {
        return "all".to_owned();
    }
    let port =
        |v: Option<&Value>| v.and_then(Value::as_i64).map_or_else(|| "*".to_owned(), |p| p.to_string());
    format!("{}-{}", port(from), port(to))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Terraform `ingress`/`egress` blocks as sorted `protocol ports source` rules.
fn terraform_rules(value: &Value) -> Value {
    let mut rules = BTreeSet::new();
    for block in value.as_array().into_iter().flatten() {
        let protocol = protocol(block.get("protocol"));
        let ports = ports(&protocol, block.get("from_port"), block.get("to_port"));
        let mut sources = strings(block.get("cidr_blocks"));
        sources.extend(strings(block.get("ipv6_cidr_blocks")));
        sources.extend(strings(block.get("security_groups")));
        sources.extend(strings(block.get("prefix_list_ids")));
        if block.get("self") == Some(&Value::Bool(true)) {
            sources.push("self".to_owned());
        }
        for source in sources {
            rules.insert(format!("{protocol} {ports} {source}"));
        }
    }
    Value::Array(rules.into_iter().map(Value::String).collect())
}

/// EC2 `IpPermissions` as the same rules. A group pair naming the group itself is `self`
/// only when Terraform says so; it is kept as the group id otherwise.
fn ec2_rules(value: &Value) -> Value {
    let mut rules = BTreeSet::new();
    for permission in value.as_array().into_iter().flatten() {
        let protocol = protocol(permission.get("IpProtocol"));
        let ports = ports(&protocol, permission.get("FromPort"), permission.get("ToPort"));
        let field = |list: &str, key: &str| -> Vec<String> {
            permission
                .get(list)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.get(key).and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut sources = field("IpRanges", "CidrIp");
        sources.extend(field("Ipv6Ranges", "CidrIpv6"));
        sources.extend(field("UserIdGroupPairs", "GroupId"));
        sources.extend(strings(permission.get("PrefixListIds")));
        for source in sources {
            rules.insert(format!("{protocol} {ports} {source}"));
        }
    }
    Value::Array(rules.into_iter().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attribute(compare: Compare, state: &'static str, live: &'static str) -> Attribute {
        Attribute { name: "x", state, live, compare }
    }

    fn sealer() -> Sealer {
        Sealer::new(b"drift test key")
    }

    /// The comparison under the test key.
    fn compare(attribute: &Attribute, state: &Value, live: &Value, live_tags: &Value) -> Vec<Change> {
        super::compare(attribute, state, live, live_tags, &sealer())
    }

    #[test]
    fn sealed_state_values_are_compared_sealed() {
        let a = attribute(Compare::Value, "/instance_type", "/InstanceType");
        let sealed = json!({"instance_type": sealer().seal(&json!("t3.micro")), "tags": {"Owner": sealer().seal(&json!("ana"))}});
        assert!(compare(&a, &sealed, &json!({"InstanceType": "t3.micro"}), &json!({})).is_empty());
        let changes = compare(&a, &sealed, &json!({"InstanceType": "t3.large"}), &json!({}));
        assert_eq!(changes.len(), 1);
        assert!(!changes[0].live.to_string().contains("t3.large"), "the live value is shown sealed too");
        let tags = super::super::types::TYPES[0].attributes[6];
        assert!(compare(&tags, &sealed, &json!({}), &json!({"Owner": "ana"})).is_empty());
        assert_eq!(compare(&tags, &sealed, &json!({}), &json!({"Owner": "bo"}))[0].attribute, "tags.Owner");
    }

    #[test]
    fn values_differ_or_not() {
        let a = attribute(Compare::Value, "/instance_type", "/InstanceType");
        assert!(
            compare(
                &a,
                &json!({"instance_type": "t3.micro"}),
                &json!({"InstanceType": "t3.micro"}),
                &json!({})
            )
            .is_empty()
        );
        let changes = compare(
            &a,
            &json!({"instance_type": "t3.micro"}),
            &json!({"InstanceType": "t3.large"}),
            &json!({}),
        );
        assert_eq!(
            changes,
            [Change { attribute: "x".into(), state: json!("t3.micro"), live: json!("t3.large") }]
        );
        assert!(
            compare(&a, &json!({"instance_type": null}), &json!({"InstanceType": "t3.large"}), &json!({}))
                .is_empty()
        );
        let n = attribute(Compare::Value, "/threshold", "/Threshold");
        assert!(compare(&n, &json!({"threshold": 1}), &json!({"Threshold": 1.0}), &json!({})).is_empty());
    }

    #[test]
    fn policy_documents_are_compared_as_json() {
        let a = attribute(Compare::Document, "/policy", "/Document");
        let state = json!({"policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"});
        let same = json!({"Document": {"Statement": {"Resource": "*", "Action": ["s3:*"], "Effect": "Allow"}, "Version": "2012-10-17"}});
        assert!(compare(&a, &state, &same, &json!({})).is_empty());
        let wider = json!({"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}});
        assert_eq!(compare(&a, &state, &wider, &json!({})).len(), 1);
    }

    #[test]
    fn tags_differ_key_by_key() {
        let changes = compare(
            &super::super::types::TYPES[0].attributes[6],
            &json!({"tags": {"Env": "prod", "Team": "web"}}),
            &json!({}),
            &json!({"Env": "staging", "Team": "web", "Extra": "1"}),
        );
        let names: Vec<&str> = changes.iter().map(|c| c.attribute.as_str()).collect();
        assert_eq!(names, ["tags.Env", "tags.Extra"]);
        assert_eq!(changes[1].state, Value::Null);
    }

    #[test]
    fn security_group_rules_match_across_spellings() {
        let a = attribute(Compare::Rules, "/ingress", "/IpPermissions");
        let state = json!({"ingress": [
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "security_groups": [], "self": false},
            {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [], "security_groups": ["sg-1"], "self": false}
        ]});
        let live = json!({"IpPermissions": [
            {"IpProtocol": "-1", "FromPort": null, "ToPort": null, "IpRanges": [], "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ]});
        assert!(compare(&a, &state, &live, &json!({})).is_empty());
        let opened = json!({"IpPermissions": [
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ]});
        let changes = compare(&a, &state, &opened, &json!({}));
        assert_eq!(changes[0].live.as_array().unwrap().len(), 3);
    }

    #[test]
    fn sets_and_lists_through_a_wildcard() {
        let a = attribute(Compare::Set, "/vpc_security_group_ids", "/SecurityGroups/*/GroupId");
        let live = json!({"SecurityGroups": [{"GroupId": "sg-2"}, {"GroupId": "sg-1"}]});
        assert!(
            compare(&a, &json!({"vpc_security_group_ids": ["sg-1", "sg-2"]}), &live, &json!({})).is_empty()
        );
        assert_eq!(compare(&a, &json!({"vpc_security_group_ids": ["sg-1"]}), &live, &json!({})).len(), 1);
    }

    #[test]
    fn enabled_statuses() {
        let a = attribute(Compare::Enabled, "/enabled", "/Status");
        assert!(compare(&a, &json!({"enabled": true}), &json!({"Status": "Enabled"}), &json!({})).is_empty());
        assert_eq!(
            compare(&a, &json!({"enabled": true}), &json!({"Status": "Suspended"}), &json!({})).len(),
            1
        );
    }
}
