# Helpers shared by the inventory checks (no checks of its own).
package plumb.inventory.lib

import rego.v1

# Assets the inventory rules judge: everything but the Terraform managed view (descriptions of
# resources, not resources) and decommissioned records.
judged(asset) if {
	asset.source != "terraform"
	asset.status != "decommissioned"
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
