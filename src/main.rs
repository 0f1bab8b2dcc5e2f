//! The `lucid-gen` command line: parses arguments and dispatches to one
//! function per command. Everything else lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use lucid_gen::diagnostic::{self, Diagnostic, Kind};
use lucid_gen::docker::{self, Deployment, DockerError};
use lucid_gen::model::{self, LoadError};
use lucid_gen::render::OutputOrigin;
use lucid_gen::secrets::{self, SecretError, SecretSource};
use lucid_gen::system::System;
use lucid_gen::write::{self, RunLock};
use lucid_gen::{render, validate};

const EXAMPLES: &str = "\
Examples:
  lucid-gen all                      validate model/ and (re)write generated/
  lucid-gen all --check              show what is stale in generated/, write nothing
  lucid-gen check                    validate model/ and report every problem
  lucid-gen secrets rotate API_TOKEN
                                     replace one secret and rewrite the files holding it
  lucid-gen verify                   compose config, compose-lint, dclint, hadolint
  lucid-gen up --stand-ins           start every phase with stand-in images, health-gated
  lucid-gen test                     reachability, isolation, env and secret checks
  lucid-gen down                     remove the containers and networks again
  lucid-gen deploy --host admin@HOST --phase PHASE --dry-run
                                     show how a phase would be deployed over SSH

Exit codes: 0 fine; 1 invalid model, stale output, a failed check or Docker
step; 2 usage error (unknown phase, secret, bad --host ...) or I/O error.";

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
        /// How problems are printed (see `check --format`); with `github`,
        /// `--check` also annotates each stale file. (With
        /// GITHUB_STEP_SUMMARY set, `--check` appends its diff to that file.)
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Validate the model and report every problem with its location.
    Check {
        #[command(flatten)]
        paths: Paths,
        /// `human`: the source line with a caret, then help; `json`: one
        /// JSON object per diagnostic and line on stdout, for editors and CI;
        /// `github`: GitHub Actions annotations (`::error file=...`) on
        /// stdout, shown on the model's line in a pull request.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Manage generated secret values.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Check the generated files as they are on disk: `docker compose
    /// config`, compose-lint and dclint on every compose file, hadolint on
    /// every Dockerfile.
    Verify {
        #[command(flatten)]
        paths: Paths,
    },
    /// Build the images with Docker's builder: base images first, then
    /// phase by phase, parallel within a phase.
    Build {
        #[command(flatten)]
        paths: Paths,
        /// Build only this phase's images (and the base images).
        #[arg(long, value_name = "PHASE")]
        phase: Option<String>,
        /// Target platform; default: the model's.
        #[arg(long, value_name = "OS/ARCH")]
        platform: Option<String>,
        /// Root of the source tree the build contexts are relative to.
        #[arg(long, default_value = ".", value_name = "DIR")]
        source: PathBuf,
        /// Print the build commands without running them.
        #[arg(long)]
        dry_run: bool,
        /// Builds to run at once within a phase.
        #[arg(long, default_value_t = 2, value_name = "N")]
        jobs: usize,
    },
    /// Start the system phase by phase with `docker compose up -d --wait`.
    Up {
        #[command(flatten)]
        paths: Paths,
        #[command(flatten)]
        target: Target,
        /// Run a tiny stand-in image per service (same networks, ports,
        /// env files, dependencies and health checks) instead of the real
        /// images: a smoke test of the topology.
        #[arg(long)]
        stand_ins: bool,
    },
    /// Check the running system from inside: declared dependencies are
    /// reachable, isolated planes are not, env and secrets are as
    /// generated, no image holds a secret.
    Test {
        #[command(flatten)]
        paths: Paths,
        /// Compose project prefix used with `up --project`.
        #[arg(long, value_name = "NAME", value_parser = project_name)]
        project: Option<String>,
    },
    /// Remove every container and network `up` created.
    Down {
        #[command(flatten)]
        paths: Paths,
        #[command(flatten)]
        target: Target,
        /// Remove the named volumes too (their data is lost).
        #[arg(long)]
        volumes: bool,
    },
    /// Copy a phase's compose and env files to a host and start them there
    /// over SSH.
    Deploy {
        #[command(flatten)]
        paths: Paths,
        /// Where to deploy, as `user@host`.
        #[arg(long, value_name = "USER@HOST")]
        host: String,
        /// Deploy only this phase (default: every phase, in order).
        #[arg(long, value_name = "PHASE")]
        phase: Option<String>,
        /// Directory on the host; default `/opt/<system name>`.
        #[arg(long, value_name = "DIR")]
        dir: Option<String>,
        /// Print the commands without running them.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Which part of the system, under which compose project names.
#[derive(Args)]
struct Target {
    /// Only this phase (default: every phase, in order).
    #[arg(long, value_name = "PHASE")]
    phase: Option<String>,
    /// Compose project prefix (`NAME-<phase>`); default: the names in the
    /// compose files.
    #[arg(long, value_name = "NAME", value_parser = project_name)]
    project: Option<String>,
}

/// A `--project` prefix Compose accepts as a project name (lowercase
/// letters, digits, `-` and `_`, starting with a letter or digit), so a
/// bad one is a usage error before anything starts.
fn project_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c));
    if first_ok && rest_ok {
        Ok(name.to_string())
    } else {
        Err("lowercase letters, digits, `-` and `_`, starting with a letter or digit".into())
    }
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

    /// Refuses an output directory equal to, inside or around the model
    /// directory: the loader reads every `*.yaml`/`*.yml` under the model
    /// (generated compose files included), and nothing lucid-gen writes or
    /// deletes may ever be a model file.
    fn check_disjoint(&self) -> Result<(), Failure> {
        let model = resolved(&self.model);
        let out = resolved(&self.out);
        let (m, o) = (self.model.display(), self.out.display());
        let problem = if out == model {
            format!("--out {o} is the model directory")
        } else if out.starts_with(&model) {
            format!("--out {o} is inside the model directory {m}")
        } else if model.starts_with(&out) {
            format!("--model {m} is inside the output directory {o}")
        } else {
            return Ok(());
        };
        Err(Failure::Io(format!(
            "{problem}; the two must not overlap\n  help: write the output beside the model, e.g. --model model --out generated"
        )))
    }
}

