# METADATA
# title: "4.16 Security Hub enabled"
# description: >-
#   Per region of the account: Security Hub must be enabled (DescribeHub answers; "not
#   subscribed" fails rather than erring). Enabled standards are evidence only: Prowler also
#   wants a standard or an integration, CIS does not.
# custom:
#   id: "4.16"
#   severity: medium
#   controls: ["CIS 4.16", "CFG-01"]
#   scope: account
#   types: [aws.securityhub.region]
#   requires: [securityhub]
#   remediation: >-
#     In each region: aws securityhub enable-security-hub (with --enable-default-standards,
#     or enable the standards you follow), or enable it for the organization from the
#     delegated administrator account.
package plumb.cis_aws_1_5.c4_16

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some region in input.regions
	count(lib.region_docs("aws.securityhub.region", region)) == 0
	finding := lib.not_collected(lib.region_key(region), sprintf("Security Hub of region %s", [region]))
}

findings contains finding if {
	some region in input.regions
	some settings in lib.region_docs("aws.securityhub.region", region)
	enabled := lib.get(settings.attributes, "Enabled", false)
	finding := {
		"key": lib.region_key(region),
		"status": lib.status(enabled != true),
		"message": sprintf("Security Hub enabled in %s: %v", [region, enabled]),
		"evidence": {"Enabled": enabled, "HubArn": lib.get(settings.attributes, "HubArn", null), "Standards": lib.get(settings.attributes, "Standards", [])},
	}
}
