//! EC2 (regional): instances, EBS volumes and the region's EBS default encryption, security
//! groups, VPCs with their flow logs, subnets, network ACLs, flow logs, route tables and VPC
//! peering connections.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{IpPermission, Tag};
use serde_json::{Value, json};

use super::support::{AwsError, Ctx, Spec, failed, text, time};
use crate::Emitter;

const SERVICE: &str = "ec2";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    region_settings(ctx, &client, out).await?;
    instances(ctx, &client, out).await?;
    volumes(ctx, &client, out).await?;
    security_groups(ctx, &client, out).await?;
    let flow_logs = flow_logs(ctx, &client, out).await?;
    vpcs(ctx, &client, out, &flow_logs).await?;
    subnets(ctx, &client, out).await?;
    network_acls(ctx, &client, out).await?;
    route_tables(ctx, &client, out).await?;
    peerings(ctx, &client, out).await
}

fn arn(ctx: &Ctx, kind: &str, id: &str) -> String {
    format!("arn:aws:ec2:{}:{}:{kind}/{id}", ctx.region(), ctx.account)
}

fn tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

fn spec(
    ctx: &Ctx,
    kind: &'static str,
    arn_kind: &str,
    id: &str,
    tag_list: &[Tag],
    attributes: Value,
) -> Spec {
    let tags = tags(tag_list);
    Spec {
        kind,
        id: id.to_owned(),
        arn: Some(arn(ctx, arn_kind, id)),
        name: tags.get("Name").cloned(),
        tags,
        attributes,
        ..Spec::default()
    }
}

async fn region_settings(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let ebs = client
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|e| failed("ec2:GetEbsEncryptionByDefault", e))?;
    let spec = Spec {
        kind: "region",
        id: ctx.region(),
        key: Some(ctx.settings_key("ec2-region")),
        name: Some(format!("EC2 settings of {} in {}", ctx.account, ctx.region())),
        attributes: json!({"Region": ctx.region(), "EbsEncryptionByDefault": ebs.ebs_encryption_by_default()}),
        ..Spec::default()
    };
    ctx.emit(out, SERVICE, spec).await
}

async fn instances(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let reservations = client
        .describe_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeInstances", e))?;
    for instance in reservations.iter().flat_map(|r| r.instances()) {
        let Some(id) = instance.instance_id() else { continue };
        let attributes = json!({
            "InstanceId": id,
            "InstanceType": instance.instance_type().map(|t| t.as_str()),
            "ImageId": instance.image_id(),
            "State": instance.state().and_then(|s| s.name()).map(|s| s.as_str()),
            "LaunchTime": time(instance.launch_time()),
            "VpcId": instance.vpc_id(),
            "SubnetId": instance.subnet_id(),
            "PrivateIpAddress": instance.private_ip_address(),
            "PublicIpAddress": instance.public_ip_address(),
            "KeyName": instance.key_name(),
            "IamInstanceProfile": instance.iam_instance_profile().map(|p| json!({"Arn": p.arn(), "Id": p.id()})),
            "SecurityGroups": instance.security_groups().iter().map(|g| json!({"GroupId": g.group_id(), "GroupName": g.group_name()})).collect::<Vec<_>>(),
            "MetadataOptions": instance.metadata_options().map(|m| json!({
                "HttpTokens": m.http_tokens().map(|t| t.as_str()),
                "HttpEndpoint": m.http_endpoint().map(|t| t.as_str()),
            })),
            "Monitoring": instance.monitoring().and_then(|m| m.state()).map(|s| s.as_str()),
        });
        ctx.emit(out, SERVICE, spec(ctx, "instance", "instance", id, instance.tags(), attributes)).await?;
    }
    Ok(())
}

async fn volumes(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let volumes = client
        .describe_volumes()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeVolumes", e))?;
    for volume in &volumes {
        let Some(id) = volume.volume_id() else { continue };
        let attributes = json!({
            "VolumeId": id,
            "Size": volume.size(),
            "VolumeType": volume.volume_type().map(|t| t.as_str()),
            "State": volume.state().map(|s| s.as_str()),
            "Encrypted": volume.encrypted(),
            "KmsKeyId": volume.kms_key_id(),
            "AvailabilityZone": volume.availability_zone(),
            "CreateTime": time(volume.create_time()),
            "Attachments": volume.attachments().iter().map(|a| json!({"InstanceId": a.instance_id(), "Device": a.device()})).collect::<Vec<_>>(),
        });
        ctx.emit(out, SERVICE, spec(ctx, "volume", "volume", id, volume.tags(), attributes)).await?;
    }
    Ok(())
}

