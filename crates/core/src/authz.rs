//! Who may do what (policy §7): the one authorisation table every front end goes through.
//!
//! A [`Principal`] (who, which roles, how they were identified) asks to do an [`Action`];
//! [`decide`] says yes, or refuses quoting the clause that says no. Front ends build the
//! principal (the CLI from `--actor` and `[roles]`, the API from a token or SSO) and never
//! decide anything themselves.

use std::collections::BTreeSet;
use std::fmt;

/// A role of policy §7, or one plumb adds to run itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Manages configuration, tokens and any asset (`[roles] admins`).
    Admin,
    /// Reads everything, changes nothing (`[roles] auditors`).
    Auditor,
    /// Ultimate owner of production assets; accepts production risk (§3).
    HeadOfProduct,
    /// Day-to-day manager of production assets (§3).
    SreLead,
    /// Approves hardening standards and exceptions (§7, §9).
    InfosecManager,
}

impl Role {
    /// Every role, for tables and tests.
    pub const ALL: [Role; 5] =
        [Role::Admin, Role::Auditor, Role::HeadOfProduct, Role::SreLead, Role::InfosecManager];

    /// Its name in `plumb.toml` `[roles]` and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::HeadOfProduct => "head_of_product",
            Role::SreLead => "sre_lead",
            Role::InfosecManager => "infosec_manager",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a principal was identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identified {
    /// The local command line, trusted as git trusts its author (`--actor`, `PLUMB_ACTOR`,
    /// the OS user).
    LocalUser,
    /// An API token.
    ApiToken,
    /// Single sign-on.
    Sso,
    /// An agent (MCP client, the scheduler).
    Agent,
}

/// Who is acting: recorded on every event they cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Their email (or the agent's name).
    pub who: String,
    /// The roles they hold.
    pub roles: BTreeSet<Role>,
    /// How they were identified.
    pub via: Identified,
}

impl Principal {
    /// A principal holding `roles`.
    pub fn new(who: impl Into<String>, roles: impl IntoIterator<Item = Role>, via: Identified) -> Principal {
        Principal { who: who.into(), roles: roles.into_iter().collect(), via }
    }

    /// Whether they hold `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether `email` is this principal (case does not matter in an address).
    pub fn is(&self, email: Option<&str>) -> bool {
        email.is_some_and(|email| email.eq_ignore_ascii_case(&self.who))
    }
}

/// Who holds which role, as `plumb.toml` `[roles]` names them (emails; `group:NAME` entries
/// are for the API's single sign-on and match no email).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleHolders {
    /// `head_of_product`.
    pub head_of_product: Option<String>,
    /// `sre_lead`.
    pub sre_lead: Option<String>,
    /// `infosec_manager`.
    pub infosec_manager: Option<String>,
    /// `admins`.
    pub admins: Vec<String>,
    /// `auditors`.
    pub auditors: Vec<String>,
}

impl RoleHolders {
    /// The roles `who` holds. With no admins configured, a user of the local command line
    /// administers (a database of one team, as after `plumb init`); naming admins ends that.
    pub fn roles_of(&self, who: &str, via: Identified) -> BTreeSet<Role> {
        self.roles_of_member(who, &[], via)
    }

    /// The roles `who`, a member of `groups` (single sign-on's groups claim), holds: those
    /// naming them, and those naming `group:NAME` for one of their groups.
    pub fn roles_of_member(&self, who: &str, groups: &[String], via: Identified) -> BTreeSet<Role> {
        let holds = |holder: &str| {
            holder.eq_ignore_ascii_case(who)
                || holder.strip_prefix("group:").is_some_and(|group| groups.iter().any(|g| g == group))
        };
        let named = |holder: &Option<String>| holder.as_deref().is_some_and(holds);
        let listed = |list: &[String]| list.iter().any(|h| holds(h));
        let mut roles = BTreeSet::new();
        for (role, holds) in [
            (Role::HeadOfProduct, named(&self.head_of_product)),
            (Role::SreLead, named(&self.sre_lead)),
            (Role::InfosecManager, named(&self.infosec_manager)),
            (Role::Admin, listed(&self.admins)),
            (Role::Auditor, listed(&self.auditors)),
        ] {
            if holds {
                roles.insert(role);
            }
        }
        if self.admins.is_empty() && via == Identified::LocalUser && !roles.contains(&Role::Auditor) {
            roles.insert(Role::Admin);
        }
        roles
    }

