# METADATA
# title: "1.17 Support role exists"
# description: >-
#   Fails when no IAM role has the AWS managed policy AWSSupportAccess attached
#   (iam:ListEntitiesForPolicy, roles only).
# custom:
#   id: "1.17"
#   severity: medium
#   controls: ["CIS 1.17", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Create a role the incident responders can assume and attach
#     arn:aws:iam::aws:policy/AWSSupportAccess to it (aws iam attach-role-policy).
package plumb.cis_aws_1_5.c1_17

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

findings contains finding if {
	roles := lib.get(lib.doc("aws.iam.account").attributes, "SupportPolicyRoles", [])
	finding := {
		"key": input.account,
		"status": lib.status(count(roles) == 0),
		"message": message(roles),
		"evidence": {"SupportPolicyRoles": roles},
	}
}

message([]) := "no IAM role has the AWSSupportAccess policy attached"

message(roles) := sprintf("AWSSupportAccess is attached to role(s) %s", [concat(", ", roles)]) if count(roles) > 0
