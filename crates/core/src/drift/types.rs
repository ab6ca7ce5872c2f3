//! The one table between Terraform resource types and collected types: how a state resource
//! finds the live asset it describes, and which of its attributes are compared with which
//! attribute of the collected document.
//!
//! Adding a type is one entry here. Every type the AWS collector produces has an entry (a test
//! of the binary checks this against a synced moto account), so drift never reports a resource
//! as unmanaged just because plumb does not know its Terraform name.

use serde_json::Value;

use Compare::{Document, Enabled, Rules, Set, Value as Plain};
use Identity::{Arn, Id, Key};

/// How a state resource identifies its live asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The state's `arn` is the live asset's key.
    Arn,
    /// The live key is this template filled with state attributes: `arn:aws:s3:::{bucket}`.
    Key(&'static str),
    /// These state attributes, joined with `:`, equal the live document's id (see
    /// [`TypeMap::live_id`]).
    Id(&'static [&'static str]),
    /// The only live asset of the type (account-wide settings such as the password policy);
    /// not compared when several accounts are live.
    Only,
}

/// How two values are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Equal as JSON values, numbers by value (`1` = `1.0`), null = absent.
    Value,
    /// A JSON document on either side, possibly as text: compared as JSON, not as strings.
    Document,
    /// Lists compared as sets.
    Set,
    /// Security group rules (Terraform `ingress`/`egress` blocks against EC2 `IpPermissions`),
    /// compared as sets of (protocol, ports, source).
    Rules,
    /// Terraform's boolean against an `Enabled`/`Suspended` status.
    Enabled,
}

/// One compared attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The Terraform attribute, reported as the name of the change (`instance_type`).
    pub name: &'static str,
    /// JSON pointer into the state's attributes.
    pub state: &'static str,
    /// JSON pointer into the collected document; `/tags` means the asset's tags.
    pub live: &'static str,
    /// How the two are compared.
    pub compare: Compare,
}

/// One Terraform resource type and the collected type it describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeMap {
    /// The Terraform type: `aws_instance`.
    pub terraform: &'static str,
    /// The collected type: `aws.ec2.instance`.
    pub live: &'static str,
    /// How the state resource finds its live asset.
    pub identity: Identity,
    /// The attributes of the collected document that make its id (what `.plumbignore` patterns
    /// and [`Identity::Id`] match), joined with `:`.
    pub live_id: &'static [&'static str],
    /// What is compared.
    pub attributes: &'static [Attribute],
    /// A settings document (one per account or region, always there): never unmanaged.
    pub settings: bool,
}

const fn attr(name: &'static str, state: &'static str, live: &'static str, compare: Compare) -> Attribute {
    Attribute { name, state, live, compare }
}

const TAGS: Attribute = attr("tags", "/tags", "/tags", Compare::Value);

const fn resource(
    terraform: &'static str,
    live: &'static str,
    identity: Identity,
    live_id: &'static [&'static str],
    attributes: &'static [Attribute],
) -> TypeMap {
    TypeMap { terraform, live, identity, live_id, attributes, settings: false }
}

const fn settings(terraform: &'static str, live: &'static str, attributes: &'static [Attribute]) -> TypeMap {
    TypeMap { terraform, live, identity: Identity::Only, live_id: &[], attributes, settings: true }
}

