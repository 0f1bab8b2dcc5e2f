//! The manifest (`.lucid-gen-manifest` in the output root): the files
//! lucid-gen wrote, so a later run deletes those the model stops
//! producing. Read through the jail; a line that leaves the output
//! directory (absolute, `..`, `.`) is refused, never followed.

use std::io;
use std::path::{Path, PathBuf};

use super::jail::{self, Existing, Jail};
use super::{Outputs, WriteError};

use crate::output;
pub use crate::output::MANIFEST;

/// A manifest larger than this is refused unread.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// The manifest's text listing `paths` (and itself).
pub fn text<'a>(paths: impl Iterator<Item = &'a Path>) -> String {
    let mut text =
        String::from("# Files written by lucid-gen; it deletes those the model stops producing.\n");
    for path in paths {
        text.push_str(&path.to_string_lossy());
        text.push('\n');
    }
    text.push_str(MANIFEST);
    text.push('\n');
    text
}

/// Adds the manifest itself to `outputs`.
pub fn with_manifest(mut outputs: Outputs) -> Outputs {
    let text = text(outputs.keys().map(PathBuf::as_path));
    outputs.insert(PathBuf::from(MANIFEST), output::public(text));
    outputs
}

/// The files an earlier run recorded in the manifest.
pub fn previous_files(jail: &Jail) -> Result<Vec<PathBuf>, WriteError> {
    let path = jail.path(Path::new(MANIFEST));
    let at = |error| WriteError {
        path: path.clone(),
        error,
    };
    let bytes = match jail::read(jail.root(), MANIFEST.as_ref(), MAX_MANIFEST_BYTES).map_err(at)? {
        Existing::Missing => return Ok(Vec::new()),
        Existing::File {
            bytes: Some(bytes), ..
        } => bytes,
        Existing::File { bytes: None, size } => {
            return Err(at(io::Error::other(format!(
                "is {size} bytes, more than a manifest can be; delete it (files it listed are then no longer cleaned up)"
            ))))
        }
        Existing::Other(kind) => {
            return Err(at(io::Error::other(format!(
                "is {kind}, not a regular file; lucid-gen never follows it\n  help: delete it and run again"
            ))))
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rel = PathBuf::from(line);
        if jail::split(&rel).is_err() {
            return Err(at(io::Error::other(format!(
                "line {}: `{}` is not a plain path inside the output directory (absolute, `..` or `.`); \
                 lucid-gen deletes only inside it\n  help: delete that line",
                i + 1,
                line.escape_debug()
            ))));
        }
        files.push(rel);
    }
    Ok(files)
}
