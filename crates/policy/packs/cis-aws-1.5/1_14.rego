# METADATA
# title: "1.14 Access keys rotated ≤ 90 days"
# description: >-
#   Per IAM user from the credential report (root excluded): an active access key whose
#   access_key_N_last_rotated (its creation time: keys cannot be rotated in place) is more than
#   90 days ago fails; exactly 90 days passes. Inactive keys are ignored.
# custom:
#   id: "1.14"
#   severity: medium
#   controls: ["CIS 1.14", "CFG-01"]
#   scope: account
#   types: [aws.iam.account, aws.iam.user]
#   requires: [iam]
#   remediation: >-
#     Create a second key, move the clients to it, then deactivate and delete the old one;
#     better, replace long-lived keys with roles.
package plumb.cis_aws_1_5.c1_14

import data.plumb.cis_aws_1_5.lib
import rego.v1

limit := 90

findings contains finding if some finding in lib.credential_report_errors

findings contains finding if {
	some row in lib.user_rows
	old := [sprintf("access key %d created %s (%d days ago)", [n, created, lib.age(created)]) |
		some n in [1, 2]
		lib.flag(row, sprintf("access_key_%d_active", [n]))
		created := lib.column(row, sprintf("access_key_%d_last_rotated", [n]))
		lib.is_timestamp(created)
		lib.days_since(created) > limit
	]
	finding := {
		"key": row.arn,
		"status": lib.status(count(old) > 0),
		"message": message(row.user, old),
		"evidence": {c: lib.column(row, c) | some c in [
			"access_key_1_active", "access_key_1_last_rotated",
			"access_key_2_active", "access_key_2_last_rotated",
		]},
	}
}

message(user, []) := sprintf("IAM user %s has no active access key older than %d days", [user, limit])

message(user, old) := sprintf("IAM user %s has active access key(s) not rotated for more than %d days: %s", [user, limit, concat("; ", old)]) if count(old) > 0
