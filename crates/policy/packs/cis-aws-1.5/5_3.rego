# METADATA
# title: "5.3 No SG allows ingress from ::/0 to admin ports"
# description: >-
#   Per security group: an ingress rule from ::/0 (IPv6 only; 0.0.0.0/0 is 5.2) that is "all
#   protocols", or TCP (UDP too when the context's cis_admin_udp is set) with a port range
#   that includes an administration port (cis_admin_ports, default 22 and 3389), fails.
# custom:
#   id: "5.3"
#   severity: high
#   controls: ["CIS 5.3", "CFG-01"]
#   types: [aws.ec2.security_group]
#   requires: [ec2]
#   remediation: >-
#     Remove the rules that open port 22 or 3389 (or all ports) to ::/0; reach hosts through
#     a bastion, SSM Session Manager or a VPN instead.
package plumb.cis_aws_1_5.c5_3

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some group in lib.docs("aws.ec2.security_group")
	open := lib.sg_open_rules(group, "::/0")
	finding := {
		"key": group.key,
		"status": lib.status(count(open) > 0),
		"message": message(group, count(open)),
		"evidence": {"GroupId": group.attributes.GroupId, "OpenRules": open},
	}
}

message(group, 0) := sprintf("%s allows no administration port from ::/0", [group.attributes.GroupId])

message(group, n) := sprintf("%s allows %d rule(s) with administration ports from ::/0", [group.attributes.GroupId, n]) if n > 0
