//! Hands the generated files to Docker's own tooling: `docker compose
//! config`, hadolint, `docker build` / `buildx bake`, `docker compose up
//! --wait`, probes inside the running containers, `down`, deployment
//! over SSH, and `save`/`load` of images as checksummed tarballs.
//!
//! This is the only module that runs processes (`git` included: see
//! [`git_tracks`]). Every process goes through [`Cmd`], which can print itself as a shell line (for
//! `--dry-run` and for error messages) and never echoes secret values:
//! secrets reach containers through the generated env files only.

mod after_up;
mod archive;
pub mod build;
pub mod changes;
pub mod checks;
mod cmd;
pub mod compose_config;
pub mod context;
pub mod dclint;
pub mod deploy;
pub mod down;
mod error;
mod image_archive;
pub mod inventory;
pub mod layers;
pub mod progress;
mod remote;
mod routes;
pub mod save;
pub mod ssh;
mod stale_mounts;
pub mod standin;
pub mod steps;
pub mod swarm;
pub mod target;
pub(crate) mod time;
pub mod up;
mod user;
pub mod verify;

use std::path::Path;

pub use crate::escape::shell_quote;
pub use crate::workspace::Workspace;
pub use cmd::Cmd;
pub use error::{io_error, DockerError, ErrorKind, MissingTool};

/// Whether git tracks `file` (`git ls-files --error-unmatch`, run in the
/// file's directory, so the repository asked is the one holding the file,
/// wherever lucid-gen runs). `false` when git is missing or the file is in
/// no repository.
pub fn git_tracks(file: &Path) -> bool {
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return false;
    };
    let dir = Some(dir).filter(|d| !d.as_os_str().is_empty());
    Cmd::new("git")
        .args(["--literal-pathspecs", "ls-files", "--error-unmatch", "--"])
        .arg(name)
        .cwd(dir.unwrap_or(Path::new(".")))
        .output()
        .is_ok_and(|o| o.status.success())
}
