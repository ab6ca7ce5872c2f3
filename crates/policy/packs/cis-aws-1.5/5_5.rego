# METADATA
# title: "5.5 VPC peering routes are \"least access\""
# description: >-
#   Manual in CIS: whether each route is needed is the owner's call. Per active peering
#   connection (in each region where it is seen), the routes over it are the evidence, and
#   Prowler's heuristic is applied: a route over the peering to 0.0.0.0/0, ::/0 or the whole
#   CIDR of the peer VPC fails, since least access routes only the subnets that need to talk.
#   Otherwise the routes are reported as manual for review. No active peering passes.
# custom:
#   id: "5.5"
#   severity: medium
#   controls: ["CIS 5.5", "CFG-01"]
#   scope: account
#   types: [aws.ec2.vpc_peering_connection, aws.ec2.route_table]
#   requires: [ec2]
#   remediation: >-
#     Replace routes to the whole peer VPC with routes to the subnets that need to reach it
#     (aws ec2 delete-route, then create-route --destination-cidr-block SUBNET_CIDR
#     --vpc-peering-connection-id PCX), in the route tables of the subnets that need it only.
package plumb.cis_aws_1_5.c5_5

import data.plumb.cis_aws_1_5.lib
import rego.v1

peerings := [p | some p in lib.docs("aws.ec2.vpc_peering_connection"); lib.get(p.attributes, "Status", "") == "active"]

findings contains finding if {
	count(peerings) == 0
	finding := {"key": input.account, "status": "pass", "message": "no active VPC peering connections to review", "evidence": {"peerings": 0}}
}

# The CIDR of the other side of a peering, seen from a VPC.
peer_cidr(peering, vpc) := lib.get(side(peering, "AccepterVpcInfo"), "CidrBlock", "") if {
	lib.get(side(peering, "RequesterVpcInfo"), "VpcId", "") == vpc
} else := lib.get(side(peering, "RequesterVpcInfo"), "CidrBlock", "")

side(peering, name) := lib.get(peering.attributes, name, {})

routes(peering) := [r |
	some t in lib.docs("aws.ec2.route_table")
	lib.arn_region(t.key) == lib.arn_region(peering.key)
	some route in lib.get(t.attributes, "Routes", [])
	lib.get(route, "VpcPeeringConnectionId", "") == peering.attributes.VpcPeeringConnectionId
	destination := lib.get(route, "DestinationCidrBlock", lib.get(route, "DestinationIpv6CidrBlock", ""))
	r := {
		"RouteTableId": t.attributes.RouteTableId,
		"VpcId": t.attributes.VpcId,
		"Destination": destination,
		"PeerCidrBlock": peer_cidr(peering, t.attributes.VpcId),
	}
]

broad(route) if route.Destination in {"0.0.0.0/0", "::/0"}

broad(route) if route.Destination == route.PeerCidrBlock

findings contains finding if {
	some peering in peerings
	listed := routes(peering)
	wide := [r | some r in listed; broad(r)]
	finding := result(peering, listed, wide)
}

result(peering, listed, []) := lib.manual(
	peering.key,
	sprintf("peering %s has %d route(s), none to the whole peer VPC or anywhere; confirm each is needed: %s", [peering.attributes.VpcPeeringConnectionId, count(listed), concat(", ", sort({sprintf("%s -> %s", [r.RouteTableId, r.Destination]) | some r in listed}))]),
	{"Routes": listed, "RequesterVpcInfo": side(peering, "RequesterVpcInfo"), "AccepterVpcInfo": side(peering, "AccepterVpcInfo")},
)

result(peering, listed, wide) := {
	"key": peering.key,
	"status": "fail",
	"message": sprintf("peering %s is routed wider than least access: %s", [peering.attributes.VpcPeeringConnectionId, concat(", ", sort({sprintf("%s -> %s", [r.RouteTableId, r.Destination]) | some r in wide}))]),
	"evidence": {"Routes": listed, "BroadRoutes": wide, "RequesterVpcInfo": side(peering, "RequesterVpcInfo"), "AccepterVpcInfo": side(peering, "AccepterVpcInfo")},
} if count(wide) > 0
