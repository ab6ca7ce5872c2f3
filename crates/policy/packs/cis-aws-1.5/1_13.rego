# METADATA
# title: "1.13 Only one active access key per user"
# description: >-
#   Per IAM user from the credential report (root excluded): both access keys active fails.
# custom:
#   id: "1.13"
#   severity: medium
#   controls: ["CIS 1.13", "CFG-01"]
#   scope: account
#   types: [aws.iam.account, aws.iam.user]
#   requires: [iam]
#   remediation: >-
#     Move the user's clients to one key, then deactivate and delete the other
#     (aws iam update-access-key --status Inactive, then aws iam delete-access-key).
package plumb.cis_aws_1_5.c1_13

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if some finding in lib.credential_report_errors

findings contains finding if {
	some row in lib.user_rows
	active := [n | some n in [1, 2]; lib.flag(row, sprintf("access_key_%d_active", [n]))]
	finding := {
		"key": row.arn,
		"status": lib.status(count(active) > 1),
		"message": sprintf("IAM user %s has %d active access key(s)", [row.user, count(active)]),
		"evidence": {"access_key_1_active": lib.column(row, "access_key_1_active"), "access_key_2_active": lib.column(row, "access_key_2_active")},
	}
}
