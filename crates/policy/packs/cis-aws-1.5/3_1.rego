# METADATA
# title: "3.1 CloudTrail enabled in all regions"
# description: >-
#   One account-level result: passes when at least one trail is multi-region, logging
#   (IsLogging), and records management events both read and write, with classic selectors
#   (IncludeManagementEvents and ReadWriteType All, or a ReadOnly and a WriteOnly selector)
#   or advanced ones (eventCategory Management without a readOnly restriction). Stricter than
#   Prowler, which does not look at the selectors. Management event sources left out
#   (ExcludeManagementEventSources) are named in the message but do not fail.
# custom:
#   id: "3.1"
#   severity: high
#   controls: ["CIS 3.1", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail]
#   requires: [cloudtrail]
#   remediation: >-
#     aws cloudtrail create-trail --name NAME --bucket-name BUCKET --is-multi-region-trail,
#     aws cloudtrail start-logging --name NAME, and put-event-selectors with
#     ReadWriteType All and IncludeManagementEvents true (or an advanced selector on
#     eventCategory Management).
package plumb.cis_aws_1_5.c3_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

trails := lib.docs("aws.cloudtrail.trail")

full := [t | some t in trails; lib.full_trail(t)]

findings contains finding if {
	count(full) > 0
	names := sort([lib.trail_name(t) | some t in full])
	excluded := sort({src | some t in full; some src in lib.excluded_sources(t)})
	finding := {
		"key": input.account,
		"status": "pass",
		"message": sprintf("multi-region trail(s) %s log read and write management events%s", [concat(", ", names), note(excluded)]),
		"evidence": {"Trails": [lib.trail_summary(t) | some t in full], "ExcludedManagementEventSources": excluded},
	}
}

findings contains finding if {
	count(full) == 0
	finding := {
		"key": input.account,
		"status": "fail",
		"message": sprintf("no trail is multi-region, logging and recording read and write management events (%d trail(s) found)", [count(trails)]),
		"evidence": {"Trails": [lib.trail_summary(t) | some t in trails]},
	}
}

note([]) := ""

note(excluded) := sprintf(" (but management events of %s are excluded)", [concat(", ", excluded)]) if count(excluded) > 0
