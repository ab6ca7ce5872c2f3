# METADATA
# title: A decommissioned resource is not seen running again
# custom:
#   id: decommissioned-present
#   severity: high
#   controls: ["INV-01"]
#   remediation: >-
#     A decommissioned asset's source reports it again: find out why (a restored snapshot, a
#     device re-enrolled, the wrong resource sanitized), then stop it or register it anew. Its
#     sanitization record no longer describes what is running.
package plumb.inventory.decommissioned_present

import rego.v1

# Collected assets only: a hand-kept record has no source that could see it again.
findings contains finding if {
	some asset in input.resources
	asset.status == "decommissioned"
	asset.scope != null
	asset.source != "terraform"
	present := asset.absent_since == null
	finding := {
		"key": asset.key,
		"status": status(present),
		"message": message(asset, present),
		"evidence": {"status": asset.status, "absent_since": asset.absent_since, "last_seen": asset.last_seen},
	}
}

status(true) := "fail"

status(false) := "pass"

message(asset, true) := sprintf("%s is decommissioned, yet its source reports it again (last seen %s)", [asset.key, asset.last_seen])

message(asset, false) := sprintf("%s is decommissioned and absent from its source", [asset.key])
