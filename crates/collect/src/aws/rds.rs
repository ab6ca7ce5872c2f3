//! RDS (regional): DB instances with encryption, minor version upgrades and public access.

use aws_sdk_rds::Client;
use serde_json::json;

use super::support::{AwsError, Ctx, Spec, failed, time};
use crate::Emitter;

const SERVICE: &str = "rds";

pub(crate) async fn collect(ctx: &Ctx, out: &Emitter) -> Result<(), AwsError> {
    let client = Client::new(&ctx.config);
    let instances = client
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| failed("rds:DescribeDBInstances", e))?;
    for db in &instances {
        let (Some(id), Some(arn)) = (db.db_instance_identifier(), db.db_instance_arn()) else { continue };
        let subnets: Vec<_> = db
            .db_subnet_group()
            .map(|g| g.subnets().iter().filter_map(|s| s.subnet_identifier()).collect())
            .unwrap_or_default();
        let attributes = json!({
            "DBInstanceIdentifier": id,
            "DBInstanceArn": arn,
            "DBInstanceClass": db.db_instance_class(),
            "Engine": db.engine(),
            "EngineVersion": db.engine_version(),
            "DBInstanceStatus": db.db_instance_status(),
            "StorageEncrypted": db.storage_encrypted(),
            "KmsKeyId": db.kms_key_id(),
            "AutoMinorVersionUpgrade": db.auto_minor_version_upgrade(),
            "PubliclyAccessible": db.publicly_accessible(),
            "MultiAZ": db.multi_az(),
            "DBSubnetGroup": {"Subnets": subnets, "VpcId": db.db_subnet_group().and_then(|g| g.vpc_id())},
            "InstanceCreateTime": time(db.instance_create_time()),
        });
        let tags =
            db.tag_list().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned()))).collect();
        let spec = Spec {
            kind: "instance",
            id: id.to_owned(),
            arn: Some(arn.to_owned()),
            name: Some(id.to_owned()),
            tags,
            attributes,
            ..Spec::default()
        };
        ctx.emit(out, SERVICE, spec).await?;
    }
    Ok(())
}
