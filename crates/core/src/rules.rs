//! The organisation's inventory rules as configured: environments, classification levels and the
//! role holders that own and run production (policy §3).

use crate::model::Asset;

/// The policy sentence behind the owner rule, quoted in refusals.
pub const PRODUCTION_OWNER_RULE: &str = "policy §3: \"For all production assets, the designated \
ultimate asset owner is the Head of Product, who is accountable for risk acceptance and \
prioritisation of remediation.\"";

/// The policy sentence behind the manager rule, quoted in refusals.
pub const PRODUCTION_MANAGER_RULE: &str = "policy §3: \"Day-to-day operational management of \
production assets (including keeping inventory attributes current) is delegated to the SRE Lead.\"";

/// The inventory rules that come from configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryRules {
    /// Accepted environment names.
    pub environments: Vec<String>,
    /// Accepted classification levels, lowest first.
    pub classifications: Vec<String>,
    /// The environment the ownership rule applies to.
    pub production: String,
    /// The person holding the `head_of_product` role.
    pub head_of_product: Option<String>,
    /// The person holding the `sre_lead` role.
    pub sre_lead: Option<String>,
}

impl Default for InventoryRules {
    fn default() -> Self {
        InventoryRules {
            environments: words(&["production", "staging", "corporate"]),
            classifications: words(&["public", "internal", "confidential", "restricted"]),
            production: "production".to_owned(),
            head_of_product: None,
            sre_lead: None,
        }
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

/// One of the two production roles of policy §3 and the asset field it fills.
#[derive(Debug, PartialEq, Eq)]
pub struct ProductionRole {
    /// The asset field: `owner` or `manager`.
    pub field: &'static str,
    /// The role's name in `[roles]`.
    pub role: &'static str,
    /// The policy sentence, quoted in refusals.
    pub rule: &'static str,
}

/// The accountable owner of production assets.
pub const OWNER_ROLE: ProductionRole =
    ProductionRole { field: "owner", role: "head_of_product", rule: PRODUCTION_OWNER_RULE };

/// The day-to-day manager of production assets.
pub const MANAGER_ROLE: ProductionRole =
    ProductionRole { field: "manager", role: "sre_lead", rule: PRODUCTION_MANAGER_RULE };

/// Why the production ownership rule refused an asset.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OwnershipError {
    /// An explicit owner or manager differs from the role holder.
    #[error(
        "{key}: {} must be {required} (the {}) because the asset is in production, not {given}; {}",
        role.field, role.role, role.rule
    )]
    Conflict {
        /// The asset's key.
        key: String,
        /// The value given.
        given: String,
        /// The role holder.
        required: String,
        /// The role.
        role: &'static ProductionRole,
    },
    /// The role is not assigned in the configuration, so the rule cannot be applied.
    #[error("{key} is a production asset but no one holds the {} role: set [roles] {} in plumb.toml", role.role, role.role)]
    RoleUnassigned {
        /// The asset's key.
        key: String,
        /// The role.
        role: &'static ProductionRole,
    },
}

impl InventoryRules {
    /// Whether the asset is subject to the production ownership rule.
    pub fn is_production(&self, asset: &Asset) -> bool {
        asset.environment.as_deref() == Some(self.production.as_str())
    }

    /// Fills in, or checks, the owner and manager of a production asset: empty fields take the
    /// role holders; a different explicit value is refused with the policy sentence.
    pub fn apply_production_ownership(&self, asset: &mut Asset) -> Result<(), OwnershipError> {
        if !self.is_production(asset) {
            return Ok(());
        }
        let key = &asset.key;
        fill_role(key, &mut asset.owner, self.head_of_product.as_deref(), &OWNER_ROLE)?;
        fill_role(key, &mut asset.manager, self.sre_lead.as_deref(), &MANAGER_ROLE)?;
        // The rule, not whoever typed the same name, decides these two.
        for field in ["owner", "manager"] {
            let value = crate::sync::field_slot(asset, field).clone();
            let mut sources = std::mem::take(&mut asset.provenance);
            crate::provenance::set_by_rule(
                crate::sync::field_slot(asset, field),
                &mut sources,
                field,
                value,
                crate::provenance::ROLES,
                None,
            );
            asset.provenance = sources;
        }
        Ok(())
    }

