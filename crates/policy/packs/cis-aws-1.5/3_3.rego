# METADATA
# title: "3.3 CloudTrail S3 bucket not public"
# description: >-
#   Per trail, on the bucket it delivers to: fails when the bucket ACL grants anything to
#   AllUsers or AuthenticatedUsers, or the bucket policy has an Allow statement for everyone
#   (Principal "*" or AWS "*"), as Steampipe (Prowler looks at AllUsers only). A bucket that
#   is not in the inventory (another account's, such as a log archive, or not collected) is
#   reported as manual.
# custom:
#   id: "3.3"
#   severity: critical
#   controls: ["CIS 3.3", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.s3.bucket]
#   requires: [cloudtrail, s3]
#   remediation: >-
#     Remove the AllUsers and AuthenticatedUsers grants (aws s3api put-bucket-acl --acl
#     private) and the statements that allow "*" from the bucket policy; turn on Block Public
#     Access for the bucket.
package plumb.cis_aws_1_5.c3_3

import data.plumb.cis_aws_1_5.lib
import rego.v1

public_groups := {
	"http://acs.amazonaws.com/groups/global/AllUsers",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	count(lib.trail_buckets(trail)) == 0
	finding := lib.manual(
		trail.key,
		sprintf("trail %s delivers to bucket %s, which is not in this account's inventory (another account's, or not collected): check its ACL and policy there", [lib.trail_name(trail), lib.get(trail.attributes, "S3BucketName", "?")]),
		{"S3BucketName": lib.get(trail.attributes, "S3BucketName", null)},
	)
}

findings contains finding if {
	some trail in lib.docs("aws.cloudtrail.trail")
	some bucket in lib.trail_buckets(trail)
	grants := [g |
		some g in lib.get(lib.get(bucket.attributes, "Acl", {}), "Grants", [])
		lib.get(g, "GranteeURI", "") in public_groups
	]
	statements := [s |
		some s in lib.statements(lib.get(bucket.attributes, "Policy", null))
		s.Effect == "Allow"
		lib.everyone(object.get(s, "Principal", null))
	]
	public := count(grants) + count(statements)
	finding := {
		"key": trail.key,
		"status": lib.status(public > 0),
		"message": message(lib.trail_name(trail), bucket.attributes.Name, grants, statements),
		"evidence": {"S3BucketName": bucket.attributes.Name, "PublicGrants": grants, "PublicPolicyStatements": statements},
	}
}

message(trail, bucket, [], []) := sprintf("trail %s's bucket %s grants nothing to everyone (ACL and policy)", [trail, bucket])

message(trail, bucket, grants, statements) := sprintf("trail %s's bucket %s is public: %d ACL grant(s) to AllUsers/AuthenticatedUsers, %d policy statement(s) allowing everyone", [trail, bucket, count(grants), count(statements)]) if {
	count(grants) + count(statements) > 0
}
