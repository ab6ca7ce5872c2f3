# Helpers shared by the CIS AWS Foundations v1.5 checks (no checks of its own).
#
# Input of an account-scope check: {"account": ID, "regions": [...], "resources": [docs of the
# check's types in that account], "context": {"now": RFC 3339, ...}}; of a resource-scope
# check: {"resources": [docs], "context": {"documents": [the account's context documents]}}.
# Each document is an inventory asset: key, type, attributes (the AWS API's field names), tags.
package plumb.cis_aws_1_5.lib

import rego.v1

status(failed) := "fail" if failed

status(failed) := "pass" if not failed

# The documents of one type among the input's resources.
docs(type) := [d | some d in input.resources; d.type == type]

# The one settings document of a type (IAM account settings, S3 account settings).
doc(type) := docs(type)[0]

# Days from an RFC 3339 time to the evaluation's "now".
days_since(ts) := (time.parse_rfc3339_ns(input.context.now) - time.parse_rfc3339_ns(ts)) / ((24 * 3600) * 1000000000)

# A single value or a list, always as a list (IAM policy fields take both).
as_list(value) := value if is_array(value)

as_list(value) := [value] if not is_array(value)

manual(key, message, evidence) := {"key": key, "status": "manual", "message": message, "evidence": evidence}

# The value at `key` of an object, or `fallback` when it is absent or null.
get(obj, key, fallback) := value if {
	value := object.get(obj, key, null)
	value != null
} else := fallback
