# METADATA
# title: "1.12 Credentials unused ≥ 45 days disabled"
# description: >-
#   Per IAM user from the credential report (root excluded, as CIS says). Each credential on
#   its own: an enabled password last used 45 or more days ago, or never used
#   (no_information) and set 45 or more days ago; an active access key last used 45 or more
#   days ago, or never used (N/A) and created 45 or more days ago. The fallback to creation
#   time for never-used credentials follows CIS and Steampipe (Prowler lets them pass). The
#   boundary is inclusive: exactly 45 days fails.
# custom:
#   id: "1.12"
#   severity: medium
#   controls: ["CIS 1.12", "CFG-01"]
#   scope: account
#   types: [aws.iam.account, aws.iam.user]
#   requires: [iam]
#   remediation: >-
#     Remove the unused console password (aws iam delete-login-profile) and deactivate or
#     delete the unused access keys (aws iam update-access-key --status Inactive).
package plumb.cis_aws_1_5.c1_12

import data.plumb.cis_aws_1_5.lib
import rego.v1

limit := 45

findings contains finding if some finding in lib.credential_report_errors

findings contains finding if {
	some row in lib.user_rows
	stale := array.concat(password(row), [s | some n in [1, 2]; some s in access_key(row, n)])
	finding := {
		"key": row.arn,
		"status": lib.status(count(stale) > 0),
		"message": message(row.user, stale),
		"evidence": {"stale": stale, "columns": {c: lib.column(row, c) | some c in [
			"password_enabled", "password_last_used", "password_last_changed",
			"access_key_1_active", "access_key_1_last_used_date", "access_key_1_last_rotated",
			"access_key_2_active", "access_key_2_last_used_date", "access_key_2_last_rotated",
		]}},
	}
}

password(row) := [sprintf("password last used %s (%d days ago)", [used, lib.age(used)])] if {
	lib.flag(row, "password_enabled")
	used := lib.column(row, "password_last_used")
	lib.is_timestamp(used)
	lib.days_since(used) >= limit
} else := [sprintf("password never used and set %s (%d days ago)", [changed, lib.age(changed)])] if {
	lib.flag(row, "password_enabled")
	lib.column(row, "password_last_used") == "no_information"
	changed := lib.column(row, "password_last_changed")
	lib.is_timestamp(changed)
	lib.days_since(changed) >= limit
} else := []

access_key(row, n) := [sprintf("access key %d last used %s (%d days ago)", [n, used, lib.age(used)])] if {
	lib.flag(row, sprintf("access_key_%d_active", [n]))
	used := lib.column(row, sprintf("access_key_%d_last_used_date", [n]))
	lib.is_timestamp(used)
	lib.days_since(used) >= limit
} else := [sprintf("access key %d never used and created %s (%d days ago)", [n, created, lib.age(created)])] if {
	lib.flag(row, sprintf("access_key_%d_active", [n]))
	lib.column(row, sprintf("access_key_%d_last_used_date", [n])) == "N/A"
	created := lib.column(row, sprintf("access_key_%d_last_rotated", [n]))
	lib.is_timestamp(created)
	lib.days_since(created) >= limit
} else := []

message(user, []) := sprintf("IAM user %s has no credential unused for %d days or more", [user, limit])

message(user, stale) := sprintf("IAM user %s has credentials unused for %d days or more: %s", [user, limit, concat("; ", stale)]) if count(stale) > 0
