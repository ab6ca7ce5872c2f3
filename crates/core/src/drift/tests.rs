use serde_json::json;

use super::*;
use crate::model::{AssetId, Kind, Status};

const ACCOUNT: &str = "111122223333";

fn live(asset_type: &str, key: &str, attributes: Value, tags: &[(&str, &str)]) -> Asset {
    Asset {
        id: AssetId(ulid::Ulid::nil()),
        key: key.to_owned(),
        name: key.to_owned(),
        kind: Kind::Cloud,
        asset_type: asset_type.to_owned(),
        environment: Some("production".to_owned()),
        owner: None,
        manager: None,
        classification: None,
        location: Some(format!("aws:{ACCOUNT}:eu-west-1")),
        status: Status::Discovered,
        source: "aws".to_owned(),
        financial_ref: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        attributes,
        first_seen: Timestamp::UNIX_EPOCH,
        last_seen: Timestamp::UNIX_EPOCH,
        scope: None,
        absent_since: None,
    }
}

fn instance(id: &str, instance_type: &str, tags: &[(&str, &str)]) -> Asset {
    let key = format!("arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/{id}");
    live("aws.ec2.instance", &key, json!({"InstanceId": id, "InstanceType": instance_type}), tags)
}

fn bucket(name: &str, versioning: &str) -> Asset {
    let key = format!("arn:aws:s3:::{name}");
    live("aws.s3.bucket", &key, json!({"Name": name, "Versioning": {"Status": versioning}}), &[])
}

fn managed(terraform_type: &str, address: &str, values: Value) -> Managed {
    Managed {
        key: format!("terraform:prod.tfstate:{address}"),
        address: address.to_owned(),
        state: "prod.tfstate".to_owned(),
        terraform_type: terraform_type.to_owned(),
        values,
        environment: Some("production".to_owned()),
    }
}

fn tf_instance(id: &str, instance_type: &str, tags: Value) -> Managed {
    let arn = format!("arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/{id}");
    managed(
        "aws_instance",
        &format!("aws_instance.{id}"),
        json!({"id": id, "arn": arn, "instance_type": instance_type, "tags": tags}),
    )
}

fn scan(ignore: &str, live_assets: &[Asset], state: &[Managed]) -> DriftReport {
    let mut detector = Detector::new(IgnoreRules::parse(ignore).unwrap(), None);
    for asset in live_assets {
        assert!(detector.add_live(asset.into()), "{}", asset.asset_type);
    }
    for resource in state {
        detector.add_managed(resource);
    }
    detector.finish()
}

fn summary(report: &DriftReport) -> Vec<(DriftKind, String)> {
    report.items.iter().map(|i| (i.kind, i.id.clone())).collect()
}

#[test]
fn unmanaged_missing_and_changed() {
    let report = scan(
        "",
        &[
            instance("i-1", "t3.micro", &[("Env", "prod")]),
            instance("i-2", "t3.large", &[]),
            bucket("logs", "Enabled"),
        ],
        &[
            tf_instance("i-1", "t3.micro", json!({"Env": "prod"})),
            tf_instance("i-2", "t3.micro", json!({})),
            tf_instance("i-3", "t3.micro", json!({})),
        ],
    );
    assert_eq!(
        summary(&report),
        [
            (DriftKind::Unmanaged, "logs".to_owned()),
            (DriftKind::Missing, "i-3".to_owned()),
            (DriftKind::Changed, "i-2".to_owned()),
        ]
    );
    let changed = &report.items[2];
    assert_eq!(
        changed.changes,
        [Change { attribute: "instance_type".into(), state: json!("t3.micro"), live: json!("t3.large") }]
    );
    assert_eq!(
        changed.message(),
        "aws_instance.i-2 (i-2) differs from its state: instance_type: t3.micro → t3.large"
    );
    assert_eq!(report.items[0].resource_type, "aws_s3_bucket");
    assert_eq!(report.totals.live, 3);
    assert_eq!(report.totals.managed, 2);
    assert_eq!(report.coverage.len(), 2);
    let instances = report.coverage.iter().find(|r| r.resource_type == "aws.ec2.instance").unwrap();
    assert_eq!((instances.managed, instances.live, instances.account.as_str()), (2, 2, ACCOUNT));
}

#[test]
fn separate_terraform_resources_describe_one_bucket() {
    let report = scan(
        "",
        &[bucket("logs", "Suspended")],
        &[
            managed("aws_s3_bucket", "aws_s3_bucket.logs", json!({"id": "logs", "bucket": "logs"})),
            managed(
                "aws_s3_bucket_versioning",
                "aws_s3_bucket_versioning.logs",
                json!({"id": "logs", "bucket": "logs", "versioning_configuration": [{"status": "Enabled"}]}),
            ),
        ],
    );
    assert_eq!(summary(&report), [(DriftKind::Changed, "logs".to_owned())]);
    assert_eq!(report.items[0].addresses, ["aws_s3_bucket_versioning.logs"]);
    assert_eq!(report.totals.managed, 1);
}

