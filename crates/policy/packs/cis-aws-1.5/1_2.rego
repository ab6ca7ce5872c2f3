# METADATA
# title: "1.2 Security contact information registered"
# description: >-
#   Manual in CIS, automated here as Steampipe does: the audit is whether a SECURITY alternate
#   contact exists, which account:GetAlternateContact answers. Absent fails; present passes
#   (whether it reaches the right people stays the reader's to confirm, see the message).
# custom:
#   id: "1.2"
#   severity: medium
#   controls: ["CIS 1.2", "CFG-01"]
#   scope: account
#   types: [aws.account.account]
#   requires: [account]
#   remediation: >-
#     Register a security contact that reaches the security team (a shared mailbox):
#     aws account put-alternate-contact --alternate-contact-type SECURITY --name … --title …
#     --email-address … --phone-number …
package plumb.cis_aws_1_5.c1_2

import data.plumb.cis_aws_1_5.lib
import rego.v1

findings contains lib.not_collected(input.account, "the account's alternate contacts (aws.account.account)") if {
	count(lib.docs("aws.account.account")) == 0
}

findings contains finding if {
	some account in lib.docs("aws.account.account")
	contact := object.get(lib.get(account.attributes, "AlternateContacts", {}), "SECURITY", null)
	finding := result(contact)
}

result(null) := {
	"key": input.account,
	"status": "fail",
	"message": "no security alternate contact is registered (AlternateContacts.SECURITY is absent)",
	"evidence": {"SECURITY": null},
}

result(contact) := {
	"key": input.account,
	"status": "pass",
	"message": sprintf("security alternate contact registered: %s <%s>; confirm it reaches the security team", [lib.get(contact, "Name", ""), lib.get(contact, "EmailAddress", "")]),
	"evidence": {"SECURITY": contact},
} if contact != null
