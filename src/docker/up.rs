//! `lucid-gen up`: phase by phase, health-gated.

use super::{Deployment, DockerError};

pub struct UpOptions {
    pub phase: Option<String>,
    pub stand_ins: bool,
    /// Compose project prefix; default: the names in the compose files.
    pub project: Option<String>,
}

pub fn run(_dep: &Deployment, _opts: &UpOptions) -> Result<(), DockerError> {
    Err(DockerError::Other("up is not implemented yet".into()))
}
