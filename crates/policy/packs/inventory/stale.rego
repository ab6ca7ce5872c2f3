# METADATA
# title: In-service assets are still reported by their source
# custom:
#   id: stale
#   severity: medium
#   controls: ["INV-01"]
#   remediation: >-
#     Find out whether the asset still exists: if it does, fix its collection (see
#     `plumb run list --kind sync`); if not, decommission it.
package plumb.inventory.stale

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	asset.status == "in_service"
	asset.source != "manual"
	days := (time.parse_rfc3339_ns(input.context.now) - time.parse_rfc3339_ns(asset.last_seen)) / ((24 * 3600) * 1000000000)
	limit := input.context.stale_after_days
	finding := {
		"key": asset.key,
		"status": lib.status(days > limit),
		"message": sprintf("%s was last reported by %s %d days ago (limit %d)", [asset.key, asset.source, floor(days), limit]),
		"evidence": {"last_seen": asset.last_seen, "absent_since": asset.absent_since, "stale_after_days": limit},
	}
}
