//! The `lucid-gen` command line: parses arguments (their shape is
//! `cli.rs`), dispatches to one library function per command and prints
//! what it returns. The pipeline itself is the library's
//! (`generate`, `workspace`, `docker`), so tests and benchmarks call the
//! same code.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod show;
use cli::{Cli, Command, Format, GraphFormat, SecretsCommand, SwarmCommand};
use show::{all, check, print_diagnostics};

use lucid_gen::docker;
use lucid_gen::failure::Failure;
use lucid_gen::generate;
use lucid_gen::workspace::{Freshness, Paths, Workspace};

fn main() -> ExitCode {
    lucid_gen::allocator::tune();
    let cli = Cli::parse();
    let outcome = try_main(cli);
    if let Some(error) = lucid_gen::stdout::failure() {
        eprintln!("error: writing to standard output: {error}");
        return ExitCode::from(2);
    }
    match outcome {
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
        Command::Import(args) => {
            let report = lucid_gen::import::run(&args.options())?;
            lucid_gen::out!("{}", report.shown(args.format == cli::ReportFormat::Json));
            match report.has_errors() {
                true => Err(Failure::ImportedModelInvalid),
                false => Ok(()),
            }
        }
        Command::Schema => {
            lucid_gen::out!("{}", lucid_gen::schema::json_schema());
            Ok(())
        }
        Command::Graph { paths, format } => {
            let valid = generate::load_valid(&paths.settings().model)?;
            print_diagnostics(&valid.warnings, Format::Human);
            let draw = match format {
                GraphFormat::Mermaid => lucid_gen::render::graph::mermaid,
                GraphFormat::Dot => lucid_gen::render::graph::dot,
            };
            lucid_gen::out!("{}", draw(&valid.system));
            Ok(())
        }
        Command::Completions { shell } => {
            lucid_gen::stdout::write_bytes(&cli::completion_script(shell));
            Ok(())
        }
        Command::Man => {
            lucid_gen::stdout::write_bytes(&cli::man_page()?);
            Ok(())
        }
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
        Command::Swarm { command } => swarm(command),
        _ => unreachable!("a model command reached the Docker dispatch"),
    }
}

/// `swarm plan|up|test|down`, on the swarm manager the model or the
/// options name.
fn swarm(command: SwarmCommand) -> Result<(), Failure> {
    let (on, opts) = command.selection();
    let ws = match &command {
        SwarmCommand::Down(_) => load(&on.paths.settings(), Freshness::AsIs)?,
        _ => fresh(&on.paths.settings())?,
    };
    let t = docker::swarm::target(&ws, on.host.as_deref(), on.local)?;
    let (plan, dry_run) = match &command {
        SwarmCommand::Plan(_) => return checked(docker::swarm::changes(&ws, &t, &opts)),
        SwarmCommand::Test(_) => return checked(docker::swarm::test(&ws, &t, &opts)),
        SwarmCommand::Up(a) => (docker::swarm::up_plan(&ws, &t, &opts)?, a.dry_run),
        SwarmCommand::Down(a) => (docker::swarm::down_plan(&ws, &t, &opts)?, a.dry_run),
    };
    Ok(docker::steps::show_or_run(&plan, dry_run, &ws, &t)?)
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
