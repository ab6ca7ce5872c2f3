# METADATA
# title: "1.16 No attached policy grants full *:* admin"
# description: >-
#   Per attached managed policy (AttachmentCount above 0; customer and AWS managed alike, the
#   literal CIS reading, as Prowler): its default version fails when a statement allows Action
#   "*" (or "*:*") on Resource "*", single values and lists alike. NotAction statements are
#   not the CIS pattern and do not fail; they are listed in the evidence.
# custom:
#   id: "1.16"
#   severity: high
#   controls: ["CIS 1.16", "CFG-01"]
#   types: [aws.iam.policy]
#   requires: [iam]
#   remediation: >-
#     Replace the policy with one that grants only the actions and resources needed, then
#     detach the full-admin policy (aws iam detach-role-policy / detach-group-policy /
#     detach-user-policy); keep administrator access on a few break-glass roles with MFA.
package plumb.cis_aws_1_5.c1_16

import data.plumb.cis_aws_1_5.lib
import rego.v1

attached(policy) if lib.get(policy.attributes, "AttachmentCount", 0) > 0

findings contains finding if {
	some policy in lib.docs("aws.iam.policy")
	attached(policy)
	document := lib.get(policy.attributes, "Document", null)
	not is_object(document)
	finding := {
		"key": policy.key,
		"status": "error",
		"message": sprintf("policy %s's document could not be read as JSON", [lib.get(policy.attributes, "PolicyName", policy.key)]),
		"evidence": {"Document": document},
	}
}

findings contains finding if {
	some policy in lib.docs("aws.iam.policy")
	attached(policy)
	document := policy.attributes.Document
	is_object(document)
	admin := [s | some s in lib.statements(document); full_admin(s)]
	not_action := [s | some s in lib.statements(document); broad_not_action(s)]
	name := lib.get(policy.attributes, "PolicyName", policy.key)
	finding := {
		"key": policy.key,
		"status": lib.status(count(admin) > 0),
		"message": message(name, policy.attributes, count(admin)),
		"evidence": {
			"AwsManaged": lib.get(policy.attributes, "AwsManaged", false),
			"AttachmentCount": policy.attributes.AttachmentCount,
			"DefaultVersionId": lib.get(policy.attributes, "DefaultVersionId", null),
			"AdminStatements": admin,
			"NotActionStatements": not_action,
		},
	}
}

full_admin(s) if {
	s.Effect == "Allow"
	some action in lib.as_list(object.get(s, "Action", []))
	action in {"*", "*:*"}
	"*" in lib.as_list(object.get(s, "Resource", []))
}

broad_not_action(s) if {
	s.Effect == "Allow"
	object.get(s, "NotAction", null) != null
	"*" in lib.as_list(object.get(s, "Resource", []))
}

message(name, attributes, 0) := sprintf("policy %s (attached %v time(s)) grants no *:* administrative access", [name, attributes.AttachmentCount])

message(name, attributes, n) := sprintf("policy %s (attached %v time(s), AWS managed: %v) allows Action * on Resource * in %d statement(s)", [name, attributes.AttachmentCount, lib.get(attributes, "AwsManaged", false), n]) if n > 0
