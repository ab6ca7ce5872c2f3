//! `plumb evidence`: a pack of the evidence for controls over a period, which an auditor can
//! check offline: the population at the period's end, the runs and findings of each control,
//! the exceptions, the days a daily duty did not complete, a page per control, and
//! `manifest.json` naming every file with its SHA-256, its rows and what selected them, and the
//! event chain's length and head. The same data gives the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use plumb_core::Timestamp;
use plumb_core::authz::Action;
use plumb_core::controls::evidence_kinds;
use plumb_core::evidence::{self, ChainPoint, FileEntry, Manifest};
use plumb_core::model::{FIELDS, Run, RunKind, RunOutcome};
use plumb_store::{AssetFilter, StoredFinding};
use serde_json::json;
use sha2::Digest;

use crate::app::Context;
use crate::error::BadInput;
use crate::report::html::escape;
use crate::report::pack;

/// The manifest's path in a pack.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's minisign signature, when the pack is signed.
pub const SIGNATURE: &str = "manifest.json.minisig";

/// What a pack covers.
#[derive(Clone, Debug)]
pub struct PackRequest {
    /// The controls (INV-01, CFG-01, CFG-02, or one of `[controls]`).
    pub controls: Vec<String>,
    /// Start of the period (inclusive).
    pub from: Timestamp,
    /// End of the period (exclusive).
    pub to: Timestamp,
    /// A minisign secret key (its file's text) to sign the manifest with.
    pub sign_key: Option<String>,
}

/// One file of a pack, with what the manifest says of it.
struct PackFile {
    path: String,
    bytes: Vec<u8>,
    rows: u64,
    query: String,
}

impl PackFile {
    fn new(path: impl Into<String>, bytes: Vec<u8>, rows: u64, query: impl Into<String>) -> PackFile {
        PackFile { path: path.into(), bytes, rows, query: query.into() }
    }
}

/// A pack: its manifest and its ZIP.
#[derive(Debug)]
pub struct Pack {
    /// What it holds.
    pub manifest: Manifest,
    /// The ZIP file's bytes.
    pub zip: Vec<u8>,
}

/// Builds the pack.
pub async fn build(ctx: &Context, request: &PackRequest) -> anyhow::Result<Pack> {
    ctx.permit(Action::Read)?;
    if request.to <= request.from {
        return Err(BadInput(format!("--to {} is not after --from {}", request.to, request.from)).into());
    }
    if request.controls.is_empty() {
        return Err(BadInput("--control names no control".to_owned()).into());
    }
    // A misspelt control would make a pack of nothing, which reads like a clean period.
    let known = crate::app::controls::known(ctx);
    if let Some(unknown) = request.controls.iter().find(|c| !known.contains_key(*c)) {
        let ids: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(BadInput(format!(
            "--control {unknown}: no such control; [controls] has {}",
            ids.join(", ")
        ))
        .into());
    }
    let head = ctx.store.chain_head().await?;
    let runs = ctx.store.runs_between(request.from, request.to).await?;
    let findings = ctx.store.findings(None, true).await?;
    let mut files: Vec<PackFile> = Vec::new();
    files.push(population(ctx, request.to).await?);
    let exceptions = ctx.store.exceptions().await?;
    let documents: Vec<serde_json::Value> = exceptions.iter().map(|e| json!(e)).collect();
    files.push(PackFile::new(
        "exceptions.json",
        pretty(&documents)?,
        documents.len() as u64,
        "every exception of the register, as `plumb exception list -o json` prints it",
    ));
    let records: Vec<_> =
        ctx.store.sanitizations().await?.into_iter().filter(|r| r.started_at < request.to).collect();
    files.push(PackFile::new(
        "sanitization.json",
        pretty(&records)?,
        records.len() as u64,
        "every sanitization record (policy §8) started before the period's end, as `plumb asset certificate -o json` holds it",
    ));
    for control in &request.controls {
        files.extend(control_files(control, request, &runs, &findings)?);
    }
    let manifest = Manifest {
        format: evidence::FORMAT.to_owned(),
        controls: request.controls.clone(),
        from: request.from,
        to: request.to,
        generator: format!("plumb {}", env!("CARGO_PKG_VERSION")),
        chain: ChainPoint { length: head.seq, head: head.hash },
        files: files
            .iter()
            .map(|file| FileEntry {
                path: file.path.clone(),
                sha256: hex::encode(sha2::Sha256::digest(&file.bytes)),
                rows: file.rows,
                query: file.query.clone(),
            })
            .collect(),
    };
    let mut entries: BTreeMap<String, Vec<u8>> =
        files.into_iter().map(|file| (file.path, file.bytes)).collect();
    let manifest_bytes = pretty(&manifest)?;
    if let Some(key) = &request.sign_key {
        entries.insert(SIGNATURE.to_owned(), sign(key, &manifest, &manifest_bytes)?);
    }
    entries.insert(MANIFEST.to_owned(), manifest_bytes);
    let zip = crate::app::cpu_bound(|| pack::write(&entries))?;
    Ok(Pack { manifest, zip })
}

