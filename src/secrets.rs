//! Secret values: generated from the OS random generator, kept in a store
//! file so that re-running changes no byte, replaced one at a time by
//! `secrets rotate`; or supplied by the operator (`from_env`, `from_file`),
//! read on every run, refused when missing, never generated, never stored;
//! or composed from other secrets (`template`), derived from their values
//! on every run, so it changes whenever one of them does, never stored.
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

use crate::system::{Encoding, SecretSpec, Supplied, System};

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
    #[error("secret `{name}` is supplied by the operator, but {what}; {fix}")]
    Missing {
        name: String,
        what: String,
        fix: String,
    },
    #[error("secret `{0}` is supplied by the operator, so lucid-gen cannot rotate it: change it where it comes from (its variable or file), then run `lucid-gen all`")]
    NotRotatable(String),
    #[error("secret `{0}` is composed from other secrets (`template`), so it is not rotated itself: rotate the secrets its template names, and it follows")]
    Composed(String),
}

/// What to do when an operator-supplied secret has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenMissing {
    /// Refuse: `all`, `up` and every command that writes or runs.
    Refuse,
    /// Fill a placeholder: only for `all --check` without a store, which
    /// leaves every secret-bearing file it would create unchecked.
    Placeholder,
}

/// The largest operator-supplied secret file read.
const MAX_SUPPLIED_BYTES: u64 = 64 * 1024;

/// Reads an operator-supplied value: the variable or the file, one
/// trailing line break dropped. Never puts the value in an error.
fn read_supplied(name: &str, supplied: &Supplied) -> Result<String, SecretError> {
    let missing = |what: String, fix: String| SecretError::Missing {
        name: name.to_string(),
        what,
        fix,
    };
    let value = match supplied {
        Supplied::Env(var) => match std::env::var(var) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => {
                return Err(missing(
                    format!("environment variable `{var}` is not set"),
                    format!("set it (`export {var}=...`) where lucid-gen runs"),
                ))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(missing(
                    format!("environment variable `{var}` is not UTF-8"),
                    "give it a UTF-8 value".into(),
                ))
            }
        },
        Supplied::File(path) => read_supplied_file(path).map_err(|e| {
            let path = crate::escape::escape_control(path);
            missing(
                format!("its file `{path}` cannot be read: {e}"),
                "create it (mode 0600), or correct `from_file`".into(),
            )
        })?,
    };
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value);
    let source = match supplied {
        Supplied::Env(var) => format!("variable `{var}`"),
        Supplied::File(path) => format!("file `{}`", crate::escape::escape_control(path)),
    };
    if value.is_empty() {
        return Err(missing(
            format!("its {source} is empty"),
            "give it the value".into(),
        ));
    }
    if let Err(crate::escape::Unrepresentable(why)) = crate::escape::env_file_value(value) {
        return Err(missing(
            format!("the value in its {source} cannot be passed on: {why}"),
            "supply a value without that character".into(),
        ));
    }
    Ok(value.to_string())
}

/// A regular file (links followed: operators keep keys behind them), at
/// most [`MAX_SUPPLIED_BYTES`], UTF-8; a FIFO or device is refused unread.
fn read_supplied_file(path: &str) -> Result<String, crate::regular_file::ReadError> {
    use crate::regular_file::{read_text, Follow};
    read_text(Path::new(path), Follow::Links, MAX_SUPPLIED_BYTES)
}

/// The value of a supplied secret, or a placeholder when allowed.
fn supplied_value(
    spec: &SecretSpec,
    supplied: &Supplied,
    when_missing: WhenMissing,
) -> Result<String, SecretError> {
    match read_supplied(&spec.name, supplied) {
        Err(SecretError::Missing { .. }) if when_missing == WhenMissing::Placeholder => {
            Ok(format!("<{} is supplied by the operator>", spec.name))
        }
        other => other,
    }
}

