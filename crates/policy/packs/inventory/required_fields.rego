# METADATA
# title: Every asset records owner, classification and location
# custom:
#   id: required-fields
#   severity: medium
#   controls: ["INV-01"]
#   remediation: >-
#     Set the missing fields (`plumb asset set KEY --owner … --classification … --location …`),
#     or tag the resource so sync fills them through [tags] in plumb.toml.
package plumb.inventory.required_fields

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	missing := [field | some field in ["owner", "classification", "location"]; lib.blank(asset[field])]
	finding := {
		"key": asset.key,
		"status": lib.status(count(missing) > 0),
		"message": message(asset, missing),
		"evidence": {"missing": missing, "owner": asset.owner, "classification": asset.classification, "location": asset.location},
	}
}

message(asset, missing) := sprintf("%s records no %s", [asset.key, concat(", ", missing)]) if count(missing) > 0

message(asset, missing) := sprintf("%s records owner, classification and location", [asset.key]) if count(missing) == 0