/// `path` made absolute with every existing part resolved (links
/// followed), so two spellings of one directory compare equal.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// How a command failed. [`Failure::exit_code`] is the one place a
/// failure becomes an exit code; `main` is the one place its message is
/// printed (conversions never print).
enum Failure {
    /// The model is invalid, the output is stale or a check failed; the
    /// details were already printed (exit 1).
    Reported,
    /// A Docker step failed (exit 1).
    Failed(String),
    /// The command line asks for something that does not exist or cannot
    /// be used: an unknown phase or secret, a bad `--host` (exit 2).
    Usage(String),
    /// I/O error, or a tool that cannot run (exit 2).
    Io(String),
}

impl Failure {
    /// 1 for a model, output or check that is wrong; 2 for usage and I/O
    /// errors, as the README's exit-code table says.
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Reported | Failure::Failed(_) => 1,
            Failure::Usage(_) | Failure::Io(_) => 2,
        }
    }

    /// What `main` prints after `error: `, if anything is left to say.
    fn message(&self) -> Option<&str> {
        match self {
            Failure::Reported => None,
            Failure::Failed(m) | Failure::Usage(m) | Failure::Io(m) => Some(m),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e.to_string())
    }
}

impl From<DockerError> for Failure {
    fn from(e: DockerError) -> Self {
        let message = e.to_string();
        match e {
            DockerError::NotFound { .. } => Failure::Io(message),
            DockerError::Usage(_) => Failure::Usage(message),
            DockerError::Failed { .. } | DockerError::Other(_) => Failure::Failed(message),
        }
    }
}

