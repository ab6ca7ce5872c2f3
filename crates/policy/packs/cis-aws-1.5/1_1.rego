# METADATA
# title: "1.1 Maintain current contact details"
# description: >-
#   Manual in CIS: whether the account's contact email and phone reach a monitored group
#   rather than one person is a judgement no API answers. Reported as manual, with the
#   alternate contacts plumb collected as evidence.
# custom:
#   id: "1.1"
#   severity: medium
#   controls: ["CIS 1.1", "CFG-01"]
#   scope: account
#   types: [aws.account.account]
#   requires: [account]
#   remediation: >-
#     In the console (Account > Contact information) set the primary contact's email to a
#     distribution list or alias and the phone to a number that is staffed (a rota), and review
#     both when the team changes.
package plumb.cis_aws_1_5.c1_1

import data.plumb.cis_aws_1_5.lib
import rego.v1

# The primary contact (account:GetContactInformation) is not collected; the alternate contacts
# are, and show whether the account's contact data is kept at all. (`requires: [account]` also
# makes the runner give this check its account: without a required service it would run
# without input.account.)
contacts := lib.get(lib.doc("aws.account.account").attributes, "AlternateContacts", {}) if {
	count(lib.docs("aws.account.account")) > 0
} else := "not collected"

findings contains lib.manual(
	input.account,
	"Confirm that the account's primary contact email and phone reach a monitored group (an alias or a rota), not one person; plumb cannot read the primary contact, only the alternate contacts in the evidence",
	{"AlternateContacts": contacts},
)
