//! `plumb evidence …`: packs of evidence an auditor checks offline.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use plumb_store::OpenOptions;

use crate::app::{Settings, evidence};
use crate::cli::audit::instant;
use crate::error::{BadInput, Outcome};

/// Build an evidence pack for controls over a period, or verify one.
///
/// The pack is a ZIP: population.csv (every asset first recorded before the period's end),
/// exceptions.json, and per control runs.json (its runs in the period), findings.csv (its
/// findings open at any time in the period, with time to close), schedule-gaps.csv (the days
/// the nightly sync, for INV-01, or the daily drift scan, for CFG-02, did not complete) and
/// summary.html; manifest.json names every file with its SHA-256, its rows and what selected
/// them, and the event chain's length and head hash. The same data gives the same bytes.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    command: Option<EvidenceCommand>,
    /// The controls, comma-separated (INV-01, CFG-01, CFG-02).
    #[arg(long = "control", value_name = "CONTROL,…", value_delimiter = ',', required = true)]
    controls: Vec<String>,
    /// Start of the period (inclusive): a date (UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE", required = true)]
    from: Option<String>,
    /// End of the period (exclusive).
    #[arg(long, value_name = "DATE", required = true)]
    to: Option<String>,
    /// The ZIP file to write (replaced only once the pack is complete).
    #[arg(long, value_name = "FILE.zip", required = true)]
    out: Option<PathBuf>,
}

/// What else `plumb evidence` does.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check a pack: every file against manifest.json and, with a database, that the event
    /// chain it was read from is still part of today's (nothing rewritten since). Exit 1 with
    /// the first mismatch.
    Verify {
        /// The pack.
        file: PathBuf,
    },
}

pub async fn run(settings: &Settings, args: EvidenceArgs) -> anyhow::Result<Outcome> {
    if let Some(EvidenceCommand::Verify { file }) = args.command {
        return verify(settings, &file).await;
    }
    let (Some(from), Some(to), Some(out)) = (args.from, args.to, args.out) else {
        return Err(BadInput("--from, --to and --out are required".to_owned()).into());
    };
    let request = evidence::PackRequest {
        controls: args.controls.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
        from: plumb_core::Timestamp::from_jiff(instant("--from", &from)?),
        to: plumb_core::Timestamp::from_jiff(instant("--to", &to)?),
    };
    let ctx = settings.open(&OpenOptions::default()).await?;
    let pack = evidence::build(&ctx, &request).await?;
    write_atomically(&out, &pack.zip)?;
    eprintln!(
        "wrote {}: {} file(s) for {} from {} to {}; chain of {} events, head {}",
        out.display(),
        pack.manifest.files.len() + 1,
        request.controls.join(", "),
        request.from,
        request.to,
        pack.manifest.chain.length,
        pack.manifest.chain.head
    );
    Ok(Outcome::Clean)
}

/// Writes next to the target and renames when complete, so a failed build never leaves a
/// half-written pack where a good one was.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|err| BadInput(format!("cannot write in {}: {err}", dir.display())))?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|err| BadInput(format!("cannot write {}: {err}", path.display())))?;
    Ok(())
}

async fn verify(settings: &Settings, file: &std::path::Path) -> anyhow::Result<Outcome> {
    let ctx = if settings.database_configured() {
        Some(settings.open(&OpenOptions::default()).await?)
    } else {
        None
    };
    let verified = evidence::verify(ctx.as_ref(), file).await?;
    match &verified.mismatch {
        Some(mismatch) => {
            println!("{}: {mismatch}", file.display());
            Ok(Outcome::Blocking)
        }
        None => {
            let chain = if ctx.is_some() {
                "; its chain is part of today's"
            } else {
                "; no database to compare its chain with"
            };
            let files = verified.manifest.as_ref().map_or(0, |m| m.files.len());
            println!("{}: {files} file(s) match manifest.json{chain}", file.display());
            Ok(Outcome::Clean)
        }
    }
}
