//! `lucid-gen test`: the reachability matrix, environment and secret checks
//! against the running containers.

use super::{Deployment, DockerError};

pub struct TestOptions {
    pub project: Option<String>,
}

pub fn run(_dep: &Deployment, _opts: &TestOptions) -> Result<bool, DockerError> {
    Err(DockerError::Other("test is not implemented yet".into()))
}
