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
    /// Sign manifest.json with this minisign secret key (`plumb evidence keygen`), as
    /// manifest.json.minisig: an auditor checks it with `minisign -Vm manifest.json -p KEY.pub`.
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
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
        /// Check manifest.json.minisig with this minisign public key (an unsigned pack then
        /// fails).
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
    },
    /// Write a minisign key pair for signing packs: DIR/plumb-evidence.pub (give it to the
    /// auditor) and DIR/plumb-evidence.key (unencrypted, readable by its owner only; keep it
    /// outside the database). Refuses to overwrite either.
    Keygen {
        /// Where to write them.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
}

pub async fn run(settings: &Settings, args: EvidenceArgs) -> anyhow::Result<Outcome> {
    match args.command {
        Some(EvidenceCommand::Verify { file, pubkey }) => {
            return verify(settings, &file, pubkey.as_deref()).await;
        }
        Some(EvidenceCommand::Keygen { out }) => return keygen(&out),
        None => {}
    }
    let (Some(from), Some(to), Some(out)) = (args.from, args.to, args.out) else {
        return Err(BadInput("--from, --to and --out are required".to_owned()).into());
    };
    let request = evidence::PackRequest {
        controls: args.controls.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
        from: plumb_core::Timestamp::from_jiff(instant("--from", &from)?),
        to: plumb_core::Timestamp::from_jiff(instant("--to", &to)?),
        sign_key: args.sign_key.as_deref().map(|path| read_text("--sign-key", path)).transpose()?,
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

fn read_text(flag: &str, path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|err| BadInput(format!("{flag} {}: {err}", path.display())).into())
}

fn keygen(dir: &std::path::Path) -> anyhow::Result<Outcome> {
    let (public, secret) = evidence::keygen()?;
    let public_path = dir.join("plumb-evidence.pub");
    let secret_path = dir.join("plumb-evidence.key");
    for path in [&public_path, &secret_path] {
        if path.exists() {
            return Err(BadInput(format!("{} exists; keygen never overwrites a key", path.display())).into());
        }
    }
    std::fs::write(&public_path, public)
        .map_err(|err| BadInput(format!("{}: {err}", public_path.display())))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(&secret_path).map_err(|err| BadInput(format!("{}: {err}", secret_path.display())))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    eprintln!(
        "wrote {} (for the auditor) and {} (keep it secret)",
        public_path.display(),
        secret_path.display()
    );
    Ok(Outcome::Clean)
}

async fn verify(
    settings: &Settings,
    file: &std::path::Path,
    pubkey: Option<&std::path::Path>,
) -> anyhow::Result<Outcome> {
    let ctx = if settings.database_configured() {
        Some(settings.open(&OpenOptions::default()).await?)
    } else {
        None
    };
    let pubkey = pubkey.map(|path| read_text("--pubkey", path)).transpose()?;
    let verified = evidence::verify(ctx.as_ref(), file, pubkey.as_deref()).await?;
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
            let signature = match (verified.signed, pubkey.is_some()) {
                (true, true) => "; its signature verifies",
                (true, false) => "; signed (pass --pubkey to check the signature)",
                (false, _) => "; not signed",
            };
            let files = verified.manifest.as_ref().map_or(0, |m| m.files.len());
            println!("{}: {files} file(s) match manifest.json{signature}{chain}", file.display());
            Ok(Outcome::Clean)
        }
    }
}
