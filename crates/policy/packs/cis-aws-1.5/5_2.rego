# METADATA
# title: "5.2 Ensure no security groups allow ingress from 0.0.0.0/0 to remote server administration ports"
# custom:
#   id: "5.2"
#   severity: high
#   controls: ["CIS 5.2", "CFG-01"]
#   types: [aws.ec2.security_group]
#   requires: [ec2]
#   remediation: >-
#     Remove the rules that open port 22 or 3389 (or all ports) to 0.0.0.0/0; reach hosts
#     through a bastion, SSM Session Manager or a VPN instead.
package plumb.cis_aws_1_5.c5_2

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some group in lib.docs("aws.ec2.security_group")
	open := [rule |
		some rule in group.attributes.IpPermissions
		some range in rule.IpRanges
		range.CidrIp == "0.0.0.0/0"
		admin_ports(rule)
	]
	finding := {
		"key": group.key,
		"status": lib.status(count(open) > 0),
		"message": message(group, count(open)),
		"evidence": {"GroupId": group.attributes.GroupId, "OpenRules": open},
	}
}

admin_ports(rule) if rule.IpProtocol == "-1"

admin_ports(rule) if {
	rule.IpProtocol in {"tcp", "6"}
	some port in [22, 3389]
	rule.FromPort <= port
	port <= rule.ToPort
}

message(group, 0) := sprintf("%s allows no administration port from 0.0.0.0/0", [group.attributes.GroupId])

message(group, n) := sprintf("%s allows %d rule(s) with administration ports from 0.0.0.0/0", [group.attributes.GroupId, n]) if n > 0
