use serde_json::json;

use super::*;
use crate::coverage::{Freshness, ScopeStatus};
use crate::model::{AssetId, Kind, Status};
use crate::secrets::Sealer;

const ACCOUNT: &str = "111122223333";
const NOW: &str = "2026-12-02T12:00:00Z";

/// Scopes collected completely just now.
fn complete(scopes: &[&str]) -> Coverage {
    let now: Timestamp = NOW.parse().unwrap();
    let statuses: Vec<ScopeStatus> = scopes
        .iter()
        .map(|s| ScopeStatus::complete(crate::scope::ScopeId::parse(s), "aws", now, "run"))
        .collect();
    Coverage::new(&statuses, now, Freshness::default())
}

/// The test account's scopes, all collected completely.
fn synced() -> Coverage {
    complete(&[
        "aws:111122223333:eu-west-1:ec2",
        "aws:111122223333:eu-west-1:logs",
        "aws:111122223333:global:s3",
        "aws:111122223333:global:iam",
    ])
}

/// The scope a collected document of this type is in, in the test account.
fn scope_of(asset_type: &str) -> String {
    let service = asset_type.split('.').nth(1).unwrap();
    let place = if ["s3", "iam"].contains(&service) { "global" } else { "eu-west-1" };
    format!("aws:{ACCOUNT}:{place}:{service}")
}

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
        scope: Some(scope_of(asset_type)),
        absent_since: None,
        provenance: Default::default(),
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
        provider: "provider[\"registry.terraform.io/hashicorp/aws\"]".into(),
        terraform_type: terraform_type.to_owned(),
        values,
        environment: Some("production".to_owned()),
        scope: None,
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
    scan_with(synced(), ignore, live_assets, state)
}

