# METADATA
# title: "2.1.5 Block Public Access on buckets"
# description: >-
#   Per bucket: each of BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and
#   RestrictPublicBuckets must be true at bucket level or at account level (CIS and
#   Steampipe; Prowler asks only for the last two). A missing configuration counts as all
#   false. When the bucket alone does not settle it and the account-level block was not
#   collected, the result is an error. The benchmark audits the account level too: the
#   account's own settings document gets a verdict of its own (all four on), with or without
#   buckets.
# custom:
#   id: "2.1.5"
#   severity: high
#   controls: ["CIS 2.1.5", "CFG-01"]
#   types: [aws.s3.bucket, aws.s3.account]
#   context: [aws.s3.account]
#   requires: [s3]
#   remediation: >-
#     Turn on all four settings for the account (aws s3control put-public-access-block
#     --account-id ID --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true)
#     or on each bucket (aws s3api put-public-access-block).
package plumb.cis_aws_1_5.c2_1_5

import data.plumb.cis_aws_1_5.lib
import rego.v1

flags := ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]

accounts := lib.context_docs("aws.s3.account")

account_collected := count(accounts) > 0

account_block := lib.get(accounts[0].attributes, "PublicAccessBlock", {}) if {
	account_collected
} else := {}

findings contains finding if {
	some bucket in lib.docs("aws.s3.bucket")
	block := lib.get(bucket.attributes, "PublicAccessBlock", {})
	missing := [f | some f in flags; lib.get(block, f, false) != true; lib.get(account_block, f, false) != true]
	bucket_missing := [f | some f in flags; lib.get(block, f, false) != true]
	finding := result(bucket, missing, bucket_missing, block)
}

evidence(block) := {"BucketPublicAccessBlock": block, "AccountPublicAccessBlock": account_evidence}

account_evidence := account_block if {
	account_collected
} else := "not collected"

result(bucket, [], _, block) := {
	"key": bucket.key,
	"status": "pass",
	"message": sprintf("%s blocks public access (all four settings, at bucket or account level)", [bucket.attributes.Name]),
	"evidence": evidence(block),
}

result(bucket, missing, bucket_missing, block) := {
	"key": bucket.key,
	"status": "fail",
	"message": sprintf("%s does not block public access: %s off at both bucket and account level", [bucket.attributes.Name, concat(", ", missing)]),
	"evidence": evidence(block),
} if {
	count(missing) > 0
	account_collected
}

result(bucket, missing, bucket_missing, block) := {
	"key": bucket.key,
	"status": "error",
	"message": sprintf("%s has %s off at bucket level, and the account-level public access block was not collected", [bucket.attributes.Name, concat(", ", bucket_missing)]),
	"evidence": evidence(block),
} if {
	count(missing) > 0
	not account_collected
}

# The account level, judged on its own.
findings contains finding if {
	some settings in lib.docs("aws.s3.account")
	block := lib.get(settings.attributes, "PublicAccessBlock", {})
	off := [f | some f in flags; lib.get(block, f, false) != true]
	finding := {
		"key": settings.key,
		"status": lib.status(count(off) > 0),
		"message": account_message(off),
		"evidence": {"AccountPublicAccessBlock": block},
	}
}

account_message([]) := "the account-level public access block has all four settings on"

account_message(off) := sprintf("the account-level public access block has %s off", [concat(", ", off)]) if {
	count(off) > 0
}
