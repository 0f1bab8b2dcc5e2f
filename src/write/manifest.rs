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

/// A line's tag for a file that holds secrets (its contents are never
/// shown), and for one that does not.
const SECRET: &str = "secret ";
const PLAIN: &str = "file ";

/// The manifest's text listing `files` (each path and whether it holds
/// secrets) and itself. Every path line starts with its tag, so no path
/// (one beginning with `#`, say) reads as a comment.
pub fn text<'a>(files: impl Iterator<Item = (&'a Path, bool)>) -> String {
    let mut text = String::from(
        "# Files written by lucid-gen; it deletes those the model stops producing.\n\
         # `secret` marks a file that holds secrets: its contents are never shown.\n",
    );
    for (path, secret) in files {
        text.push_str(if secret { SECRET } else { PLAIN });
        text.push_str(&path.to_string_lossy());
        text.push('\n');
    }
    text.push_str(PLAIN);
    text.push_str(MANIFEST);
    text.push('\n');
    text
}

/// The manifest's text listing `files` and `more`, sorted.
pub fn text_of<'a>(
    files: impl Iterator<Item = (&'a Path, bool)>,
    more: &[(&'a Path, bool)],
) -> String {
    let mut listed: Vec<(&Path, bool)> = files
        .chain(more.iter().copied())
        .filter(|(p, _)| *p != Path::new(MANIFEST))
        .collect();
    listed.sort();
    text(listed.into_iter())
}

/// Adds the manifest itself to `outputs`.
pub fn with_manifest(mut outputs: Outputs) -> Outputs {
    let text = text(outputs.iter().map(|(p, f)| (p.as_path(), f.secret)));
    outputs.insert(PathBuf::from(MANIFEST), output::public(text));
    outputs
}

/// One file an earlier run recorded.
pub struct Listed {
    pub path: PathBuf,
    /// It held secrets (as far as the manifest says).
    pub secret: bool,
}

/// What the previous manifest recorded.
#[derive(Default)]
pub struct Previous {
    pub files: Vec<Listed>,
    /// Every line said whether its file holds secrets (a manifest of an
    /// older lucid-gen lists bare paths).
    pub marks_secrets: bool,
}

/// The files an earlier run recorded in the manifest.
pub fn previous_files(jail: &Jail) -> Result<Previous, WriteError> {
    let path = jail.path(Path::new(MANIFEST));
    let at = |error| WriteError {
        path: path.clone(),
        error,
    };
    let bytes = match jail::read(jail.root(), MANIFEST.as_ref(), MAX_MANIFEST_BYTES).map_err(at)? {
        Existing::Missing => return Ok(Previous::default()),
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
    let mut previous = Previous {
        files: Vec::new(),
        marks_secrets: true,
    };
    for (i, line) in text.lines().enumerate() {
        let (rel, secret) = match (line.strip_prefix(SECRET), line.strip_prefix(PLAIN)) {
            (Some(rel), _) => (rel, true),
            (None, Some(rel)) => (rel, false),
            _ if line.is_empty() || line.starts_with('#') => continue,
            _ => {
                previous.marks_secrets = false;
                (line, false)
            }
        };
        let rel = PathBuf::from(rel);
        if jail::split(&rel).is_err() {
            return Err(at(io::Error::other(format!(
                "line {}: `{}` is not a plain path inside the output directory (absolute, `..` or `.`); \
                 lucid-gen deletes only inside it\n  help: delete that line",
                i + 1,
                line.escape_debug()
            ))));
        }
        previous.files.push(Listed { path: rel, secret });
    }
    Ok(previous)
}
