# METADATA
# title: Hardware carries its fixed-asset register reference
# custom:
#   id: financial-ref
#   severity: low
#   controls: ["INV-01"]
#   remediation: >-
#     Set the reference from the financial fixed-asset register
#     (`plumb asset set KEY --financial-ref FA-…`) so the bi-monthly reconciliation can match it.
package plumb.inventory.financial_ref

import data.plumb.inventory.lib
import rego.v1

findings contains finding if {
	some asset in input.resources
	lib.judged(asset)
	asset.kind == "hardware"
	failed := lib.blank(asset.financial_ref)
	finding := {
		"key": asset.key,
		"status": lib.status(failed),
		"message": message(asset, failed),
		"evidence": {"financial_ref": asset.financial_ref},
	}
}

message(asset, true) := sprintf("%s is hardware without a financial reference", [asset.key])

message(asset, false) := sprintf("%s has financial reference %s", [asset.key, asset.financial_ref])
