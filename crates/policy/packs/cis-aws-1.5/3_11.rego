# METADATA
# title: "3.11 S3 object-level logging, read"
# description: >-
#   Per bucket: passes when a multi-region, logging trail records S3 data events (read)
#   for the bucket: a classic selector with ReadWriteType ReadOnly or All and an AWS::S3::Object
#   data resource for all buckets (arn:aws:s3, arn:aws:s3:::) or for this bucket (NAME/),
#   or an advanced selector on eventCategory Data and resources.type AWS::S3::Object with
#   readOnly absent or true whose resources.ARN conditions leave the bucket in (a selector that also
#   filters on eventName or other fields records only some events and does not count).
#   Stricter than Prowler, which accepts any trail and ignores readOnly. No buckets passes.
# custom:
#   id: "3.11"
#   severity: low
#   controls: ["CIS 3.11", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.s3.bucket]
#   requires: [cloudtrail, s3]
#   remediation: >-
#     aws cloudtrail put-event-selectors --trail-name MULTI_REGION_TRAIL --event-selectors
#     '[{"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources":
#     [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]' (or an advanced selector).
package plumb.cis_aws_1_5.c3_11

import data.plumb.cis_aws_1_5.lib
import rego.v1

side := "read"

buckets := lib.docs("aws.s3.bucket")

findings contains finding if {
	count(buckets) == 0
	finding := {"key": input.account, "status": "pass", "message": "no S3 buckets", "evidence": {"buckets": 0}}
}

findings contains finding if {
	some bucket in buckets
	trails := lib.s3_event_trails(bucket, side)
	finding := {
		"key": bucket.key,
		"status": lib.status(count(trails) == 0),
		"message": message(bucket.attributes.Name, trails),
		"evidence": {"Trails": trails},
	}
}

message(name, []) := sprintf("no multi-region, logging trail records S3 object-level %s events for bucket %s", [side, name])

message(name, trails) := sprintf("S3 object-level %s events of bucket %s are recorded by trail(s) %s", [side, name, concat(", ", trails)]) if count(trails) > 0
