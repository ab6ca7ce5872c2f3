# METADATA
# title: Tags that fill inventory fields use configured values
# custom:
#   id: unmapped-tags
#   severity: low
#   controls: ["INV-01"]
#   remediation: >-
#     Use one of the configured values in the tag, or map the value in [tags.environment_values]
#     or [tags.classification_values] of plumb.toml.
package plumb.inventory.unmapped_tags

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	tagged := [key | some field in ["environment", "classification"]; some key in input.context.tag_keys[field]; asset.tags[key]]
	count(tagged) > 0
	bad := [sprintf("%s=%s", [key, asset.tags[key]]) |
		some field in ["environment", "classification"]
		some key in input.context.tag_keys[field]
		value := asset.tags[key]
		not known(field, value)
	]
	finding := {
		"key": asset.key,
		"status": lib.status(count(bad) > 0),
		"message": message(asset, bad),
		"evidence": {"tags": asset.tags},
	}
}

known(field, value) if lower(value) in {lower(word) | some word in input.context.words[field]}

known(field, value) if lower(value) in {lower(key) | some key, _ in input.context.tag_values[field]}

message(asset, bad) := sprintf("%s: tags with values plumb.toml does not know: %s", [asset.key, concat(", ", bad)]) if count(bad) > 0

message(asset, bad) := sprintf("%s: mapped tags use configured values", [asset.key]) if count(bad) == 0