    /// The principal `who`, identified `via`.
    pub fn principal(&self, who: &str, via: Identified) -> Principal {
        Principal { who: who.to_owned(), roles: self.roles_of(who, via), via }
    }

    /// The principal `who`, a member of `groups`, signed in through single sign-on.
    pub fn sso_principal(&self, who: &str, groups: &[String]) -> Principal {
        Principal {
            who: who.to_owned(),
            roles: self.roles_of_member(who, groups, Identified::Sso),
            via: Identified::Sso,
        }
    }
}

/// An asset as the table sees it: who owns and manages it, and whether it is production.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssetRef<'a> {
    /// Its `owner`.
    pub owner: Option<&'a str>,
    /// Its `manager`.
    pub manager: Option<&'a str>,
    /// Whether it is in the production environment.
    pub production: bool,
}

/// Something a principal asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read anything.
    Read,
    /// Register a new asset (add, import).
    RegisterAsset,
    /// Change an asset's metadata, lifecycle status or links.
    EditAsset(AssetRef<'a>),
    /// Start or record the decommissioning of an asset.
    Decommission(AssetRef<'a>),
    /// Reassign every production asset to the current role holders.
    ReassignProduction,
    /// Run a collection, check, drift scan, gate or audit that records its results.
    RecordRun,
    /// Request an exception, or renew one (a renewal is a new request).
    RequestException,
    /// Approve or reject an exception requested by `requester`.
    ReviewException {
        /// Who asked for it.
        requester: &'a str,
    },
    /// Accept the risk of an exception that touches production, requested by `requester`.
    AcceptRisk {
        /// Who asked for it.
        requester: &'a str,
    },
    /// Revoke an approved exception.
    RevokeException,
    /// Manage configuration, tokens and maintenance.
    Administer,
}

/// A refusal: what was asked, and the clause that says no.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{who} may not {what}: {rule}")]
pub struct Refusal {
    /// Who asked.
    pub who: String,
    /// What they asked, in words.
    pub what: &'static str,
    /// The rule, quoting the policy where it speaks.
    pub rule: &'static str,
}

const AUDITORS: &str = "policy §7: auditors read everything and change nothing";
const OWNERS: &str = "policy §3 and §7: an asset's metadata is kept by its owner or manager (for production also \
    the SRE Lead), or an admin";
const PRODUCTION_ROLES: &str = "policy §3: production assets are reassigned by the Head of Product, the SRE Lead or \
    an admin";
const RUNS: &str = "policy §7: collections, checks and scans are recorded by the SRE Lead, the Information Security \
    Manager, an admin or an agent";
const ISM_APPROVES: &str = "policy §9: exceptions are approved by the Information Security Manager";
const OWN_REQUEST: &str = "policy §9: nobody approves their own request (separation of duties)";
const HOP_ACCEPTS: &str =
    "policy §3: the Head of Product is accountable for risk acceptance on production assets";
const ISM_REVOKES: &str = "policy §9: exceptions are revoked by the Information Security Manager or an admin";
const ADMINS: &str = "policy §7: configuration, tokens and maintenance are managed by admins";

/// Whether `principal` may do `action`: the whole table, one arm per action.
pub fn decide(principal: &Principal, action: Action<'_>) -> Result<(), Refusal> {
    let refuse =
        |what: &'static str, rule: &'static str| Err(Refusal { who: principal.who.clone(), what, rule });
    let auditor_only = principal.has(Role::Auditor) && !principal.has(Role::Admin);
    if auditor_only && action != Action::Read {
        return refuse(action.words(), AUDITORS);
    }
    let admin = principal.has(Role::Admin);
    match action {
        Action::Read | Action::RegisterAsset | Action::RequestException => Ok(()),
        Action::EditAsset(asset) | Action::Decommission(asset) => {
            let keeps = principal.is(asset.owner)
                || principal.is(asset.manager)
                || (asset.production && principal.has(Role::SreLead));
            if admin || keeps { Ok(()) } else { refuse(action.words(), OWNERS) }
        }
        Action::ReassignProduction => {
            if admin || principal.has(Role::HeadOfProduct) || principal.has(Role::SreLead) {
                Ok(())
            } else {
                refuse(action.words(), PRODUCTION_ROLES)
            }
        }
        Action::RecordRun => {
            let may = admin
                || principal.has(Role::SreLead)
                || principal.has(Role::InfosecManager)
                || principal.via == Identified::Agent;
            if may { Ok(()) } else { refuse(action.words(), RUNS) }
        }
        // Admins approve only when they also hold the role: administering plumb is not
        // reviewing risk.
        Action::ReviewException { requester } => {
            if !principal.has(Role::InfosecManager) {
                refuse(action.words(), ISM_APPROVES)
            } else if principal.is(Some(requester)) {
                refuse(action.words(), OWN_REQUEST)
            } else {
                Ok(())
            }
        }
        Action::AcceptRisk { requester } => {
            if !principal.has(Role::HeadOfProduct) {
                refuse(action.words(), HOP_ACCEPTS)
            } else if principal.is(Some(requester)) {
                refuse(action.words(), OWN_REQUEST)
            } else {
                Ok(())
            }
        }
        Action::RevokeException => {
            if admin || principal.has(Role::InfosecManager) {
                Ok(())
            } else {
                refuse(action.words(), ISM_REVOKES)
            }
        }
        Action::Administer => {
            if admin {
                Ok(())
            } else {
                refuse(action.words(), ADMINS)
            }
        }
    }
}

impl Action<'_> {
    /// What it asks, in words, for refusals.
    pub fn words(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::RegisterAsset => "register assets",
            Action::EditAsset(_) => "change this asset",
            Action::Decommission(_) => "decommission this asset",
            Action::ReassignProduction => "reassign production assets",
            Action::RecordRun => "record runs",
            Action::RequestException => "request exceptions",
            Action::ReviewException { .. } => "approve or reject this exception",
            Action::AcceptRisk { .. } => "accept this exception's risk",
            Action::RevokeException => "revoke exceptions",
            Action::Administer => "administer plumb",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "me@example.com";
    const OTHER: &str = "other@example.com";

    fn principal(roles: &[Role], via: Identified) -> Principal {
        Principal::new(ME, roles.iter().copied(), via)
    }

    fn mine(production: bool) -> AssetRef<'static> {
        AssetRef { owner: Some("ME@example.com"), manager: None, production }
    }

    fn theirs(production: bool) -> AssetRef<'static> {
        AssetRef { owner: Some(OTHER), manager: Some(OTHER), production }
    }

    /// Every (roles, action) cell: `true` where the table allows it.
    #[test]
    fn the_role_table() {
        use Role::*;
        let actions: Vec<(&str, Action<'static>)> = vec![
            ("read", Action::Read),
            ("register", Action::RegisterAsset),
            ("edit mine", Action::EditAsset(mine(false))),
            ("edit mine (prod)", Action::EditAsset(mine(true))),
            ("edit theirs", Action::EditAsset(theirs(false))),
            ("edit theirs (prod)", Action::EditAsset(theirs(true))),
            ("decommission theirs (prod)", Action::Decommission(theirs(true))),
            ("reassign", Action::ReassignProduction),
            ("run", Action::RecordRun),
            ("request", Action::RequestException),
            ("review theirs", Action::ReviewException { requester: OTHER }),
            ("review mine", Action::ReviewException { requester: ME }),
            ("accept theirs", Action::AcceptRisk { requester: OTHER }),
            ("accept mine", Action::AcceptRisk { requester: ME }),
            ("revoke", Action::RevokeException),
            ("administer", Action::Administer),
        ];
        #[rustfmt::skip]
        let table: &[(&[Role], Identified, [bool; 16])] = &[
            //                                     read   reg    edit-m edit-mp edit-t edit-tp dec-tp reass  run    req    rev-t  rev-m  acc-t  acc-m  revoke admin
            (&[],                Identified::LocalUser, [true,  true,  true,  true,  false, false, false, false, false, true,  false, false, false, false, false, false]),
            (&[],                Identified::Agent,     [true,  true,  true,  true,  false, false, false, false, true,  true,  false, false, false, false, false, false]),
            (&[Auditor],         Identified::LocalUser, [true,  false, false, false, false, false, false, false, false, false, false, false, false, false, false, false]),
            (&[Auditor],         Identified::Agent,     [true,  false, false, false, false, false, false, false, false, false, false, false, false, false, false, false]),
            (&[Admin],           Identified::LocalUser, [true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  false, false, false, false, true,  true ]),
            (&[Admin, Auditor],  Identified::LocalUser, [true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  false, false, false, false, true,  true ]),
            (&[Admin, InfosecManager], Identified::Sso, [true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  true,  false, false, false, true,  true ]),
            (&[InfosecManager],  Identified::ApiToken,  [true,  true,  true,  true,  false, false, false, false, true,  true,  true,  false, false, false, true,  false]),
            (&[HeadOfProduct],   Identified::Sso,       [true,  true,  true,  true,  false, false, false, true,  false, true,  false, false, true,  false, false, false]),
            (&[SreLead],         Identified::LocalUser, [true,  true,  true,  true,  false, true,  true,  true,  true,  true,  false, false, false, false, false, false]),
        ];
        for (roles, via, expected) in table {
            let who = principal(roles, *via);
            for ((name, action), allowed) in actions.iter().zip(expected) {
                let decided = decide(&who, *action);
                assert_eq!(decided.is_ok(), *allowed, "{roles:?} via {via:?}: {name}: {decided:?}");
            }
        }
    }

    #[test]
    fn roles_come_from_the_configuration() {
        let holders = RoleHolders {
            infosec_manager: Some("ism@example.com".into()),
            auditors: vec!["audit@example.com".into()],
            ..RoleHolders::default()
        };
        let local = |who: &str| holders.roles_of(who, Identified::LocalUser);
        // No admins named: the local user administers, but an auditor stays an auditor.
        assert_eq!(local("ISM@example.com"), [Role::Admin, Role::InfosecManager].into());
        assert_eq!(local("audit@example.com"), [Role::Auditor].into());
        assert!(holders.roles_of("anyone@example.com", Identified::ApiToken).is_empty());
        let named = RoleHolders { admins: vec!["root@example.com".into()], ..holders };
        assert!(named.roles_of("anyone@example.com", Identified::LocalUser).is_empty());
        assert_eq!(named.roles_of("root@example.com", Identified::LocalUser), [Role::Admin].into());
    }

    #[test]
    fn groups_of_single_sign_on_hold_the_roles_that_name_them() {
        let holders = RoleHolders {
            infosec_manager: Some("group:security".into()),
            auditors: vec!["group:audit".into()],
            admins: vec!["root@example.com".into()],
            ..RoleHolders::default()
        };
        let ism = holders.sso_principal("ana@example.com", &["staff".into(), "security".into()]);
        assert_eq!((ism.roles, ism.via), ([Role::InfosecManager].into(), Identified::Sso));
        assert!(holders.sso_principal("bo@example.com", &["securityx".into()]).roles.is_empty());
        assert_eq!(holders.sso_principal("cy@example.com", &["audit".into()]).roles, [Role::Auditor].into());
    }

    #[test]
    fn refusals_say_who_what_and_the_clause() {
        let ism = principal(&[Role::InfosecManager], Identified::LocalUser);
        let refusal = decide(&ism, Action::ReviewException { requester: ME }).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "me@example.com may not approve or reject this exception: policy §9: nobody approves their own request \
             (separation of duties)"
        );
        let admin = principal(&[Role::Admin], Identified::LocalUser);
        let refusal = decide(&admin, Action::ReviewException { requester: OTHER }).unwrap_err();
        assert!(refusal.rule.contains("approved by the Information Security Manager"), "{refusal}");
        assert_eq!(Role::ALL.len(), 5);
    }
}
