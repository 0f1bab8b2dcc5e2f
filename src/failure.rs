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
    /// Rendering failed: an operator's secret that cannot stand in a
    /// config file is the operator's to fix; anything else is a value
    /// validation should have refused, an internal error.
    #[error("{}", render_message(.0))]
    Render(#[from] crate::render::RenderError),
    /// The secret store's directory cannot be created.
    #[error("cannot create {}: {error}", dir.display())]
    CreateStoreDir { dir: PathBuf, error: std::io::Error },
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
    /// `import` could not read or write what it was given.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// `import` wrote a model that `check` still refuses (its report says
    /// why).
    #[error("")]
    ImportedModelInvalid,
}

fn render_message(e: &crate::render::RenderError) -> String {
    match e {
        crate::render::RenderError::SecretInConfig { .. } => e.to_string(),
        e => format!("internal error: {e}"),
    }
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
            | Failure::ChecksFailed
            | Failure::ImportedModelInvalid => 1,
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
            | Failure::CreateStoreDir { .. }
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
            Failure::Import(e) => e.exit_code(),
        }
    }

    /// What `main` prints after `error: `, if anything is left to say (a
    /// failed check's report already said it).
    pub fn message(&self) -> Option<String> {
        match self {
            Failure::ChecksFailed | Failure::ImportedModelInvalid => None,
            other => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Kind;
    use crate::docker::ErrorKind;

    /// The failure's name, by an exhaustive match: a new failure does not
    /// compile until it is named here, and then the test fails until it
    /// has a sample.
    fn name(f: &Failure) -> &'static str {
        match f {
            Failure::InvalidModel { .. } => "InvalidModel",
            Failure::ModelUnreadable { .. } => "ModelUnreadable",
            Failure::OutputOverlapsModel { .. } => "OutputOverlapsModel",
            Failure::Locked { .. } => "Locked",
            Failure::Lock { .. } => "Lock",
            Failure::SecretsNotGenerated { .. } => "SecretsNotGenerated",
            Failure::StaleOutput { .. } => "StaleOutput",
            Failure::Stale { .. } => "Stale",
            Failure::ChecksFailed => "ChecksFailed",
            Failure::UnknownVariant { .. } => "UnknownVariant",
            Failure::NoVariants { .. } => "NoVariants",
            Failure::RotateSeeded => "RotateSeeded",
            Failure::Resolve { .. } => "Resolve",
            Failure::Render(_) => "Render",
            Failure::CreateStoreDir { .. } => "CreateStoreDir",
            Failure::ReadOutput(_) => "ReadOutput",
            Failure::Write(_) => "Write",
            Failure::StageStore(_) => "StageStore",
            Failure::CommitStore { .. } => "CommitStore",
            Failure::JobSummary(_) => "JobSummary",
            Failure::Stdout(_) => "Stdout",
            Failure::Secret(_) => "Secret",
            Failure::Docker(_) => "Docker",
            Failure::Import(_) => "Import",
            Failure::ImportedModelInvalid => "ImportedModelInvalid",
        }
    }

    const FAILURES: usize = 25;

    fn gone() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    /// One sample per failure, its exit code and what `main` prints after
    /// `error: ` (`None`: nothing, the report already said it).
    fn samples() -> Vec<(Failure, u8, Option<&'static str>)> {
        let s = |v: &str| v.to_string();
        let invalid = vec![Diagnostic::new(Kind::NoServices {})];
        vec![
            (Failure::InvalidModel { diagnostics: invalid }, 1,
             Some("the model has 1 error(s); nothing was written")),
            (Failure::ModelUnreadable { path: "m".into(), error: gone(), is_root: true }, 2,
             Some("cannot read model at m: entity not found\n  help: pass the model directory with --model DIR")),
            (Failure::OutputOverlapsModel { problem: s("--out m is the model directory") }, 2,
             Some("--out m is the model directory; the two must not overlap\n  help: write the output beside the model, e.g. --model model --out generated")),
            (Failure::Locked { path: ".lucid-gen/lock".into() }, 2,
             Some("another lucid-gen is running here (it holds a lock on .lucid-gen/lock); wait for it to finish")),
            (Failure::Lock { path: "l".into(), error: gone() }, 2, Some("cannot take lock l: entity not found")),
            (Failure::SecretsNotGenerated { names: vec![s("A"), s("B")], store: "st".into() }, 2,
             Some("secret(s) A, B have no value in st yet; run `lucid-gen all` first")),
            (Failure::StaleOutput { out: "generated".into(), files: vec!["generated/a".into()] }, 1,
             Some("generated is not what the model produces; run `lucid-gen all` first")),
            (Failure::Stale { out: "generated".into(), stale: 2, total: 9 }, 1,
             Some("2 of 9 files in generated are stale; run `lucid-gen all` to rewrite them")),
            (Failure::ChecksFailed, 1, None),
            (Failure::UnknownVariant { name: s("qa"), known: vec![s("dev"), s("prod")] }, 2,
             Some("unknown variant `qa`; the model's variants are: dev, prod")),
            (Failure::NoVariants { name: s("dev") }, 2, Some("--variant dev: the model declares no variants")),
            (Failure::RotateSeeded, 2, Some("rotate works on the secret store; drop --insecure-secret-seed")),
            (Failure::Resolve { path: "o".into(), error: gone() }, 2, Some("cannot resolve o: entity not found")),
            (Failure::Render(crate::render::RenderError::Unrepresentable { what: s("label"), why: "a line break" }), 2,
             Some("internal error: label cannot be written: a line break")),
            (Failure::CreateStoreDir { dir: ".lucid-gen".into(), error: gone() }, 2,
             Some("cannot create .lucid-gen: entity not found")),
            (Failure::ReadOutput(s("g/a: denied")), 2, Some("cannot read g/a: denied")),
            (Failure::Write(s("cannot write g/a")), 2, Some("cannot write g/a")),
            (Failure::StageStore(s("cannot write secret store s")), 2, Some("cannot write secret store s")),
            (Failure::CommitStore { error: SecretError::Unknown(s("X")), out: "g".into() }, 2,
             Some("secret `X` is not declared in the model; `lucid-gen check` lists the model's secrets\n  help: g was written with new secret values the store lacks; fix the path and run again")),
            (Failure::JobSummary(gone()), 2, Some("cannot write the job summary: entity not found")),
            (Failure::Stdout(gone()), 2, Some("entity not found")),
            (Failure::Secret(SecretError::NotRotatable(s("K"))), 2,
             Some("secret `K` is supplied by the operator, so lucid-gen cannot rotate it: change it where it comes from (its variable or file), then run `lucid-gen all`")),
            (Failure::Import(crate::import::ImportError { location: None, kind: crate::import::ImportErrorKind::NoFiles }), 2,
             Some("no compose file given")),
            (Failure::ImportedModelInvalid, 1, None),
            (Failure::Docker(ErrorKind::UnknownPhase { name: s("x"), known: vec![s("a")] }.into()), 2,
             Some("unknown phase `x`; the model's phases are: a")),
        ]
    }

    #[test]
    fn every_failure_has_its_message_and_exit_code() {
        let samples = samples();
        let names: std::collections::BTreeSet<&str> =
            samples.iter().map(|(f, ..)| name(f)).collect();
        assert_eq!(names.len(), FAILURES, "one sample per failure: {names:?}");
        for (failure, code, message) in samples {
            let what = name(&failure);
            assert_eq!(failure.exit_code(), code, "{what}");
            assert_eq!(failure.message().as_deref(), message, "{what}");
        }
    }

    /// A Docker step's failure keeps the step's own exit code.
    #[test]
    fn a_docker_failure_keeps_its_kinds_exit_code() {
        let failed = ErrorKind::Failed {
            command: "docker compose up".into(),
            status: "exit status: 1".into(),
            stderr: String::new(),
        };
        assert_eq!(Failure::Docker(failed.into()).exit_code(), 1);
    }
}
