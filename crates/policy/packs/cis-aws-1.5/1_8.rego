# METADATA
# title: "1.8 Password policy min length ≥ 14"
# description: Fails without a password policy (AWS's default is 8) or with MinimumPasswordLength below 14.
# custom:
#   id: "1.8"
#   severity: medium
#   controls: ["CIS 1.8", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     aws iam update-account-password-policy --minimum-password-length 14 (pass the other
#     settings you keep as well: the call replaces the whole policy).
package plumb.cis_aws_1_5.c1_8

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

findings contains finding if {
	policy := lib.get(lib.doc("aws.iam.account").attributes, "PasswordPolicy", null)
	finding := result(policy)
}

result(null) := {
	"key": input.account,
	"status": "fail",
	"message": "no account password policy is set (AWS's default minimum length is 8)",
	"evidence": {"PasswordPolicy": null},
}

result(policy) := {
	"key": input.account,
	"status": lib.status(length < 14),
	"message": sprintf("password policy minimum length is %v (at least 14 required)", [length]),
	"evidence": {"MinimumPasswordLength": length},
} if {
	policy != null
	length := lib.get(policy, "MinimumPasswordLength", 0)
}