fn scan_with(coverage: Coverage, ignore: &str, live_assets: &[Asset], state: &[Managed]) -> DriftReport {
    let mut detector =
        Detector::new(IgnoreRules::parse(ignore).unwrap(), None, coverage, "aws", Sealer::new(b"k"));
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
        "aws:111122223333:global:iam-account",
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
    let mut detector = Detector::new(
        IgnoreRules::default(),
        Some("production".to_owned()),
        synced(),
        "aws",
        Sealer::new(b"k"),
    );
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

#[test]
fn what_was_not_collected_completely_is_not_compared() {
    let now: Timestamp = NOW.parse().unwrap();
    let ec2 =
        ScopeStatus::complete(crate::scope::ScopeId::parse(&scope_of("aws.ec2.instance")), "aws", now, "r");
    let failed = ec2.failed(now, "r2", "ec2:DescribeInstances: timed out");
    let coverage = Coverage::new(&[failed], now, Freshness::default());
    // i-1 matched (changed, were it compared), i-2 live only (unmanaged), i-3 in the state only
    // (missing); the bucket's scope was never collected at all.
    let report = scan_with(
        coverage,
        "",
        &[instance("i-1", "t3.large", &[]), instance("i-2", "t3.micro", &[])],
        &[
            tf_instance("i-1", "t3.micro", json!({})),
            tf_instance("i-3", "t3.micro", json!({})),
            managed("aws_s3_bucket", "aws_s3_bucket.logs", json!({"id": "logs", "bucket": "logs"})),
        ],
    );
    assert_eq!(summary(&report), [], "nothing is judged on a failed or never-collected scope");
    assert!(!report.complete());
    assert_eq!(report.totals.not_comparable, 4);
    let scopes: Vec<(&str, u64)> =
        report.not_comparable.iter().map(|n| (n.scope.as_str(), n.resources)).collect();
    assert_eq!(scopes, [("aws:111122223333:eu-west-1:ec2", 3), ("aws:111122223333:eu-west-1:s3", 1)]);
    assert!(report.not_comparable[0].reason.contains("failed at"), "{:?}", report.not_comparable);
    assert!(report.not_comparable[1].reason.contains("never collected"), "{:?}", report.not_comparable);
    let unjudged: Vec<&str> = report.unjudged.keys().map(String::as_str).collect();
    assert_eq!(
        unjudged,
        [
            format!("arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1").as_str(),
            format!("arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-2").as_str(),
            "terraform:prod.tfstate:aws_instance.i-1",
            "terraform:prod.tfstate:aws_instance.i-3",
            "terraform:prod.tfstate:aws_s3_bucket.logs",
        ]
    );
}

#[test]
fn a_stale_synced_state_is_not_compared_either() {
    let now: Timestamp = NOW.parse().unwrap();
    let old: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    let mut statuses = vec![ScopeStatus::complete(
        crate::scope::ScopeId::parse("terraform:prod.tfstate"),
        "terraform prod.tfstate",
        old,
        "r",
    )];
    statuses.push(ScopeStatus::complete(
        crate::scope::ScopeId::parse(&scope_of("aws.ec2.instance")),
        "aws",
        now,
        "r",
    ));
    let mut stale = tf_instance("i-1", "t3.micro", json!({}));
    stale.scope = Some("terraform:prod.tfstate".to_owned());
    let report = scan_with(
        Coverage::new(&statuses, now, Freshness::default()),
        "",
        &[instance("i-1", "t3.large", &[])],
        &[stale],
    );
    assert_eq!(summary(&report), []);
    assert_eq!(report.not_comparable[0].scope, "terraform:prod.tfstate");
    assert!(report.not_comparable[0].reason.contains("stale"), "{:?}", report.not_comparable);
}

/// The same metric filter and password policy in two accounts and two regions: each state
/// resource is compared with its own, found through what its provider's other resources say.
#[test]
fn documents_of_several_accounts_and_regions_are_told_apart() {
    let other = "444455556666";
    let filter = |account: &str, region: &str, pattern: &str| {
        let mut asset = live(
            "aws.logs.metric_filter",
            &format!("arn:aws:logs:{region}:{account}:log-group:trail:metric-filter:root"),
            json!({"LogGroupName": "trail", "FilterName": "root", "FilterPattern": pattern}),
            &[],
        );
        asset.scope = Some(format!("aws:{account}:{region}:logs"));
        asset
    };
    let password = |account: &str, length: u64| {
        let mut asset = live(
            "aws.iam.account",
            &format!("aws:{account}:global:iam-account"),
            json!({"PasswordPolicy": {"MinimumPasswordLength": length}}),
            &[],
        );
        asset.scope = Some(format!("aws:{account}:global:iam"));
        asset
    };
    let live_assets = [
        filter(ACCOUNT, "eu-west-1", "{ $.a = 1 }"),
        filter(ACCOUNT, "us-east-1", "{ $.a = 2 }"),
        filter(other, "eu-west-1", "{ $.a = 3 }"),
        password(ACCOUNT, 14),
        password(other, 8),
    ];
    // A state whose provider is in `other`, eu-west-1 (its log group's ARN says so).
    let in_other = |terraform_type: &str, address: &str, values: Value| {
        let mut m = managed(terraform_type, address, values);
        m.state = "other.tfstate".to_owned();
        m
    };
    let state = [
        in_other(
            "aws_cloudwatch_log_metric_filter",
            "aws_cloudwatch_log_metric_filter.root",
            json!({"id": "root", "name": "root", "log_group_name": "trail", "pattern": "{ $.a = 3 }"}),
        ),
        in_other(
            "aws_iam_account_password_policy",
            "aws_iam_account_password_policy.this",
            json!({"id": "iam-account-password-policy", "minimum_password_length": 14}),
        ),
        in_other(
            "aws_cloudwatch_log_group",
            "aws_cloudwatch_log_group.trail",
            json!({"id": "trail", "arn": format!("arn:aws:logs:eu-west-1:{other}:log-group:trail")}),
        ),
    ];
    let coverage = complete(&[
        &format!("aws:{ACCOUNT}:eu-west-1:logs"),
        &format!("aws:{ACCOUNT}:us-east-1:logs"),
        &format!("aws:{other}:eu-west-1:logs"),
        &format!("aws:{ACCOUNT}:global:iam"),
        &format!("aws:{other}:global:iam"),
    ]);
    let report = scan_with(coverage.clone(), "", &live_assets, &state);
    let changed: Vec<(&str, &str)> = report
        .items
        .iter()
        .filter(|i| i.kind == DriftKind::Changed)
        .map(|i| (i.key.as_str(), i.changes[0].attribute.as_str()))
        .collect();
    assert_eq!(changed, [(format!("aws:{other}:global:iam-account").as_str(), "minimum_password_length")]);
    // The filters of the first account are no state's.
    let unmanaged: Vec<&str> =
        report.items.iter().filter(|i| i.kind == DriftKind::Unmanaged).map(|i| i.key.as_str()).collect();
    assert_eq!(
        unmanaged,
        [
            format!("arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:trail:metric-filter:root").as_str(),
            format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail:metric-filter:root").as_str(),
        ]
    );
    assert!(report.complete(), "{:?}", report.not_comparable);

    // Without anything saying where its provider is, the filter is ambiguous: not compared,
    // and never matched with the first filter of that name.
    let report = scan_with(coverage, "", &live_assets, &state[..1]);
    assert_eq!(summary(&report), []);
    assert_eq!(report.not_comparable[0].scope, "ambiguous");
    assert!(
        report.not_comparable[0].reason.starts_with("3 live aws.logs.metric_filter match"),
        "{:?}",
        report.not_comparable
    );
}
