# METADATA
# title: "2.1.3 MFA Delete on buckets"
# description: >-
#   Per bucket: passes only with versioning Status Enabled and MFADelete Enabled.
# custom:
#   id: "2.1.3"
#   severity: medium
#   controls: ["CIS 2.1.3", "CFG-01"]
#   types: [aws.s3.bucket]
#   requires: [s3]
#   remediation: >-
#     As the root user with its MFA device: aws s3api put-bucket-versioning --bucket NAME
#     --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa "SERIAL CODE".
package plumb.cis_aws_1_5.c2_1_3

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some bucket in lib.docs("aws.s3.bucket")
	versioning := lib.get(bucket.attributes, "Versioning", {})
	state := lib.get(versioning, "Status", "never enabled")
	mfa := lib.get(versioning, "MFADelete", "Disabled")
	finding := {
		"key": bucket.key,
		"status": lib.status(both_enabled(state, mfa) == false),
		"message": sprintf("%s: versioning %s, MFA delete %s", [bucket.attributes.Name, state, mfa]),
		"evidence": {"Status": state, "MFADelete": mfa},
	}
}

both_enabled(state, mfa) := true if {
	state == "Enabled"
	mfa == "Enabled"
} else := false
