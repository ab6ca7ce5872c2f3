# METADATA
# title: "2.4.1 EFS encrypted"
# description: >-
#   Marked manual by CIS, but the audit is one attribute, so it is automated here: per EFS
#   file system, Encrypted must be true.
# custom:
#   id: "2.4.1"
#   severity: medium
#   controls: ["CIS 2.4.1", "CFG-01"]
#   types: [aws.efs.file_system]
#   requires: [efs]
#   remediation: >-
#     Encryption at rest is chosen at creation: create an encrypted file system
#     (aws efs create-file-system --encrypted), copy the data (AWS DataSync) and remove the
#     old one.
package plumb.cis_aws_1_5.c2_4_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some fs in lib.docs("aws.efs.file_system")
	encrypted := lib.get(fs.attributes, "Encrypted", false)
	finding := {
		"key": fs.key,
		"status": lib.status(encrypted != true),
		"message": sprintf("EFS file system %s encrypted at rest: %v", [fs.attributes.FileSystemId, encrypted]),
		"evidence": {"Encrypted": encrypted, "KmsKeyId": lib.get(fs.attributes, "KmsKeyId", null)},
	}
}
