# METADATA
# title: "2.3.3 RDS instance not public"
# description: >-
#   Per RDS DB instance: PubliclyAccessible true fails (as Steampipe; Prowler also wants an
#   open security group and a public subnet before it fails). The subnets of the instance's
#   subnet group that route 0.0.0.0/0 or ::/0 to an internet gateway (explicit route table
#   association, else the VPC's main table) are attached as supporting evidence, not as a
#   condition.
# custom:
#   id: "2.3.3"
#   severity: high
#   controls: ["CIS 2.3.3", "CFG-01"]
#   scope: account
#   types: [aws.rds.instance, aws.ec2.route_table]
#   requires: [rds, ec2]
#   remediation: >-
#     aws rds modify-db-instance --db-instance-identifier ID --no-publicly-accessible
#     --apply-immediately, and keep the DB subnet group on private subnets.
package plumb.cis_aws_1_5.c2_3_3

import data.plumb.cis_aws_1_5.lib
import rego.v1

tables := lib.docs("aws.ec2.route_table")

explicit(subnet) := [t | some t in tables; some a in lib.get(t.attributes, "Associations", []); a.SubnetId == subnet]

main_tables(vpc) := [t | some t in tables; t.attributes.VpcId == vpc; some a in lib.get(t.attributes, "Associations", []); a.Main == true]

internet_route(route) if {
	lib.get(route, "DestinationCidrBlock", "") == "0.0.0.0/0"
	startswith(lib.get(route, "GatewayId", ""), "igw-")
}

internet_route(route) if {
	lib.get(route, "DestinationIpv6CidrBlock", "") == "::/0"
	startswith(lib.get(route, "GatewayId", ""), "igw-")
}

findings contains finding if {
	some db in lib.docs("aws.rds.instance")
	public := lib.get(db.attributes, "PubliclyAccessible", false)
	group := lib.get(db.attributes, "DBSubnetGroup", {})
	vpc := lib.get(group, "VpcId", "")
	routed := sort({sprintf("%s via %s", [subnet, t.attributes.RouteTableId]) |
		some subnet in lib.get(group, "Subnets", [])
		some t in subnet_tables(subnet, vpc)
		some route in lib.get(t.attributes, "Routes", [])
		internet_route(route)
	})
	finding := {
		"key": db.key,
		"status": lib.status(public == true),
		"message": message(db.attributes.DBInstanceIdentifier, public, routed),
		"evidence": {"PubliclyAccessible": public, "SubnetsRoutedToInternetGateway": routed},
	}
}

subnet_tables(subnet, _) := explicit(subnet) if count(explicit(subnet)) > 0

subnet_tables(subnet, vpc) := main_tables(vpc) if count(explicit(subnet)) == 0

message(name, true, routed) := sprintf("RDS instance %s is publicly accessible (PubliclyAccessible = true); subnets routed to an internet gateway: %v", [name, routed])

message(name, public, _) := sprintf("RDS instance %s is not publicly accessible (PubliclyAccessible = %v)", [name, public]) if public != true
