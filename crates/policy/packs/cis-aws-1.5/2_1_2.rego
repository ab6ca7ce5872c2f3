# METADATA
# title: "2.1.2 Bucket policy denies HTTP"
# description: >-
#   Per bucket: passes when the bucket policy has a statement that denies (Effect Deny) to
#   everyone (Principal "*" or AWS "*") all S3 actions ("s3:*" or "*") on this bucket or its
#   objects under the condition Bool (or BoolIfExists) aws:SecureTransport false. Condition
#   keys are matched without regard to case, values may be "false", false or ["false"]. No
#   policy fails. Stricter than Prowler, which accepts s3:PutObject alone and ignores the
#   principal; a Deny on s3:TlsVersion is a different control and does not count.
# custom:
#   id: "2.1.2"
#   severity: medium
#   controls: ["CIS 2.1.2", "CFG-01"]
#   types: [aws.s3.bucket]
#   requires: [s3]
#   remediation: >-
#     Add to the bucket policy a statement with Effect Deny, Principal "*", Action "s3:*",
#     Resource the bucket and bucket/* ARNs and Condition {"Bool": {"aws:SecureTransport":
#     "false"}} (aws s3api put-bucket-policy).
package plumb.cis_aws_1_5.c2_1_2

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains finding if {
	some bucket in lib.docs("aws.s3.bucket")
	finding := result(bucket, lib.get(bucket.attributes, "Policy", null))
}

result(bucket, null) := {
	"key": bucket.key,
	"status": "fail",
	"message": sprintf("%s has no bucket policy, so HTTP requests are not denied", [bucket.attributes.Name]),
	"evidence": {"Policy": null},
}

result(bucket, policy) := {
	"key": bucket.key,
	"status": "error",
	"message": sprintf("%s's bucket policy could not be read as JSON", [bucket.attributes.Name]),
	"evidence": {"Policy": policy},
} if {
	policy != null
	not is_object(policy)
}

result(bucket, policy) := {
	"key": bucket.key,
	"status": lib.status(count(denying) == 0),
	"message": message(bucket.attributes.Name, denying),
	"evidence": {"DenyInsecureTransport": denying},
} if {
	is_object(policy)
	denying := [s | some s in lib.statements(policy); denies_http(s, bucket.attributes.Name)]
}

message(name, []) := sprintf("%s's bucket policy has no statement denying s3:* to everyone when aws:SecureTransport is false", [name])

message(name, denying) := sprintf("%s's bucket policy denies requests without TLS (aws:SecureTransport false)", [name]) if count(denying) > 0

denies_http(s, name) if {
	s.Effect == "Deny"
	lib.everyone(object.get(s, "Principal", null))
	some action in lib.as_list(object.get(s, "Action", []))
	lower(action) in {"s3:*", "*"}
	some resource in lib.as_list(object.get(s, "Resource", []))
	covers(resource, name)
	insecure_transport(object.get(s, "Condition", {}))
}

# A resource that names this bucket, its objects, or every bucket (any partition).
covers("*", _) := true

covers(resource, name) if {
	parts := split(resource, ":::")
	count(parts) == 2
	startswith(parts[0], "arn:")
	endswith(parts[0], ":s3")
	parts[1] in {name, concat("", [name, "/*"]), "*", "*/*"}
}

insecure_transport(condition) if {
	some operator, body in condition
	lower(operator) in {"bool", "boolifexists"}
	some key, value in body
	lower(key) == "aws:securetransport"
	some v in lib.as_list(value)
	lower(sprintf("%v", [v])) == "false"
}
