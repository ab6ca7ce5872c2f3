# METADATA
# title: "3.5 AWS Config enabled in all regions"
# description: >-
#   Per region of the account: passes with a configuration recorder that records all
#   supported resource types (RecordingGroup.AllSupported) and whose status is recording with
#   last status SUCCESS (compared without regard to case: the API says Success, CIS SUCCESS).
#   Global resource types (IAM) need recording in one region only, so that is one more
#   account-level result: some region's passing recorder must have
#   IncludeGlobalResourceTypes. Prowler checks neither AllSupported nor global types.
# custom:
#   id: "3.5"
#   severity: medium
#   controls: ["CIS 3.5", "CFG-01"]
#   scope: account
#   types: [aws.config.region]
#   requires: [config]
#   remediation: >-
#     In each region: aws configservice put-configuration-recorder with
#     recordingGroup allSupported=true (includeGlobalResourceTypes=true in one region),
#     put-delivery-channel, then start-configuration-recorder.
package plumb.cis_aws_1_5.c3_5

import data.plumb.cis_aws_1_5.lib
import rego.v1

recording(settings) := [r |
	some r in lib.get(settings.attributes, "ConfigurationRecorders", [])
	lib.get(lib.get(r, "RecordingGroup", {}), "AllSupported", false) == true
	some s in lib.get(settings.attributes, "RecorderStatus", [])
	s.Name == r.Name
	lib.get(s, "Recording", false) == true
	lower(lib.get(s, "LastStatus", "")) == "success"
]

findings contains finding if {
	some region in input.regions
	count(lib.region_docs("aws.config.region", region)) == 0
	finding := lib.not_collected(lib.region_key(region), sprintf("AWS Config of region %s", [region]))
}

findings contains finding if {
	some region in input.regions
	some settings in lib.region_docs("aws.config.region", region)
	good := recording(settings)
	finding := {
		"key": lib.region_key(region),
		"status": lib.status(count(good) == 0),
		"message": message(region, good, settings),
		"evidence": {
			"ConfigurationRecorders": lib.get(settings.attributes, "ConfigurationRecorders", []),
			"RecorderStatus": lib.get(settings.attributes, "RecorderStatus", []),
		},
	}
}

message(region, [], settings) := sprintf("no recorder in %s records all supported resource types with recording on and last status SUCCESS (%d recorder(s))", [region, count(lib.get(settings.attributes, "ConfigurationRecorders", []))])

message(region, good, _) := sprintf("AWS Config records all supported resource types in %s (recorder %s)", [region, good[0].Name]) if count(good) > 0

# Global resource types: recorded by a passing recorder in some region.
global_regions := sort({region |
	some region in input.regions
	some settings in lib.region_docs("aws.config.region", region)
	some r in recording(settings)
	lib.get(r.RecordingGroup, "IncludeGlobalResourceTypes", false) == true
})

missing_regions := [region | some region in input.regions; count(lib.region_docs("aws.config.region", region)) == 0]

findings contains finding if {
	count(global_regions) > 0
	finding := {
		"key": input.account,
		"status": "pass",
		"message": sprintf("global resource types (IAM) are recorded in %s", [concat(", ", global_regions)]),
		"evidence": {"IncludeGlobalResourceTypes": global_regions},
	}
}

findings contains finding if {
	count(global_regions) == 0
	count(missing_regions) == 0
	finding := {
		"key": input.account,
		"status": "fail",
		"message": "no region's working recorder includes global resource types (IAM users, roles, policies are not recorded)",
		"evidence": {"IncludeGlobalResourceTypes": []},
	}
}

findings contains finding if {
	count(global_regions) == 0
	count(missing_regions) > 0
	finding := lib.not_collected(input.account, sprintf("AWS Config of region(s) %s (global resource types may be recorded there)", [concat(", ", missing_regions)]))
}
