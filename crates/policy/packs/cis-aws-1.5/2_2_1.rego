# METADATA
# title: "2.2.1 EBS encryption by default in all regions"
# description: >-
#   Per region of the account: EbsEncryptionByDefault must be true (the regional default CIS
#   audits, not each volume: Prowler's CIS mapping points at a per-volume check instead).
# custom:
#   id: "2.2.1"
#   severity: medium
#   controls: ["CIS 2.2.1", "CFG-01"]
#   scope: account
#   types: [aws.ec2.region]
#   requires: [ec2]
#   remediation: >-
#     In each region: aws ec2 enable-ebs-encryption-by-default (optionally choose the key with
#     aws ec2 modify-ebs-default-kms-key-id).
package plumb.cis_aws_1_5.c2_2_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some region in input.regions
	count(lib.region_docs("aws.ec2.region", region)) == 0
	finding := lib.not_collected(lib.region_key(region), sprintf("the EC2 settings of region %s", [region]))
}

findings contains finding if {
	some region in input.regions
	some settings in lib.region_docs("aws.ec2.region", region)
	enabled := lib.get(settings.attributes, "EbsEncryptionByDefault", false)
	finding := {
		"key": lib.region_key(region),
		"status": lib.status(enabled != true),
		"message": sprintf("EBS encryption by default in %s: %v", [region, enabled]),
		"evidence": {"EbsEncryptionByDefault": enabled},
	}
}
