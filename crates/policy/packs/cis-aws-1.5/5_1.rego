# METADATA
# title: "5.1 No NACL allows ingress from 0.0.0.0/0 to admin ports"
# description: >-
#   Per network ACL, evaluated as AWS does: for each administration port (context
#   cis_admin_ports, default 22 and 3389), protocol (TCP, and UDP when cis_admin_udp is set;
#   an "all protocols" entry covers them) and source (0.0.0.0/0 and ::/0, as Prowler and
#   Steampipe), the ingress entries for exactly that source that match are taken in rule
#   number order and the first one decides; an allow fails. So a lower-numbered deny in front
#   of a broad allow passes (as Prowler); the allow entries it shadows, which a literal
#   reading of CIS (and Steampipe) would fail, are listed in the evidence. Port ranges are
#   inclusive. Untouched default NACLs (rule 100 allows everything) fail.
# custom:
#   id: "5.1"
#   severity: medium
#   controls: ["CIS 5.1", "CFG-01"]
#   types: [aws.ec2.network_acl]
#   requires: [ec2]
#   remediation: >-
#     Replace the entry that admits the administration ports from anywhere with entries for
#     the networks that need them (aws ec2 replace-network-acl-entry / delete-network-acl-entry),
#     or put a deny for 0.0.0.0/0 and ::/0 on those ports in front of it (a lower rule number).
package plumb.cis_aws_1_5.c5_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

sources := {"0.0.0.0/0", "::/0"}

ingress(acl) := [e | some e in lib.get(acl.attributes, "Entries", []); lib.get(e, "Egress", false) == false]

from_source(entry, "0.0.0.0/0") if lib.get(entry, "CidrBlock", "") == "0.0.0.0/0"

from_source(entry, "::/0") if lib.get(entry, "Ipv6CidrBlock", "") == "::/0"

# Whether an entry applies to traffic of a protocol number to a port.
applies(entry, _, _) if sprintf("%v", [entry.Protocol]) == "-1"

applies(entry, protocol, port) if {
	sprintf("%v", [entry.Protocol]) == protocol
	range := lib.get(entry, "PortRange", {"From": 0, "To": 65535})
	range.From <= port
	port <= range.To
}

# Per (source, protocol, port): the entry that decides, when any applies.
decisions(acl) := [d |
	some source in sources
	some protocol in lib.admin_protocol_numbers
	some port in lib.admin_ports
	matching := [e | some e in ingress(acl); from_source(e, source); applies(e, protocol, port)]
	count(matching) > 0
	first := min([e.RuleNumber | some e in matching])
	some e in matching
	e.RuleNumber == first
	d := {"Source": source, "Protocol": protocol, "Port": port, "RuleNumber": first, "RuleAction": e.RuleAction}
]

# Allow entries for an administration port from anywhere that a lower-numbered deny shadows.
shadowed(acl) := sort({e.RuleNumber |
	some e in ingress(acl)
	e.RuleAction == "allow"
	some source in sources
	from_source(e, source)
	some protocol in lib.admin_protocol_numbers
	some port in lib.admin_ports
	applies(e, protocol, port)
	some d in decisions(acl)
	d.Source == source
	d.Protocol == protocol
	d.Port == port
	d.RuleAction == "deny"
})

findings contains finding if {
	some acl in lib.docs("aws.ec2.network_acl")
	open := [d | some d in decisions(acl); d.RuleAction == "allow"]
	finding := {
		"key": acl.key,
		"status": lib.status(count(open) > 0),
		"message": message(acl.attributes.NetworkAclId, open),
		"evidence": {"OpenEntries": open, "ShadowedAllowRules": shadowed(acl), "IsDefault": lib.get(acl.attributes, "IsDefault", null)},
	}
}

message(id, []) := sprintf("network ACL %s admits no traffic from 0.0.0.0/0 or ::/0 to ports %v", [id, lib.admin_ports])

message(id, open) := sprintf("network ACL %s admits administration ports from anywhere: %s", [id, concat("; ", sort({sprintf("rule %v allows protocol %s port %v from %s", [d.RuleNumber, d.Protocol, d.Port, d.Source]) | some d in open}))]) if count(open) > 0
