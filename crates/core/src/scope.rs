//! Scopes: what a collector covers in one piece, and the one text form of their names.
//!
//! A sync reports each scope it finished or failed; only a finished scope may mark unseen
//! assets absent, and a verdict may only rest on documents of scopes collected completely
//! within the freshness limit (see [`crate::coverage`]).
//!
//! - `aws:ACCOUNT:REGION:SERVICE` (`REGION` is `global` for IAM, S3 and the account's
//!   settings): a source with tenants (accounts, clusters) and places (regions, namespaces).
//! - `terraform:STATE`, `file:NAME`: a source whose scope is one named input.

use std::fmt;

/// The place of a scope that covers its whole tenant (IAM, S3 listings, account settings).
pub const GLOBAL: &str = "global";

/// Sources whose scopes are `SOURCE:TENANT:PLACE:SERVICE`; every other source's scope is
/// `SOURCE:NAME`, where the name may hold colons (`terraform:s3://bucket/key`).
const STRUCTURED: &[&str] = &["aws", "kubernetes"];

/// A scope's name, read into its parts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeId {
    /// The collector: `aws`, `terraform`, `file`, ….
    pub source: String,
    /// The account or cluster; for unstructured sources, the input's name.
    pub tenant: String,
    /// The region or namespace ([`GLOBAL`] for the whole tenant); `None` for unstructured
    /// sources.
    pub place: Option<String>,
    /// The service; `None` for unstructured sources.
    pub service: Option<String>,
}

impl ScopeId {
    /// A structured scope: `SOURCE:TENANT:PLACE:SERVICE`.
    pub fn new(source: &str, tenant: &str, place: &str, service: &str) -> ScopeId {
        ScopeId {
            source: source.to_owned(),
            tenant: tenant.to_owned(),
            place: Some(place.to_owned()),
            service: Some(service.to_owned()),
        }
    }

    /// A named input's scope: `SOURCE:NAME`.
    pub fn named(source: &str, name: &str) -> ScopeId {
        ScopeId { source: source.to_owned(), tenant: name.to_owned(), place: None, service: None }
    }

    /// Reads a scope name. Every text is a scope: a name that is not structured the way its
    /// source's names are is kept whole as the tenant, so nothing is lost or misread.
    pub fn parse(text: &str) -> ScopeId {
        let (source, rest) = text.split_once(':').unwrap_or((text, ""));
        if STRUCTURED.contains(&source) {
            let parts: Vec<&str> = rest.splitn(3, ':').collect();
            if let [tenant, place, service] = parts.as_slice()
                && !tenant.is_empty()
                && !place.is_empty()
                && !service.is_empty()
            {
                return ScopeId::new(source, tenant, place, service);
            }
        }
        ScopeId::named(source, rest)
    }

    /// Whether it covers its whole tenant rather than one region or namespace.
    pub fn is_global(&self) -> bool {
        self.place.as_deref() == Some(GLOBAL)
    }
}

impl fmt::Display for ScopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.place, &self.service) {
            (Some(place), Some(service)) => {
                write!(f, "{}:{}:{place}:{service}", self.source, self.tenant)
            }
            _ => write!(f, "{}:{}", self.source, self.tenant),
        }
    }
}

/// The account (or cluster) a key names, for keys that name one by their shape: a settings
/// document's `aws:ACCOUNT:REGION:WHAT`, or an ARN with an account field. S3 bucket ARNs name
/// none; their account comes from the asset's scope.
pub fn tenant_of_key(key: &str) -> Option<&str> {
    if let Some(rest) = key.strip_prefix("arn:") {
        return rest.split(':').nth(3).filter(|account| !account.is_empty());
    }
    let (source, rest) = key.split_once(':')?;
    STRUCTURED.contains(&source).then(|| rest.split(':').next()).flatten().filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_parts() {
        for (text, tenant, place, service) in [
            ("aws:111122223333:eu-west-1:ec2", "111122223333", Some("eu-west-1"), Some("ec2")),
            ("aws:111122223333:global:iam", "111122223333", Some("global"), Some("iam")),
            ("terraform:s3://state/prod.tfstate", "s3://state/prod.tfstate", None, None),
            ("file:mdm", "mdm", None, None),
            ("aws:odd", "odd", None, None),
        ] {
            let scope = ScopeId::parse(text);
            assert_eq!(
                (scope.tenant.as_str(), scope.place.as_deref(), scope.service.as_deref()),
                (tenant, place, service),
                "{text}"
            );
            assert_eq!(scope.to_string(), text);
        }
        assert!(ScopeId::parse("aws:1:global:s3").is_global());
        assert!(!ScopeId::parse("aws:1:us-east-1:ec2").is_global());
    }

    #[test]
    fn keys_name_their_tenant_when_their_shape_does() {
        assert_eq!(tenant_of_key("arn:aws:ec2:eu-west-1:111122223333:instance/i-1"), Some("111122223333"));
        assert_eq!(tenant_of_key("arn:aws:s3:::bucket"), None);
        assert_eq!(tenant_of_key("aws:111122223333:global:iam-account"), Some("111122223333"));
        assert_eq!(tenant_of_key("terraform:prod.tfstate:aws_vpc.main"), None);
        assert_eq!(tenant_of_key("SN-1"), None);
    }
}
