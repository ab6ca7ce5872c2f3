# METADATA
# title: "3.4 Trails integrated with CloudWatch Logs"
# description: >-
#   Per trail: CloudWatchLogsLogGroupArn must be set and the last delivery to CloudWatch Logs
#   (LatestCloudWatchLogsDeliveryTime, kept to the hour by the collector) at most 24 hours
#   old.
# custom:
#   id: "3.4"
#   severity: low
#   controls: ["CIS 3.4", "CFG-01"]
#   types: [aws.cloudtrail.trail]
#   requires: [cloudtrail]
#   remediation: >-
#     aws cloudtrail update-trail --name NAME --cloud-watch-logs-log-group-arn ARN
#     --cloud-watch-logs-role-arn ROLE (a role CloudTrail can assume to write to the group);
#     if delivery stopped, fix the role's permissions.
package plumb.cis_aws_1_5.c3_4

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	group := lib.get(trail.attributes, "CloudWatchLogsLogGroupArn", "")
	delivered := lib.get(lib.get(trail.attributes, "Status", {}), "LatestCloudWatchLogsDeliveryTime", null)
	finding := result(trail, group, delivered)
}

evidence(group, delivered) := {"CloudWatchLogsLogGroupArn": group, "LatestCloudWatchLogsDeliveryTime": delivered}

result(trail, "", delivered) := {
	"key": trail.key,
	"status": "fail",
	"message": sprintf("trail %s does not send to CloudWatch Logs (no CloudWatchLogsLogGroupArn)", [lib.trail_name(trail)]),
	"evidence": evidence(null, delivered),
}

result(trail, group, delivered) := {
	"key": trail.key,
	"status": "fail",
	"message": sprintf("trail %s has log group %s but no delivery to CloudWatch Logs was recorded", [lib.trail_name(trail), group]),
	"evidence": evidence(group, delivered),
} if {
	group != ""
	lib.is_timestamp(delivered) == false
}

result(trail, group, delivered) := {
	"key": trail.key,
	"status": lib.status(hours > 24),
	"message": sprintf("trail %s last delivered to CloudWatch Logs (%s) at %s, %d hour(s) ago (24 allowed)", [lib.trail_name(trail), group, delivered, floor(hours)]),
	"evidence": evidence(group, delivered),
} if {
	group != ""
	lib.is_timestamp(delivered)
	hours := lib.days_since(delivered) * 24
}
