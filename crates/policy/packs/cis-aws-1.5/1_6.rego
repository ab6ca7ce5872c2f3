# METADATA
# title: "1.6 Hardware MFA on root"
# description: >-
#   No API says "hardware": by elimination, root MFA must be enabled and no virtual MFA device
#   may be assigned to the root user (a FIDO key does not show as a virtual device, so it counts
#   as hardware here).
# custom:
#   id: "1.6"
#   severity: critical
#   controls: ["CIS 1.6", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Sign in as the root user, remove the virtual MFA device under Security credentials and
#     assign a hardware TOTP token or a FIDO security key instead.
package plumb.cis_aws_1_5.c1_6

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

findings contains finding if {
	settings := lib.doc("aws.iam.account")
	enabled := object.get(lib.get(settings.attributes, "AccountSummary", {}), "AccountMFAEnabled", 0)
	virtual := [d.SerialNumber |
		some d in lib.get(settings.attributes, "VirtualMFADevices", [])
		endswith(lib.get(d, "UserArn", ""), ":root")
	]
	finding := result(enabled, virtual)
}

result(enabled, virtual) := {
	"key": input.account,
	"status": "fail",
	"message": sprintf("root user has no MFA at all (AccountSummary.AccountMFAEnabled = %v)", [enabled]),
	"evidence": {"AccountMFAEnabled": enabled, "RootVirtualMFADevices": virtual},
} if enabled != 1

result(enabled, virtual) := {
	"key": input.account,
	"status": "fail",
	"message": sprintf("root user's MFA is a virtual device (%s), not hardware", [concat(", ", virtual)]),
	"evidence": {"AccountMFAEnabled": enabled, "RootVirtualMFADevices": virtual},
} if {
	enabled == 1
	count(virtual) > 0
}

result(enabled, virtual) := {
	"key": input.account,
	"status": "pass",
	"message": "root user MFA is enabled and no virtual MFA device is assigned to root (hardware or FIDO)",
	"evidence": {"AccountMFAEnabled": enabled, "RootVirtualMFADevices": virtual},
} if {
	enabled == 1
	count(virtual) == 0
}
