//! `plumb token`: API tokens for `plumb serve`.

use clap::Subcommand;
use plumb_core::authz::Role;
use plumb_store::OpenOptions;
use serde::Serialize;

use crate::app::Settings;
use crate::app::tokens::{self, NewToken};
use crate::cli::stdout;
use crate::error::Outcome;
use crate::report::{self, Format, View};

/// API tokens for `plumb serve`: each acts as one person (an email) or agent (`agent:NAME`)
/// with one role, and is shown once. The database keeps only a keyed hash of its secret.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token (admins); its text is printed once, on standard output.
    Create {
        /// Who it acts as: an email, or agent:NAME for an agent.
        #[arg(long)]
        name: String,
        /// The role it holds: admin, auditor, head_of_product, sre_lead, infosec_manager.
        #[arg(long, value_parser = crate::cli::word::<Role>)]
        role: Role,
        /// Its last day, YYYY-MM-DD (UTC) [default: it does not end].
        #[arg(long)]
        expires: Option<String>,
    },
    /// Every token: who, which role, until when, last used (never a secret).
    List,
    /// Revoke a token: requests with it are refused from now on.
    Revoke {
        /// The token's id (see `plumb token list`).
        id: String,
    },
}

#[derive(Serialize)]
struct Row {
    id: String,
    name: String,
    role: Role,
    created_by: String,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
}

const VIEW: View = View {
    table: &["id", "name", "role", "expires_at", "revoked_at", "last_used_at"],
    all: &["id", "name", "role", "created_by", "created_at", "expires_at", "revoked_at", "last_used_at"],
};

pub async fn run(settings: &Settings, format: Format, command: TokenCommand) -> anyhow::Result<Outcome> {
    let ctx = settings.open(&OpenOptions::default()).await?;
    match command {
        TokenCommand::Create { name, role, expires } => {
            let (token, text) = tokens::create(&ctx, NewToken { name, role, last_day: expires }).await?;
            eprintln!(
                "created token {} for {} ({}); it is shown once, keep it in a secret store:",
                token.id, token.name, token.role
            );
            use std::io::Write;
            writeln!(stdout(), "{text}")?;
        }
        TokenCommand::List => {
            let rows: Vec<Row> = tokens::list(&ctx)
                .await?
                .into_iter()
                .map(|stored| {
                    let token = stored.token;
                    Row {
                        id: token.id,
                        name: token.name,
                        role: token.role,
                        created_by: token.created_by,
                        created_at: token.created_at.to_string(),
                        expires_at: token.expires_at.map(|t| t.to_string()),
                        revoked_at: token.revoked_at.map(|t| t.to_string()),
                        last_used_at: stored.last_used_at,
                    }
                })
                .collect();
            report::list(&mut stdout(), format, VIEW, &rows, None)?;
        }
        TokenCommand::Revoke { id } => {
            let token = tokens::revoke(&ctx, &id).await?;
            eprintln!("revoked token {} of {}", token.id, token.name);
        }
    }
    Ok(Outcome::Clean)
}
