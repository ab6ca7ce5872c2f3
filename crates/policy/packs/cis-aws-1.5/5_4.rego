# METADATA
# title: "5.4 Default SG of every VPC restricts all traffic"
# description: >-
#   Per default security group (group name "default", one per VPC, default VPCs included):
#   passes only with no inbound and no outbound rules. An untouched default group fails (it
#   allows all traffic from itself and all outbound). Unlike Prowler, groups not attached to
#   any interface are judged too.
# custom:
#   id: "5.4"
#   severity: high
#   controls: ["CIS 5.4", "CFG-01"]
#   types: [aws.ec2.security_group]
#   requires: [ec2]
#   remediation: >-
#     Move whatever uses the default group to groups of its own, then remove all of the default
#     group's rules (aws ec2 revoke-security-group-ingress and revoke-security-group-egress).
package plumb.cis_aws_1_5.c5_4

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some group in lib.docs("aws.ec2.security_group")
	group.attributes.GroupName == "default"
	inbound := count(lib.get(group.attributes, "IpPermissions", []))
	outbound := count(lib.get(group.attributes, "IpPermissionsEgress", []))
	finding := {
		"key": group.key,
		"status": lib.status(inbound + outbound > 0),
		"message": sprintf("default security group %s of %s has %d inbound and %d outbound rule(s)", [group.attributes.GroupId, lib.get(group.attributes, "VpcId", "?"), inbound, outbound]),
		"evidence": {
			"GroupId": group.attributes.GroupId,
			"VpcId": lib.get(group.attributes, "VpcId", null),
			"IpPermissions": lib.get(group.attributes, "IpPermissions", []),
			"IpPermissionsEgress": lib.get(group.attributes, "IpPermissionsEgress", []),
		},
	}
}
