# METADATA
# title: "1.15 Users get permissions only through groups"
# description: >-
#   Per IAM user: a managed policy attached to the user, or an inline user policy, fails.
# custom:
#   id: "1.15"
#   severity: low
#   controls: ["CIS 1.15", "CFG-01"]
#   types: [aws.iam.user]
#   requires: [iam]
#   remediation: >-
#     Put the user in a group that carries the permissions, then detach the user's managed
#     policies (aws iam detach-user-policy) and delete the inline ones (aws iam
#     delete-user-policy).
package plumb.cis_aws_1_5.c1_15

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some user in lib.docs("aws.iam.user")
	attached := [lib.get(p, "PolicyArn", lib.get(p, "PolicyName", "?")) | some p in lib.get(user.attributes, "AttachedPolicies", [])]
	inline := [lib.get(p, "PolicyName", "?") | some p in lib.get(user.attributes, "InlinePolicies", [])]
	direct := count(attached) + count(inline)
	finding := {
		"key": user.key,
		"status": lib.status(direct > 0),
		"message": message(lib.get(user.attributes, "UserName", user.key), attached, inline),
		"evidence": {"AttachedPolicies": attached, "InlinePolicies": inline, "Groups": lib.get(user.attributes, "Groups", [])},
	}
}

message(name, [], []) := sprintf("IAM user %s has no policy of its own (permissions through groups only)", [name])

message(name, attached, inline) := sprintf("IAM user %s has policies of its own: attached %v, inline %v", [name, attached, inline]) if {
	count(attached) + count(inline) > 0
}