/// The manifest's signature in minisign's format. The trusted comment (signed too) names the
/// pack, so a signature moved to another pack's manifest says whose it is. Ed25519 as minisign
/// makes it is hedged with random bytes: the signature is the one entry of a pack that differs
/// between two builds of the same data.
fn sign(key: &str, manifest: &Manifest, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let unreadable = |err: minisign::PError| {
        BadInput(format!("--sign-key: not an unencrypted minisign secret key: {err}"))
    };
    let secret = minisign::SecretKey::from_unencrypted_box(
        minisign::SecretKeyBox::from_string(key).map_err(unreadable)?,
    )
    .map_err(unreadable)?;
    let trusted = format!(
        "plumb evidence {} from {} to {} chain {}:{}",
        manifest.controls.join(","),
        manifest.from,
        manifest.to,
        manifest.chain.length,
        manifest.chain.head
    );
    let signature = minisign::sign(
        None,
        &secret,
        std::io::Cursor::new(bytes),
        Some(&trusted),
        Some("plumb evidence pack"),
    )
    .map_err(|err| anyhow::anyhow!("signing the manifest: {err}"))?;
    Ok(signature.into_string().into_bytes())
}

/// A new minisign key pair for signing packs: (public key, secret key), as their files hold
/// them. The secret key is not encrypted, so a scheduled job can sign; keep it outside the
/// database.
pub fn keygen() -> anyhow::Result<(String, String)> {
    let pair = minisign::KeyPair::generate_unencrypted_keypair().map_err(|err| anyhow::anyhow!("{err}"))?;
    let public = pair.pk.to_box().map_err(|err| anyhow::anyhow!("{err}"))?.into_string();
    let secret = pair
        .sk
        .to_box(Some("plumb evidence signing key"))
        .map_err(|err| anyhow::anyhow!("{err}"))?
        .into_string();
    Ok((public, secret))
}

/// The assets recorded before the period's end, as `population.csv`: the columns of `plumb
/// asset export -o csv` but the configuration documents (attributes, provenance).
async fn population(ctx: &Context, to: Timestamp) -> anyhow::Result<PackFile> {
    let columns: Vec<&str> =
        FIELDS.iter().copied().filter(|f| !matches!(*f, "attributes" | "provenance")).collect();
    let mut bytes: Vec<u8> = Vec::new();
    let mut rows = 0;
    {
        let mut out = crate::report::csv_writer(&mut bytes, &columns)?;
        let mut scan = ctx.store.scan_assets(AssetFilter::default()).await?;
        while let Some(batch) = scan.next_batch().await? {
            for asset in batch.iter().filter(|a| a.first_seen < to) {
                crate::report::write_csv_row(&mut out, &columns, &serde_json::to_value(asset)?)?;
                rows += 1;
            }
        }
        out.flush()?;
    }
    let query = format!("every asset first recorded before {to}, by key, with its fields as they are now");
    Ok(PackFile::new("population.csv", bytes, rows, query))
}

