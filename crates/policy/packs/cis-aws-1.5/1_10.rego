# METADATA
# title: "1.10 MFA for every IAM user with a console password"
# description: >-
#   Per IAM user, from the credential report (root excluded): a console password
#   (password_enabled) without MFA (mfa_active) fails.
# custom:
#   id: "1.10"
#   severity: high
#   controls: ["CIS 1.10", "CFG-01"]
#   scope: account
#   types: [aws.iam.account, aws.iam.user]
#   requires: [iam]
#   remediation: >-
#     Have the user enable an MFA device (IAM > Users > Security credentials > Assign MFA), or
#     remove the console password if the user does not sign in; enforce it with a policy that
#     denies everything but MFA setup while aws:MultiFactorAuthPresent is false.
package plumb.cis_aws_1_5.c1_10

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if some finding in lib.credential_report_errors

findings contains finding if {
	some row in lib.user_rows
	console := lib.flag(row, "password_enabled")
	mfa := lib.flag(row, "mfa_active")
	finding := {
		"key": row.arn,
		"status": lib.status(all_true(console, mfa == false)),
		"message": message(row.user, console, mfa),
		"evidence": {"password_enabled": lib.column(row, "password_enabled"), "mfa_active": lib.column(row, "mfa_active")},
	}
}

all_true(a, b) := true if {
	a == true
	b == true
} else := false

message(user, true, false) := sprintf("IAM user %s has a console password without MFA (password_enabled = true, mfa_active = false)", [user])

message(user, true, true) := sprintf("IAM user %s has a console password and MFA", [user])

message(user, false, mfa) := sprintf("IAM user %s has no console password (mfa_active = %v)", [user, mfa])
