//! The `lucid-gen` command line: parses arguments (their shape is
//! `cli.rs`), dispatches to one library function per command and prints
//! what it returns. The pipeline itself is the library's
//! (`generate`, `workspace`, `docker`), so tests and benchmarks call the
//! same code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

mod cli;
use cli::{Cli, Command, Format, GraphFormat, SecretsCommand};

use lucid_gen::diagnostic::{self, Diagnostic};
use lucid_gen::docker;
use lucid_gen::failure::Failure;
use lucid_gen::generate::{self, Mode, Outcome};
use lucid_gen::workspace::{Freshness, Paths, Workspace};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err((failure, format)) => {
            match &failure {
                Failure::InvalidModel { diagnostics } => print_diagnostics(diagnostics, format),
                Failure::StaleOutput { files, .. } => {
                    files
                        .iter()
                        .for_each(|f| eprintln!("stale: {}", f.display()));
                }
                _ => {}
            }
            if let Some(message) = failure.message() {
                eprintln!("error: {message}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Runs the command; a failure comes back with the format its
/// diagnostics are printed in.
fn try_main(cli: Cli) -> Result<(), (Failure, Format)> {
    let format = match &cli.command {
        Command::All { format, .. } | Command::Check { format, .. } => *format,
        _ => Format::Human,
    };
    dispatch(cli.command).map_err(|f| (f, format))
}

/// The commands that read and write the model's files.
fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::All {
            paths,
            check,
            format,
        } => all(&paths.settings(), check, format, &[]),
        Command::Check { paths, format } => check(&paths.settings(), format),
        Command::Secrets {
            command: SecretsCommand::Rotate { name, paths },
        } => {
            let paths = paths.settings();
            if paths.insecure_secret_seed.is_some() {
                return Err(Failure::RotateSeeded);
            }
            all(&paths, false, Format::Human, &[name])
        }
        Command::Schema => {
            print!("{}", lucid_gen::schema::json_schema());
            Ok(())
        }
        Command::Graph { paths, format } => {
            let valid = generate::load_valid(&paths.settings().model)?;
            print_diagnostics(&valid.warnings, Format::Human);
            print!(
                "{}",
                match format {
                    GraphFormat::Mermaid => lucid_gen::render::graph::mermaid(&valid.system),
                    GraphFormat::Dot => lucid_gen::render::graph::dot(&valid.system),
                }
            );
            Ok(())
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "lucid-gen", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => Ok(clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?),
        docker_command => engine(docker_command),
    }
}

/// The commands that hand the generated files to Docker's tooling, on
/// this machine's engine or a model host's (`--host`).
fn engine(command: Command) -> Result<(), Failure> {
    let on = |ws: &Workspace, host: &Option<String>| docker::deploy::target(ws, host.as_deref());
    match command {
        Command::Verify { paths, source } => checked(docker::verify::run(
            &load(&paths.settings(), Freshness::AsIs)?,
            &source,
        )),
        Command::Build(args) => Ok(docker::build::run(
            &fresh(&args.paths.settings())?,
            &args.options(),
        )?),
        Command::Up(args) | Command::Deploy(args) => {
            let (ws, opts) = (fresh(&args.paths.settings())?, args.options());
            let t = on(&ws, &args.target.host)?;
            let plan = docker::up::plan(&ws, &t, &opts)?;
            Ok(docker::steps::show_or_run(&plan, args.dry_run, &ws, &t)?)
        }
        Command::Rollback(args) => {
            let ws = load(&args.paths.settings(), Freshness::AsIs)?;
            let t = on(&ws, &Some(args.host))?;
            let plan = docker::deploy::rollback_plan(&t, args.to);
            Ok(docker::steps::show_or_run(&plan, args.dry_run, &ws, &t)?)
        }
        Command::Test(args) => {
            let ws = fresh(&args.paths.settings())?;
            let t = on(&ws, &args.host)?;
            checked(docker::checks::run(&ws, &t, &args.options()))
        }
        Command::Down(args) => {
            let ws = load(&args.paths.settings(), Freshness::AsIs)?;
            let t = on(&ws, &args.target.host)?;
            let plan = docker::down::plan(&ws, &t, &args.options())?;
            Ok(docker::steps::show_or_run(&plan, args.dry_run, &ws, &t)?)
        }
        Command::Save(args) => Ok(docker::save::save(
            &fresh(&args.paths.settings())?,
            &args.options(),
        )?),
        Command::Load { dir, dry_run } => Ok(docker::save::load(&docker::save::LoadOptions {
            dir,
            dry_run,
        })?),
        Command::Plan { paths, target } => {
            let ws = fresh(&paths.settings())?;
            let on = on(&ws, &target.host)?;
            checked(docker::changes::run(&ws, &on, &target.plan_options()))
        }
        _ => unreachable!("a model command reached the Docker dispatch"),
    }
}

/// The workspace of a Docker-facing command, its warnings printed.
fn load(paths: &Paths, freshness: Freshness) -> Result<Workspace, Failure> {
    let ws = Workspace::load(paths, freshness)?;
    print_diagnostics(&ws.warnings, Format::Human);
    Ok(ws)
}

/// The workspace, refused when the output is stale (what runs is what
/// was reviewed).
fn fresh(paths: &Paths) -> Result<Workspace, Failure> {
    load(paths, Freshness::Required)
}

/// A check's outcome as an exit code: all passed (0) or not (1).
fn checked(result: Result<bool, docker::DockerError>) -> Result<(), Failure> {
    match result? {
        true => Ok(()),
        false => Err(Failure::ChecksFailed),
    }
}

/// Prints diagnostics: for people on stderr (coloured only on a terminal,
/// and not when `NO_COLOR` is set), or as JSON lines or GitHub Actions
/// annotations on stdout.
fn print_diagnostics(diagnostics: &[Diagnostic], format: Format) {
    let tool: Option<fn(&Diagnostic) -> String> = match format {
        Format::Json => Some(diagnostic::render::json),
        Format::Github => Some(diagnostic::render::github),
        Format::Human => None,
    };
    if let Some(render) = tool {
        diagnostics.iter().for_each(|d| println!("{}", render(d)));
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for d in diagnostics {
        eprintln!("{}", diagnostic::render::human(d, color));
    }
}

fn check(paths: &Paths, format: Format) -> Result<(), Failure> {
    let report = generate::check(paths)?;
    print_diagnostics(&report.warnings, format);
    // With `--format json` or `github`, stdout holds only diagnostics.
    match format {
        Format::Human => println!("{}", report.summary(&paths.model)),
        Format::Json | Format::Github => eprintln!("{}", report.summary(&paths.model)),
    }
    Ok(())
}

fn all(paths: &Paths, check: bool, format: Format, rotate: &[String]) -> Result<(), Failure> {
    let mode = if check { Mode::Check } else { Mode::Write };
    let report = generate::all(paths, mode, rotate)?;
    print_diagnostics(&report.warnings, format);
    let out = &paths.out;
    match report.outcome {
        Outcome::Checked { stale, note } => {
            if let Some(note) = note {
                eprintln!("note: {note}");
            }
            if stale.is_empty() {
                println!(
                    "{}: all {} files are up to date",
                    out.display(),
                    report.total
                );
                return Ok(());
            }
            print!("{}", lucid_gen::write::render_diff(out, &stale));
            let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty());
            let annotate = format == Format::Github;
            let summary = summary.as_deref().map(std::path::Path::new);
            for line in generate::github_report(out, &stale, report.total, annotate, summary)? {
                println!("{line}");
            }
            return Err(Failure::Stale {
                out: out.clone(),
                stale: stale.len(),
                total: report.total,
            });
        }
        Outcome::Written { summary, generated } => {
            if !generated.is_empty() {
                println!(
                    "generated {} secret(s): {} (kept in {})",
                    generated.len(),
                    generated.join(", "),
                    paths.secrets.display()
                );
            }
            println!("{}: {summary}", out.display());
        }
    }
    Ok(())
}