/// A control's files: its runs, its findings, the days its daily duty missed, and its page.
fn control_files(
    control: &str,
    request: &PackRequest,
    runs: &[Run],
    findings: &[StoredFinding],
) -> anyhow::Result<Vec<PackFile>> {
    let kinds = evidence_kinds(control);
    let theirs: Vec<&Run> = runs.iter().filter(|r| evidence::in_pack(control, r)).collect();
    let kind_words: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let mut files = vec![PackFile::new(
        format!("{control}/runs.json"),
        pretty(&theirs)?,
        theirs.len() as u64,
        format!(
            "runs of kind {} started in the period that are evidence for {control}, with its audits and gates",
            kind_words.join(", ")
        ),
    )];
    let (findings_csv, opened, resolved, rows) = findings_file(control, request, findings)?;
    files.push(PackFile::new(
        format!("{control}/findings.csv"),
        findings_csv,
        rows,
        format!("findings of checks carrying {control} open at any time in the period, with when they opened and resolved"),
    ));
    let duty = daily_duty(control);
    let missed = duty.map(|kind| {
        let completed: Vec<Timestamp> = runs
            .iter()
            .filter(|r| r.kind == kind && r.outcome == RunOutcome::Succeeded)
            .map(|r| r.finished_at)
            .collect();
        evidence::missed_days(request.from, request.to, &completed)
    });
    if let (Some(kind), Some(missed)) = (duty, &missed) {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(["day", "duty"])?;
        for day in missed {
            out.write_record([day.as_str(), kind.as_str()])?;
        }
        files.push(PackFile::new(
            format!("{control}/schedule-gaps.csv"),
            out.into_inner()?,
            missed.len() as u64,
            format!("days (UTC) of the period on which no {kind} run completed (outcome succeeded)"),
        ));
    }
    let page = summary_page(control, request, &theirs, (opened, resolved), duty.zip(missed.as_ref()));
    files.push(PackFile::new(
        format!("{control}/summary.html"),
        page.into_bytes(),
        0,
        "the figures above, for a person",
    ));
    Ok(files)
}

/// The run whose daily completion a control rests on: the nightly sync (policy §3) for INV-01,
/// the daily drift scan (policy §4) for CFG-02.
fn daily_duty(control: &str) -> Option<RunKind> {
    match control {
        "INV-01" => Some(RunKind::Sync),
        "CFG-02" => Some(RunKind::Drift),
        _ => None,
    }
}

/// `findings.csv` with how many opened and resolved in the period, and its rows.
fn findings_file(
    control: &str,
    request: &PackRequest,
    findings: &[StoredFinding],
) -> anyhow::Result<(Vec<u8>, u64, u64, u64)> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["check", "key", "severity", "status", "opened_at", "resolved_at", "hours_to_close"])?;
    let (mut opened, mut resolved, mut rows) = (0, 0, 0);
    let within = |at: Timestamp| at >= request.from && at < request.to;
    for stored in findings {
        let finding = &stored.finding;
        let open_in_period =
            finding.first_seen < request.to && stored.resolved_at.is_none_or(|at| at >= request.from);
        if !finding.controls.iter().any(|c| c == control) || !open_in_period {
            continue;
        }
        opened += u64::from(within(finding.first_seen));
        resolved += u64::from(stored.resolved_at.is_some_and(within));
        let hours = stored
            .resolved_at
            .map(|at| format!("{:.1}", (at.as_micros() - finding.first_seen.as_micros()) as f64 / 3.6e9))
            .unwrap_or_default();
        out.write_record([
            finding.check.clone(),
            finding.key.clone(),
            finding.severity.as_str().to_owned(),
            finding.status.as_str().to_owned(),
            finding.first_seen.to_string(),
            stored.resolved_at.map(|at| at.to_string()).unwrap_or_default(),
            hours,
        ])?;
        rows += 1;
    }
    Ok((out.into_inner()?, opened, resolved, rows))
}

fn summary_page(
    control: &str,
    request: &PackRequest,
    runs: &[&Run],
    (opened, resolved): (u64, u64),
    missed: Option<(RunKind, &Vec<String>)>,
) -> String {
    let failed = runs.iter().filter(|r| r.outcome == RunOutcome::Failed).count();
    let partial = runs.iter().filter(|r| r.outcome == RunOutcome::Partial).count();
    let continuity = match missed {
        None => "No daily duty rests on this control.".to_owned(),
        Some((kind, days)) if days.is_empty() => {
            format!("A {kind} run completed on every day of the period.")
        }
        Some((kind, days)) => {
            format!("No {kind} run completed on {} day(s): {}.", days.len(), days.join(", "))
        }
    };
    let rows = [
        ("Period", format!("{} to {} (exclusive)", request.from, request.to)),
        ("Runs", format!("{} ({failed} failed, {partial} partial): runs.json", runs.len())),
        ("Findings", format!("{opened} opened and {resolved} resolved in the period: findings.csv")),
        ("Schedule continuity", continuity),
    ];
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}: evidence</title></head>\
         <body>\n<h1>{0}: evidence</h1>\n<table>\n",
        escape(control)
    );
    for (field, value) in rows {
        page.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(field), escape(&value)));
    }
    page.push_str("</table>\n<p>Every file's SHA-256 is in manifest.json.</p>\n</body></html>\n");
    page
}

