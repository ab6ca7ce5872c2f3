# METADATA
# title: "1.11 No access keys created at initial user setup (console users)"
# description: >-
#   The CIS audit, as Prowler implements it: a user with a console password fails when an
#   active access key was never used (access_key_N_last_used_date N/A), the sign of a key
#   handed out with the account rather than requested. (Steampipe instead compares key and user
#   creation times.)
# custom:
#   id: "1.11"
#   severity: medium
#   controls: ["CIS 1.11", "CFG-01"]
#   scope: account
#   types: [aws.iam.account, aws.iam.user]
#   requires: [iam]
#   remediation: >-
#     Delete the unused key (aws iam delete-access-key --user-name USER --access-key-id ID) and
#     let users who need programmatic access create their own keys later, or better use roles.
package plumb.cis_aws_1_5.c1_11

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if some finding in lib.credential_report_errors

findings contains finding if {
	some row in lib.user_rows
	console := lib.flag(row, "password_enabled")
	unused := [n |
		some n in [1, 2]
		lib.flag(row, sprintf("access_key_%d_active", [n]))
		lib.column(row, sprintf("access_key_%d_last_used_date", [n])) == "N/A"
	]
	failed := count(unused) > 0
	finding := {
		"key": row.arn,
		"status": lib.status(all_true(console, failed)),
		"message": message(row.user, console, unused),
		"evidence": {c: lib.column(row, c) | some c in [
			"password_enabled",
			"access_key_1_active", "access_key_1_last_used_date",
			"access_key_2_active", "access_key_2_last_used_date",
		]},
	}
}

all_true(a, b) := true if {
	a == true
	b == true
} else := false

message(user, true, unused) := sprintf("IAM user %s has a console password and never-used active access key(s) %v", [user, unused]) if count(unused) > 0

message(user, true, []) := sprintf("IAM user %s has a console password and no never-used active access key", [user])

message(user, false, unused) := sprintf("IAM user %s has no console password, so keys are not from console setup", [user])
