# METADATA
# title: "2.3.2 RDS auto minor version upgrade"
# description: Per RDS DB instance, AutoMinorVersionUpgrade must be true.
# custom:
#   id: "2.3.2"
#   severity: low
#   controls: ["CIS 2.3.2", "CFG-01"]
#   types: [aws.rds.instance]
#   requires: [rds]
#   remediation: >-
#     aws rds modify-db-instance --db-instance-identifier ID --auto-minor-version-upgrade
#     --apply-immediately
package plumb.cis_aws_1_5.c2_3_2

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some db in lib.docs("aws.rds.instance")
	upgrade := lib.get(db.attributes, "AutoMinorVersionUpgrade", false)
	finding := {
		"key": db.key,
		"status": lib.status(upgrade != true),
		"message": sprintf("RDS instance %s auto minor version upgrade: %v", [db.attributes.DBInstanceIdentifier, upgrade]),
		"evidence": {"AutoMinorVersionUpgrade": upgrade},
	}
}
