//! `lucid-gen import`: existing compose files → a model directory, and a
//! report of what was mapped, moved to secrets, not expressible, filled
//! in, and what `check` then says.
//!
//! The pipeline: `sources` reads the files (bounded, indexed for
//! file:line citations, referenced files kept inside the project
//! directory) → `docker::compose_config` has Compose itself interpolate,
//! merge and normalise them → `compose` holds the result as serde types
//! that keep unknown keys → `map` (with `topology`, `service`,
//! `secret_moves`, `known`) decides the model as a `draft::Draft` → `emit`
//! writes its YAML → `stage` validates it and renames it into place.
//! `compose`, `map`, `topology`, `service`, `secret_moves`, `known`,
//! `draft`, `emit` and `report` do no I/O.
//!
//! Invariant: a value import moves to secrets is never written into the
//! model or printed (the model gets a generated or operator-supplied
//! secret of the same name instead).

mod compose;
mod draft;
mod emit;
mod known;
mod map;
pub mod report;
mod secret_moves;
mod service;
pub mod sources;
mod stage;
mod topology;

use std::path::{Path, PathBuf};

use crate::docker::{compose_config, DockerError};
use report::{Finding, Report};
use sources::Cite;

/// What `lucid-gen import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Compose files, in `docker compose -f` order.
    pub files: Vec<PathBuf>,
    /// The model directory to write.
    pub model: PathBuf,
    /// Replace an existing model.
    pub force: bool,
    /// Fill in health checks for well-known images.
    pub fill_known: bool,
}

/// Why import wrote nothing: where (when known) and what.
#[derive(Debug)]
pub struct ImportError {
    pub location: Option<Cite>,
    pub kind: ImportErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportErrorKind {
    #[error("no compose file given")]
    NoFiles,
    #[error("cannot read {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{file} is not a regular file\n  help: give the compose file itself")]
    NotAFile { file: String },
    #[error("{file} is {size} bytes; compose files larger than {limit} bytes are refused\n  help: is this really a compose file?")]
    TooLarge { file: String, size: u64, limit: u64 },
    #[error("{file} is not UTF-8 text\n  help: compose files are YAML, which is UTF-8")]
    NotUtf8 { file: String },
    #[error("{file} is not valid YAML: {problem}")]
    NotYaml { file: String, problem: String },
    #[error("{file} is not a compose file: {problem}")]
    NotCompose { file: String, problem: String },
    #[error("more than {limit} files included or extended\n  help: import the files one project at a time")]
    TooManyFiles { limit: usize },
    #[error("{key}: the path `{path}` holds a variable, so import cannot check it stays inside the project directory\n  help: write the path without `${{...}}`")]
    VariablePath { key: String, path: String },
    #[error("{key}: `{path}` is outside the project directory {root}\n  help: import reads nothing outside the directory of the first compose file; move the file inside it")]
    PathOutside {
        key: String,
        path: String,
        root: String,
    },
    #[error("docker compose could not read the files: {0}")]
    Compose(DockerError),
    #[error("Compose's output could not be read: {0}")]
    ComposeOutput(String),
    #[error("the files define no service\n  help: a model needs at least one service")]
    NoServices,
    #[error("{dir} already holds a model\n  help: pass --force to replace it, or --model DIR for another directory")]
    ModelExists { dir: String },
    #[error("{dir} is a symbolic link\n  help: pass the directory itself with --model")]
    ModelIsLink { dir: String },
    #[error("{dir} exists and is not a directory")]
    ModelNotADir { dir: String },
    #[error("internal error: the imported model does not load: {0}")]
    Unloadable(String),
}

impl ImportError {
    pub fn new(kind: ImportErrorKind) -> ImportError {
        ImportError {
            location: None,
            kind,
        }
    }

    pub fn at(location: Option<Cite>, kind: ImportErrorKind) -> ImportError {
        ImportError { location, kind }
    }

