//! The built-in packs, embedded in the binary (and readable with `plumb policy show PACK`).
//! Adding a check to a pack is one new `.rego` file and one line in its list.

use crate::Source;

/// A built-in pack.
#[derive(Debug)]
pub struct Pack {
    /// Its name, as `--pack` takes it.
    pub name: &'static str,
    /// What it checks.
    pub description: &'static str,
    /// Its files: name and text.
    pub files: &'static [(&'static str, &'static str)],
}

impl Pack {
    /// The pack's files as sources named `pack/file`.
    pub fn sources(&self) -> Vec<Source> {
        self.files
            .iter()
            .map(|(name, text)| Source { path: format!("{}/{name}", self.name), text: (*text).to_owned() })
            .collect()
    }
}

macro_rules! files {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../packs/", $dir, "/", $file)))),+]
    };
}

/// Every built-in pack.
pub const PACKS: &[Pack] = &[
    Pack {
        name: "inventory",
        description: "The policy's own inventory rules (INV-01): required fields, registration before service, \
                      production ownership, endpoints and customer data, stale records, financial references, tags \
                      that disagree with what people recorded, decommissioned resources seen again.",
        files: files!("inventory":
            "required_fields.rego",
            "unregistered_running.rego",
            "production_ownership.rego",
            "endpoint_customer_data.rego",
            "stale.rego",
            "financial_ref.rego",
            "unmapped_tags.rego",
            "tag_conflict.rego",
            "decommissioned_present.rego",
            "lib.rego",
        ),
    },
    Pack {
        name: "cis-aws-1.5",
        description: "CIS Amazon Web Services Foundations Benchmark v1.5.0: every recommendation; automated ones \
                      evaluated on the collected documents, manual ones reported with guidance (CFG-01).",
        files: files!("cis-aws-1.5":
            "lib.rego",
            "1_1.rego",
            "1_2.rego",
            "1_3.rego",
            "1_4.rego",
            "1_5.rego",
            "1_6.rego",
            "1_7.rego",
            "1_8.rego",
            "1_9.rego",
            "1_10.rego",
            "1_11.rego",
            "1_12.rego",
            "1_13.rego",
            "1_14.rego",
            "1_15.rego",
            "1_16.rego",
            "1_17.rego",
            "1_18.rego",
            "1_19.rego",
            "1_20.rego",
            "1_21.rego",
            "2_1_1.rego",
            "2_1_2.rego",
            "2_1_3.rego",
            "2_1_4.rego",
            "2_1_5.rego",
            "2_2_1.rego",
            "2_3_1.rego",
            "2_3_2.rego",
            "2_3_3.rego",
            "2_4_1.rego",
            "3_1.rego",
            "3_2.rego",
            "3_3.rego",
            "3_4.rego",
            "3_5.rego",
            "3_6.rego",
            "3_7.rego",
            "3_8.rego",
            "3_9.rego",
            "3_10.rego",
            "3_11.rego",
            "4_1.rego",
            "4_2.rego",
            "4_3.rego",
            "4_4.rego",
            "4_5.rego",
            "4_6.rego",
            "4_7.rego",
            "4_8.rego",
            "4_9.rego",
            "4_10.rego",
            "4_11.rego",
            "4_12.rego",
            "4_13.rego",
            "4_14.rego",
            "4_15.rego",
            "4_16.rego",
            "5_1.rego",
            "5_2.rego",
            "5_3.rego",
            "5_4.rego",
            "5_5.rego",
        ),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicySet;

    #[test]
    fn every_pack_compiles_and_declares_its_checks() {
        for pack in PACKS {
            let set =
                PolicySet::load(&[(pack.name.to_owned(), pack.sources())], &Default::default()).unwrap();
            assert!(!set.checks().is_empty(), "{}", pack.name);
            for check in set.checks() {
                assert!(check.id.starts_with(&format!("{}/", pack.name)), "{}", check.id);
                assert!(!check.remediation.is_empty(), "{} has no remediation", check.id);
                assert!(!check.controls.is_empty(), "{} names no control", check.id);
            }
        }
    }
}
