# METADATA
# title: "3.9 VPC flow logs in all VPCs"
# description: >-
#   Per VPC: passes with a flow log on the VPC itself (subnet and interface flow logs do not
#   count) whose FlowLogStatus is ACTIVE. Any traffic type passes; CIS suggests REJECT at
#   least. Prowler accepts any flow log without looking at its status.
# custom:
#   id: "3.9"
#   severity: medium
#   controls: ["CIS 3.9", "CFG-01"]
#   types: [aws.ec2.vpc]
#   requires: [ec2]
#   remediation: >-
#     aws ec2 create-flow-logs --resource-type VPC --resource-ids VPC --traffic-type REJECT
#     --log-destination-type cloud-watch-logs --log-group-name NAME
#     --deliver-logs-permission-arn ROLE
package plumb.cis_aws_1_5.c3_9

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some vpc in lib.docs("aws.ec2.vpc")
	logs := lib.get(vpc.attributes, "FlowLogs", [])
	active := [l.FlowLogId | some l in logs; l.FlowLogStatus == "ACTIVE"; lib.get(l, "ResourceId", vpc.attributes.VpcId) == vpc.attributes.VpcId]
	finding := {
		"key": vpc.key,
		"status": lib.status(count(active) == 0),
		"message": message(vpc.attributes.VpcId, active, logs),
		"evidence": {"FlowLogs": [{"FlowLogId": l.FlowLogId, "FlowLogStatus": lib.get(l, "FlowLogStatus", null), "TrafficType": lib.get(l, "TrafficType", null)} | some l in logs]},
	}
}

message(vpc, [], logs) := sprintf("VPC %s has no active flow log (%d flow log(s))", [vpc, count(logs)])

message(vpc, active, _) := sprintf("VPC %s has active flow log(s) %s", [vpc, concat(", ", active)]) if count(active) > 0
