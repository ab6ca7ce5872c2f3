# METADATA
# title: "3.2 Log file validation"
# description: Per trail, LogFileValidationEnabled must be true.
# custom:
#   id: "3.2"
#   severity: medium
#   controls: ["CIS 3.2", "CFG-01"]
#   types: [aws.cloudtrail.trail]
#   requires: [cloudtrail]
#   remediation: aws cloudtrail update-trail --name NAME --enable-log-file-validation
package plumb.cis_aws_1_5.c3_2

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	enabled := lib.get(trail.attributes, "LogFileValidationEnabled", false)
	finding := {
		"key": trail.key,
		"status": lib.status(enabled != true),
		"message": sprintf("trail %s log file validation: %v", [lib.trail_name(trail), enabled]),
		"evidence": {"LogFileValidationEnabled": enabled},
	}
}
