//! Writing the imported model: every file into a fresh private directory
//! beside the target, loaded and validated there, then renamed into place
//! in one step — `RENAME_NOREPLACE` for a new model (so one that appeared
//! meanwhile is never overwritten), `RENAME_EXCHANGE` with `--force` (the
//! old model is removed only after the new one is in place). A failure at
//! any point leaves nothing behind: the staged directory is removed.

use std::fs;
use std::path::{Path, PathBuf};

use rustix::fs::{renameat_with, RenameFlags, CWD};

use super::report::Finding;
use super::{ImportError, ImportErrorKind};
use crate::diagnostic::Diagnostic;
use crate::model::{self, LoadError};

/// Refuses a target that would be overwritten without `--force`, or that
/// is not a directory lucid-gen may replace.
pub fn check_target(model: &Path, force: bool) -> Result<(), ImportError> {
    let shown = model.display().to_string();
    let Ok(meta) = fs::symlink_metadata(model) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err(ImportError::new(ImportErrorKind::ModelIsLink {
            dir: shown,
        }));
    }
    if !meta.is_dir() {
        return Err(ImportError::new(ImportErrorKind::ModelNotADir {
            dir: shown,
        }));
    }
    let empty = fs::read_dir(model)
        .map_err(|e| ImportError::io(model, e))?
        .next()
        .is_none();
    if !empty && !force {
        return Err(ImportError::new(ImportErrorKind::ModelExists {
            dir: shown,
        }));
    }
    Ok(())
}

/// Writes `files` as the model at `model` and returns what `check` says
/// about it (warnings, and errors when import could not avoid them).
pub fn write(
    model: &Path,
    files: &[(String, String)],
    force: bool,
) -> Result<Vec<Finding>, ImportError> {
    check_target(model, force)?;
    let parent = match model.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| ImportError::io(&parent, e))?;
    let staged = tempfile::Builder::new()
        .prefix(".lucid-gen-import.")
        .tempdir_in(&parent)
        .map_err(|e| ImportError::io(&parent, e))?;
    for (rel, text) in files {
        let path = staged.path().join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
        }
        fs::write(&path, text).map_err(|e| ImportError::io(&path, e))?;
    }
    let findings = check(staged.path(), model)?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(staged.path(), fs::Permissions::from_mode(0o755))
        .map_err(|e| ImportError::io(staged.path(), e))?;
    let flags = match fs::symlink_metadata(model).is_ok() {
        true => RenameFlags::EXCHANGE,
        false => RenameFlags::NOREPLACE,
    };
    renameat_with(CWD, staged.path(), CWD, model, flags).map_err(|e| {
        let error = std::io::Error::from(e);
        match error.kind() {
            std::io::ErrorKind::AlreadyExists => ImportError::new(ImportErrorKind::ModelExists {
                dir: model.display().to_string(),
            }),
            _ => ImportError::io(model, error),
        }
    })?;
    if flags == RenameFlags::NOREPLACE {
        // Nothing is left at the staged path to remove.
        let _ = staged.keep();
    }
    // With EXCHANGE the staged path now holds the old model, removed here.
    Ok(findings)
}

/// Loads and validates the staged model; diagnostics become findings
/// located in the model's final place.
fn check(staged: &Path, model: &Path) -> Result<Vec<Finding>, ImportError> {
    let loaded = match model::load_dir(staged) {
        Ok(loaded) => loaded,
        Err(LoadError::Io { path, error }) => return Err(ImportError::io(&path, error)),
        Err(LoadError::Invalid(diagnostics)) => {
            let first = diagnostics
                .first()
                .map(|d| d.to_string())
                .unwrap_or_default();
            return Err(ImportError::new(ImportErrorKind::Unloadable(first)));
        }
    };
    let diagnostics = match crate::validate::validate(loaded) {
        Ok(valid) => valid.warnings,
        Err(all) => all,
    };
    Ok(diagnostics
        .iter()
        .map(|d| finding(d, staged, model))
        .collect())
}

fn finding(d: &Diagnostic, staged: &Path, model: &Path) -> Finding {
    let at = d.location.as_ref().map(|l| {
        let file = match l.file.strip_prefix(staged) {
            Ok(rel) => model.join(rel),
            Err(_) => l.file.clone(),
        };
        format!("{}:{}:{}", file.display(), l.line, l.col)
    });
    // Messages name other places too (the other side of a clash).
    let (from, to) = (staged.display().to_string(), model.display().to_string());
    Finding {
        severity: d.severity().name().to_string(),
        rule: d.rule().name().to_string(),
        at,
        message: d.message().replace(&from, &to),
        fix: d.help().replace(&from, &to),
    }
}
