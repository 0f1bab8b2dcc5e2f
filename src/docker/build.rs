//! `lucid-gen build`: images in dependency order with Docker's builder.

use std::path::PathBuf;

use super::{Deployment, DockerError};

pub struct BuildOptions {
    /// Only this phase's images (base images are always built first).
    pub phase: Option<String>,
    /// Overrides the model's platform.
    pub platform: Option<String>,
    /// Root of the source tree the build contexts are relative to.
    pub source: PathBuf,
    /// Print the commands instead of running them.
    pub dry_run: bool,
    /// Builds run at once within a phase.
    pub jobs: usize,
}

pub fn run(_dep: &Deployment, _opts: &BuildOptions) -> Result<(), DockerError> {
    Err(DockerError::Other("build is not implemented yet".into()))
}