/// Every mapped type. The first entry of a collected type is its main resource (the one a
/// `.plumbignore` pattern for an unmanaged resource names); later entries are Terraform's
/// separate resources for parts of it (`aws_s3_bucket_versioning`).
pub const TYPES: &[TypeMap] = &[
    resource(
        "aws_instance",
        "aws.ec2.instance",
        Arn,
        &["InstanceId"],
        &[
            attr("instance_type", "/instance_type", "/InstanceType", Plain),
            attr("ami", "/ami", "/ImageId", Plain),
            attr("subnet_id", "/subnet_id", "/SubnetId", Plain),
            attr("key_name", "/key_name", "/KeyName", Plain),
            attr("vpc_security_group_ids", "/vpc_security_group_ids", "/SecurityGroups/*/GroupId", Set),
            attr(
                "metadata_options.http_tokens",
                "/metadata_options/0/http_tokens",
                "/MetadataOptions/HttpTokens",
                Plain,
            ),
            TAGS,
        ],
    ),
    resource(
        "aws_ebs_volume",
        "aws.ec2.volume",
        Arn,
        &["VolumeId"],
        &[
            attr("size", "/size", "/Size", Plain),
            attr("type", "/type", "/VolumeType", Plain),
            attr("encrypted", "/encrypted", "/Encrypted", Plain),
            TAGS,
        ],
    ),
    resource(
        "aws_security_group",
        "aws.ec2.security_group",
        Arn,
        &["GroupId"],
        &[
            attr("name", "/name", "/GroupName", Plain),
            attr("description", "/description", "/Description", Plain),
            attr("vpc_id", "/vpc_id", "/VpcId", Plain),
            attr("ingress", "/ingress", "/IpPermissions", Rules),
            attr("egress", "/egress", "/IpPermissionsEgress", Rules),
            TAGS,
        ],
    ),
    resource(
        "aws_flow_log",
        "aws.ec2.flow_log",
        Arn,
        &["FlowLogId"],
        &[
            attr("traffic_type", "/traffic_type", "/TrafficType", Plain),
            attr("log_destination_type", "/log_destination_type", "/LogDestinationType", Plain),
            TAGS,
        ],
    ),
    resource(
        "aws_vpc",
        "aws.ec2.vpc",
        Arn,
        &["VpcId"],
        &[attr("cidr_block", "/cidr_block", "/CidrBlock", Plain), TAGS],
    ),
    resource("aws_default_vpc", "aws.ec2.vpc", Arn, &["VpcId"], &[TAGS]),
    resource(
        "aws_subnet",
        "aws.ec2.subnet",
        Arn,
        &["SubnetId"],
        &[
            attr("cidr_block", "/cidr_block", "/CidrBlock", Plain),
            attr("vpc_id", "/vpc_id", "/VpcId", Plain),
            attr("map_public_ip_on_launch", "/map_public_ip_on_launch", "/MapPublicIpOnLaunch", Plain),
            TAGS,
        ],
    ),
    resource(
        "aws_network_acl",
        "aws.ec2.network_acl",
        Arn,
        &["NetworkAclId"],
        &[attr("vpc_id", "/vpc_id", "/VpcId", Plain), TAGS],
    ),
    resource("aws_default_network_acl", "aws.ec2.network_acl", Arn, &["NetworkAclId"], &[TAGS]),
    resource(
        "aws_route_table",
        "aws.ec2.route_table",
        Arn,
        &["RouteTableId"],
        &[attr("vpc_id", "/vpc_id", "/VpcId", Plain), TAGS],
    ),
    resource("aws_default_route_table", "aws.ec2.route_table", Id(&["id"]), &["RouteTableId"], &[TAGS]),
    resource(
        "aws_vpc_peering_connection",
        "aws.ec2.vpc_peering_connection",
        Id(&["id"]),
        &["VpcPeeringConnectionId"],
        &[
            attr("vpc_id", "/vpc_id", "/RequesterVpcInfo/VpcId", Plain),
            attr("peer_vpc_id", "/peer_vpc_id", "/AccepterVpcInfo/VpcId", Plain),
            TAGS,
        ],
    ),
    resource(
        "aws_default_security_group",
        "aws.ec2.security_group",
        Arn,
        &["GroupId"],
        &[
            attr("ingress", "/ingress", "/IpPermissions", Rules),
            attr("egress", "/egress", "/IpPermissionsEgress", Rules),
            TAGS,
        ],
    ),
    settings("aws_ebs_encryption_by_default", "aws.ec2.region", &[]),
    resource(
        "aws_s3_bucket",
        "aws.s3.bucket",
        Key("arn:aws:s3:::{bucket}"),
        &["Name"],
        &[attr("versioning.enabled", "/versioning/0/enabled", "/Versioning/Status", Enabled), TAGS],
    ),
    resource(
        "aws_s3_bucket_versioning",
        "aws.s3.bucket",
        Key("arn:aws:s3:::{bucket}"),
        &["Name"],
        &[attr(
            "versioning_configuration.status",
            "/versioning_configuration/0/status",
            "/Versioning/Status",
            Plain,
        )],
    ),
    resource(
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws.s3.bucket",
        Key("arn:aws:s3:::{bucket}"),
        &["Name"],
        &[attr(
            "rule.apply_server_side_encryption_by_default.sse_algorithm",
            "/rule/0/apply_server_side_encryption_by_default/0/sse_algorithm",
            "/Encryption/Rules/0/SSEAlgorithm",
            Plain,
        )],
    ),
    resource(
        "aws_s3_bucket_public_access_block",
        "aws.s3.bucket",
        Key("arn:aws:s3:::{bucket}"),
        &["Name"],
        &[
            attr("block_public_acls", "/block_public_acls", "/PublicAccessBlock/BlockPublicAcls", Plain),
            attr(
                "block_public_policy",
                "/block_public_policy",
                "/PublicAccessBlock/BlockPublicPolicy",
                Plain,
            ),
            attr("ignore_public_acls", "/ignore_public_acls", "/PublicAccessBlock/IgnorePublicAcls", Plain),
            attr(
                "restrict_public_buckets",
                "/restrict_public_buckets",
                "/PublicAccessBlock/RestrictPublicBuckets",
                Plain,
            ),
        ],
    ),
    resource(
        "aws_s3_bucket_policy",
        "aws.s3.bucket",
        Key("arn:aws:s3:::{bucket}"),
        &["Name"],
        &[attr("policy", "/policy", "/Policy", Document)],
    ),
    resource(
        "aws_s3_bucket_logging",
        "aws.s3.bucket",
        Key("arn:aws:s3:::{bucket}"),
        &["Name"],
        &[attr("target_bucket", "/target_bucket", "/Logging/TargetBucket", Plain)],
    ),
    settings(
        "aws_s3_account_public_access_block",
        "aws.s3.account",
        &[
            attr("block_public_acls", "/block_public_acls", "/PublicAccessBlock/BlockPublicAcls", Plain),
            attr(
                "block_public_policy",
                "/block_public_policy",
                "/PublicAccessBlock/BlockPublicPolicy",
                Plain,
            ),
            attr("ignore_public_acls", "/ignore_public_acls", "/PublicAccessBlock/IgnorePublicAcls", Plain),
            attr(
                "restrict_public_buckets",
                "/restrict_public_buckets",
                "/PublicAccessBlock/RestrictPublicBuckets",
                Plain,
            ),
        ],
    ),
    resource(
        "aws_iam_user",
        "aws.iam.user",
        Arn,
        &["UserName"],
        &[attr("path", "/path", "/Path", Plain), TAGS],
    ),
    resource("aws_iam_group", "aws.iam.group", Arn, &["GroupName"], &[attr("path", "/path", "/Path", Plain)]),
    resource(
        "aws_iam_role",
        "aws.iam.role",
        Arn,
        &["RoleName"],
        &[
            attr("assume_role_policy", "/assume_role_policy", "/AssumeRolePolicyDocument", Document),
            attr("max_session_duration", "/max_session_duration", "/MaxSessionDuration", Plain),
            attr("path", "/path", "/Path", Plain),
            TAGS,
        ],
    ),
    resource(
        "aws_iam_policy",
        "aws.iam.policy",
        Arn,
        &["Arn"],
        &[attr("policy", "/policy", "/Document", Document), attr("path", "/path", "/Path", Plain)],
    ),
    settings(
        "aws_iam_account_password_policy",
        "aws.iam.account",
        &[
            attr(
                "minimum_password_length",
                "/minimum_password_length",
                "/PasswordPolicy/MinimumPasswordLength",
                Plain,
            ),
            attr(
                "password_reuse_prevention",
                "/password_reuse_prevention",
                "/PasswordPolicy/PasswordReusePrevention",
                Plain,
            ),
            attr("require_symbols", "/require_symbols", "/PasswordPolicy/RequireSymbols", Plain),
            attr("require_numbers", "/require_numbers", "/PasswordPolicy/RequireNumbers", Plain),
            attr(
                "require_uppercase_characters",
                "/require_uppercase_characters",
                "/PasswordPolicy/RequireUppercaseCharacters",
                Plain,
            ),
            attr(
                "require_lowercase_characters",
                "/require_lowercase_characters",
                "/PasswordPolicy/RequireLowercaseCharacters",
                Plain,
            ),
        ],
    ),
    resource(
        "aws_kms_key",
        "aws.kms.key",
        Arn,
        &["KeyId"],
        &[
            attr("enable_key_rotation", "/enable_key_rotation", "/KeyRotationEnabled", Plain),
            attr("description", "/description", "/Description", Plain),
            attr("is_enabled", "/is_enabled", "/Enabled", Plain),
        ],
    ),
    resource(
        "aws_cloudtrail",
        "aws.cloudtrail.trail",
        Arn,
        &["Name"],
        &[
            attr("is_multi_region_trail", "/is_multi_region_trail", "/IsMultiRegionTrail", Plain),
            attr(
                "enable_log_file_validation",
                "/enable_log_file_validation",
                "/LogFileValidationEnabled",
                Plain,
            ),
            attr(
                "include_global_service_events",
                "/include_global_service_events",
                "/IncludeGlobalServiceEvents",
                Plain,
            ),
            attr("kms_key_id", "/kms_key_id", "/KmsKeyId", Plain),
        ],
    ),
    resource(
        "aws_cloudwatch_log_metric_filter",
        "aws.logs.metric_filter",
        Id(&["log_group_name", "name"]),
        &["LogGroupName", "FilterName"],
        &[attr("pattern", "/pattern", "/FilterPattern", Plain)],
    ),
    resource(
        "aws_cloudwatch_metric_alarm",
        "aws.cloudwatch.alarm",
        Arn,
        &["AlarmName"],
        &[
            attr("metric_name", "/metric_name", "/MetricName", Plain),
            attr("namespace", "/namespace", "/Namespace", Plain),
            attr("threshold", "/threshold", "/Threshold", Plain),
            attr("comparison_operator", "/comparison_operator", "/ComparisonOperator", Plain),
            attr("alarm_actions", "/alarm_actions", "/AlarmActions", Set),
        ],
    ),
    resource("aws_sns_topic", "aws.sns.topic", Arn, &["TopicArn"], &[]),
    settings("aws_config_configuration_recorder", "aws.config.region", &[]),
    settings("aws_config_delivery_channel", "aws.config.region", &[]),
    resource(
        "aws_db_instance",
        "aws.rds.instance",
        Arn,
        &["DBInstanceIdentifier"],
        &[
            attr("instance_class", "/instance_class", "/DBInstanceClass", Plain),
            attr("engine", "/engine", "/Engine", Plain),
            attr("storage_encrypted", "/storage_encrypted", "/StorageEncrypted", Plain),
            attr("publicly_accessible", "/publicly_accessible", "/PubliclyAccessible", Plain),
            attr("multi_az", "/multi_az", "/MultiAZ", Plain),
            attr(
                "auto_minor_version_upgrade",
                "/auto_minor_version_upgrade",
                "/AutoMinorVersionUpgrade",
                Plain,
            ),
        ],
    ),
    resource(
        "aws_efs_file_system",
        "aws.efs.file_system",
        Arn,
        &["FileSystemId"],
        &[attr("encrypted", "/encrypted", "/Encrypted", Plain)],
    ),
    resource(
        "aws_ecr_repository",
        "aws.ecr.repository",
        Arn,
        &["RepositoryName"],
        &[
            attr("image_tag_mutability", "/image_tag_mutability", "/ImageTagMutability", Plain),
            attr(
                "image_scanning_configuration.scan_on_push",
                "/image_scanning_configuration/0/scan_on_push",
                "/ScanOnPush",
                Plain,
            ),
        ],
    ),
    settings("aws_accessanalyzer_analyzer", "aws.accessanalyzer.region", &[]),
    settings("aws_securityhub_account", "aws.securityhub.region", &[]),
    settings("aws_account_alternate_contact", "aws.account.account", &[]),
];

