# METADATA
# title: "1.3 Security questions registered"
# description: >-
#   Manual in CIS: security questions are a root-only console setting that no API exposes.
#   Always reported as manual with the steps to confirm it.
# custom:
#   id: "1.3"
#   severity: medium
#   controls: ["CIS 1.3", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Sign in as the root user, open Account > Configure Security Challenge Questions, set
#     three questions and keep the answers in the team's secret store.
package plumb.cis_aws_1_5.c1_3

import data.plumb.cis_aws_1_5.lib
import rego.v1

# Nothing is read: `requires: [iam]` only makes the runner evaluate this check once per synced
# account (a check without a required service runs without input.account).

findings contains lib.manual(
	input.account,
	"Sign in as root and confirm under Account > Configure Security Challenge Questions that security questions are set and their answers are stored safely; no API exposes this setting",
	{"api": "none (root-only console setting)"},
)
