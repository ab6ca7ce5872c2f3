//! Single sign-on for the API (`[serve.oidc]`): an OpenID Connect issuer's access tokens (JWTs)
//! checked against its published keys (JWKS), turned into the `Principal` `[roles]` gives the
//! person (by email, or by `group:NAME` for a group in the token).
//!
//! A token is refused unless: it names a key (`kid`) of the issuer, signed with that key's
//! asymmetric algorithm (never HMAC: the issuer's keys are public); `iss` is the issuer and
//! `aud` holds the audience; `exp` has not passed (and `nbf` has); it carries the email claim;
//! and, with `require_mfa` (the default, policy §5), its `amr` includes `mfa`, `otp` or `hwk`.
//! Keys are fetched on first use and again when a token names a key not yet seen (the issuer
//! rotated), at most once per cool-down, so a flood of made-up key ids cannot make plumb
//! hammer the issuer (openidconnect-rs #232 never refetches; buildkite's cleanroom #496 adds
//! the cool-down).

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use plumb_core::authz::{Principal, RoleHolders};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::Oidc;

/// What `amr` must include one of when MFA is required (RFC 8176).
const MFA_METHODS: &[&str] = &["mfa", "otp", "hwk"];

/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// Why a token was refused: said to the caller (a 401), never with the token.
#[derive(Debug, thiserror::Error)]
#[error("single sign-on token refused: {0}")]
pub struct Refused(pub String);

/// The issuer's keys as last fetched.
#[derive(Debug, Default)]
struct Keys {
    set: JwkSet,
    fetched: Option<Instant>,
}

/// Verifies the issuer's tokens; one per server, its keys shared by every request.
#[derive(Debug)]
pub struct Sso {
    settings: Oidc,
    client: reqwest::Client,
    keys: Mutex<Keys>,
}

impl Sso {
    /// A verifier for `settings`; nothing is fetched until the first token.
    pub fn new(settings: Oidc) -> anyhow::Result<Sso> {
        // reqwest is built without a bundled crypto provider; installing ring's is idempotent.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("plumb/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Sso { settings, client, keys: Mutex::new(Keys::default()) })
    }

    /// The principal `token` signs in, with the roles `holders` give them.
    pub async fn principal(&self, token: &str, holders: &RoleHolders) -> Result<Principal, Refused> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|err| Refused(format!("not a JWT: {err}")))?;
        let kid = header.kid.ok_or_else(|| Refused("the token names no key (kid)".to_owned()))?;
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(Refused(format!(
                "{:?} is a shared-secret algorithm; the issuer signs with its keys",
                header.alg
            )));
        }
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|err| Refused(describe(err.kind())))?
            .claims;
        self.person(&claims, holders)
    }

    /// Who the claims name, once MFA is shown where it is required.
    fn person(&self, claims: &Value, holders: &RoleHolders) -> Result<Principal, Refused> {
        if self.settings.require_mfa {
            let methods: Vec<&str> = claims["amr"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !methods.iter().any(|m| MFA_METHODS.contains(m)) {
                return Err(Refused(format!(
                    "policy §5 requires MFA: the token's amr ({}) has none of mfa, otp, hwk",
                    if methods.is_empty() { "absent".to_owned() } else { methods.join(", ") }
                )));
            }
        }
        let email_claim = &self.settings.email_claim;
        let email =
            claims[email_claim.as_str()].as_str().filter(|e| !e.trim().is_empty()).ok_or_else(|| {
                Refused(format!("the token has no {email_claim:?} claim, which [roles] names people by"))
            })?;
        let groups: Vec<String> = claims[self.settings.groups_claim.as_str()]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(holders.sso_principal(email, &groups))
    }

    /// The key `kid`, fetching the keys when none were fetched, or when `kid` is new and the
    /// cool-down since the last fetch has passed.
    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        let mut keys = self.keys.lock().await;
        let cool_down = Duration::from_secs(self.settings.jwks_cooldown_seconds);
        let known = keys.set.find(kid).is_some();
        let may_fetch = keys.fetched.is_none_or(|at| at.elapsed() >= cool_down);
        if !known && may_fetch {
            keys.set = self.fetch().await?;
            keys.fetched = Some(Instant::now());
        }
        let jwk = keys.set.find(kid).ok_or_else(|| Refused(format!("the issuer has no key {kid:?}")))?;
        DecodingKey::from_jwk(jwk)
            .map_err(|err| Refused(format!("the issuer's key {kid:?} cannot be used: {err}")))
    }

    /// The issuer's JWKS: from `jwks_url`, else from its discovery document.
    async fn fetch(&self) -> Result<JwkSet, Refused> {
        let url = match &self.settings.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    self.settings.issuer.trim_end_matches('/')
                );
                let document: Value = self.get(&discovery).await?;
                document["jwks_uri"]
                    .as_str()
                    .ok_or_else(|| Refused(format!("{discovery} names no jwks_uri")))?
                    .to_owned()
            }
        };
        self.get(&url).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Refused> {
        let unreachable = |err: reqwest::Error| {
            tracing::warn!(message = "cannot read the issuer's keys", url, error = %err);
            Refused(format!("the issuer's keys could not be read from {url}"))
        };
        let response = self.client.get(url).send().await.map_err(unreachable)?;
        response.error_for_status().map_err(unreachable)?.json().await.map_err(unreachable)
    }
}

/// Why validation failed, in the caller's words.
fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::ExpiredSignature => "it has expired".to_owned(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidAudience => "it is not for this API (aud)".to_owned(),
        ErrorKind::InvalidIssuer => "it is from another issuer (iss)".to_owned(),
        ErrorKind::InvalidSignature => "its signature does not verify with the issuer's key".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no {claim} claim"),
        ErrorKind::InvalidAlgorithm => "its algorithm is not its key's".to_owned(),
        other => format!("{other:?}"),
    }
}
