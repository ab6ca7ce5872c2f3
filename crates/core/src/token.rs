//! API tokens: who a token acts as, with which role, until when. The secret is shown once, at
//! creation; only its keyed hash is kept (the same HMAC-SHA-256 the secrets of a state are
//! sealed with), so a copy of the database lets nobody in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::authz::{Identified, Principal, Role};

/// The prefix of every token, so secret scanners (and people) recognise one.
pub const PREFIX: &str = "plumb_";

/// A token as stored and listed: everything but its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Its id: a ULID, also the first part of the token text.
    pub id: String,
    /// Who it acts as: an email, or `agent:NAME` for an agent.
    pub name: String,
    /// The role it holds.
    pub role: Role,
    /// Who created it, and when.
    pub created_by: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// The first instant it no longer works, if it ends.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Token {
    /// Whether it works at `now`.
    pub fn is_valid(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| now < end)
    }

    /// Who a request with this token acts as: its name, its role, and an agent when the name
    /// says so.
    pub fn principal(&self) -> Principal {
        let via = if self.name.starts_with("agent:") { Identified::Agent } else { Identified::ApiToken };
        Principal { who: self.name.clone(), roles: [self.role].into_iter().collect(), via }
    }
}

/// A token's text: `plumb_<id>_<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenText {
    /// The token's id.
    pub id: String,
    /// The secret (64 hex digits).
    pub secret: String,
}

impl fmt::Display for TokenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}_{}", self.id, self.secret)
    }
}

impl fmt::Debug for TokenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenText({PREFIX}{}_***)", self.id)
    }
}

/// A text that is not a plumb token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a plumb token (expected plumb_<id>_<secret>)")]
pub struct NotAToken;

impl FromStr for TokenText {
    type Err = NotAToken;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text.trim().strip_prefix(PREFIX).ok_or(NotAToken)?;
        let (id, secret) = rest.split_once('_').ok_or(NotAToken)?;
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        if id.len() != 26
            || !id.bytes().all(|b| b.is_ascii_alphanumeric())
            || secret.len() != 64
            || !hex(secret)
        {
            return Err(NotAToken);
        }
        Ok(TokenText { id: id.to_owned(), secret: secret.to_owned() })
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == text).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role {text:?}, expected one of {}", known.join(", "))
        })
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JDX8Z6Q4RBN1M3Y7T2KVW9CE";

    #[test]
    fn token_texts_read_and_never_show_their_secret() {
        let secret = "ab".repeat(32);
        let text = format!("plumb_{ID}_{secret}");
        let token: TokenText = text.parse().unwrap();
        assert_eq!(token.to_string(), text);
        assert!(!format!("{token:?}").contains(&secret));
        for bad in
            ["", "plumb_", &format!("plumb_{ID}"), &format!("plumb_{ID}_xyz"), &format!("pat_{ID}_{secret}")]
        {
            assert_eq!(bad.parse::<TokenText>(), Err(NotAToken), "{bad}");
        }
    }

    #[test]
    fn validity_and_principal() {
        let now: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let mut token = Token {
            id: ID.to_owned(),
            name: "agent:nightly-sync".to_owned(),
            role: Role::SreLead,
            created_by: "root@example.com".to_owned(),
            created_at: now,
            expires_at: now.plus_days(1),
            revoked_at: None,
        };
        assert!(token.is_valid(now));
        assert!(!token.is_valid(now.plus_days(1).unwrap()), "the expiry instant is already past");
        let principal = token.principal();
        assert_eq!((principal.via, principal.roles.len()), (Identified::Agent, 1));
        token.revoked_at = Some(now);
        assert!(!token.is_valid(now));
        assert_eq!("sre_lead".parse::<Role>(), Ok(Role::SreLead));
        assert!("root".parse::<Role>().unwrap_err().contains("expected one of admin"));
    }
}
