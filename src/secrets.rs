//! Secret values: generated from the OS random generator, kept in a store
//! file so that re-running changes no byte, replaced one at a time by
//! `secrets rotate`.
//!
//! Invariants: the store is written atomically with mode 0600 (a crash
//! leaves the old or the new store, never a truncated one), and only
//! after the output it belongs to (`stage`, then `commit`), so a failed
//! run leaves it as it was; it is read only when it is a regular file
//! (never through a link at its name, never a FIFO or device), bounded; a value is never
//! printed, logged or put in an error message (`SecretValues`' `Debug` shows
//! names only); a stored value is reused only while it still decodes to the
//! size the model asks for.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use rand::{RngCore, SeedableRng, TryRngCore};

use crate::system::{Encoding, SecretSpec, System};

/// Secret name → encoded value, as written into env files.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(BTreeMap<String, String>);

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl SecretValues {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Every (name, value) pair; for writing the store and for tests.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Where secret values come from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// The store file: values are reused, missing ones generated from the
    /// OS random generator and saved.
    Store(PathBuf),
    /// Derived from a fixed seed, for snapshots and tests only. Nothing is
    /// read or saved.
    Seeded(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret store {path}: {error}")]
    Read { path: PathBuf, error: io::Error },
    #[error("cannot write secret store {path}: {error}")]
    Write { path: PathBuf, error: io::Error },
    #[error("secret store {path} line {line} is not `NAME=value`; fix or delete that line (a deleted secret is generated anew)")]
    Malformed { path: PathBuf, line: usize },
    #[error("the OS random generator failed: {0}")]
    Random(String),
    #[error(
        "secret `{0}` is not declared in the model; `lucid-gen check` lists the model's secrets"
    )]
    Unknown(String),
}

/// The values for every secret the model declares, and whether the store
/// must be saved (because a value was generated or replaced).
pub struct Resolved {
    pub values: SecretValues,
    pub changed: Vec<String>,
    /// All entries to save: the model's secrets plus any kept from the store
    /// that the model no longer declares (so removing a secret from the
    /// model and adding it back does not change its value).
    store: BTreeMap<String, String>,
}

/// Generates `spec.bytes` random bytes and encodes them.
fn generate(
    spec: &SecretSpec,
    rng: &mut dyn FnMut(&mut [u8]) -> Result<(), String>,
) -> Result<String, SecretError> {
    let mut bytes = vec![0u8; spec.bytes];
    rng(&mut bytes).map_err(SecretError::Random)?;
    Ok(encode(spec.encoding, &bytes))
}

fn encode(encoding: Encoding, bytes: &[u8]) -> String {
    match encoding {
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        Encoding::Base64url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        Encoding::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Decodes a value; `None` when it is not of the encoding.
pub fn decode(encoding: Encoding, value: &str) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.decode(value).ok(),
        Encoding::Base64url => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .ok(),
        Encoding::Hex => {
            if !value.len().is_multiple_of(2) {
                return None;
            }
            (0..value.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
                .collect()
        }
    }
}

fn os_random(buf: &mut [u8]) -> Result<(), String> {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .map_err(|e| e.to_string())
}

/// A stable 64-bit hash of a name (FNV-1a), so each seeded secret depends
/// only on the seed and its own name.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Finds or makes a value for every secret of `system`. `rotate` names
/// secrets to replace even when the store has a good value.
pub fn resolve(
    system: &System,
    source: &SecretSource,
    rotate: &[String],
) -> Result<Resolved, SecretError> {
    for name in rotate {
        if !system.secrets.iter().any(|s| &s.name == name) {
            return Err(SecretError::Unknown(name.clone()));
        }
    }
    match source {
        SecretSource::Seeded(seed) => {
            let mut values = BTreeMap::new();
            for spec in &system.secrets {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ name_hash(&spec.name));
                let mut fill = |buf: &mut [u8]| {
                    rng.fill_bytes(buf);
                    Ok(())
                };
                values.insert(spec.name.clone(), generate(spec, &mut fill)?);
            }
            Ok(Resolved {
                values: SecretValues(values.clone()),
                changed: Vec::new(),
                store: values,
            })
        }
        SecretSource::Store(path) => {
            let mut store = read_store(path)?;
            let mut values = BTreeMap::new();
            let mut changed = Vec::new();
            for spec in &system.secrets {
                let keep = store.get(&spec.name).filter(|v| {
                    !rotate.contains(&spec.name)
                        && decode(spec.encoding, v).is_some_and(|b| b.len() == spec.bytes)
                });
                let value = match keep {
                    Some(v) => v.clone(),
                    None => {
                        changed.push(spec.name.clone());
                        generate(spec, &mut os_random)?
                    }
                };
                store.insert(spec.name.clone(), value.clone());
                values.insert(spec.name.clone(), value);
            }
            Ok(Resolved {
                values: SecretValues(values),
                changed,
                store,
            })
        }
    }
}

