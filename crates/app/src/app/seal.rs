//! The seal key: what secrets found in Terraform states are sealed with before anything is
//! stored (see `plumb_core::secrets`).
//!
//! `PLUMB_SEAL_KEY` when set, else the key file of `[secrets]`, created on first use with 32
//! random bytes and readable by its owner only. The key is kept out of the database on
//! purpose: a copy of the database alone reveals nothing, not even to someone trying likely
//! passwords against the sealed values.

use std::io::Write;
use std::path::Path;

use plumb_core::secrets::{Sealer, seal_stored};
use plumb_store::Store;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::{BadInput, Environment};

/// The maintenance task that seals what an older plumb stored in clear.
pub const SEAL_TASK: &str = "seal-terraform-secrets-v1";

const SEAL_REASON: &str = "secrets in Terraform state values (passwords, generated keys, access-key secrets) were \
    stored in clear by plumb before it sealed them; they are replaced by keyed hashes (plumb_core::secrets)";

/// Seals the Terraform secrets an older plumb stored in clear, in asset rows and in their
/// events, and re-seals the chain with a recorded `resealed` event; once per database.
pub async fn seal_stored_secrets(store: &Store, config: &Config, actor: &str) -> anyhow::Result<()> {
    if store.maintenance_done(SEAL_TASK).await? {
        return Ok(());
    }
    // Without Terraform assets there is nothing to seal and no key is needed.
    let sealer = if store.has_source("terraform").await? { Some(sealer(config)?) } else { None };
    let rewrite = |document: &mut Map<String, Value>| {
        let attributes = document.get_mut("attributes").and_then(Value::as_object_mut);
        match (&sealer, attributes) {
            (Some(sealer), Some(attributes)) => seal_stored(sealer, attributes),
            _ => false,
        }
    };
    if let Some(report) = store.reseal(actor, SEAL_TASK, "terraform", SEAL_REASON, &rewrite).await? {
        eprintln!(
            "sealed the secrets an earlier plumb stored in clear: {} assets and {} events rewritten, the event chain \
             re-sealed from event {} with a `resealed` event that records the previous head (`plumb log verify` \
             checks the new chain). Rotate those secrets: backups and database logs made before now may still \
             hold them.",
            report.assets,
            report.events.len(),
            report.events.first().map_or(0, |(seq, _)| *seq)
        );
    }
    Ok(())
}

/// The environment variable that overrides the key file.
pub const KEY_ENV: &str = "PLUMB_SEAL_KEY";
const MIN_KEY: usize = 32;

/// The configured sealer, creating the key file when there is none.
pub fn sealer(config: &Config) -> anyhow::Result<Sealer> {
    if let Ok(key) = std::env::var(KEY_ENV) {
        return from_text(key.trim(), KEY_ENV);
    }
    let path = config.dir.join(&config.secrets.key_file);
    match std::fs::read_to_string(&path) {
        Ok(text) => from_text(text.trim(), &path.display().to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(err) => Err(Environment(format!("cannot read the seal key {}: {err}", path.display())).into()),
    }
}

fn from_text(key: &str, from: &str) -> anyhow::Result<Sealer> {
    if key.len() < MIN_KEY {
        return Err(BadInput(format!(
            "the seal key in {from} is too short: expected at least {MIN_KEY} characters (`openssl rand -hex 32` \
             makes one)"
        ))
        .into());
    }
    Ok(Sealer::new(key.as_bytes()))
}

/// Writes a new random key, readable by its owner only, without replacing one written meanwhile.
/// The key is written whole to a private temporary file beside it and then linked into place,
/// so a process that finds the file never reads a half-written key.
fn create(path: &Path) -> anyhow::Result<Sealer> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| Environment(format!("no random source for a seal key: {err}")))?;
    let key = hex(&bytes);
    let cannot =
        |err: std::io::Error| Environment(format!("cannot create the seal key {}: {err}", path.display()));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // tempfile creates it readable and writable by its owner only.
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    file.write_all(format!("{key}\n").as_bytes()).and_then(|()| file.as_file().sync_all()).map_err(cannot)?;
    match file.persist_noclobber(path) {
        Ok(_) => {
            eprintln!(
                "created the seal key {} (secrets in Terraform states are stored only sealed with it; keep it with \
                 the database)",
                path.display()
            );
            Ok(Sealer::new(key.as_bytes()))
        }
        // Another process made it first: use theirs.
        Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists => sealer_from_file(path),
        Err(err) => Err(cannot(err.error).into()),
    }
}

fn sealer_from_file(path: &Path) -> anyhow::Result<Sealer> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Environment(format!("cannot read the seal key {}: {err}", path.display())))?;
    from_text(text.trim(), &path.display().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Processes starting at once (a scheduler's jobs, parallel CI steps) end up with one key.
    #[test]
    fn keys_created_at_once_are_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { dir: dir.path().to_path_buf(), ..Config::default() };
        let ids: Vec<String> = std::thread::scope(|scope| {
            let workers: Vec<_> =
                (0..8).map(|_| scope.spawn(|| sealer(&config).unwrap().id().to_owned())).collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the key file is left");
    }

    #[test]
    fn a_key_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { dir: dir.path().to_path_buf(), ..Config::default() };
        let first = sealer(&config).unwrap();
        let again = sealer(&config).unwrap();
        assert_eq!(first.id(), again.id());
        let path = dir.path().join("plumb.key");
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        let err = sealer(&config).unwrap_err().to_string();
        assert!(err.contains("too short") && !err.contains("short\n"), "{err}");
    }
}
