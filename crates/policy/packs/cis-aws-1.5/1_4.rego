# METADATA
# title: "1.4 No root user access key"
# description: >-
#   Fails when the account summary counts a root access key (AccountAccessKeysPresent) or the
#   credential report's root row shows an active key.
# custom:
#   id: "1.4"
#   severity: critical
#   controls: ["CIS 1.4", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Sign in as the root user, open Security credentials and delete the access keys (move
#     whatever used them to an IAM role).
package plumb.cis_aws_1_5.c1_4

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

findings contains finding if {
	settings := lib.doc("aws.iam.account")
	present := object.get(lib.get(settings.attributes, "AccountSummary", {}), "AccountAccessKeysPresent", 0)
	active := [k | some row in lib.root_rows; some k in ["access_key_1_active", "access_key_2_active"]; lib.truthy(row[k])]
	finding := {
		"key": input.account,
		"status": lib.status(any_key(present, active)),
		"message": sprintf("root access keys present: %v (AccountSummary.AccountAccessKeysPresent = %v, active in the credential report: %v)", [any_key(present, active), present, active]),
		"evidence": {"AccountAccessKeysPresent": present, "RootActiveKeys": active},
	}
}

any_key(present, active) := true if {
	present >= 1
} else := true if {
	count(active) > 0
} else := false
