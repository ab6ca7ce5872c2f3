# METADATA
# title: Endpoint devices are not classified as holding customer data
# custom:
#   id: endpoint-customer-data
#   severity: high
#   controls: ["INV-01"]
#   remediation: >-
#     Endpoints are untrusted clients (policy §5): move the customer data to a backend system
#     reached through SSO with MFA, then correct the classification.
package plumb.inventory.endpoint_customer_data

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	asset.type in input.context.endpoint_types
	failed := holds_customer_data(asset)
	finding := {
		"key": asset.key,
		"status": lib.status(failed),
		"message": message(asset, failed),
		"evidence": {"type": asset.type, "classification": asset.classification, "customer_data_tag": object.get(asset.tags, "customer_data", null)},
	}
}

holds_customer_data(asset) := true if {
	asset.classification in input.context.customer_data_classifications
} else := true if {
	lower(object.get(asset.tags, "customer_data", "")) == "true"
} else := false

message(asset, true) := sprintf("%s is an endpoint (%s) classified as holding customer data (%v); policy §5 forbids it", [asset.key, asset.type, asset.classification])

message(asset, false) := sprintf("%s is an endpoint without customer data", [asset.key])
