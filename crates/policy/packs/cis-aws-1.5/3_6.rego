# METADATA
# title: "3.6 Access logging on the CloudTrail bucket"
# description: >-
#   Per trail, on the bucket it delivers to: server access logging (LoggingEnabled) must be
#   on. A bucket that is not in the inventory (another account's, or not collected) is
#   reported as manual.
# custom:
#   id: "3.6"
#   severity: medium
#   controls: ["CIS 3.6", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.s3.bucket]
#   requires: [cloudtrail, s3]
#   remediation: >-
#     aws s3api put-bucket-logging --bucket TRAIL_BUCKET --bucket-logging-status
#     '{"LoggingEnabled": {"TargetBucket": "LOG_BUCKET", "TargetPrefix": "cloudtrail/"}}'
package plumb.cis_aws_1_5.c3_6

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	count(lib.trail_buckets(trail)) == 0
	finding := lib.manual(
		trail.key,
		sprintf("trail %s delivers to bucket %s, which is not in this account's inventory (another account's, or not collected): check its access logging there", [lib.trail_name(trail), lib.get(trail.attributes, "S3BucketName", "?")]),
		{"S3BucketName": lib.get(trail.attributes, "S3BucketName", null)},
	)
}

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	some bucket in lib.trail_buckets(trail)
	logging := lib.get(bucket.attributes, "Logging", null)
	finding := {
		"key": trail.key,
		"status": lib.status(logging == null),
		"message": message(lib.trail_name(trail), bucket.attributes.Name, logging),
		"evidence": {"S3BucketName": bucket.attributes.Name, "Logging": logging},
	}
}

message(trail, bucket, null) := sprintf("trail %s's bucket %s has no server access logging", [trail, bucket])

message(trail, bucket, logging) := sprintf("trail %s's bucket %s logs access to %s", [trail, bucket, lib.get(logging, "TargetBucket", "?")]) if logging != null
