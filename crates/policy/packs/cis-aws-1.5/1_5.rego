# METADATA
# title: "1.5 MFA on root"
# description: >-
#   Reads AccountSummary.AccountMFAEnabled (real time, unlike the credential report); the
#   root row's mfa_active is kept as evidence.
# custom:
#   id: "1.5"
#   severity: critical
#   controls: ["CIS 1.5", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Sign in as the root user, open Security credentials and assign an MFA device
#     (a hardware device meets 1.6 as well).
package plumb.cis_aws_1_5.c1_5

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

findings contains finding if {
	settings := lib.doc("aws.iam.account")
	enabled := object.get(lib.get(settings.attributes, "AccountSummary", {}), "AccountMFAEnabled", 0)
	finding := {
		"key": input.account,
		"status": lib.status(enabled != 1),
		"message": sprintf("root user MFA enabled: %v (AccountSummary.AccountMFAEnabled = %v)", [enabled == 1, enabled]),
		"evidence": {"AccountMFAEnabled": enabled, "root_mfa_active": [row.mfa_active | some row in lib.root_rows]},
	}
}
