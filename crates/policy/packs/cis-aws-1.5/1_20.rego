# METADATA
# title: "1.20 IAM Access Analyzer enabled in all regions"
# description: >-
#   Per region of the account: passes when an analyzer (account or organization type) has
#   status ACTIVE; a region whose Access Analyzer state was not collected is an error.
# custom:
#   id: "1.20"
#   severity: low
#   controls: ["CIS 1.20", "CFG-01"]
#   scope: account
#   types: [aws.accessanalyzer.region]
#   requires: [accessanalyzer]
#   remediation: >-
#     In each region: aws accessanalyzer create-analyzer --analyzer-name account --type
#     ACCOUNT (or ORGANIZATION from the management or delegated administrator account).
package plumb.cis_aws_1_5.c1_20

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some region in input.regions
	count(lib.region_docs("aws.accessanalyzer.region", region)) == 0
	finding := lib.not_collected(lib.region_key(region), sprintf("IAM Access Analyzer of region %s", [region]))
}

findings contains finding if {
	some region in input.regions
	some settings in lib.region_docs("aws.accessanalyzer.region", region)
	analyzers := lib.get(settings.attributes, "Analyzers", [])
	active := [a.Name | some a in analyzers; a.Status == "ACTIVE"]
	finding := {
		"key": lib.region_key(region),
		"status": lib.status(count(active) == 0),
		"message": message(region, active, analyzers),
		"evidence": {"Analyzers": analyzers},
	}
}

message(region, [], analyzers) := sprintf("no active IAM Access Analyzer in %s (%d analyzer(s), none ACTIVE)", [region, count(analyzers)])

message(region, active, _) := sprintf("IAM Access Analyzer active in %s: %s", [region, concat(", ", active)]) if count(active) > 0
