//! `lucid-gen deploy`: copies a phase's files to a remote host over SSH and
//! runs compose there.

use super::{Deployment, DockerError};

pub struct DeployOptions {
    /// `user@host`.
    pub host: String,
    pub phase: Option<String>,
    /// Remote directory the files are copied to.
    pub dir: String,
    pub dry_run: bool,
}

pub fn run(_dep: &Deployment, _opts: &DeployOptions) -> Result<(), DockerError> {
    Err(DockerError::Other("deploy is not implemented yet".into()))
}