    pub fn io(path: &Path, error: std::io::Error) -> ImportError {
        ImportError::new(ImportErrorKind::Io {
            path: path.display().to_string(),
            error,
        })
    }

    /// 2 for a usage or I/O problem or a missing tool, 1 for input that
    /// is not a compose system import can read (as for an invalid model).
    pub fn exit_code(&self) -> u8 {
        match &self.kind {
            ImportErrorKind::Io { .. }
            | ImportErrorKind::NoFiles
            | ImportErrorKind::ModelExists { .. }
            | ImportErrorKind::ModelIsLink { .. }
            | ImportErrorKind::ModelNotADir { .. } => 2,
            ImportErrorKind::Compose(e) => e.exit_code(),
            _ => 1,
        }
    }
}

impl std::error::Error for ImportError {}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match &self.location {
            Some(at) => format!("{at}: {}", self.kind),
            None => self.kind.to_string(),
        };
        // Input text never reaches the terminal raw.
        let lines: Vec<String> = (text.lines())
            .map(|l| crate::escape::escape_control(l).into_owned())
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

/// Imports the files and writes the model; the report says what happened.
pub fn run(opts: &ImportOptions) -> Result<Report, ImportError> {
    stage::check_target(&opts.model, opts.force)?;
    let sources = sources::read(&opts.files)?;
    let config = compose_config::config(&sources.given)
        .map_err(|e| ImportError::new(ImportErrorKind::Compose(e)))?;
    let project = compose::parse(&config.json)
        .map_err(|e| ImportError::new(ImportErrorKind::ComposeOutput(e.to_string())))?;
    if project.services.is_empty() {
        return Err(ImportError::new(ImportErrorKind::NoServices));
    }
    let env_paths: Vec<PathBuf> = (sources.env_files.iter()).map(|r| r.path.clone()).collect();
    let env_file_vars = compose_config::env_files(&sources.project_dir, &env_paths)
        .map_err(|e| ImportError::new(ImportErrorKind::Compose(e)))?;
    let raw: serde_json::Value = serde_json::from_str(&config.raw_json)
        .map_err(|e| ImportError::new(ImportErrorKind::ComposeOutput(e.to_string())))?;
    let input = map::Input {
        raw: &raw,
        project: &project,
        sources: &sources,
        env_file_vars: &env_file_vars,
        fill_known: opts.fill_known,
    };
    let (draft, mut report) = map::map(&input);
    report.compose_warnings = config.warnings;
    report.model = opts.model.display().to_string();
    let files = emit::emit(&draft);
    report.findings = stage::write(&opts.model, &files, opts.force)?;
    report.findings.extend(import_findings(&draft));
    Ok(report)
}

/// What import itself asks to review beyond `check`'s rules.
fn import_findings(draft: &draft::Draft) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |rule: &str, message: String, fix: &str| {
        out.push(Finding {
            severity: "warning".into(),
            rule: rule.into(),
            at: None,
            message,
            fix: fix.into(),
        })
    };
    for s in &draft.services {
        for p in s
            .ports
            .iter()
            .filter(|p| p.host.is_some() && p.host_ip.is_none())
        {
            add(
                "no-unbound-port-interfaces",
                format!("{} publishes host port {} on every interface", s.name, p.host.unwrap_or(0)),
                "add `host_ip: 127.0.0.1` to the port when only this host needs it; to keep it public, accept compose-lint's CL-0005 for the service under lint_exceptions with the reason",
            );
        }
        if s.security.run_as_root.is_some() {
            add(
                "run-as-root",
                format!("{} runs as root, with a reason import wrote", s.name),
                "replace security.run_as_root's reason with why it must, or set a non-root user",
            );
        }
        for (cap, _) in &s.security.cap_add {
            add(
                "cap-add",
                format!(
                    "{} adds capability {cap}, with a reason import wrote",
                    s.name
                ),
                "replace the reason under security.cap_add with why it is needed, or remove it",
            );
        }
    }
    out
}
