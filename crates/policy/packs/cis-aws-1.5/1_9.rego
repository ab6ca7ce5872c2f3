# METADATA
# title: "1.9 Password policy prevents reuse"
# description: >-
#   Fails without a password policy, or when PasswordReusePrevention is absent or below 24
#   (AWS's maximum, so in practice it must be 24).
# custom:
#   id: "1.9"
#   severity: medium
#   controls: ["CIS 1.9", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     aws iam update-account-password-policy --password-reuse-prevention 24 (pass the other
#     settings you keep as well: the call replaces the whole policy).
package plumb.cis_aws_1_5.c1_9

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
	"message": "no account password policy is set, so password reuse is not prevented",
	"evidence": {"PasswordPolicy": null},
}

result(policy) := {
	"key": input.account,
	"status": lib.status(remembered < 24),
	"message": sprintf("password policy remembers %v previous password(s) (24 required)", [remembered]),
	"evidence": {"PasswordReusePrevention": lib.get(policy, "PasswordReusePrevention", null)},
} if {
	policy != null
	remembered := lib.get(policy, "PasswordReusePrevention", 0)
}
