//! The rendered output: every generated file by its path relative to the
//! output directory. Produced by `render` (pure), consumed by `write`
//! (the disk); it lives here so neither stage imports the other.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub text: String,
    /// Holds secret values: written 0600, git-ignored, never diffed.
    pub secret: bool,
}

/// Every rendered file, by path relative to the output directory.
pub type Outputs = BTreeMap<PathBuf, OutputFile>;
