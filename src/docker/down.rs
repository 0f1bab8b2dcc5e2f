//! `lucid-gen down`: removes what `up` created.

use super::{Deployment, DockerError};

pub struct DownOptions {
    pub phase: Option<String>,
    pub volumes: bool,
    pub project: Option<String>,
}

pub fn run(_dep: &Deployment, _opts: &DownOptions) -> Result<(), DockerError> {
    Err(DockerError::Other("down is not implemented yet".into()))
}
