# METADATA
# title: "3.8 Rotation on customer symmetric KMS keys"
# description: >-
#   Per KMS key in scope: customer managed (KeyManager CUSTOMER), symmetric
#   (SYMMETRIC_DEFAULT), enabled (KeyState Enabled) and of KMS origin (EXTERNAL, AWS_CLOUDHSM
#   and EXTERNAL_KEY_STORE keys cannot rotate automatically). KeyRotationEnabled false
#   fails; an unknown rotation status is an error. AWS managed, asymmetric, HMAC, disabled,
#   pending-deletion and imported keys are out of scope and not reported (Prowler does not
#   skip imported keys).
# custom:
#   id: "3.8"
#   severity: medium
#   controls: ["CIS 3.8", "CFG-01"]
#   types: [aws.kms.key]
#   requires: [kms]
#   remediation: aws kms enable-key-rotation --key-id KEY
package plumb.cis_aws_1_5.c3_8

import data.plumb.cis_aws_1_5.lib
import rego.v1

in_scope(key) if {
	key.attributes.KeyManager == "CUSTOMER"
	key.attributes.KeySpec == "SYMMETRIC_DEFAULT"
	key.attributes.KeyState == "Enabled"
	lib.get(key.attributes, "Origin", "AWS_KMS") == "AWS_KMS"
}

findings contains finding if {
	some key in lib.docs("aws.kms.key")
	in_scope(key)
	rotation := lib.get(key.attributes, "KeyRotationEnabled", null)
	finding := result(key, rotation)
}

result(key, null) := {
	"key": key.key,
	"status": "error",
	"message": sprintf("KMS key %s's rotation status is unknown", [key.attributes.KeyId]),
	"evidence": {"KeyRotationEnabled": null},
}

result(key, rotation) := {
	"key": key.key,
	"status": lib.status(rotation != true),
	"message": sprintf("KMS key %s (%s) automatic rotation: %v", [key.attributes.KeyId, lib.get(key.attributes, "Description", ""), rotation]),
	"evidence": {"KeyRotationEnabled": rotation, "KeyManager": key.attributes.KeyManager, "KeySpec": key.attributes.KeySpec, "KeyState": key.attributes.KeyState, "Origin": lib.get(key.attributes, "Origin", null)},
} if rotation != null