/// A store larger than this is refused unread.
const MAX_STORE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads the store; a missing store is an empty one. Never follows a link
/// at the store's own name, never opens a FIFO or device, never reads more
/// than [`MAX_STORE_BYTES`].
fn read_store(path: &Path) -> Result<BTreeMap<String, String>, SecretError> {
    let read_err = |error| SecretError::Read {
        path: path.to_path_buf(),
        error,
    };
    let text = match crate::write::read_regular(path, MAX_STORE_BYTES).map_err(read_err)? {
        Some(bytes) => String::from_utf8(bytes).map_err(|_| {
            read_err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not UTF-8; restore it from a backup or delete it (every secret is then generated anew)",
            ))
        })?,
        None => return Ok(BTreeMap::new()),
    };
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(SecretError::Malformed {
                    path: path.to_path_buf(),
                    line: i + 1,
                })
            }
        }
    }
    Ok(out)
}

/// A new store written beside the old one, not yet in place: dropped, it
/// is removed and the store stays as it was.
pub struct StagedStore {
    path: PathBuf,
    staged: crate::write::Staged,
}

impl StagedStore {
    /// Renames the new store into place and makes that durable.
    pub fn commit(self) -> Result<(), SecretError> {
        self.staged.commit().map_err(|error| SecretError::Write {
            path: self.path,
            error,
        })
    }
}

impl Resolved {
    /// Saves the store when anything changed (atomically, mode 0600).
    pub fn save(&self, source: &SecretSource) -> Result<bool, SecretError> {
        match self.stage(source)? {
            Some(staged) => staged.commit().map(|()| true),
            None => Ok(false),
        }
    }

    /// Writes the new store beside the old one when anything changed,
    /// without replacing it yet: the caller commits it once the output
    /// is written, so a failed run leaves the store as it was.
    pub fn stage(&self, source: &SecretSource) -> Result<Option<StagedStore>, SecretError> {
        let SecretSource::Store(path) = source else {
            return Ok(None);
        };
        let write_err = |error| SecretError::Write {
            path: path.to_path_buf(),
            error,
        };
        if self.changed.is_empty() && path.exists() {
            return Ok(None);
        }
        let mut text = String::from(
            "# lucid-gen secret store: generated values, reused on every run.\n\
             # Keep private (mode 0600, never commit). Rotate one with `lucid-gen secrets rotate NAME`.\n",
        );
        for (k, v) in &self.store {
            text.push_str(k);
            text.push('=');
            text.push_str(v);
            text.push('\n');
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_err)?;
            crate::write::remove_leftovers(dir);
        }
        let staged = crate::write::stage_beside(path, text.as_bytes(), true).map_err(write_err)?;
        Ok(Some(StagedStore {
            path: path.to_path_buf(),
            staged,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        for e in [Encoding::Base64, Encoding::Base64url, Encoding::Hex] {
            assert_eq!(decode(e, &encode(e, &bytes)).unwrap(), bytes);
        }
        assert!(decode(Encoding::Hex, "abc").is_none());
    }

    #[test]
    fn debug_never_shows_values() {
        let mut m = BTreeMap::new();
        m.insert("A".to_string(), "topsecretvalue".to_string());
        let shown = format!("{:?}", SecretValues(m));
        assert!(
            shown.contains('A') && !shown.contains("topsecret"),
            "{shown}"
        );
    }
}
