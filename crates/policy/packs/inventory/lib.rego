# Helpers shared by the inventory checks (no checks of its own).
package plumb.inventory.lib

import rego.v1

# Assets the inventory rules judge: everything but the Terraform managed view (descriptions of
# resources, not resources), decommissioned records, and what the organisation does not own:
# an account's settings documents and the policies AWS itself manages.
judged(asset) if {
	asset.source != "terraform"
	asset.status != "decommissioned"
	not settings_document(asset)
	not object.get(asset.attributes, "AwsManaged", false)
}

settings_document(asset) if {
	startswith(asset.type, "aws.")
	some suffix in [".account", ".region"]
	endswith(asset.type, suffix)
}

# Whether a field is empty; false otherwise (so it can be assigned).
blank(value) := true if {
	value == null
} else := true if {
	trim_space(value) == ""
} else := false

status(failed) := "fail" if failed

status(failed) := "pass" if not failed

role(name) := object.get(input.context.roles, name, null)

# A text value in lower case; "" for null or anything else.
lower_text(value) := lower(value) if is_string(value)

lower_text(value) := "" if not is_string(value)