/// The values for every secret the model declares, and whether the store
/// must be saved (because a value was generated or replaced).
pub struct Resolved {
    pub values: SecretValues,
    pub changed: Vec<String>,
    /// A stored value was dropped (its secret is now operator-supplied).
    dropped: bool,
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
/// secrets to replace even when the store has a good value. An
/// operator-supplied secret is read from its variable or file (refused
/// when missing); only a `Seeded` run derives one, for tests.
pub fn resolve(
    system: &System,
    source: &SecretSource,
    rotate: &[String],
) -> Result<Resolved, SecretError> {
    resolve_with(system, source, rotate, WhenMissing::Refuse)
}

/// [`resolve`], choosing what a missing operator-supplied value does.
pub fn resolve_with(
    system: &System,
    source: &SecretSource,
    rotate: &[String],
    when_missing: WhenMissing,
) -> Result<Resolved, SecretError> {
    for name in rotate {
        match system.secrets.iter().find(|s| &s.name == name) {
            None => return Err(SecretError::Unknown(name.clone())),
            Some(s) if s.supplied.is_some() => return Err(SecretError::NotRotatable(name.clone())),
            Some(s) if s.template.is_some() => return Err(SecretError::Composed(name.clone())),
            Some(_) => {}
        }
    }
    match source {
        SecretSource::Seeded(seed) => {
            let mut values = BTreeMap::new();
            for spec in system.secrets.iter().filter(|s| s.template.is_none()) {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ name_hash(&spec.name));
                let mut fill = |buf: &mut [u8]| {
                    rng.fill_bytes(buf);
                    Ok(())
                };
                values.insert(spec.name.clone(), generate(spec, &mut fill)?);
            }
            compose_all(system, &mut values);
            Ok(Resolved {
                values: SecretValues(values.clone()),
                changed: Vec::new(),
                dropped: false,
                store: values,
            })
        }
        SecretSource::Store(path) => {
            let mut store = read_store(path)?;
            let mut values = BTreeMap::new();
            let mut changed = Vec::new();
            let mut dropped = false;
            for spec in &system.secrets {
                if spec.template.is_some() {
                    // Derived below, never stored: a value kept from
                    // before the model composed it is dropped.
                    dropped |= store.remove(&spec.name).is_some();
                    continue;
                }
                if let Some(supplied) = &spec.supplied {
                    // Never stored: a value generated before the model
                    // named its source is dropped from the store.
                    dropped |= store.remove(&spec.name).is_some();
                    let value = supplied_value(spec, supplied, when_missing)?;
                    values.insert(spec.name.clone(), value);
                    continue;
                }
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
            compose_all(system, &mut values);
            Ok(Resolved {
                values: SecretValues(values),
                changed,
                dropped,
                store,
            })
        }
    }
}

/// Adds the value of every composed secret, from the values of the
/// secrets its template names (validation made each a declared secret
/// that is no template, so all of them are in `values` already).
fn compose_all(system: &System, values: &mut BTreeMap<String, String>) {
    for spec in &system.secrets {
        let Some(parts) = &spec.template else {
            continue;
        };
        let composed =
            crate::secret_template::compose(parts, |n| values.get(n).map(String::as_str));
        if let Some(value) = composed {
            values.insert(spec.name.clone(), value);
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

/// What lucid-gen writes as `.gitignore` in a store directory it creates:
/// every file in it (the store, its lock) stays out of git, as cargo keeps
/// `target/` out.
pub const STORE_GITIGNORE: &str =
    "# Created by lucid-gen: the secret store and its lock never go into git.\n*\n";

/// Creates the secret store's directory when missing, with a `.gitignore`
/// of `*` in it, so `git add -A` in a fresh repository never stages the
/// store. A directory that exists is left as it is (it may be the user's
/// own, the repository root even).
///
/// The directory is made whole under a name of its own beside it and then
/// renamed into place: a run that already holds the lock inside it removes
/// leftover temporary files there, and must never catch this run's
/// `.gitignore` half-written (two runs started at once).
pub fn create_store_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let new = parent.join(format!(
        ".{}.new-{}-{unique}",
        name.unwrap_or_default(),
        std::process::id()
    ));
    std::fs::create_dir(&new)?;
    let made =
        crate::write::atomic_write(&new.join(".gitignore"), STORE_GITIGNORE.as_bytes(), false)
            .and_then(|()| std::fs::rename(&new, dir));
    match made {
        Ok(()) => crate::write::sync_dir(parent),
        // Another run put its own in place first: that one stands.
        Err(_) if dir.join(".gitignore").is_file() => std::fs::remove_dir_all(&new),
        Err(error) => {
            let _ = std::fs::remove_dir_all(&new);
            Err(error)
        }
    }
}

/// A new store written beside the old one, not yet in place: dropped, it
/// is removed and the store stays as it was.
pub struct StagedStore {
    path: PathBuf,
    staged: crate::write::Staged,
    /// The new store's digest, as `write::stamp::store` gives it.
    digest: String,
}

impl StagedStore {
    /// The new store's digest (for the up-to-date stamp).
    pub fn digest(&self) -> &str {
        &self.digest
    }

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
        if self.changed.is_empty() && !self.dropped && path.exists() {
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
            create_store_dir(dir).map_err(write_err)?;
            crate::write::remove_leftovers(dir);
        }
        let staged = crate::write::stage_beside(path, text.as_bytes(), true).map_err(write_err)?;
        Ok(Some(StagedStore {
            path: path.to_path_buf(),
            staged,
            digest: crate::write::stamp::store_holding(text.as_bytes()),
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
    fn a_supplied_file_loses_one_line_break_and_bad_values_are_refused_unshown() {
        let dir = tempfile::tempdir().unwrap();
        let file = |text: &[u8]| {
            let path = dir.path().join("value");
            std::fs::write(&path, text).unwrap();
            Supplied::File(path.to_str().unwrap().to_string())
        };
        assert_eq!(read_supplied("K", &file(b"abc\r\n")).unwrap(), "abc");
        assert_eq!(read_supplied("K", &file(b"abc\n\n")).unwrap(), "abc\n");
        assert_eq!(read_supplied("K", &file(b"a b")).unwrap(), "a b");
        for (bad, why) in [
            (&b"\n"[..], "is empty"),
            (&b"zq9\0zq9"[..], "cannot be passed on"),
            (&b"\xffzq9"[..], "not UTF-8"),
        ] {
            let e = read_supplied("K", &file(bad)).unwrap_err().to_string();
            assert!(e.contains(why) && !e.contains("zq9"), "{e}");
        }
        let big = vec![b'x'; MAX_SUPPLIED_BYTES as usize + 1];
        let e = read_supplied("K", &file(&big)).unwrap_err().to_string();
        assert!(e.contains("more than the 65536 bytes allowed"), "{e}");
        let gone = Supplied::File(dir.path().join("missing").to_str().unwrap().into());
        let e = read_supplied("K", &gone).unwrap_err().to_string();
        assert!(e.contains("secret `K` is supplied by the operator") && e.contains("missing"));
        let e = read_supplied("K", &Supplied::File(dir.path().to_str().unwrap().into()));
        assert!(e.unwrap_err().to_string().contains("not a regular file"));
        // A FIFO (no writer: opening it to read would block) and an endless
        // device: refused unread, at once.
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        for (path, kind) in [
            (fifo.as_path(), "a FIFO"),
            (Path::new("/dev/zero"), "a character device"),
        ] {
            let e = read_supplied("K", &Supplied::File(path.to_str().unwrap().into()));
            let e = e.unwrap_err().to_string();
            assert!(e.contains(kind) && e.contains("not a regular file"), "{e}");
        }
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
