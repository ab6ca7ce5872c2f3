# METADATA
# title: "2.1.1 S3 buckets encrypted at rest"
# description: >-
#   Per bucket: default encryption with SSE-S3 (AES256), SSE-KMS or DSSE-KMS passes; none
#   fails. Since January 2023 AWS encrypts new buckets with SSE-S3 by default, so a pass says
#   nothing about a deliberate choice of key.
# custom:
#   id: "2.1.1"
#   severity: medium
#   controls: ["CIS 2.1.1", "CFG-01"]
#   types: [aws.s3.bucket]
#   requires: [s3]
#   remediation: >-
#     Set default encryption on the bucket (SSE-S3 or SSE-KMS):
#     aws s3api put-bucket-encryption --bucket NAME --server-side-encryption-configuration …
package plumb.cis_aws_1_5.c2_1_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some bucket in lib.docs("aws.s3.bucket")
	encryption := lib.get(bucket.attributes, "Encryption", null)
	algorithms := [rule.SSEAlgorithm | some rule in lib.get(lib.get(bucket.attributes, "Encryption", {}), "Rules", [])]
	encrypted := count([a | some a in algorithms; a in {"AES256", "aws:kms", "aws:kms:dsse"}]) > 0
	finding := {
		"key": bucket.key,
		"status": lib.status(encrypted == false),
		"message": message(bucket, encrypted, algorithms),
		"evidence": {"Encryption": encryption},
	}
}

message(bucket, true, algorithms) := sprintf("%s is encrypted at rest (%s)", [bucket.attributes.Name, concat(", ", algorithms)])

message(bucket, false, _) := sprintf("%s has no default encryption", [bucket.attributes.Name])
