//! Where secrets are kept: warnings (`secret-exposure`) about a secret store
//! or secret-bearing output that others can read, or that git tracks. They
//! look at the disk, not the model, so they run after validation, on what a
//! previous `all` wrote.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Kind};
use crate::render::{self, OutputOrigin};
use crate::system::System;
use crate::{docker, write};

/// Warnings about the secret store `store` and the secret-bearing files of
/// `system` under `out_dir`: readable by others than their owner (for a
/// mounted secret file, its directory, which must keep others out because
/// the file itself is 0444), or tracked by git. Files that do not exist are
/// skipped.
pub fn secret_hygiene(store: &Path, out_dir: &Path, system: &System) -> Vec<Diagnostic> {
    // (file, the path whose mode must keep others out)
    let mut files = vec![(store.to_path_buf(), store.to_path_buf())];
    for out in render::output_paths(system) {
        if out.origin.secret_bearing(system) {
            let file = out_dir.join(&out.path);
            let guard = match matches!(out.origin, OutputOrigin::ServiceSecrets(_)) {
                true => file.clone(),
                false => file
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| file.clone()),
            };
            files.push((file, guard));
        }
    }
    let mut warnings = Vec::new();
    for (file, guard) in files.iter().filter(|(f, _)| f.is_file()) {
        if let Some(mode) = write::mode_of(guard).filter(|m| m & 0o077 != 0) {
            let shown = guard.display().to_string();
            let mode = format!("{mode:03o}");
            warnings.push(Diagnostic::new(match guard == file {
                true => Kind::SecretFileMode { file: shown, mode },
                false => Kind::SecretDirMode { dir: shown, mode },
            }));
        }
        if docker::git_tracks(file) {
            warnings.push(Diagnostic::new(Kind::SecretFileTracked {
                file: file.display().to_string(),
            }));
        }
    }
    warnings
}
