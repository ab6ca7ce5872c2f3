# METADATA
# title: Tags agree with what people recorded
# description: >-
#   A field a person set is never overwritten by a cloud tag or a collector (anyone who may
#   tag a resource could otherwise reclassify it or move it out of production). When a tag
#   says otherwise, the person's value stays and the disagreement is a finding until someone
#   fixes the tag or the record. Only assets with a recorded provenance are judged.
# custom:
#   id: tag-conflict
#   severity: medium
#   controls: ["INV-01"]
#   remediation: >-
#     Decide which is right: fix the tag on the resource, or change the record
#     (plumb asset set KEY --owner … / --classification … / --environment …).
package plumb.inventory.tag_conflict

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	provenance := object.get(asset, "provenance", {})
	count(provenance) > 0
	conflicts := {field: source.conflicting_tag |
		some field, source in provenance
		source.conflicting_tag
	}
	finding := {
		"key": asset.key,
		"status": lib.status(count(conflicts) > 0),
		"message": message(asset, conflicts),
		"evidence": {"provenance": provenance},
	}
}

message(asset, conflicts) := sprintf("%s: tags say otherwise than the record: %s", [asset.key, concat(", ", [sprintf("%s is %v but %s", [field, object.get(asset, field, null), tag]) | some field, tag in conflicts])]) if count(conflicts) > 0

message(asset, conflicts) := sprintf("%s: tags agree with the record", [asset.key]) if count(conflicts) == 0
