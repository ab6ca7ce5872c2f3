# METADATA
# title: "3.7 CloudTrail logs encrypted with KMS"
# description: Per trail, KmsKeyId must be set (SSE-KMS on the delivered log files).
# custom:
#   id: "3.7"
#   severity: medium
#   controls: ["CIS 3.7", "CFG-01"]
#   types: [aws.cloudtrail.trail]
#   requires: [cloudtrail]
#   remediation: >-
#     Create a KMS key whose policy lets CloudTrail encrypt and the log readers decrypt, then
#     aws cloudtrail update-trail --name NAME --kms-key-id KEY
package plumb.cis_aws_1_5.c3_7

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	key := lib.get(trail.attributes, "KmsKeyId", "")
	finding := {
		"key": trail.key,
		"status": lib.status(key == ""),
		"message": message(lib.trail_name(trail), key),
		"evidence": {"KmsKeyId": key},
	}
}

message(trail, "") := sprintf("trail %s's logs are not encrypted with a KMS key (no KmsKeyId)", [trail])

message(trail, key) := sprintf("trail %s's logs are encrypted with %s", [trail, key]) if key != ""