fn permissions(list: &[IpPermission]) -> Vec<Value> {
    list.iter()
        .map(|p| {
            json!({
                "IpProtocol": p.ip_protocol(),
                "FromPort": p.from_port(),
                "ToPort": p.to_port(),
                "IpRanges": p.ip_ranges().iter().map(|r| json!({"CidrIp": r.cidr_ip(), "Description": r.description()})).collect::<Vec<_>>(),
                "Ipv6Ranges": p.ipv6_ranges().iter().map(|r| json!({"CidrIpv6": r.cidr_ipv6(), "Description": r.description()})).collect::<Vec<_>>(),
                "UserIdGroupPairs": p.user_id_group_pairs().iter().map(|g| json!({"GroupId": g.group_id(), "UserId": g.user_id()})).collect::<Vec<_>>(),
                "PrefixListIds": p.prefix_list_ids().iter().map(|l| text(l.prefix_list_id())).collect::<Vec<_>>(),
            })
        })
        .collect()
}

async fn security_groups(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let groups = client
        .describe_security_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeSecurityGroups", e))?;
    for group in &groups {
        let Some(id) = group.group_id() else { continue };
        let attributes = json!({
            "GroupId": id,
            "GroupName": group.group_name(),
            "Description": group.description(),
            "VpcId": group.vpc_id(),
            "OwnerId": group.owner_id(),
            "IpPermissions": permissions(group.ip_permissions()),
            "IpPermissionsEgress": permissions(group.ip_permissions_egress()),
        });
        let mut spec = spec(ctx, "security_group", "security-group", id, group.tags(), attributes);
        spec.name = spec.name.or_else(|| group.group_name().map(str::to_owned));
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}

/// Emits the flow logs and returns them by the resource they watch.
async fn flow_logs(
    ctx: &Ctx,
    client: &Client,
    out: &Emitter,
) -> Result<BTreeMap<String, Vec<Value>>, AwsError> {
    let logs = client
        .describe_flow_logs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeFlowLogs", e))?;
    let mut by_resource: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for log in &logs {
        let Some(id) = log.flow_log_id() else { continue };
        let attributes = json!({
            "FlowLogId": id,
            "ResourceId": log.resource_id(),
            "FlowLogStatus": log.flow_log_status(),
            "TrafficType": log.traffic_type().map(|t| t.as_str()),
            "LogDestinationType": log.log_destination_type().map(|t| t.as_str()),
            "LogDestination": log.log_destination(),
            "LogGroupName": log.log_group_name(),
            "DeliverLogsStatus": log.deliver_logs_status(),
        });
        if let Some(resource) = log.resource_id() {
            by_resource.entry(resource.to_owned()).or_default().push(attributes.clone());
        }
        ctx.emit(out, SERVICE, spec(ctx, "flow_log", "vpc-flow-log", id, log.tags(), attributes)).await?;
    }
    Ok(by_resource)
}

async fn vpcs(
    ctx: &Ctx,
    client: &Client,
    out: &Emitter,
    flow_logs: &BTreeMap<String, Vec<Value>>,
) -> Result<(), AwsError> {
    let vpcs = client
        .describe_vpcs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeVpcs", e))?;
    for vpc in &vpcs {
        let Some(id) = vpc.vpc_id() else { continue };
        let attributes = json!({
            "VpcId": id,
            "CidrBlock": vpc.cidr_block(),
            "IsDefault": vpc.is_default(),
            "State": vpc.state().map(|s| s.as_str()),
            "OwnerId": vpc.owner_id(),
            "FlowLogs": flow_logs.get(id).cloned().unwrap_or_default(),
        });
        ctx.emit(out, SERVICE, spec(ctx, "vpc", "vpc", id, vpc.tags(), attributes)).await?;
    }
    Ok(())
}

async fn subnets(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let subnets = client
        .describe_subnets()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeSubnets", e))?;
    for subnet in &subnets {
        let Some(id) = subnet.subnet_id() else { continue };
        let attributes = json!({
            "SubnetId": id,
            "VpcId": subnet.vpc_id(),
            "CidrBlock": subnet.cidr_block(),
            "AvailabilityZone": subnet.availability_zone(),
            "MapPublicIpOnLaunch": subnet.map_public_ip_on_launch(),
            "DefaultForAz": subnet.default_for_az(),
        });
        ctx.emit(out, SERVICE, spec(ctx, "subnet", "subnet", id, subnet.tags(), attributes)).await?;
    }
    Ok(())
}

async fn network_acls(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let acls = client
        .describe_network_acls()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeNetworkAcls", e))?;
    for acl in &acls {
        let Some(id) = acl.network_acl_id() else { continue };
        let entries: Vec<Value> = acl
            .entries()
            .iter()
            .map(|e| {
                json!({
                    "RuleNumber": e.rule_number(),
                    "Protocol": e.protocol(),
                    "RuleAction": e.rule_action().map(|a| a.as_str()),
                    "Egress": e.egress(),
                    "CidrBlock": e.cidr_block(),
                    "Ipv6CidrBlock": e.ipv6_cidr_block(),
                    "PortRange": e.port_range().map(|r| json!({"From": r.from(), "To": r.to()})),
                })
            })
            .collect();
        let attributes = json!({
            "NetworkAclId": id,
            "VpcId": acl.vpc_id(),
            "IsDefault": acl.is_default(),
            "Entries": entries,
            "Associations": acl.associations().iter().map(|a| text(a.subnet_id())).collect::<Vec<_>>(),
        });
        ctx.emit(out, SERVICE, spec(ctx, "network_acl", "network-acl", id, acl.tags(), attributes)).await?;
    }
    Ok(())
}

async fn route_tables(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let tables = client
        .describe_route_tables()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeRouteTables", e))?;
    for table in &tables {
        let Some(id) = table.route_table_id() else { continue };
        let routes: Vec<Value> = table
            .routes()
            .iter()
            .map(|r| {
                json!({
                    "DestinationCidrBlock": r.destination_cidr_block(),
                    "DestinationIpv6CidrBlock": r.destination_ipv6_cidr_block(),
                    "GatewayId": r.gateway_id(),
                    "VpcPeeringConnectionId": r.vpc_peering_connection_id(),
                    "NatGatewayId": r.nat_gateway_id(),
                    "State": r.state().map(|s| s.as_str()),
                })
            })
            .collect();
        let attributes = json!({
            "RouteTableId": id,
            "VpcId": table.vpc_id(),
            "Routes": routes,
            "Associations": table.associations().iter().map(|a| json!({"SubnetId": a.subnet_id(), "Main": a.main()})).collect::<Vec<_>>(),
        });
        ctx.emit(out, SERVICE, spec(ctx, "route_table", "route-table", id, table.tags(), attributes)).await?;
    }
    Ok(())
}

async fn peerings(ctx: &Ctx, client: &Client, out: &Emitter) -> Result<(), AwsError> {
    let peerings = client
        .describe_vpc_peering_connections()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("ec2:DescribeVpcPeeringConnections", e))?;
    for peering in &peerings {
        let Some(id) = peering.vpc_peering_connection_id() else { continue };
        let side = |info: Option<&aws_sdk_ec2::types::VpcPeeringConnectionVpcInfo>| {
            info.map(|i| json!({"VpcId": i.vpc_id(), "OwnerId": i.owner_id(), "CidrBlock": i.cidr_block(), "Region": i.region()}))
        };
        let attributes = json!({
            "VpcPeeringConnectionId": id,
            "RequesterVpcInfo": side(peering.requester_vpc_info()),
            "AccepterVpcInfo": side(peering.accepter_vpc_info()),
            "Status": peering.status().and_then(|s| s.code()).map(|c| c.as_str()),
        });
        ctx.emit(
            out,
            SERVICE,
            spec(ctx, "vpc_peering_connection", "vpc-peering-connection", id, peering.tags(), attributes),
        )
        .await?;
    }
    Ok(())
}
