# METADATA
# title: Production assets are owned by the Head of Product and managed by the SRE Lead
# custom:
#   id: production-ownership
#   severity: high
#   controls: ["INV-01"]
#   remediation: >-
#     Run `plumb asset reassign-production` after the roles in plumb.toml changed; remove or
#     correct owner tags that name someone else on production resources.
package plumb.inventory.production_ownership

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	asset.environment == input.context.production
	problems := array.concat(array.concat(owner(asset), manager(asset)), owner_tags(asset))
	finding := {
		"key": asset.key,
		"status": lib.status(count(problems) > 0),
		"message": message(asset, problems),
		"evidence": {
			"owner": asset.owner,
			"manager": asset.manager,
			"head_of_product": lib.role("head_of_product"),
			"sre_lead": lib.role("sre_lead"),
			"owner_tags": {key: value | some key in input.context.owner_tags; value := asset.tags[key]},
		},
	}
}

owner(asset) := [sprintf("owner is %v, not the head_of_product %v", [asset.owner, lib.role("head_of_product")])] if {
	lib.lower_text(asset.owner) != lib.lower_text(lib.role("head_of_product"))
} else := []

manager(asset) := [sprintf("manager is %v, not the sre_lead %v", [asset.manager, lib.role("sre_lead")])] if {
	lib.lower_text(asset.manager) != lib.lower_text(lib.role("sre_lead"))
} else := []

# A tag naming another owner stays a tag (the owner comes from the roles): report it.
owner_tags(asset) := [sprintf("tag %s says the owner is %s", [key, value]) |
	some key in input.context.owner_tags
	value := asset.tags[key]
	lower(value) != lib.lower_text(lib.role("head_of_product"))
]

message(asset, problems) := sprintf("%s (production): %s", [asset.key, concat("; ", problems)]) if count(problems) > 0

message(asset, problems) := sprintf("%s (production) is owned by the head_of_product and managed by the sre_lead", [asset.key]) if {
	count(problems) == 0
}
