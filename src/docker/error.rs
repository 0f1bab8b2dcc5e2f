//! Why a Docker-facing command failed: [`DockerError`] is the step that
//! failed (when a runner step was under way) and an [`ErrorKind`], one
//! `Display` arm per kind. [`ErrorKind::exit_code`] is the one place a
//! runtime failure becomes an exit code.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A failed Docker-facing command: which step (if a planned step was
/// running) and what went wrong.
#[derive(Debug)]
pub struct DockerError {
    /// The plan step that failed, e.g. `up phase data`.
    pub step: Option<String>,
    /// Boxed: errors are rare and results should stay small.
    pub kind: Box<ErrorKind>,
}

impl DockerError {
    /// The same error, as having happened during `step` (an inner step
    /// already named is kept).
    pub fn during(mut self, step: &str) -> DockerError {
        self.step.get_or_insert_with(|| step.to_string());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl From<ErrorKind> for DockerError {
    fn from(kind: ErrorKind) -> Self {
        DockerError {
            step: None,
            kind: Box::new(kind),
        }
    }
}

impl std::error::Error for DockerError {}

impl fmt::Display for DockerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(f, "{step}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// What went wrong, with the data its message needs.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// A tool this command needs cannot run.
    #[error("`{program}` is not installed or not on PATH ({error}){hint}")]
    NotFound {
        program: String,
        error: io::Error,
        hint: String,
    },
    /// `--phase` names no phase of the model.
    #[error("unknown phase `{name}`; the model's phases are: {}", known.join(", "))]
    UnknownPhase { name: String, known: Vec<String> },
    /// An option value the command cannot use; nothing was started.
    #[error("{option} `{value}` {why}")]
    BadOption {
        option: &'static str,
        value: String,
        why: String,
    },
    /// An extra tag reads an environment variable that is not set.
    #[error("the extra tag `{tag}` reads ${var}, which is not set (or empty); nothing was {done}\n  help: set it, e.g. `export {var}=...`, or remove the tag from `system.registry.extra_tags`")]
    TagVariableUnset {
        tag: String,
        var: String,
        done: &'static str,
    },
    /// An extra tag resolves to something that is no Docker tag.
    #[error("the extra tag `{tag}` resolves to `{value}`, which is not a Docker tag; nothing was {done}\n  help: tags are letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`")]
    TagInvalid {
        tag: String,
        value: String,
        done: &'static str,
    },
    /// A process exited non-zero.
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// Reading or writing a local file failed.
    #[error("cannot {action} {}: {error}{help}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
        help: &'static str,
    },
    /// A tool's output is not what lucid-gen expects from it.
    #[error("cannot read the output of `{command}`: {error}")]
    ToolOutput { command: String, error: String },
    /// Problems found before anything started; nothing was started.
    #[error("cannot start; nothing was started:\n  {}", problems.join("\n  "))]
    Preflight { problems: Vec<String> },
    /// Build contexts that do not exist under the source root.
    #[error("{} build context(s) missing under {}; nothing was built:\n{}\n  help: pass the root of the source tree with --source DIR", missing.len(), root.display(), missing.join("\n"))]
    MissingContexts { root: PathBuf, missing: Vec<String> },
    /// Hand-written Dockerfiles that do not exist.
    #[error("{} hand-written Dockerfile(s) missing; nothing was built:\n{}\n  help: write the file at `build.dockerfile`, relative to the build context", missing.len(), missing.join("\n"))]
    MissingDockerfiles { missing: Vec<String> },
    /// Base images that build on each other in a ring.
    #[error("base images {} build on each other in a cycle", images.join(", "))]
    BaseImageCycle { images: Vec<String> },
    /// What the legacy builder cannot build (BuildKit features).
    #[error("{0}")]
    NeedsBuildKit(String),
    /// One or more builds failed.
    #[error("{}{}", failures.join("\n"), not_built_note(*not_built))]
    Builds {
        failures: Vec<String>,
        not_built: usize,
    },
    /// `down` left containers running.
    #[error("containers still running in {project}: {}", services.join(", "))]
    StillRunning {
        project: String,
        services: Vec<String>,
    },
    /// A secret-bearing file whose mode others could read.
    #[error("{} holds secrets but has mode {mode:03o}; `scp -p` would copy that mode to the host\n  help: chmod 600 {}", path.display(), path.display())]
    LooseSecretFile { path: PathBuf, mode: u32 },
    /// A file `deploy` would copy does not exist.
    #[error("{}: {error}; run `lucid-gen all` first", path.display())]
    MissingOutput { path: PathBuf, error: io::Error },
    /// Images `save` was asked for that the engine does not have.
    #[error("{} image(s) are not on this Docker engine; nothing was saved:\n{}", missing.len(), missing.join("\n"))]
    ImagesAbsent { missing: Vec<String> },
    /// A loaded image whose ID is not the listed one.
    #[error("{image} loaded from {file} has ID {loaded}, but {manifest} says {listed}")]
    ImageIdMismatch {
        image: String,
        file: String,
        loaded: String,
        listed: String,
        manifest: &'static str,
    },
    /// An image directory that fails its checks; nothing was loaded.
    #[error("{} problem(s) in {}; no image was loaded:\n  {}\n  help: copy the directory `lucid-gen save` wrote again, whole", problems.len(), dir.display(), problems.join("\n  "))]
    ImageDir { dir: PathBuf, problems: Vec<String> },
    /// A list file of an image directory that lucid-gen did not write.
    #[error("{} {what}", path.display())]
    ImageList { path: PathBuf, what: String },
    /// A value the stand-in override or Dockerfile cannot hold.
    #[error("stand-in: cannot write {what} `{value}`: {why}")]
    StandInValue {
        what: &'static str,
        value: String,
        why: String,
    },
    /// No Rust toolchain can build the stand-in program.
    #[error("{0}")]
    Toolchain(String),
}

fn not_built_note(left: usize) -> String {
    match left {
        0 => String::new(),
        n => format!("\n  stopped: {n} image(s) of later steps were not built"),
    }
}

impl ErrorKind {
    /// 2 for what the user asked wrongly or a tool or file lucid-gen cannot
    /// use (usage and I/O, as the README's exit-code table says); 1 for a
    /// Docker step or check that failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            ErrorKind::NotFound { .. }
            | ErrorKind::UnknownPhase { .. }
            | ErrorKind::BadOption { .. }
            | ErrorKind::TagVariableUnset { .. }
            | ErrorKind::TagInvalid { .. }
            | ErrorKind::Io { .. } => 2,
            ErrorKind::Failed { .. }
            | ErrorKind::ToolOutput { .. }
            | ErrorKind::Preflight { .. }
            | ErrorKind::MissingContexts { .. }
            | ErrorKind::MissingDockerfiles { .. }
            | ErrorKind::BaseImageCycle { .. }
            | ErrorKind::NeedsBuildKit(_)
            | ErrorKind::Builds { .. }
            | ErrorKind::StillRunning { .. }
            | ErrorKind::LooseSecretFile { .. }
            | ErrorKind::MissingOutput { .. }
            | ErrorKind::ImagesAbsent { .. }
            | ErrorKind::ImageIdMismatch { .. }
            | ErrorKind::ImageDir { .. }
            | ErrorKind::ImageList { .. }
            | ErrorKind::StandInValue { .. }
            | ErrorKind::Toolchain(_) => 1,
        }
    }
}

/// `ErrorKind::Io` for `action` on `path`.
pub fn io_error(action: &'static str, path: impl Into<PathBuf>, error: io::Error) -> DockerError {
    ErrorKind::Io {
        action,
        path: path.into(),
        error,
        help: "",
    }
    .into()
}
