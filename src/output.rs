//! The rendered output: every generated file by its path relative to the
//! output directory. Produced by `render` (pure), consumed by `write`
//! (the disk); it lives here so neither stage imports the other.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The name of the list of files lucid-gen wrote, kept in the output root.
pub const MANIFEST: &str = ".lucid-gen-manifest";

/// Prefix of the temporary files lucid-gen writes before renaming them into
/// place; a killed run may leave some, and the next run removes them.
pub const TMP_PREFIX: &str = ".lucid-gen-tmp-";

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub text: String,
    /// Holds secret values: written 0600, git-ignored, never diffed.
    pub secret: bool,
    /// A secret-bearing file a container bind-mounts, so its user must be
    /// able to read it: written 0444 in a directory of mode 0700, which
    /// keeps everyone but the owner out on the host. (Compose ignores a
    /// secret's `uid`, `gid` and `mode` outside Swarm, docker/compose#9648,
    /// and copies secrets in only for containers with a writable root.)
    pub mounted: bool,
}

/// A file without secrets (0644).
pub fn public(text: String) -> OutputFile {
    OutputFile {
        text,
        secret: false,
        mounted: false,
    }
}

/// A secret-bearing file read by Compose (0600).
pub fn private(text: String) -> OutputFile {
    OutputFile {
        text,
        secret: true,
        mounted: false,
    }
}

/// A secret-bearing file bind-mounted into containers (0444 in a 0700
/// directory).
pub fn mounted(text: String) -> OutputFile {
    OutputFile {
        text,
        secret: true,
        mounted: true,
    }
}

/// The mode of a public file on disk (no secret in it): the streamed
/// files, the manifest, every [`public`] file.
pub const PUBLIC_MODE: u32 = 0o644;

impl OutputFile {
    /// The file's mode on disk.
    pub fn mode(&self) -> u32 {
        match (self.secret, self.mounted) {
            (true, true) => 0o444,
            (true, false) => 0o600,
            _ => PUBLIC_MODE,
        }
    }
}

/// Every rendered file, by path relative to the output directory.
pub type Outputs = BTreeMap<PathBuf, OutputFile>;
