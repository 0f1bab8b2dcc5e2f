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
}

/// Every rendered file, by path relative to the output directory.
pub type Outputs = BTreeMap<PathBuf, OutputFile>;
