# METADATA
# title: "2.3.1 RDS instances encrypted"
# description: Per RDS DB instance, StorageEncrypted must be true.
# custom:
#   id: "2.3.1"
#   severity: medium
#   controls: ["CIS 2.3.1", "CFG-01"]
#   types: [aws.rds.instance]
#   requires: [rds]
#   remediation: >-
#     Storage encryption cannot be switched on in place: snapshot the instance, copy the
#     snapshot with --kms-key-id, restore a new instance from the encrypted copy and move the
#     clients to it.
package plumb.cis_aws_1_5.c2_3_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some db in lib.docs("aws.rds.instance")
	encrypted := lib.get(db.attributes, "StorageEncrypted", false)
	finding := {
		"key": db.key,
		"status": lib.status(encrypted != true),
		"message": sprintf("RDS instance %s storage encrypted: %v", [db.attributes.DBInstanceIdentifier, encrypted]),
		"evidence": {"StorageEncrypted": encrypted, "KmsKeyId": lib.get(db.attributes, "KmsKeyId", null)},
	}
}
