//! `Dockerfile.dockerignore` beside every rendered Dockerfile: what no
//! image may receive from its build context — `.git`, lucid-gen's secret
//! store, `.env` files and the secret-bearing part of the output
//! (`output.secrets_dir`), wherever the output directory lies in the
//! source tree. BuildKit reads `<Dockerfile>.dockerignore`; `docker::build`
//! applies it to the legacy builder's context (`docker::context`).

use std::path::{Path, PathBuf};

use askama::Template;

use super::{refused, template_error, RenderError};
use crate::escape::{comment, dockerignore_dir_anywhere, Comment, DockerignorePattern};
use crate::system::System;

#[derive(Template)]
#[template(path = "Dockerfile.dockerignore", escape = "none")]
struct DockerignoreTemplate {
    what: Comment,
    secrets: DockerignorePattern,
}

/// The ignore file BuildKit reads for the Dockerfile at `dockerfile`.
pub fn path(dockerfile: &Path) -> PathBuf {
    let mut name = dockerfile.file_name().unwrap_or_default().to_os_string();
    name.push(".dockerignore");
    dockerfile.with_file_name(name)
}

/// The ignore file of the Dockerfile of `what` (a service or base image,
/// for the header).
pub fn render(system: &System, what: &str) -> Result<String, RenderError> {
    let secrets = dockerignore_dir_anywhere(&system.output.secrets_dir).map_err(refused(|| {
        format!("`output.secrets_dir` {}", system.output.secrets_dir)
    }))?;
    DockerignoreTemplate {
        what: comment(what),
        secrets,
    }
    .render()
    // askama drops the template's last line break.
    .map(|text| text + "\n")
    .map_err(template_error("Dockerfile.dockerignore"))
}
