# METADATA
# title: "1.19 Expired IAM server certificates removed"
# description: >-
#   Per server certificate stored in IAM: an Expiration before now fails. No certificates
#   passes (one account-level result).
# custom:
#   id: "1.19"
#   severity: high
#   controls: ["CIS 1.19", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Delete the expired certificate (aws iam delete-server-certificate
#     --server-certificate-name NAME) after moving anything that uses it to a current one,
#     preferably in ACM.
package plumb.cis_aws_1_5.c1_19

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

certificates := lib.get(lib.doc("aws.iam.account").attributes, "ServerCertificates", [])

findings contains finding if {
	not lib.iam_settings_missing
	count(certificates) == 0
	finding := {
		"key": input.account,
		"status": "pass",
		"message": "no server certificates are stored in IAM",
		"evidence": {"ServerCertificates": []},
	}
}

findings contains finding if {
	some cert in certificates
	expiration := lib.get(cert, "Expiration", "")
	lib.is_timestamp(expiration)
	expired := lib.days_since(expiration) > 0
	finding := {
		"key": lib.get(cert, "Arn", cert.ServerCertificateName),
		"status": lib.status(expired),
		"message": message(cert.ServerCertificateName, expiration, expired),
		"evidence": {"ServerCertificateName": cert.ServerCertificateName, "Expiration": expiration},
	}
}

findings contains finding if {
	some cert in certificates
	lib.is_timestamp(lib.get(cert, "Expiration", "")) == false
	finding := {
		"key": lib.get(cert, "Arn", cert.ServerCertificateName),
		"status": "error",
		"message": sprintf("server certificate %s has no readable expiration date", [cert.ServerCertificateName]),
		"evidence": {"ServerCertificateName": cert.ServerCertificateName, "Expiration": lib.get(cert, "Expiration", null)},
	}
}

message(name, expiration, true) := sprintf("server certificate %s expired on %s", [name, expiration])

message(name, expiration, false) := sprintf("server certificate %s is valid until %s", [name, expiration])
