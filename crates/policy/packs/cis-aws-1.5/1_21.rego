# METADATA
# title: "1.21 Users managed centrally (federation or Organizations)"
# description: >-
#   Manual in CIS. Reported as manual, with what plumb sees as evidence: the SAML and OIDC
#   identity providers and how many IAM users (and console users) exist. Prowler's heuristic
#   (fail without a SAML provider) is not applied: Identity Center needs no provider in the
#   member account, and an OIDC provider is usually for CI, so neither proves the point.
# custom:
#   id: "1.21"
#   severity: medium
#   controls: ["CIS 1.21", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Sign people in through IAM Identity Center or a SAML identity provider, manage accounts
#     with AWS Organizations, and delete the IAM users that federation replaces.
package plumb.cis_aws_1_5.c1_21

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the IAM account settings (aws.iam.account)") if lib.iam_settings_missing

findings contains finding if {
	settings := lib.doc("aws.iam.account").attributes
	saml := lib.get(settings, "SAMLProviders", [])
	oidc := lib.get(settings, "OpenIDConnectProviders", [])
	console := [row.user | some row in lib.user_rows; lib.flag(row, "password_enabled")]
	finding := lib.manual(
		input.account,
		sprintf("Confirm that people sign in through federation (IAM Identity Center or an identity provider) and that accounts are managed in AWS Organizations; plumb sees %d SAML provider(s), %d OIDC provider(s), %d IAM user(s), %d with a console password", [count(saml), count(oidc), count(lib.user_rows), count(console)]),
		{"SAMLProviders": saml, "OpenIDConnectProviders": oidc, "IAMUsers": count(lib.user_rows), "ConsoleUsers": console},
	)
}
