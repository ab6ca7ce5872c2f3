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

/// Where a key says it is, by its shape: (tenant, place), each when the key names it.
///
/// - an ARN, `arn:PARTITION:SERVICE:REGION:ACCOUNT:…` (IAM and S3 ARNs leave parts empty;
///   a bucket's account comes from its asset's scope);
/// - a structured source's key: `aws:ACCOUNT:REGION:WHAT` (settings documents), or
///   `aws:TYPE:ACCOUNT:REGION:ID` (a resource without an ARN).
pub fn locate_key(key: &str) -> (Option<&str>, Option<&str>) {
    fn part(p: Option<&str>) -> Option<&str> {
        p.filter(|p| !p.is_empty())
    }
    if let Some(rest) = key.strip_prefix("arn:") {
        let mut parts = rest.splitn(5, ':').skip(2);
        let place = part(parts.next());
        return (part(parts.next()), place);
    }
    match key.split_once(':') {
        Some((source, rest)) if STRUCTURED.contains(&source) => {
            let mut parts: Vec<&str> = rest.splitn(4, ':').collect();
            // A resource without an ARN is `aws:TYPE:ACCOUNT:REGION:ID`, or `aws:TYPE:ID` when
            // its account is unknown.
            if parts
                .first()
                .is_some_and(|first| first.strip_prefix(source).is_some_and(|t| t.starts_with('.')))
            {
                parts.remove(0);
            }
            match parts.as_slice() {
                [tenant, place, _, ..] => (part(Some(tenant)), part(Some(place))),
                _ => (None, None),
            }
        }
        _ => (None, None),
    }
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
    }

    #[test]
    fn keys_say_where_they_are_when_their_shape_does() {
        for (key, tenant, place) in [
            ("arn:aws:ec2:eu-west-1:111122223333:instance/i-1", Some("111122223333"), Some("eu-west-1")),
            ("arn:aws:iam::111122223333:user/ana", Some("111122223333"), None),
            ("arn:aws:s3:::bucket", None, None),
            ("aws:111122223333:global:iam-account", Some("111122223333"), Some("global")),
            ("aws:aws.ec2.instance:111122223333:eu-west-1:i-1", Some("111122223333"), Some("eu-west-1")),
            ("aws:aws.ec2.instance:i-1", None, None),
            ("terraform:prod.tfstate:aws_vpc.main", None, None),
            ("SN-1", None, None),
            ("arn:aws", None, None),
        ] {
            assert_eq!(locate_key(key), (tenant, place), "{key}");
        }
    }
}
