//! Hands the generated files to Docker's own tooling: `docker compose
//! config`, hadolint, `docker build` / `buildx bake`, `docker compose up
//! --wait`, probes inside the running containers, `down`, deployment
//! over SSH, and `save`/`load` of images as checksummed tarballs.
//!
//! This is the only module that runs processes (`git` included: see
//! [`git_tracks`]). Every process goes through [`Cmd`], which can print itself as a shell line (for
//! `--dry-run` and for error messages) and never echoes secret values:
//! secrets reach containers through the generated env files only.

mod archive;
pub mod build;
pub mod changes;
pub mod checks;
mod cmd;
pub mod dclint;
pub mod deploy;
pub mod down;
mod error;
pub mod inventory;
pub mod progress;
pub mod save;
mod stale_mounts;
pub mod standin;
pub mod steps;
pub mod target;
mod time;
pub mod up;
mod user;
pub mod verify;

use std::path::Path;

pub use crate::escape::shell_quote;
pub use crate::workspace::Workspace;
pub use cmd::Cmd;
pub use error::{io_error, DockerError, ErrorKind};

/// Whether git tracks `file` (`git ls-files --error-unmatch`, run where
/// lucid-gen runs). `false` when git is missing or this is no repository.
pub fn git_tracks(file: &Path) -> bool {
    Cmd::new("git")
        .args(["ls-files", "--error-unmatch"])
        .arg(file)
        .output()
        .is_ok_and(|o| o.status.success())
}
