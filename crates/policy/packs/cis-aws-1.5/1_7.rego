# METADATA
# title: "1.7 Eliminate root use for daily tasks"
# description: >-
#   CIS gives no threshold; here root use (password or either access key, from the credential
#   report's root row) within the last N days fails, N being the context's
#   root_recent_use_days (default 1, as Prowler). The last-use dates are reported either way.
# custom:
#   id: "1.7"
#   severity: high
#   controls: ["CIS 1.7", "CFG-01"]
#   scope: account
#   types: [aws.iam.account]
#   requires: [iam]
#   remediation: >-
#     Do daily work with IAM roles or Identity Center users; keep root for the few tasks that
#     need it, find out who used it (CloudTrail userIdentity.type Root) and delete any root
#     access keys.
package plumb.cis_aws_1_5.c1_7

import data.plumb.cis_aws_1_5.lib
import rego.v1

columns := ["password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date"]

findings contains lib.not_collected(input.account, "the IAM credential report (aws.iam.account)") if lib.credential_report_missing

findings contains lib.not_collected(input.account, "the credential report's root row") if {
	not lib.credential_report_missing
	count(lib.root_rows) == 0
}

findings contains finding if {
	some row in lib.root_rows
	days := lib.setting("root_recent_use_days", 1)
	recent := [c | some c in columns; lib.is_timestamp(row[c]); lib.days_since(row[c]) < days]
	finding := {
		"key": input.account,
		"status": lib.status(count(recent) > 0),
		"message": message(row, recent, days),
		"evidence": {c: lib.get(row, c, null) | some c in columns},
	}
}

message(row, recent, days) := sprintf("root user was used within the last %v day(s): %s", [days, concat(", ", [sprintf("%s = %s", [c, row[c]]) | some c in recent])]) if count(recent) > 0

message(row, recent, days) := sprintf("root user not used within the last %v day(s) (password_last_used = %s, access_key_1_last_used_date = %s, access_key_2_last_used_date = %s)", [days, lib.get(row, "password_last_used", "?"), lib.get(row, "access_key_1_last_used_date", "?"), lib.get(row, "access_key_2_last_used_date", "?")]) if count(recent) == 0
