"""Accounts for plumb's AWS tests, created with boto3 against the in-process moto server.

`account` builds an account with compliant and non-compliant resources for each area of the
CIS AWS Foundations Benchmark v1.5, in two regions, tagged and untagged. `change` then changes
one resource, deletes one and adds one, for re-sync tests. Credentials that must look old are
back-dated in moto's backend (moto stamps everything with the current time).
"""

import json
from datetime import datetime, timedelta, timezone

import boto3
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1"]
NOW = datetime.now(timezone.utc)


SECOND_ACCOUNT = "444455556666"


def client(endpoint, service, region="us-east-1", key="testing"):
    """A boto3 client; `key="plumb-second"` acts in the second account (see launcher.py)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key="testing",
    )


def tags(**pairs):
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def account(endpoint):
    iam(endpoint)
    s3(endpoint)
    for region in REGIONS:
        ec2(endpoint, region)
    logging_and_monitoring(endpoint)
    kms(endpoint)
    config(endpoint)
    rds_and_efs(endpoint)
    client(endpoint, "ecr").create_repository(repositoryName="web", imageScanningConfiguration={"scanOnPush": True})
    client(endpoint, "account").put_alternate_contact(
        AlternateContactType="SECURITY",
        EmailAddress="security@example.com",
        Name="Security team",
        PhoneNumber="+4512345678",
        Title="Security",
    )
    client(endpoint, "securityhub").enable_security_hub()


def iam(endpoint):
    c = client(endpoint, "iam")
    # CIS 1.8/1.9: too short, no reuse prevention.
    c.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=True)

    c.create_group(GroupName="admins")
    c.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    # alice: console user with MFA, permissions through a group only, one recent key.
    c.create_user(UserName="alice", Tags=tags(Team="platform"))
    c.create_login_profile(UserName="alice", Password="correct-horse-battery-staple-1!")
    c.add_user_to_group(GroupName="admins", UserName="alice")
    device = c.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    c.enable_mfa_device(
        UserName="alice", SerialNumber=device["SerialNumber"], AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    c.create_access_key(UserName="alice")

    # bob: console user without MFA, two active keys (one old, never used), policies attached
    # to the user directly.
    c.create_user(UserName="bob")
    c.create_login_profile(UserName="bob", Password="Tr0ub4dor&3-longer-password")
    c.create_access_key(UserName="bob")
    c.create_access_key(UserName="bob")
    c.attach_user_policy(UserName="bob", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    c.put_user_policy(
        UserName="bob",
        PolicyName="inline-s3",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )

    # ci: programmatic user whose only key is old and unused.
    c.create_user(UserName="ci")
    c.create_access_key(UserName="ci")

    # A customer managed policy granting *:*, attached to a role (CIS 1.16).
    policy = c.create_policy(
        PolicyName="full-admin",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )["Policy"]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
    )
    c.create_role(RoleName="breakglass", AssumeRolePolicyDocument=trust, Tags=tags(Environment="prod"))
    c.attach_role_policy(RoleName="breakglass", PolicyArn=policy["Arn"])
    # A role for AWS Support (CIS 1.17).
    c.create_role(RoleName="support", AssumeRolePolicyDocument=trust)
    c.attach_role_policy(RoleName="support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    c.create_instance_profile(InstanceProfileName="web")
    c.add_role_to_instance_profile(InstanceProfileName="web", RoleName="support")

    backend = iam_backends[ACCOUNT]["global"]
    old = NOW - timedelta(days=120)
    for key in backend.users["bob"].access_keys[:1]:
        key.create_date = old
    for key in backend.users["ci"].access_keys:
        key.create_date = old
    backend.users["alice"].password_last_used = NOW - timedelta(days=2)
    backend.users["bob"].password_last_used = NOW - timedelta(days=60)


def s3(endpoint):
    c = client(endpoint, "s3")
    # Compliant: encrypted, versioned with MFA delete, TLS-only policy, public access blocked,
    # access logged.
    c.create_bucket(Bucket="plumb-audit-logs")
    c.put_bucket_encryption(
        Bucket="plumb-audit-logs",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
    )
    c.put_bucket_versioning(Bucket="plumb-audit-logs", VersioningConfiguration={"Status": "Enabled"})
    s3_backends[ACCOUNT]["aws"].get_bucket("plumb-audit-logs").plumb_mfa_delete = "Enabled"
    c.put_bucket_policy(
        Bucket="plumb-audit-logs",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::plumb-audit-logs", "arn:aws:s3:::plumb-audit-logs/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    c.put_public_access_block(
        Bucket="plumb-audit-logs",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    c.create_bucket(Bucket="plumb-access-logs")
    c.put_bucket_acl(Bucket="plumb-access-logs", ACL="log-delivery-write")
    c.put_bucket_logging(
        Bucket="plumb-audit-logs",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "plumb-access-logs", "TargetPrefix": "audit/"}},
    )
    c.put_bucket_tagging(
        Bucket="plumb-audit-logs", Tagging={"TagSet": tags(Environment="prod", Owner="dev@example.com")}
    )

    # Non-compliant, in another region: public ACL, no policy, no versioning.
    c.create_bucket(Bucket="plumb-public-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client(endpoint, "s3", "eu-west-1").put_bucket_acl(Bucket="plumb-public-data", ACL="public-read")
    c.put_bucket_tagging(
        Bucket="plumb-public-data", Tagging={"TagSet": tags(Environment="staging", Owner="data@example.com")}
    )

    # Short-lived scratch space (the re-sync test deletes it).
    c.create_bucket(Bucket="plumb-scratch")

    # The CloudTrail bucket, readable by anyone through its policy (CIS 3.3), not logged (3.6).
    c.create_bucket(Bucket="plumb-cloudtrail")
    c.put_bucket_policy(
        Bucket="plumb-cloudtrail",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::plumb-cloudtrail/*"}
                ],
            }
        ),
    )


def ec2(endpoint, region):
    c = client(endpoint, "ec2", region)
    if region == "eu-west-1":
        c.enable_ebs_encryption_by_default()
    vpc = c.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags(Name=f"main-{region}", Environment="prod")}])["Vpc"]
    subnet = c.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.10.1.0/24")["Subnet"]
    if region == "us-east-1":
        c.create_flow_logs(
            ResourceIds=[vpc["VpcId"]],
            ResourceType="VPC",
            TrafficType="REJECT",
            LogDestinationType="cloud-watch-logs",
            LogGroupName="vpc-flow-logs",
            DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs",
        )
    ssh = c.create_security_group(GroupName="ssh-from-anywhere", Description="bad", VpcId=vpc["VpcId"])["GroupId"]
    c.authorize_security_group_ingress(
        GroupId=ssh, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    rdp = c.create_security_group(GroupName="rdp-from-ipv6", Description="bad", VpcId=vpc["VpcId"])["GroupId"]
    c.authorize_security_group_ingress(
        GroupId=rdp,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    )
    web = c.create_security_group(GroupName="web", Description="https only", VpcId=vpc["VpcId"])["GroupId"]
    c.authorize_security_group_ingress(
        GroupId=web, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    acl = c.create_network_acl(VpcId=vpc["VpcId"])["NetworkAcl"]["NetworkAclId"]
    c.create_network_acl_entry(
        NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0", PortRange={"From": 22, "To": 22}
    )
    if region == "us-east-1":
        c.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet["SubnetId"],
            SecurityGroupIds=[web],
            IamInstanceProfile={"Name": "web"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags(Name="web-1", Environment="prod", Owner="dev@example.com")}],
        )
        c.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet["SubnetId"])
        c.create_volume(AvailabilityZone=f"{region}a", Size=10, Encrypted=False, TagSpecifications=[{"ResourceType": "volume", "Tags": tags(Name="scratch")}])
        c.create_volume(AvailabilityZone=f"{region}a", Size=10, Encrypted=True)


def logging_and_monitoring(endpoint):
    logs = client(endpoint, "logs")
    logs.create_log_group(logGroupName="cloudtrail")
    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:cloudtrail:*"
    trail = client(endpoint, "cloudtrail")
    trail.create_trail(
        Name="org-trail",
        S3BucketName="plumb-cloudtrail",
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        CloudWatchLogsLogGroupArn=group_arn,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cloudtrail",
        KmsKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000",
    )
    trail.start_logging(Name="org-trail")
    # Management events read and write (CIS 3.1); S3 data events for writes only (3.10 passes,
    # 3.11 fails).
    trail.put_event_selectors(
        TrailName="org-trail",
        EventSelectors=[
            {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []},
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            },
        ],
    )
    # A second, single-region trail that does not validate its log files (CIS 3.2).
    trail.create_trail(Name="local-trail", S3BucketName="plumb-cloudtrail")

    sns = client(endpoint, "sns")
    topic = sns.create_topic(Name="security-alarms")["TopicArn"]
    sqs = client(endpoint, "sqs")
    queue = sqs.create_queue(QueueName="alarms")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    cloudwatch = client(endpoint, "cloudwatch")
    patterns = {
        # CIS 4.1 and 4.3 are monitored; the other 4.x are not.
        "UnauthorizedAPICalls": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
        "RootUsage": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    }
    for name, pattern in patterns.items():
        logs.put_metric_filter(
            logGroupName="cloudtrail",
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[{"metricName": name, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
        )
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName=name,
            Namespace="CISBenchmark",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic],
        )


def kms(endpoint):
    c = client(endpoint, "kms")
    rotated = c.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    c.enable_key_rotation(KeyId=rotated)
    c.create_key(Description="not rotated", Tags=[{"TagKey": "Environment", "TagValue": "prod"}])


def config(endpoint):
    c = client(endpoint, "config")
    c.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    c.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "plumb-audit-logs"})
    c.start_configuration_recorder(ConfigurationRecorderName="default")


def rds_and_efs(endpoint):
    rds = client(endpoint, "rds", "eu-west-1")
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="secret-password-1",
        AllocatedStorage=20,
        StorageEncrypted=False,
        AutoMinorVersionUpgrade=False,
        PubliclyAccessible=True,
        Tags=tags(Environment="prod"),
    )
    efs = client(endpoint, "efs", "eu-west-1")
    efs.create_file_system(CreationToken="shared", Encrypted=False, Tags=tags(Name="shared"))


def second_account(endpoint):
    """A second account with its own password policy (12 characters) and a user, and in the
    first account a metric filter in eu-west-1 named as the one in us-east-1 but with another
    pattern: documents that only their account and region tell apart."""
    iam = client(endpoint, "iam", key="plumb-second")
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True)
    iam.create_user(UserName="eve")
    logs = client(endpoint, "logs", "eu-west-1")
    logs.create_log_group(logGroupName="cloudtrail")
    logs.put_metric_filter(
        logGroupName="cloudtrail",
        filterName="RootUsage",
        filterPattern='{ $.userIdentity.type = "Root" }',
        metricTransformations=[{"metricName": "RootUsage", "metricNamespace": "CISBenchmark", "metricValue": "1"}],
    )


def ghost(endpoint):
    """A user for the `ghost-user` fault: listed, then gone when read."""
    client(endpoint, "iam").create_user(UserName="ghost")


def change(endpoint):
    """One resource changes, one goes away, one arrives."""
    c = client(endpoint, "ec2", "us-east-1")
    groups = c.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"]
    c.authorize_security_group_ingress(
        GroupId=groups[0]["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    s3 = client(endpoint, "s3")
    s3.delete_bucket_policy(Bucket="plumb-cloudtrail")
    s3.delete_bucket(Bucket="plumb-scratch")
    client(endpoint, "iam").create_user(UserName="dara", Tags=tags(Owner="dara@example.com"))


def tfstate(endpoint):
    """A Terraform state in S3 that manages one live bucket and one bucket that does not exist."""

    def bucket(name, address):
        return {
            "mode": "managed",
            "type": "aws_s3_bucket",
            "name": address,
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {
                    "schema_version": 0,
                    "attributes": {"id": name, "bucket": name, "arn": f"arn:aws:s3:::{name}", "tags": {"Environment": "prod"}},
                }
            ],
        }

    state = {
        "version": 4,
        "terraform_version": "1.9.0",
        "serial": 3,
        "lineage": "7c1d7c7e-0000-4000-8000-000000000000",
        "outputs": {},
        "resources": [bucket("plumb-audit-logs", "audit"), bucket("plumb-gone", "gone")],
    }
    c = client(endpoint, "s3")
    c.create_bucket(Bucket="plumb-tf-state")
    c.put_object(Bucket="plumb-tf-state", Key="prod/terraform.tfstate", Body=json.dumps(state).encode())


def drift(endpoint):
    """A Terraform state in S3 (`plumb-tf-state/drift.tfstate`) that manages part of the
    `account` seed: web-1 (declared t3.small, live t3.micro), ssh-from-anywhere in us-east-1
    (declared open to 10.0.0.0/8 only), plumb-audit-logs with its versioning (as live),
    plumb-public-data's public access block (declared, none live), the full-admin policy (the
    live document, written differently), the main VPC of us-east-1, and plumb-gone (not live)."""
    ec2 = client(endpoint, "ec2", "us-east-1")
    web = next(
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if {"Key": "Name", "Value": "web-1"} in i.get("Tags", [])
    )
    groups = {g["GroupName"]: g for g in ec2.describe_security_groups()["SecurityGroups"]}
    vpc = next(v for v in ec2.describe_vpcs()["Vpcs"] if {"Key": "Name", "Value": "main-us-east-1"} in v.get("Tags", []))
    ssh = groups["ssh-from-anywhere"]
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/full-admin"

    def resource(tf_type, name, attributes, index_key=None):
        instance = {"schema_version": 0, "attributes": attributes}
        if index_key is not None:
            instance["index_key"] = index_key
        return {
            "mode": "managed",
            "type": tf_type,
            "name": name,
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [instance],
        }

    def region_arn(kind, id):
        return f"arn:aws:ec2:us-east-1:{ACCOUNT}:{kind}/{id}"

    resources = [
        resource(
            "aws_instance",
            "web",
            {
                "id": web["InstanceId"],
                "arn": region_arn("instance", web["InstanceId"]),
                "instance_type": "t3.small",
                "ami": "ami-12c6146b",
                "tags": {"Name": "web-1", "Environment": "prod", "Owner": "dev@example.com"},
            },
        ),
        resource(
            "aws_security_group",
            "ssh",
            {
                "id": ssh["GroupId"],
                "arn": region_arn("security-group", ssh["GroupId"]),
                "name": "ssh-from-anywhere",
                "vpc_id": vpc["VpcId"],
                "ingress": [
                    {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/8"], "ipv6_cidr_blocks": [], "security_groups": [], "self": False}
                ],
                "egress": [
                    {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": [], "security_groups": [], "self": False}
                ],
            },
        ),
        resource("aws_vpc", "main", {"id": vpc["VpcId"], "arn": region_arn("vpc", vpc["VpcId"]), "cidr_block": "10.10.0.0/16", "tags": {"Name": "main-us-east-1", "Environment": "prod"}}),
        resource(
            "aws_s3_bucket",
            "buckets",
            {"id": "plumb-audit-logs", "bucket": "plumb-audit-logs", "arn": "arn:aws:s3:::plumb-audit-logs", "tags": {"Environment": "prod", "Owner": "dev@example.com"}},
            index_key="audit",
        ),
        resource("aws_s3_bucket_versioning", "audit", {"id": "plumb-audit-logs", "bucket": "plumb-audit-logs", "versioning_configuration": [{"status": "Enabled", "mfa_delete": "Enabled"}]}),
        resource(
            "aws_s3_bucket_public_access_block",
            "public",
            {"id": "plumb-public-data", "bucket": "plumb-public-data", "block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True, "restrict_public_buckets": True},
        ),
        resource(
            "aws_iam_policy",
            "full_admin",
            {
                "id": policy_arn,
                "arn": policy_arn,
                "name": "full-admin",
                "path": "/",
                "policy": '{\n  "Statement": [\n    {"Resource": "*", "Action": ["*"], "Effect": "Allow"}\n  ],\n  "Version": "2012-10-17"\n}',
            },
        ),
        resource("aws_s3_bucket", "gone", {"id": "plumb-gone", "bucket": "plumb-gone", "arn": "arn:aws:s3:::plumb-gone", "tags": {"Environment": "prod"}}),
        resource("aws_lambda_function", "worker", {"id": "worker", "function_name": "worker"}),
    ]
    state = {"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "d41f0000-0000-4000-8000-000000000001", "outputs": {}, "resources": resources}
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="plumb-tf-state")
    s3.put_object(Bucket="plumb-tf-state", Key="drift.tfstate", Body=json.dumps(state).encode())


def crypto_erase(endpoint):
    """An EBS volume encrypted with its own KMS key, to be crypto-erased (Name=to-erase)."""
    key = client(endpoint, "kms").create_key(Description="volume key")["KeyMetadata"]["Arn"]
    client(endpoint, "ec2").create_volume(
        AvailabilityZone="us-east-1a",
        Size=10,
        Encrypted=True,
        KmsKeyId=key,
        TagSpecifications=[{"ResourceType": "volume", "Tags": tags(Name="to-erase")}],
    )


def crypto_erased(endpoint):
    """The volume of `crypto_erase` deleted and its key scheduled for deletion."""
    ec2 = client(endpoint, "ec2")
    volumes = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["to-erase"]}])["Volumes"]
    ec2.delete_volume(VolumeId=volumes[0]["VolumeId"])
    key_id = volumes[0]["KmsKeyId"].rsplit("/", 1)[-1]  # moto takes the id, not the ARN
    client(endpoint, "kms").schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
