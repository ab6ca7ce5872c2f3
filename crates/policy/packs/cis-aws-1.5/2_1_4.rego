# METADATA
# title: "2.1.4 S3 data discovered and classified (Macie)"
# description: >-
#   Manual in CIS (third-party tools are acceptable). plumb does not collect Amazon Macie,
#   so neither Prowler's heuristic (Macie enabled in each region with buckets) nor
#   Steampipe's (each bucket in a classification job) can be applied; reported as manual with
#   the buckets per region to cover. No buckets passes.
# custom:
#   id: "2.1.4"
#   severity: medium
#   controls: ["CIS 2.1.4", "CFG-01"]
#   scope: account
#   types: [aws.s3.bucket]
#   requires: [s3]
#   remediation: >-
#     Enable Amazon Macie in every region that has buckets (aws macie2 enable-macie) with
#     automated sensitive data discovery or classification jobs over all buckets, or document
#     the tool that classifies them instead.
package plumb.cis_aws_1_5.c2_1_4

import data.plumb.cis_aws_1_5.lib
import rego.v1

buckets := lib.docs("aws.s3.bucket")

findings contains finding if {
	count(buckets) == 0
	finding := {"key": input.account, "status": "pass", "message": "no S3 buckets, so no data to classify", "evidence": {"buckets": 0}}
}

findings contains finding if {
	count(buckets) > 0
	regions := {lib.get(b.attributes, "Region", "unknown") | some b in buckets}
	by_region := {r: [b.attributes.Name | some b in buckets; lib.get(b.attributes, "Region", "unknown") == r] | some r in regions}
	finding := lib.manual(
		input.account,
		sprintf("Confirm that the data in %d bucket(s) in %s is discovered and classified (Amazon Macie or another tool); plumb does not collect Macie", [count(buckets), concat(", ", sort(regions))]),
		{"BucketsByRegion": by_region},
	)
}
