# METADATA
# title: No running resource stays discovered without being registered
# custom:
#   id: unregistered-running
#   severity: high
#   controls: ["INV-01"]
#   remediation: >-
#     Register it (`plumb asset transition KEY registered`) after checking its owner and
#     classification, or decommission the resource.
package plumb.inventory.unregistered_running

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	failed := unregistered_and_running(asset)
	finding := {
		"key": asset.key,
		"status": lib.status(failed),
		"message": message(asset, failed),
		"evidence": {"status": asset.status, "absent_since": asset.absent_since, "state": object.get(asset.attributes, "State", null)},
	}
}

unregistered_and_running(asset) := true if {
	asset.status == "discovered"
	asset.absent_since == null
	running(asset)
} else := false

# A present resource is running unless its own state says otherwise (a stopped instance).
running(asset) if not asset.attributes.State

running(asset) if asset.attributes.State in {"running", "pending", "available", "active", "in-use"}

message(asset, true) := sprintf("%s is running but was never registered (status discovered); policy §3: register before service", [asset.key])

message(asset, false) := sprintf("%s is registered or not running", [asset.key])
