# METADATA
# title: "1.18 EC2 instances use IAM instance roles"
# description: >-
#   Manual in CIS: credentials stored on a host cannot be seen through the API. The part that
#   can be seen is applied as Prowler does: an instance (not terminated) without an IAM
#   instance profile fails, since anything on it that calls AWS must hold long-term keys. An
#   instance with a profile is reported as manual: the role is there, but only a look at the
#   host shows that no keys are stored on it. No instances at all passes.
# custom:
#   id: "1.18"
#   severity: medium
#   controls: ["CIS 1.18", "CFG-01"]
#   scope: account
#   types: [aws.ec2.instance]
#   requires: [ec2]
#   remediation: >-
#     Attach an instance profile whose role grants what the workload needs
#     (aws ec2 associate-iam-instance-profile), then remove access keys from the host
#     (~/.aws/credentials, environment variables, application configuration) and delete them.
package plumb.cis_aws_1_5.c1_18

import data.plumb.cis_aws_1_5.lib
import rego.v1

instances := [i | some i in lib.docs("aws.ec2.instance"); lib.get(i.attributes, "State", "") != "terminated"]

findings contains finding if {
	count(instances) == 0
	finding := {
		"key": input.account,
		"status": "pass",
		"message": "no EC2 instances (other than terminated ones) to review",
		"evidence": {"instances": 0},
	}
}

findings contains finding if {
	some instance in instances
	profile := lib.get(instance.attributes, "IamInstanceProfile", null)
	finding := result(instance, profile)
}

result(instance, null) := {
	"key": instance.key,
	"status": "fail",
	"message": sprintf("instance %s has no IAM instance profile; anything on it that calls AWS must use stored keys", [instance.attributes.InstanceId]),
	"evidence": {"IamInstanceProfile": null, "State": lib.get(instance.attributes, "State", null)},
}

result(instance, profile) := lib.manual(
	instance.key,
	sprintf("instance %s uses instance profile %s; confirm on the host that no access keys are stored (credentials files, environment, application configuration)", [instance.attributes.InstanceId, lib.get(profile, "Arn", "?")]),
	{"IamInstanceProfile": profile, "State": lib.get(instance.attributes, "State", null)},
) if profile != null