/// The entry of a Terraform type.
pub fn by_terraform(terraform_type: &str) -> Option<&'static TypeMap> {
    TYPES.iter().find(|t| t.terraform == terraform_type)
}

/// The main entry of a collected type.
pub fn by_live(live_type: &str) -> Option<&'static TypeMap> {
    TYPES.iter().find(|t| t.live == live_type)
}

/// Why a live resource of this type is normally not managed by code (it comes with the
/// account or is owned by AWS), or `None`.
pub fn normally_unmanaged(live_type: &str, attributes: &Value) -> Option<&'static str> {
    let is = |pointer: &str, expected: Value| attributes.pointer(pointer) == Some(&expected);
    let found = match live_type {
        "aws.ec2.vpc" if is("/IsDefault", Value::Bool(true)) => "the default VPC",
        "aws.ec2.subnet" if is("/DefaultForAz", Value::Bool(true)) => "a default subnet",
        "aws.ec2.network_acl" if is("/IsDefault", Value::Bool(true)) => "a default network ACL",
        "aws.ec2.security_group" if is("/GroupName", Value::from("default")) => "a default security group",
        "aws.ec2.route_table" if main_route_table(attributes) => "a main route table",
        "aws.iam.role" if starts_with(attributes, "/Path", "/aws-service-role/") => "a service-linked role",
        "aws.iam.policy" if is("/AwsManaged", Value::Bool(true)) => "an AWS managed policy",
        "aws.kms.key" if is("/KeyManager", Value::from("AWS")) => "an AWS managed key",
        _ => return None,
    };
    Some(found)
}