fn pretty(value: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// What `verify` found.
#[derive(Debug)]
pub struct Verified {
    /// The pack's manifest (`None` when the pack could not be read).
    pub manifest: Option<Manifest>,
    /// The first thing that does not hold, if any.
    pub mismatch: Option<String>,
    /// Whether the pack carries a signature.
    pub signed: bool,
}

/// Checks a pack: every file against the manifest; the manifest's signature with `pubkey` (a
/// minisign public key's text; a pack without a signature then fails); and, with a database
/// (`ctx`), that the chain the pack was read from is still part of the chain (nothing
/// rewritten since).
pub async fn verify(ctx: Option<&Context>, path: &Path, pubkey: Option<&str>) -> anyhow::Result<Verified> {
    let bytes =
        std::fs::read(path).map_err(|err| BadInput(format!("cannot read {}: {err}", path.display())))?;
    // A pack that cannot be read whole is broken evidence, said as such (exit 1), not bad input.
    let mut files = match pack::read(&bytes) {
        Ok(files) => files,
        Err(err) => return Ok(Verified { manifest: None, mismatch: Some(err), signed: false }),
    };
    // A pack whose manifest is gone or garbled is broken evidence too (exit 1), not bad input.
    let Some(manifest_bytes) = files.remove(MANIFEST) else {
        let mismatch = format!("{MANIFEST} is missing: the pack cannot be checked");
        return Ok(Verified { manifest: None, mismatch: Some(mismatch), signed: false });
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(manifest) => manifest,
        Err(err) => {
            let mismatch = format!("{MANIFEST} cannot be read: {err}");
            return Ok(Verified { manifest: None, mismatch: Some(mismatch), signed: false });
        }
    };
    let signature = files.remove(SIGNATURE);
    if let Some(pubkey) = pubkey {
        let public = minisign::PublicKeyBox::from_string(pubkey)
            .and_then(minisign::PublicKey::from_box)
            .map_err(|err| BadInput(format!("--pubkey: not a minisign public key: {err}")))?;
        let checked = match &signature {
            None => Err("the pack is not signed (no manifest.json.minisig)".to_owned()),
            Some(text) => minisign::SignatureBox::from_string(&String::from_utf8_lossy(text))
                .and_then(|sig| {
                    minisign::verify(&public, &sig, std::io::Cursor::new(&manifest_bytes), true, false, false)
                })
                .map_err(|err| {
                    format!("manifest.json.minisig does not verify with the given public key: {err}")
                }),
        };
        if let Err(mismatch) = checked {
            return Ok(Verified {
                manifest: Some(manifest),
                mismatch: Some(mismatch),
                signed: signature.is_some(),
            });
        }
    }
    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|(name, content)| (name.clone(), hex::encode(sha2::Sha256::digest(content))))
        .collect();
    let mut mismatch = evidence::first_mismatch(&manifest, &hashes);
    if let (None, Some(ctx)) = (&mismatch, ctx) {
        ctx.permit(Action::Read)?;
        let ChainPoint { length, head } = &manifest.chain;
        let now = ctx.store.event_hash(*length).await?;
        if now.as_deref() != Some(head.as_str())
            && !(*length == 0 && head == &plumb_core::event_chain::ChainHead::default().hash)
        {
            mismatch = Some(format!(
                "the event chain was rewritten since the pack was made: event {length} was {head}, it is now {}",
                now.unwrap_or_else(|| "gone".to_owned())
            ));
        }
    }
    Ok(Verified { manifest: Some(manifest), mismatch, signed: signature.is_some() })
}
