//! The `lucid-gen` command line: parses arguments and dispatches to one
//! function per command. Everything else lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

mod cli;
use cli::{Cli, Command, Format, GraphFormat, ImportArgs, Paths, SaveArgs, SecretsCommand, Target};

use lucid_gen::diagnostic::{self, Diagnostic, Kind};
use lucid_gen::docker::{self, Deployment, DockerError};
use lucid_gen::model::{self, LoadError};
use lucid_gen::render::OutputOrigin;
use lucid_gen::secrets::{self, SecretError, SecretSource, WhenMissing};
use lucid_gen::system::System;
use lucid_gen::write::{self, RunLock};
use lucid_gen::{render, validate};

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
            SecretError::Unknown(_)
            | SecretError::Missing { .. }
            | SecretError::NotRotatable(_) => Failure::Usage(message),
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
        Command::Verify { paths, source } => verify(&paths, &source),
        Command::Build {
            paths,
            phase,
            platform,
            source,
            dry_run,
            jobs,
        } => build(
            &paths,
            docker::build::BuildOptions {
                phase,
                platform,
                source,
                dry_run,
                jobs: jobs.max(1),
            },
        ),
        Command::Up {
            paths,
            target,
            stand_ins,
        } => up(&paths, target, stand_ins),
        Command::Test {
            paths,
            project,
            format,
            junit,
        } => test(&paths, project, format, junit),
        Command::Down {
            paths,
            target,
            volumes,
        } => down(&paths, target, volumes),
        Command::Deploy {
            paths,
            host,
            phase,
            dir,
            dry_run,
        } => deploy(&paths, host, phase, dir, dry_run),
        Command::Save(args) => save(&args),
        Command::Load { dir, dry_run } => {
            docker::save::load(&docker::save::LoadOptions { dir, dry_run }).map_err(Failure::from)
        }
        Command::Import(args) => import(&args),
        Command::Schema => {
            print!("{}", lucid_gen::schema::json_schema());
            Ok(())
        }
        Command::Graph { paths, format } => graph(&paths, format),
        Command::Plan { paths, target } => plan(&paths, target),
        Command::Completions { shell } => completions(shell),
        Command::Man => Ok(clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?),
    }
}

fn verify(paths: &Paths, source: &std::path::Path) -> Result<(), Failure> {
    let dep = deployment(paths, false)?;
    checked(docker::verify::run(&dep, source))
}

fn build(paths: &Paths, opts: docker::build::BuildOptions) -> Result<(), Failure> {
    docker::build::run(&deployment(paths, true)?, &opts).map_err(Failure::from)
}

fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "lucid-gen", &mut std::io::stdout());
    Ok(())
}

fn up(paths: &Paths, target: Target, stand_ins: bool) -> Result<(), Failure> {
    let opts = docker::up::UpOptions {
        phase: target.phase,
        stand_ins,
        project: target.project,
    };
    docker::up::run(&deployment(paths, true)?, &opts).map_err(Failure::from)
}

fn down(paths: &Paths, target: Target, volumes: bool) -> Result<(), Failure> {
    let opts = docker::down::DownOptions {
        phase: target.phase,
        volumes,
        project: target.project,
    };
    docker::down::run(&deployment(paths, false)?, &opts).map_err(Failure::from)
}

/// `test`: checks of the running system, as a table, JSON lines and/or
/// a JUnit report.
fn test(
    paths: &Paths,
    project: Option<String>,
    format: Format,
    junit: Option<PathBuf>,
) -> Result<(), Failure> {
    let opts = docker::probe::TestOptions {
        project,
        json: format == Format::Json,
        junit,
    };
    checked(docker::probe::run(&deployment(paths, true)?, &opts))
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

/// `save`: the images of a fresh output directory, as tarballs.
fn save(args: &SaveArgs) -> Result<(), Failure> {
    let opts = docker::save::SaveOptions {
        phase: args.phase.clone(),
        dir: args.dir.clone(),
        all: args.all,
        dry_run: args.dry_run,
    };
    docker::save::save(&deployment(&args.paths, true)?, &opts).map_err(Failure::from)
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
    let variants = system.variant_systems();
    Ok(Deployment {
        system: chosen_variant(system, &variants, paths.variant.as_deref())?,
        secrets: resolved.values,
        out_dir,
        variants,
    })
}

/// The system as the Docker commands run it: the variant `--variant`
/// names, or the first; the model itself when it has none.
fn chosen_variant(
    system: lucid_gen::system::System,
    variants: &[lucid_gen::system::System],
    name: Option<&str>,
) -> Result<lucid_gen::system::System, Failure> {
    let names: Vec<&str> = system.variants.iter().map(|v| v.name.as_str()).collect();
    match name {
        None => Ok(variants.first().cloned().unwrap_or(system)),
        Some(name) => match names.iter().position(|n| *n == name) {
            Some(i) => Ok(variants[i].clone()),
            None if names.is_empty() => Err(Failure::Usage(format!(
                "--variant {name}: the model declares no variants"
            ))),
            None => Err(Failure::Usage(format!(
                "unknown variant `{name}`; the model's variants are: {}",
                names.join(", ")
            ))),
        },
    }
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

/// Without a store (a fresh clone, CI) `--check` leaves secret-bearing
/// files unchecked, so an operator's value is not needed there either.
fn when_missing(source: &SecretSource, check_only: bool) -> WhenMissing {
    match source {
        SecretSource::Store(store) if check_only && !store.exists() => WhenMissing::Placeholder,
        _ => WhenMissing::Refuse,
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
    let when_missing = when_missing(&source, check_only);
    let resolved = secrets::resolve_with(&system, &source, rotate, when_missing)?;
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

/// `import`: compose files → a model directory, and the report (exit 1
/// when the model still has errors `check` refuses).
fn import(args: &ImportArgs) -> Result<(), Failure> {
    let opts = lucid_gen::import::ImportOptions {
        files: args.files.clone(),
        model: args.model.clone(),
        force: args.force,
        fill_known: !args.no_fill,
    };
    let report = lucid_gen::import::run(&opts).map_err(|e| match e.exit_code() {
        2 => Failure::Io(e.to_string()),
        _ => Failure::Failed(e.to_string()),
    })?;
    match args.format {
        cli::ReportFormat::Json => println!("{}", report.json()),
        cli::ReportFormat::Human => print!("{}", report.human()),
    }
    match report.has_errors() {
        true => Err(Failure::Reported),
        false => Ok(()),
    }
}

/// `graph`: the valid model drawn as Mermaid or Graphviz dot.
fn graph(paths: &Paths, format: GraphFormat) -> Result<(), Failure> {
    let system = load_valid(&paths.model)?;
    let text = match format {
        GraphFormat::Mermaid => lucid_gen::render::graph::mermaid(&system),
        GraphFormat::Dot => lucid_gen::render::graph::dot(&system),
    };
    print!("{text}");
    Ok(())
}

/// `plan`: what `up` would change; exit 1 when anything would.
fn plan(paths: &Paths, target: Target) -> Result<(), Failure> {
    let dep = deployment(paths, true)?;
    let opts = docker::changes::PlanOptions {
        phase: target.phase,
        project: target.project,
    };
    checked(docker::changes::run(&dep, &opts))
}