fn starts_with(attributes: &Value, pointer: &str, prefix: &str) -> bool {
    attributes.pointer(pointer).and_then(Value::as_str).is_some_and(|v| v.starts_with(prefix))
}

fn main_route_table(attributes: &Value) -> bool {
    attributes
        .pointer("/Associations")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|a| a.get("Main") == Some(&Value::Bool(true))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_terraform_type_is_mapped_once() {
        let mut seen = std::collections::HashSet::new();
        for entry in TYPES {
            assert!(seen.insert(entry.terraform), "{} twice", entry.terraform);
            assert!(entry.live.starts_with("aws."), "{}", entry.live);
            if let Identity::Key(template) = entry.identity {
                assert!(template.contains('{'), "{template}");
            }
        }
    }

    #[test]
    fn main_entries_name_an_id() {
        for entry in TYPES.iter().filter(|t| !t.settings) {
            let main = by_live(entry.live).unwrap();
            assert!(!main.live_id.is_empty(), "{}", entry.terraform);
        }
    }

    #[test]
    fn defaults_and_aws_owned_resources_are_recognised() {
        assert!(normally_unmanaged("aws.ec2.vpc", &json!({"IsDefault": true})).is_some());
        assert!(normally_unmanaged("aws.ec2.vpc", &json!({"IsDefault": false})).is_none());
        assert!(normally_unmanaged("aws.iam.role", &json!({"Path": "/aws-service-role/x/"})).is_some());
        assert!(normally_unmanaged("aws.kms.key", &json!({"KeyManager": "CUSTOMER"})).is_none());
        assert!(
            normally_unmanaged("aws.ec2.route_table", &json!({"Associations": [{"Main": true}]})).is_some()
        );
        assert!(normally_unmanaged("aws.s3.bucket", &json!({})).is_none());
    }
}
