//! `lucid-gen verify`: Docker's own checks on the files as they are on disk.

use super::{Deployment, DockerError};

/// Runs every check, prints a per-file report, and returns whether all
/// passed.
pub fn run(_dep: &Deployment) -> Result<bool, DockerError> {
    Err(DockerError::Other("verify is not implemented yet".into()))
}