impl From<SecretError> for Failure {
    fn from(e: SecretError) -> Self {
        let message = e.to_string();
        match e {
            SecretError::Unknown(_) => Failure::Usage(message),
            _ => Failure::Io(message),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = failure.message() {
                eprintln!("error: {message}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

fn try_main(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::All {
            paths,
            check,
            format,
        } => {
            let _ = FORMAT.set(format);
            all(&paths, check, &[])
        }
        Command::Check { paths, format } => check(&paths, format),
        Command::Secrets {
            command: SecretsCommand::Rotate { name, paths },
        } => rotate(&paths, name),
        Command::Verify { paths } => {
            let dep = deployment(&paths, false)?;
            checked(docker::verify::run(&dep))
        }
        Command::Build {
            paths,
            phase,
            platform,
            source,
            dry_run,
            jobs,
        } => {
            let opts = docker::build::BuildOptions {
                phase,
                platform,
                source,
                dry_run,
                jobs: jobs.max(1),
            };
            docker::build::run(&deployment(&paths, true)?, &opts).map_err(Failure::from)
        }
        Command::Up {
            paths,
            target,
            stand_ins,
        } => {
            let opts = docker::up::UpOptions {
                phase: target.phase,
                stand_ins,
                project: target.project,
            };
            docker::up::run(&deployment(&paths, true)?, &opts).map_err(Failure::from)
        }
        Command::Test { paths, project } => {
            let opts = docker::probe::TestOptions { project };
            checked(docker::probe::run(&deployment(&paths, true)?, &opts))
        }
        Command::Down {
            paths,
            target,
            volumes,
        } => {
            let opts = docker::down::DownOptions {
                phase: target.phase,
                volumes,
                project: target.project,
            };
            docker::down::run(&deployment(&paths, false)?, &opts).map_err(Failure::from)
        }
        Command::Deploy {
            paths,
            host,
            phase,
            dir,
            dry_run,
        } => deploy(&paths, host, phase, dir, dry_run),
    }
}

/// `deploy`: the default directory on the host is `/opt/<system name>`.
fn deploy(
    paths: &Paths,
    host: String,
    phase: Option<String>,
    dir: Option<String>,
    dry_run: bool,
) -> Result<(), Failure> {
    let dep = deployment(paths, true)?;
    let dir = dir.unwrap_or_else(|| format!("/opt/{}", dep.system.name));
    let opts = docker::deploy::DeployOptions {
        host,
        phase,
        dir,
        dry_run,
    };
    docker::deploy::run(&dep, &opts).map_err(Failure::from)
}

/// A check's outcome as an exit code: all passed (0) or not (1).
fn checked(result: Result<bool, DockerError>) -> Result<(), Failure> {
    match result? {
        true => Ok(()),
        false => Err(Failure::Reported),
    }
}

/// Loads the model and its secrets for the Docker-facing commands. With
/// `fresh`, the output directory must hold exactly what the model renders
/// (so what runs is what was reviewed); `verify` skips that to check the
/// files as they are.
fn deployment(paths: &Paths, fresh: bool) -> Result<Deployment, Failure> {
    let system = load_valid(&paths.model)?;
    let source = paths.secret_source();
    let resolved = secrets::resolve(&system, &source, &[])?;
    if !resolved.changed.is_empty() {
        return Err(Failure::Io(format!(
            "secret(s) {} have no value in {} yet; run `lucid-gen all` first",
            resolved.changed.join(", "),
            paths.secrets.display()
        )));
    }
    let out_dir = std::path::absolute(&paths.out)
        .map_err(|e| Failure::Io(format!("cannot resolve {}: {e}", paths.out.display())))?;
    if fresh {
        let outputs = render::render(&system, &resolved.values)
            .map_err(|e| Failure::Io(format!("internal error: {e}")))?;
        let stale = write::compare(&out_dir, &write::with_manifest(outputs))
            .map_err(|e| Failure::Io(format!("cannot read {e}")))?;
        if !stale.is_empty() {
            for s in &stale {
                eprintln!("stale: {}", paths.out.join(&s.path).display());
            }
            eprintln!(
                "error: {} is not what the model produces; run `lucid-gen all` first",
                paths.out.display()
            );
            return Err(Failure::Reported);
        }
    }
    Ok(Deployment {
        system,
        secrets: resolved.values,
        out_dir,
    })
}

/// How diagnostics are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Json,
    Github,
}

/// The format `check`/`all --format` chose; every other command prints for
/// people.
static FORMAT: std::sync::OnceLock<Format> = std::sync::OnceLock::new();

/// Prints diagnostics: for people on stderr (coloured only on a terminal,
/// and not when `NO_COLOR` is set), or as JSON lines or GitHub Actions
/// annotations on stdout.
fn print_diagnostics(diagnostics: &[Diagnostic]) {
    use std::io::IsTerminal;
    let tool: Option<fn(&Diagnostic) -> String> = match FORMAT.get() {
        Some(Format::Json) => Some(diagnostic::render::json),
        Some(Format::Github) => Some(diagnostic::render::github),
        _ => None,
    };
    if let Some(render) = tool {
        for d in diagnostics {
            println!("{}", render(d));
        }
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for d in diagnostics {
        eprintln!("{}", diagnostic::render::human(d, color));
    }
}

/// Loads and validates the model, printing every diagnostic.
fn load_valid(model_dir: &Path) -> Result<System, Failure> {
    let loaded = match model::load_dir(model_dir) {
        Ok(loaded) => loaded,
        Err(LoadError::Io { path, error }) => {
            let help = if path == model_dir {
                "\n  help: pass the model directory with --model DIR"
            } else {
                ""
            };
            return Err(Failure::Io(format!(
                "cannot read model at {}: {error}{help}",
                path.display()
            )));
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

/// Warnings about where secrets are kept: a store or secret-bearing file
/// that others can read (for a mounted secret file, its directory), or
/// that git tracks.
fn secret_hygiene(paths: &Paths, system: &System) -> Vec<Diagnostic> {
    // (file, the path whose mode keeps others out, the mode that does)
    let mut files = vec![(paths.secrets.clone(), paths.secrets.clone())];
    for out in render::output_paths(system) {
        if out.origin.secret_bearing(system) {
            let file = paths.out.join(&out.path);
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

fn check(paths: &Paths, format: Format) -> Result<(), Failure> {
    let _ = FORMAT.set(format);
    let system = load_valid(&paths.model)?;
    print_diagnostics(&secret_hygiene(paths, &system));
    let published = system
        .services
        .iter()
        .flat_map(|s| &s.ports)
        .filter(|p| p.host.is_some())
        .count();
    let summary = format!(
        "model {} is valid: {} services in {} phases, {} networks on {} planes, {} published ports, {} secrets",
        paths.model.display(),
        system.services.len(),
        system.phases.len(),
        system.networks.len(),
        system.planes.len(),
        published,
        system.secrets.len()
    );
    // With `--format json` or `github`, stdout holds only diagnostics.
    match format {
        Format::Human => println!("{summary}"),
        Format::Json | Format::Github => eprintln!("{summary}"),
    }
    Ok(())
}

/// The lock `taken` at `path`, or why not.
fn take_lock(taken: std::io::Result<Option<RunLock>>, path: &Path) -> Result<RunLock, Failure> {
    match taken {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(Failure::Io(format!(
            "another lucid-gen is running here (it holds a lock on {}); wait for it to finish",
            path.display()
        ))),
        Err(e) => Err(Failure::Io(format!(
            "cannot take lock {}: {e}",
            path.display()
        ))),
    }
}

fn all(paths: &Paths, check_only: bool, rotate: &[String]) -> Result<(), Failure> {
    paths.check_disjoint()?;
    let system = load_valid(&paths.model)?;
    // Two runs at once would race on the store and the output files: one
    // lock beside the store, one on the output directory itself (so runs
    // with different stores cannot interleave in one output either).
    let _locks = if check_only {
        None
    } else {
        let store_lock = paths.lock_path();
        let store = take_lock(RunLock::try_acquire(&store_lock), &store_lock)?;
        let out = take_lock(RunLock::try_acquire_dir(&paths.out), &paths.out)?;
        Some((store, out))
    };
    let source = paths.secret_source();
    let resolved = secrets::resolve(&system, &source, rotate)?;
    let outputs = render::render(&system, &resolved.values)
        .map_err(|e| Failure::Io(format!("internal error: {e}")))?;
    let outputs = write::with_manifest(outputs);
    let out = &paths.out;
    if check_only {
        let mut stale =
            write::compare(out, &outputs).map_err(|e| Failure::Io(format!("cannot read {e}")))?;
        skip_unknowable_secrets(&source, &mut stale);
        if stale.is_empty() {
            println!(
                "{}: all {} files are up to date",
                out.display(),
                outputs.len()
            );
            return Ok(());
        }
        print!("{}", write::render_diff(out, &stale));
        report_to_github(out, &stale, outputs.len())?;
        eprintln!(
            "error: {} of {} files in {} are stale; run `lucid-gen all` to rewrite them",
            stale.len(),
            outputs.len(),
            out.display()
        );
        return Err(Failure::Reported);
    }
    // The new store is written beside the old one first and put in place
    // only once the output is: a failed run leaves the store as it was; a
    // crash in between leaves output the old store re-renders.
    let store = resolved
        .stage(&source)
        .map_err(|e| Failure::Io(e.to_string()))?;
    let summary = write::apply(out, &outputs).map_err(|e| Failure::Io(e.to_string()))?;
    if let Some(store) = store {
        store.commit().map_err(|e| {
            Failure::Io(format!(
                "{e}\n  help: {} was written with new secret values the store lacks; fix the path and run again",
                out.display()
            ))
        })?;
    }
    if !resolved.changed.is_empty() && matches!(source, SecretSource::Store(_)) {
        println!(
            "generated {} secret(s): {} (kept in {})",
            resolved.changed.len(),
            resolved.changed.join(", "),
            paths.secrets.display()
        );
    }
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

/// Secret-bearing files `--check` cannot know without a store are left
/// out, with a note.
fn skip_unknowable_secrets(source: &SecretSource, stale: &mut Vec<write::Stale>) {
    if let SecretSource::Store(store) = source {
        if let Some(note) = write::skip_unknowable_secrets(stale, store) {
            eprintln!("note: {note}");
        }
    }
}

/// With `--format github`, one annotation per stale file; with
/// GITHUB_STEP_SUMMARY set, the diff (secrets hidden) in the job summary.
fn report_to_github(out: &Path, stale: &[write::Stale], total: usize) -> Result<(), Failure> {
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty());
    let annotate = FORMAT.get() == Some(&Format::Github);
    let lines = write::github_report(
        out,
        stale,
        total,
        annotate,
        summary.as_deref().map(Path::new),
    )
    .map_err(|e| Failure::Io(format!("cannot write the job summary: {e}")))?;
    lines.iter().for_each(|line| println!("{line}"));
    Ok(())
}

fn rotate(paths: &Paths, name: String) -> Result<(), Failure> {
    if paths.insecure_secret_seed.is_some() {
        return Err(Failure::Usage(
            "rotate works on the secret store; drop --insecure-secret-seed".into(),
        ));
    }
    all(paths, false, &[name])
}