    /// Moves a production asset to the current role holders, whatever it held before (used when
    /// the roles change hands). Returns whether anything changed.
    pub fn reassign_production(&self, asset: &mut Asset) -> Result<bool, OwnershipError> {
        if !self.is_production(asset) {
            return Ok(false);
        }
        let before = (asset.owner.take(), asset.manager.take());
        self.apply_production_ownership(asset)?;
        Ok(before != (asset.owner.clone(), asset.manager.clone()))
    }
}

fn fill_role(
    key: &str,
    slot: &mut Option<String>,
    holder: Option<&str>,
    role: &'static ProductionRole,
) -> Result<(), OwnershipError> {
    let Some(required) = holder else {
        return Err(OwnershipError::RoleUnassigned { key: key.to_owned(), role });
    };
    match slot.as_deref().map(str::trim) {
        None | Some("") => {}
        Some(given) if given.eq_ignore_ascii_case(required) => {}
        Some(given) => {
            return Err(OwnershipError::Conflict {
                key: key.to_owned(),
                given: given.to_owned(),
                required: required.to_owned(),
                role,
            });
        }
    }
    *slot = Some(required.to_owned());
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::asset::tests::sample;

    /// Rules with both production roles held, shared by the core's tests.
    pub(crate) fn rules() -> InventoryRules {
        InventoryRules {
            head_of_product: Some("hop@example.com".into()),
            sre_lead: Some("sre@example.com".into()),
            ..InventoryRules::default()
        }
    }

    fn production(owner: Option<&str>, manager: Option<&str>) -> Asset {
        let mut asset = sample();
        asset.environment = Some("production".into());
        asset.owner = owner.map(Into::into);
        asset.manager = manager.map(Into::into);
        asset
    }

    #[test]
    fn empty_fields_take_the_role_holders() {
        let mut asset = production(None, Some(""));
        rules().apply_production_ownership(&mut asset).unwrap();
        assert_eq!(asset.owner.as_deref(), Some("hop@example.com"));
        assert_eq!(asset.manager.as_deref(), Some("sre@example.com"));
    }

    #[test]
    fn matching_explicit_values_are_accepted() {
        let mut asset = production(Some("HOP@example.com"), Some("sre@example.com"));
        rules().apply_production_ownership(&mut asset).unwrap();
        assert_eq!(asset.owner.as_deref(), Some("hop@example.com"));
    }

    #[test]
    fn conflicting_owner_is_refused_quoting_the_policy() {
        let mut asset = production(Some("dev@example.com"), None);
        let err = rules().apply_production_ownership(&mut asset).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("owner must be hop@example.com (the head_of_product)"), "{message}");
        assert!(message.contains("ultimate asset owner is the Head of Product"), "{message}");
    }

    #[test]
    fn conflicting_manager_is_refused_quoting_the_policy() {
        let mut asset = production(None, Some("dev@example.com"));
        let err = rules().apply_production_ownership(&mut asset).unwrap_err();
        assert!(err.to_string().contains("delegated to the SRE Lead"), "{err}");
    }

    #[test]
    fn other_environments_are_left_alone() {
        let mut asset = sample();
        asset.owner = Some("dev@example.com".into());
        rules().apply_production_ownership(&mut asset).unwrap();
        assert_eq!(asset.owner.as_deref(), Some("dev@example.com"));
    }

    #[test]
    fn unassigned_role_is_an_error() {
        let mut asset = production(None, None);
        let err = InventoryRules::default().apply_production_ownership(&mut asset).unwrap_err();
        assert!(matches!(err, OwnershipError::RoleUnassigned { role: &OWNER_ROLE, .. }));
    }

    #[test]
    fn reassignment_moves_to_new_holders() {
        let mut asset = production(Some("old@example.com"), Some("old-sre@example.com"));
        assert!(rules().reassign_production(&mut asset).unwrap());
        assert_eq!(asset.owner.as_deref(), Some("hop@example.com"));
        assert!(!rules().reassign_production(&mut asset).unwrap());
    }
}
