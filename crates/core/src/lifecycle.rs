//! The lifecycle state machine (spec §2): which status moves are allowed and what each needs.
//!
//! ```text
//! discovered → registered → in_service → decommissioning → decommissioned
//!                  └──────────────────────↗
//! ```
//! A registered asset may be retired without ever entering service. Entering `in_service` needs
//! owner, classification and location (policy §3: registered before service); completing
//! decommissioning needs evidence of the wipe (policy §8).

use crate::model::{Asset, Status};

/// Why a status change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The move is not in the state machine.
    #[error("{key}: cannot move from {from} to {to}; from {from} an asset may move to {allowed}")]
    NotAllowed {
        /// The asset's key.
        key: String,
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
        /// The moves that are allowed, for the message.
        allowed: String,
    },
    /// Required fields are missing for `in_service`.
    #[error("{key}: cannot enter in_service without {}: policy §3 requires owner, classification and location on every record before service", missing.join(", "))]
    MissingFields {
        /// The asset's key.
        key: String,
        /// The missing fields.
        missing: Vec<&'static str>,
    },
    /// `decommissioned` without evidence.
    #[error(
        "{key}: cannot complete decommissioning without --evidence (the wipe certificate or ticket): policy §8 requires secure erase or crypto-erasure with tickets archived"
    )]
    EvidenceRequired {
        /// The asset's key.
        key: String,
    },
}

/// The statuses reachable in one move from `from`.
pub fn next_statuses(from: Status) -> &'static [Status] {
    match from {
        Status::Discovered => &[Status::Registered],
        Status::Registered => &[Status::InService, Status::Decommissioning],
        Status::InService => &[Status::Decommissioning],
        Status::Decommissioning => &[Status::Decommissioned],
        Status::Decommissioned => &[],
    }
}

/// Checks a requested move for an asset as it is now.
pub fn check_transition(asset: &Asset, to: Status, evidence: Option<&str>) -> Result<(), LifecycleError> {
    let from = asset.status;
    if !next_statuses(from).contains(&to) {
        let allowed = match next_statuses(from) {
            [] => "nothing (it is final)".to_owned(),
            list => list.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or "),
        };
        return Err(LifecycleError::NotAllowed { key: asset.key.clone(), from, to, allowed });
    }
    if to == Status::Decommissioned && evidence.is_none_or(|e| e.trim().is_empty()) {
        return Err(LifecycleError::EvidenceRequired { key: asset.key.clone() });
    }
    check_record_for(asset, to)
}

/// Checks what a status demands of the record itself, whichever way the asset got there (a
/// move, or a record added or imported with that status).
pub fn check_record_for(asset: &Asset, status: Status) -> Result<(), LifecycleError> {
    if status != Status::InService {
        return Ok(());
    }
    let missing = asset.missing_required();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(LifecycleError::MissingFields { key: asset.key.clone(), missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::asset::tests::sample;

    fn at(status: Status) -> Asset {
        Asset { status, ..sample() }
    }

    /// Every pair of statuses, with whether the move is allowed (for a complete record, with
    /// evidence).
    #[test]
    fn transition_table() {
        use Status::*;
        let allowed = [
            (Discovered, Registered),
            (Registered, InService),
            (Registered, Decommissioning),
            (InService, Decommissioning),
            (Decommissioning, Decommissioned),
        ];
        for &from in Status::ALL {
            for &to in Status::ALL {
                let result = check_transition(&at(from), to, Some("ticket SEC-1"));
                assert_eq!(result.is_ok(), allowed.contains(&(from, to)), "{from} → {to}: {result:?}");
            }
        }
    }

    #[test]
    fn refusal_names_the_allowed_moves() {
        let err = check_transition(&at(Status::Discovered), Status::InService, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SN-001: cannot move from discovered to in_service; from discovered an asset may move to registered"
        );
        let err = check_transition(&at(Status::Decommissioned), Status::Registered, None).unwrap_err();
        assert!(err.to_string().ends_with("may move to nothing (it is final)"), "{err}");
    }

    #[test]
    fn in_service_needs_owner_classification_location() {
        let mut asset = at(Status::Registered);
        asset.owner = None;
        asset.classification = None;
        let err = check_transition(&asset, Status::InService, None).unwrap_err();
        assert_eq!(
            err,
            LifecycleError::MissingFields { key: "SN-001".into(), missing: vec!["owner", "classification"] }
        );
    }

    #[test]
    fn decommissioned_needs_evidence() {
        let asset = at(Status::Decommissioning);
        assert!(check_transition(&asset, Status::Decommissioned, None).is_err());
        assert!(check_transition(&asset, Status::Decommissioned, Some(" ")).is_err());
        assert!(check_transition(&asset, Status::Decommissioned, Some("wipe cert 42")).is_ok());
    }
}
