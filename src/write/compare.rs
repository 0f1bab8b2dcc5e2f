//! `compare`: what differs between the rendered outputs and the files in
//! the output directory, read through the jail (never a link, only a
//! regular file, a bounded number of bytes). A stale file is
//! secret-bearing when the new output says so, when the previous manifest
//! listed it as secret-bearing, or — with a manifest too old to say — when
//! the file on disk has a secret file's mode: its old contents, which may
//! be a secret, are then never shown.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::jail::{self, DirFd, Dirs, Existing, Jail};
use super::{at, manifest, Change, OutputFile, Outputs, Stale, WriteError};
use crate::parallel;

/// An existing file larger than this (and than the new contents) is not
/// read: it differs, and its contents are not shown.
const MAX_SHOWN_BYTES: u64 = 1024 * 1024;

/// What one output's path holds, against its new bytes.
pub(super) enum Found {
    Same,
    Missing,
    Differs {
        old: Option<Vec<u8>>,
        note: Option<String>,
        /// The file on disk has the mode of a secret-bearing file.
        private_mode: bool,
    },
}

/// The modes lucid-gen gives secret-bearing files (0600; 0444 for mounted
/// ones), which no plain file it writes or git checks out has.
fn is_private_mode(mode: u32) -> bool {
    mode == 0o600 || mode == 0o444
}

/// Compares one output with what is at its path (never following a link,
/// reading only a regular file, and a bounded number of bytes).
pub(super) fn look(
    jail: &Jail,
    rel: &Path,
    file: &OutputFile,
    dir: Option<&DirFd>,
) -> Result<Found, WriteError> {
    let Some(dir) = dir else {
        return Ok(Found::Missing);
    };
    let name = rel.file_name().unwrap_or_default();
    let new = file.text.as_bytes();
    let limit = MAX_SHOWN_BYTES.max(new.len() as u64);
    let differs = |old, note| Found::Differs {
        old,
        note,
        private_mode: jail::mode(dir, name).is_some_and(is_private_mode),
    };
    Ok(match jail::read(dir, name, limit).map_err(at(&jail.path(rel)))? {
        Existing::Missing => Found::Missing,
        Existing::File { bytes: Some(old), .. } if old == new => Found::Same,
        Existing::File { bytes: Some(old), .. } => differs(Some(old), None),
        Existing::File { bytes: None, size } => differs(
            None,
            Some(format!(
                "{size} bytes on disk, not read, contents not shown; `lucid-gen all` replaces it"
            )),
        ),
        Existing::Other(kind) => differs(
            None,
            Some(format!(
                "{kind}, not a regular file: never followed or read; `lucid-gen all` replaces it with a regular file"
            )),
        ),
    })
}

fn stale(
    rel: &Path,
    file: Option<&OutputFile>,
    change: Change,
    (old, note): (Option<Vec<u8>>, Option<String>),
    was_secret: bool,
) -> Stale {
    Stale {
        path: rel.to_path_buf(),
        change,
        secret: was_secret || file.is_some_and(|f| f.secret),
        old: old.map(|o| String::from_utf8_lossy(&o).into_owned()),
        new: file.map(|f| f.text.clone()),
        note,
    }
}

/// Lists what differs between `outputs` and the files under `out_dir`.
pub fn compare(out_dir: &Path, outputs: &Outputs) -> Result<Vec<Stale>, WriteError> {
    let jail = Jail::open(out_dir, false)?;
    compare_in(jail.as_ref(), &mut Dirs::default(), outputs)
}

fn compare_in(
    jail: Option<&Jail>,
    dirs: &mut Dirs,
    outputs: &Outputs,
) -> Result<Vec<Stale>, WriteError> {
    let Some(jail) = jail else {
        let create = |(rel, f): (&PathBuf, &OutputFile)| {
            stale(rel, Some(f), Change::Create, (None, None), false)
        };
        return Ok(outputs.iter().map(create).collect());
    };
    let previous = manifest::previous_files(jail)?;
    let was_secret: HashSet<&Path> = (previous.files.iter())
        .filter(|l| l.secret)
        .map(|l| l.path.as_path())
        .collect();
    // Directories first (their last components on every core at once),
    // then the files on every core at once. Taken in order, so the list
    // and the first error are those of a sequential loop.
    let mut parents = Vec::with_capacity(outputs.len());
    for rel in outputs.keys() {
        parents.push(jail::split(rel).map_err(at(&jail.path(rel)))?.0);
    }
    dirs.open_existing(jail, &parents)?;
    let mut entries = Vec::with_capacity(outputs.len());
    for (rel, file) in outputs {
        let (dir, _) = jail::split(rel).map_err(at(&jail.path(rel)))?;
        entries.push((rel, file, dirs.get(jail, dir, false)?));
    }
    let found = parallel::map(&entries, |(rel, file, dir)| {
        look(jail, rel, file, dir.as_ref())
    });
    let mut compared = Vec::new();
    for ((rel, file, _), found) in entries.iter().zip(found) {
        let listed_secret = was_secret.contains(rel.as_path());
        let (change, old, note, secret) = match found? {
            Found::Same => continue,
            Found::Missing => (Change::Create, None, None, listed_secret),
            Found::Differs {
                old,
                note,
                private_mode,
            } => {
                // Only a manifest too old to mark secrets leaves the mode
                // to decide.
                let by_mode = private_mode && !previous.marks_secrets;
                (Change::Update, old, note, listed_secret || by_mode)
            }
        };
        compared.push(stale(rel, Some(file), change, (old, note), secret));
    }
    let produced = |p: &Path| outputs.contains_key(p);
    compared.extend(gone(jail, dirs, &produced, &previous.files)?);
    Ok(compared)
}

/// Files an earlier run listed that the model no longer produces and that
/// are still there: to delete.
pub(super) fn gone(
    jail: &Jail,
    dirs: &mut Dirs,
    produced: &dyn Fn(&Path) -> bool,
    listed: &[manifest::Listed],
) -> Result<Vec<Stale>, WriteError> {
    let mut out = Vec::new();
    for listed in listed.iter().filter(|l| !produced(&l.path)) {
        let rel = &listed.path;
        let (dir, name) = jail::split(rel).map_err(at(&jail.path(rel)))?;
        if let Some(dir) = dirs.get(jail, dir, false)? {
            if jail::exists(&dir, name).map_err(at(&jail.path(rel)))? {
                let secret = listed.secret;
                out.push(stale(rel, None, Change::Delete, (None, None), secret));
            }
        }
    }
    Ok(out)
}