#[test]
fn defaults_are_not_unmanaged() {
    let vpc = live(
        "aws.ec2.vpc",
        "arn:aws:ec2:eu-west-1:1:vpc/vpc-1",
        json!({"VpcId": "vpc-1", "IsDefault": true}),
        &[],
    );
    let role = live(
        "aws.iam.role",
        "arn:aws:iam::1:role/aws-service-role/x",
        json!({"RoleName": "x", "Path": "/aws-service-role/"}),
        &[],
    );
    let report = scan("", &[vpc, role], &[]);
    assert!(report.items.is_empty());
    assert_eq!(report.totals.defaults, 2);
    assert_eq!(report.totals.live, 0);
}

#[test]
fn settings_are_compared_but_never_unmanaged() {
    let account = live(
        "aws.iam.account",
        "aws:1:global:iam-account",
        json!({"PasswordPolicy": {"MinimumPasswordLength": 8}}),
        &[],
    );
    let policy = managed(
        "aws_iam_account_password_policy",
        "aws_iam_account_password_policy.this",
        json!({"id": "iam-account-password-policy", "minimum_password_length": 14}),
    );
    assert_eq!(summary(&scan("", std::slice::from_ref(&account), &[])), []);
    let report = scan("", &[account], &[policy]);
    assert_eq!(report.items[0].changes[0].attribute, "minimum_password_length");
}

#[test]
fn the_ignore_file_leaves_out_resources_and_attributes() {
    let live_assets = [
        instance("i-1", "t3.large", &[("Owner", "x")]),
        bucket("logs", "Enabled"),
        bucket("tmp-1", "Enabled"),
    ];
    let state =
        [tf_instance("i-1", "t3.micro", json!({"Owner": "y"})), tf_instance("i-9", "t3.micro", json!({}))];
    let report = scan("aws_s3_bucket.tmp-*\naws_instance.i-1.tags\naws_instance.i-9\n", &live_assets, &state);
    assert_eq!(
        summary(&report),
        [(DriftKind::Unmanaged, "logs".to_owned()), (DriftKind::Changed, "i-1".to_owned())]
    );
    assert_eq!(report.items[1].changes.len(), 1, "only instance_type is left");
    assert_eq!(report.totals.ignored, 3);
}

#[test]
fn metric_filters_are_found_by_log_group_and_name() {
    let filter = live(
        "aws.logs.metric_filter",
        "arn:aws:logs:eu-west-1:1:log-group:trail:metric-filter:root",
        json!({"LogGroupName": "trail", "FilterName": "root", "FilterPattern": "{ $.a = 1 }"}),
        &[],
    );
    let state = managed(
        "aws_cloudwatch_log_metric_filter",
        "aws_cloudwatch_log_metric_filter.root",
        json!({"id": "root", "name": "root", "log_group_name": "trail", "pattern": "{ $.a = 2 }"}),
    );
    let report = scan("", &[filter], &[state]);
    assert_eq!(summary(&report), [(DriftKind::Changed, "trail:root".to_owned())]);
}

#[test]
fn environment_filter_keeps_other_environments_out() {
    let mut staging = instance("i-s", "t3.micro", &[]);
    staging.environment = Some("staging".to_owned());
    let mut detector = Detector::new(IgnoreRules::default(), Some("production".to_owned()));
    detector.add_live((&staging).into());
    detector.add_live((&instance("i-p", "t3.micro", &[])).into());
    let mut other = tf_instance("i-s", "t3.large", json!({}));
    other.environment = Some("staging".to_owned());
    detector.add_managed(&other);
    let report = detector.finish();
    assert_eq!(summary(&report), [(DriftKind::Unmanaged, "i-p".to_owned())]);
    assert_eq!(report.totals.live, 1);
}

#[test]
fn unknown_terraform_types_are_counted_not_compared() {
    let report =
        scan("", &[], &[managed("aws_lambda_function", "aws_lambda_function.f", json!({"id": "f"}))]);
    assert!(report.items.is_empty());
    assert_eq!(report.unsupported_types.get("aws_lambda_function"), Some(&1));
}

#[test]
fn items_become_findings_of_cfg_02() {
    let report = scan("", &[bucket("logs", "Enabled")], &[]);
    let finding = report.items[0].finding(Timestamp::UNIX_EPOCH);
    assert_eq!(finding.check, "drift/unmanaged");
    assert_eq!(finding.key, "arn:aws:s3:::logs");
    assert_eq!(finding.controls, ["CFG-02"]);
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.evidence["type"], "aws_s3_bucket");
}
