//! The `lucid-gen` command line: parses arguments and dispatches to one
//! function per command. Everything else lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use lucid_gen::diagnostic::Diagnostic;
use lucid_gen::model::{self, LoadError};
use lucid_gen::secrets::{self, SecretSource};
use lucid_gen::system::System;
use lucid_gen::write::{self, RunLock};
use lucid_gen::{render, validate};

const EXAMPLES: &str = "\
Examples:
  lucid-gen all                      validate model/ and (re)write generated/
  lucid-gen all --check              show what is stale in generated/, write nothing
  lucid-gen check                    validate model/ and report every problem
  lucid-gen secrets rotate JWT_SECRET
                                     replace one secret and rewrite the files holding it

Exit codes: 0 fine, 1 invalid model or stale output, 2 usage or I/O error.";

/// Generates env files, compose files and Dockerfiles for a multi-service
/// Docker system from one typed, validated service model.
#[derive(Parser)]
#[command(name = "lucid-gen", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the model and render every file into the output directory.
    All {
        #[command(flatten)]
        paths: Paths,
        /// Write nothing: print a diff of what would change and exit 1 if
        /// anything is stale.
        #[arg(long)]
        check: bool,
    },
    /// Validate the model and report every problem with its location.
    Check {
        #[command(flatten)]
        paths: Paths,
    },
    /// Manage generated secret values.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Replace one secret with a new random value and rewrite the files
    /// that hold it.
    Rotate {
        /// The secret's name, as declared under `secrets:` in the model.
        name: String,
        #[command(flatten)]
        paths: Paths,
    },
}

#[derive(Args)]
struct Paths {
    /// Directory holding the model's *.yaml files.
    #[arg(long, default_value = "model", value_name = "DIR")]
    model: PathBuf,
    /// Directory the generated files are written to.
    #[arg(long, default_value = "generated", value_name = "DIR")]
    out: PathBuf,
    /// Secret store: generated values kept between runs (mode 0600,
    /// never commit it).
    #[arg(long, default_value = ".lucid-gen/secrets.env", value_name = "FILE")]
    secrets: PathBuf,
    /// Derive secrets from this seed instead of the store. Deterministic
    /// output for snapshots and tests only: never for a real deployment.
    #[arg(long, value_name = "N", hide_short_help = true)]
    insecure_secret_seed: Option<u64>,
}

impl Paths {
    fn secret_source(&self) -> SecretSource {
        match self.insecure_secret_seed {
            Some(seed) => SecretSource::Seeded(seed),
            None => SecretSource::Store(self.secrets.clone()),
        }
    }

    fn lock_path(&self) -> PathBuf {
        self.secrets
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("lock")
    }
}

/// How a command failed, and so its exit code.
enum Failure {
    /// The model is invalid, or the output is stale (exit 1); the details
    /// were already printed.
    Reported,
    /// Usage or I/O error (exit 2).
    Io(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Io(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn try_main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::All { paths, check } => all(&paths, check, &[]),
        Command::Check { paths } => check(&paths),
        Command::Secrets {
            command: SecretsCommand::Rotate { name, paths },
        } => rotate(&paths, name),
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

/// Loads and validates the model, printing every diagnostic.
fn load_valid(model_dir: &Path) -> Result<System, Failure> {
    let loaded = match model::load_dir(model_dir) {
        Ok(loaded) => loaded,
        Err(LoadError::Io { path, error }) => {
            return Err(Failure::Io(format!(
            "cannot read model at {}: {error}\n  help: pass the model directory with --model DIR",
            path.display()
        )))
        }
        Err(LoadError::Invalid(mut diagnostics)) => {
            lucid_gen::diagnostic::sort(&mut diagnostics);
            print_diagnostics(&diagnostics);
            eprintln!(
                "error: the model has {} error(s); nothing was written",
                diagnostics.len()
            );
            return Err(Failure::Reported);
        }
    };
    match validate::validate(&loaded) {
        Ok(valid) => {
            print_diagnostics(&valid.warnings);
            Ok(valid.system)
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!("error: the model has {errors} error(s); nothing was written");
            Err(Failure::Reported)
        }
    }
}

fn check(paths: &Paths) -> Result<(), Failure> {
    let system = load_valid(&paths.model)?;
    let published = system
        .services
        .iter()
        .flat_map(|s| &s.ports)
        .filter(|p| p.host.is_some())
        .count();
    println!(
        "model {} is valid: {} services in {} phases, {} networks on {} planes, {} published ports, {} secrets",
        paths.model.display(),
        system.services.len(),
        system.phases.len(),
        system.networks.len(),
        system.planes.len(),
        published,
        system.secrets.len()
    );
    Ok(())
}

fn all(paths: &Paths, check_only: bool, rotate: &[String]) -> Result<(), Failure> {
    let system = load_valid(&paths.model)?;
    // Two runs at once would race on the store and the output files.
    let _lock = if check_only {
        None
    } else {
        let lock_path = paths.lock_path();
        match RunLock::try_acquire(&lock_path) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => {
                return Err(Failure::Io(format!(
                    "another lucid-gen is running here (it holds {}); wait for it to finish",
                    lock_path.display()
                )))
            }
            Err(e) => {
                return Err(Failure::Io(format!(
                    "cannot take lock {}: {e}",
                    lock_path.display()
                )))
            }
        }
    };
    let source = paths.secret_source();
    let resolved =
        secrets::resolve(&system, &source, rotate).map_err(|e| Failure::Io(e.to_string()))?;
    let outputs = render::render(&system, &resolved.values)
        .map_err(|e| Failure::Io(format!("internal error: {e}")))?;
    let outputs = write::with_manifest(outputs);
    let out = &paths.out;
    if check_only {
        let stale = write::compare(out, &outputs)
            .map_err(|e| Failure::Io(format!("cannot read {}: {e}", out.display())))?;
        if stale.is_empty() {
            println!(
                "{}: all {} files are up to date",
                out.display(),
                outputs.len()
            );
            return Ok(());
        }
        print!("{}", write::render_diff(out, &stale));
        eprintln!(
            "error: {} of {} files in {} are stale; run `lucid-gen all` to rewrite them",
            stale.len(),
            outputs.len(),
            out.display()
        );
        return Err(Failure::Reported);
    }
    resolved
        .save(&source)
        .map_err(|e| Failure::Io(e.to_string()))?;
    if !resolved.changed.is_empty() && matches!(source, SecretSource::Store(_)) {
        println!(
            "generated {} secret(s): {} (kept in {})",
            resolved.changed.len(),
            resolved.changed.join(", "),
            paths.secrets.display()
        );
    }
    let summary = write::apply(out, &outputs)
        .map_err(|e| Failure::Io(format!("cannot write to {}: {e}", out.display())))?;
    println!(
        "{}: {} written, {} unchanged{}",
        out.display(),
        summary.written,
        summary.unchanged,
        if summary.deleted > 0 {
            format!(", {} deleted", summary.deleted)
        } else {
            String::new()
        }
    );
    Ok(())
}

fn rotate(paths: &Paths, name: String) -> Result<(), Failure> {
    if paths.insecure_secret_seed.is_some() {
        return Err(Failure::Io(
            "rotate works on the secret store; drop --insecure-secret-seed".into(),
        ));
    }
    all(paths, false, &[name])
}
