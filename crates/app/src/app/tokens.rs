//! API tokens (`plumb token …`, and every request to `plumb serve`): created by an admin for a
//! person or an agent with one role, shown once, kept as a keyed hash, revoked at will.

use plumb_core::Timestamp;
use plumb_core::authz::{Action, Principal, Role};
use plumb_core::secrets::Sealer;
use plumb_core::token::{Token, TokenText};
use plumb_store::{Store, StoredToken};
use serde_json::json;

use crate::app::Context;
use crate::error::BadInput;

/// What `create` asks for.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// Who it acts as: an email, or `agent:NAME`.
    pub name: String,
    /// The role it holds.
    pub role: Role,
    /// Its last day (`YYYY-MM-DD`, UTC); `None`: it does not end.
    pub last_day: Option<String>,
}

/// Creates a token; the text returned is the only time its secret is seen.
pub async fn create(ctx: &Context, request: NewToken) -> anyhow::Result<(Token, TokenText)> {
    ctx.permit(Action::Administer)?;
    let name = request.name.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(BadInput("--name: expected an email or agent:NAME, without spaces".to_owned()).into());
    }
    let now = plumb_store::now();
    let expires_at = match &request.last_day {
        None => None,
        Some(day) => {
            let end = Timestamp::after_day(day).map_err(|err| BadInput(format!("--expires: {err}")))?;
            if end <= now {
                return Err(BadInput(format!("--expires: {day} is in the past")).into());
            }
            Some(end)
        }
    };
    let text = TokenText { id: ulid::Ulid::generate().to_string(), secret: secret()? };
    let token = Token {
        id: text.id.clone(),
        name: name.to_owned(),
        role: request.role,
        created_by: ctx.principal.who.clone(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    let mut tx = ctx.begin_write().await?;
    let sealer = crate::app::seal::sealer(&ctx.config)?;
    tx.create_token(&token, &hash(&sealer, &text.secret)).await?;
    tx.commit().await?;
    Ok((token, text))
}

/// Every token, newest first (never their secrets).
pub async fn list(ctx: &Context) -> anyhow::Result<Vec<StoredToken>> {
    ctx.permit(Action::Read)?;
    Ok(ctx.store.tokens().await?)
}

/// Revokes token `id`; requests with it are refused from now on.
pub async fn revoke(ctx: &Context, id: &str) -> anyhow::Result<Token> {
    ctx.permit(Action::Administer)?;
    let Some(stored) = ctx.store.token(id).await? else {
        return Err(BadInput(format!("no token {id} (see `plumb token list`)")).into());
    };
    if stored.token.revoked_at.is_some() {
        return Err(BadInput(format!("token {id} is already revoked")).into());
    }
    let mut tx = ctx.begin_write().await?;
    let after = Token { revoked_at: Some(tx.now()), ..stored.token.clone() };
    tx.revoke_token(&stored.token, &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Why a request's token was not accepted (the API answers 401 with this, never more).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    Missing,
    /// Not a token, unknown, or its secret does not match.
    #[error("the token is not valid")]
    Invalid,
    /// Expired or revoked.
    #[error("the token has expired or was revoked")]
    Ended,
}

/// Who a request's bearer token acts as, its secret hashed with `sealer` (the seal key's, read
/// once by the server: `app::seal::sealer`). Unknown and wrong secrets are one answer, so a
/// caller learns nothing about which tokens exist.
pub async fn authenticate(
    store: &Store,
    sealer: &Sealer,
    bearer: Option<&str>,
) -> anyhow::Result<Result<Principal, Refused>> {
    let Some(bearer) = bearer else { return Ok(Err(Refused::Missing)) };
    let Ok(text) = bearer.parse::<TokenText>() else { return Ok(Err(Refused::Invalid)) };
    let Some(stored) = store.token(&text.id).await? else { return Ok(Err(Refused::Invalid)) };
    if !same(&hash(sealer, &text.secret), &stored.secret_hash) {
        return Ok(Err(Refused::Invalid));
    }
    let now = plumb_store::now();
    if !stored.token.is_valid(now) {
        return Ok(Err(Refused::Ended));
    }
    // The last use is for `token list`, not evidence: noted at most once a minute, so a busy
    // client does not turn every read into a write.
    let recent = stored
        .last_used_at
        .as_deref()
        .and_then(|at| at.parse::<Timestamp>().ok())
        .and_then(|at| Timestamp::from_micros(at.as_micros() + 60_000_000));
    if recent.is_none_or(|next| now >= next) {
        store.touch_token(&stored.token.id, now).await?;
    }
    Ok(Ok(stored.token.principal()))
}

/// A new secret: 32 bytes from the operating system, as hex.
fn secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| anyhow::anyhow!("no randomness from the operating system: {err}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The keyed hash kept of a secret: HMAC-SHA-256 under the seal key, as secrets are sealed.
fn hash(sealer: &Sealer, secret: &str) -> String {
    sealer.seal(&json!(secret)).as_str().unwrap_or_default().to_owned()
}

/// Compares two hashes in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn hashes_compare_whole() {
        assert!(same("sealed:abc", "sealed:abc"));
        assert!(!same("sealed:abc", "sealed:abd"));
        assert!(!same("sealed:abc", "sealed:ab"));
    }
}
