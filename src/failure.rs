//! [`Failure`]: why a command failed, one kind per cause, one `Display`
//! arm per kind. [`Failure::exit_code`] is the one place a failure becomes
//! an exit code (0 fine; 1 an invalid model, stale output, a failed check
//! or Docker step; 2 usage and I/O errors); `main` is the one place its
//! message is printed, after `error: `.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;
use crate::docker::DockerError;
use crate::secrets::SecretError;

/// How a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The model has errors; `main` prints them before the message.
    #[error("the model has {} error(s); nothing was written", errors(diagnostics))]
    InvalidModel { diagnostics: Vec<Diagnostic> },
    /// The model directory (or a file in it) cannot be read.
    #[error("cannot read model at {}: {error}{}", path.display(), if *is_root { "\n  help: pass the model directory with --model DIR" } else { "" })]
    ModelUnreadable {
        path: PathBuf,
        error: std::io::Error,
        is_root: bool,
    },
    /// `--out` and `--model` overlap.
    #[error("{problem}; the two must not overlap\n  help: write the output beside the model, e.g. --model model --out generated")]
    OutputOverlapsModel { problem: String },
    /// Another run holds the lock.
    #[error("another lucid-gen is running here (it holds a lock on {}); wait for it to finish", path.display())]
    Locked { path: PathBuf },
    /// The lock cannot be taken at all.
    #[error("cannot take lock {}: {error}", path.display())]
    Lock {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A Docker-facing command found the store without values the model
    /// declares.
    #[error("secret(s) {} have no value in {} yet; run `lucid-gen all` first", names.join(", "), store.display())]
    SecretsNotGenerated { names: Vec<String>, store: PathBuf },
    /// A Docker-facing command found the output directory stale (the stale
    /// files are listed first).
    #[error("{} is not what the model produces; run `lucid-gen all` first", out.display())]
    StaleOutput { out: PathBuf, files: Vec<PathBuf> },
    /// `all --check` found stale files (its diff was printed).
    #[error("{stale} of {total} files in {} are stale; run `lucid-gen all` to rewrite them", out.display())]
    Stale {
        out: PathBuf,
        stale: usize,
        total: usize,
    },
    /// A check (`test`, `verify`, `plan`) reported failures; its report
    /// says which.
    #[error("")]
    ChecksFailed,
    /// `--variant` names no variant.
    #[error("unknown variant `{name}`; the model's variants are: {}", known.join(", "))]
    UnknownVariant { name: String, known: Vec<String> },
    /// `--variant` on a model without variants.
    #[error("--variant {name}: the model declares no variants")]
    NoVariants { name: String },
    /// `secrets rotate` with `--insecure-secret-seed`.
    #[error("rotate works on the secret store; drop --insecure-secret-seed")]
    RotateSeeded,
    /// A path cannot be made absolute.
    #[error("cannot resolve {}: {error}", path.display())]
    Resolve {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Rendering failed on a value validation should have refused.
    #[error("internal error: {0}")]
    Render(#[from] crate::render::RenderError),
    /// Reading the output directory failed.
    #[error("cannot read {0}")]
    ReadOutput(String),
    /// Writing the output directory failed (what was and was not replaced
    /// is in the message).
    #[error("{0}")]
    Write(String),
    /// The new secret store cannot be staged beside the old one.
    #[error("{0}")]
    StageStore(String),
    /// The output was written but the new store cannot be put in place.
    #[error("{error}\n  help: {} was written with new secret values the store lacks; fix the path and run again", out.display())]
    CommitStore { error: SecretError, out: PathBuf },
    /// GITHUB_STEP_SUMMARY cannot be appended to.
    #[error("cannot write the job summary: {0}")]
    JobSummary(std::io::Error),
    /// Writing to stdout failed.
    #[error("{0}")]
    Stdout(#[from] std::io::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Docker(#[from] DockerError),
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

impl Failure {
    /// 1 for a model, output or check that is wrong; 2 for usage and I/O
    /// errors, as the README's exit-code table says.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::InvalidModel { .. }
            | Failure::StaleOutput { .. }
            | Failure::Stale { .. }
            | Failure::ChecksFailed => 1,
            Failure::ModelUnreadable { .. }
            | Failure::OutputOverlapsModel { .. }
            | Failure::Locked { .. }
            | Failure::Lock { .. }
            | Failure::SecretsNotGenerated { .. }
            | Failure::UnknownVariant { .. }
            | Failure::NoVariants { .. }
            | Failure::RotateSeeded
            | Failure::Resolve { .. }
            | Failure::Render(_)
            | Failure::ReadOutput(_)
            | Failure::Write(_)
            | Failure::StageStore(_)
            | Failure::CommitStore { .. }
            | Failure::JobSummary(_)
            | Failure::Stdout(_) => 2,
            // An unknown, missing or unrotatable secret is a usage error,
            // the store an I/O one: both exit 2.
            Failure::Secret(_) => 2,
            Failure::Docker(e) => e.exit_code(),
        }
    }

    /// What `main` prints after `error: `, if anything is left to say (a
    /// failed check's report already said it).
    pub fn message(&self) -> Option<String> {
        match self {
            Failure::ChecksFailed => None,
            other => Some(other.to_string()),
        }
    }
}
