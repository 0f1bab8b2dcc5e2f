//! The command line's shape: every subcommand, flag and help text, as clap
//! derive types. `main.rs` dispatches on them; `completions` and `man`
//! generate from them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lucid_gen::docker;

pub(crate) const EXAMPLES: &str = "\
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
  lucid-gen up --host pi --dry-run   show how the system would be deployed to host `pi`
  lucid-gen up --host pi             deploy to host `pi` over SSH (alias: deploy --host pi)
  lucid-gen rollback --host pi       go back to the release before the current one
  lucid-gen save --dir images        every built image as a checksummed tarball
  lucid-gen load --dir images        verify every checksum, then load the images
  lucid-gen graph > system.mmd       draw phases, planes, networks and dependencies
  lucid-gen plan                     what `up` would create, recreate or remove
  lucid-gen import compose.yaml     a model from existing compose files, with a report
  lucid-gen schema > model.schema.json
                                     JSON Schema of a model file, for editors

Exit codes: 0 fine; 1 invalid model, stale output, a failed check or Docker
step; 2 usage error (unknown phase, secret, bad --host ...) or I/O error.";

/// Generates env files, compose files and Dockerfiles for a multi-service
/// Docker system from one typed, validated service model.
#[derive(Parser)]
#[command(name = "lucid-gen", version, after_help = EXAMPLES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Validate the model and render every file into the output directory.
    All {
        #[command(flatten)]
        paths: PathArgs,
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
        paths: PathArgs,
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
    /// every Dockerfile (hand-written ones too).
    Verify {
        #[command(flatten)]
        paths: PathArgs,
        /// Root of the source tree the build contexts are relative to,
        /// where hand-written Dockerfiles (`build.dockerfile`) lie.
        #[arg(long, default_value = ".", value_name = "DIR")]
        source: PathBuf,
    },
    /// Build the images with Docker's builder: base images first, then
    /// phase by phase, parallel within a phase.
    Build(BuildArgs),
    /// Start the system phase by phase with `docker compose up -d --wait`.
    Up(UpArgs),
    /// Check the running system from inside: declared dependencies are
    /// reachable, isolated planes are not, env and secrets are as
    /// generated, no image holds a secret.
    Test(TestArgs),
    /// Remove every container and network `up` created.
    Down(DownArgs),
    /// Deploy to a model host over SSH: `up --host NAME` (same options).
    #[command(mut_arg("host", |a| a.required(true)))]
    Deploy(UpArgs),
    /// Go back to an earlier release on a host (default: the one before
    /// the current) and list the releases there.
    Rollback(RollbackArgs),
    /// Write every image the model builds to a directory as gzip
    /// tarballs, with SHA256SUMS and a JSON manifest: images for a host
    /// without a registry (`load` reads them there).
    Save(SaveArgs),
    /// Check every tarball in a directory `save` wrote against its
    /// SHA256SUMS (nothing is loaded if one is missing or corrupted), then
    /// `docker load` each.
    Load {
        /// The directory `save` wrote.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Verify the checksums, then print the load commands without
        /// running them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Turn existing compose files into a model directory, and report what
    /// was mapped, what became a secret, what the model cannot express
    /// (with file and line) and what `check` says about the result.
    Import(ImportArgs),
    /// Print the JSON Schema of a model file, for editors: completion,
    /// hover docs and inline errors while writing the model.
    Schema,
    /// Draw the system: phases, planes, networks, services, dependencies,
    /// bridges and published ports.
    Graph {
        #[command(flatten)]
        paths: PathArgs,
        /// `mermaid` (rendered by GitHub and many editors) or `dot`
        /// (Graphviz: `lucid-gen graph --format dot | dot -Tsvg`).
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Compare the generated files with the running containers and print,
    /// per service, what `up` would do: create, recreate (and why),
    /// unchanged or remove. Exit 0 when nothing would change, 1 otherwise.
    Plan {
        #[command(flatten)]
        paths: PathArgs,
        #[command(flatten)]
        target: Selection,
    },
    /// Deploy, check, compare or remove a swarm-mode system (`system.mode:
    /// swarm`) as one Docker Swarm stack per phase, on a swarm manager: the
    /// model's manager host over SSH, or this machine's engine.
    Swarm {
        #[command(subcommand)]
        command: SwarmCommand,
    },
    /// Print a shell completion script, e.g.
    /// `lucid-gen completions bash > ~/.local/share/bash-completion/completions/lucid-gen`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g.
    /// `lucid-gen man > ~/.local/share/man/man1/lucid-gen.1`.
    Man,
}

/// `swarm`'s subcommands.
#[derive(Subcommand)]
pub(crate) enum SwarmCommand {
    /// Compare each stack file with the services the swarm runs and print,
    /// per service, what `swarm up` would do: create, update (and why),
    /// unchanged or remove. Exit 0 when nothing would change, 1 otherwise.
    Plan(SwarmArgs),
    /// Deploy each phase's stack in order (`docker stack deploy
    /// --resolve-image never --prune`) and wait until every service runs
    /// all its replicas, healthy; a failed deploy is rolled back stack-wide.
    Up(SwarmUpArgs),
    /// Check the running stacks from inside their tasks: every service at
    /// its replicas, environment, secrets readable as declared,
    /// reachability and isolation.
    Test(SwarmArgs),
    /// Remove the stacks and the networks, secrets and configs they
    /// created, and wait until they are gone.
    Down(SwarmDownArgs),
}

/// Where and what a `swarm` subcommand works on.
#[derive(Args)]
pub(crate) struct SwarmArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    /// Only this phase's stack (default: every phase, in order).
    #[arg(long, value_name = "PHASE")]
    pub(crate) phase: Option<String>,
    /// A swarm manager among the model's hosts, over SSH (default: the
    /// model's first manager host, or this machine's engine without one).
    #[arg(long, value_name = "MANAGER", conflicts_with = "local")]
    pub(crate) host: Option<String>,
    /// This machine's engine, which must already be a swarm manager (a
    /// swarm is never initialised on your behalf without `swarm up
    /// --init`).
    #[arg(long)]
    pub(crate) local: bool,
}

/// `swarm up`'s arguments.
#[derive(Args)]
pub(crate) struct SwarmUpArgs {
    #[command(flatten)]
    pub(crate) on: SwarmArgs,
    /// Run a tiny stand-in image per service (same networks, ports,
    /// secrets, configs and health checks) instead of the real images.
    #[arg(long)]
    pub(crate) stand_ins: bool,
    /// When this machine's engine is in no swarm, make it a one-node swarm
    /// first (on 127.0.0.1 only, its node labelled with every placement's
    /// labels), which `swarm down` leaves again. An engine already in a
    /// swarm is left as it is. Only with the local engine.
    #[arg(long, conflicts_with = "host")]
    pub(crate) init: bool,
    /// Print the plan (checks and commands, in order) without running
    /// anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `swarm down`'s arguments.
#[derive(Args)]
pub(crate) struct SwarmDownArgs {
    #[command(flatten)]
    pub(crate) on: SwarmArgs,
    /// Print the plan without running anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl SwarmCommand {
    /// Where the subcommand works, and its options.
    pub(crate) fn selection(&self) -> (&SwarmArgs, docker::swarm::SwarmOptions) {
        let (on, stand_ins, init) = match self {
            SwarmCommand::Plan(a) | SwarmCommand::Test(a) => (a, false, false),
            SwarmCommand::Up(a) => (&a.on, a.stand_ins, a.init),
            SwarmCommand::Down(a) => (&a.on, false, false),
        };
        let opts = docker::swarm::SwarmOptions {
            phase: on.phase.clone(),
            stand_ins,
            init,
        };
        (on, opts)
    }
}

/// `build`'s arguments.
#[derive(Args)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    /// Build only this phase's images (and the base images).
    #[arg(long, value_name = "PHASE")]
    pub(crate) phase: Option<String>,
    /// Target platform; default: the model's.
    #[arg(long, value_name = "OS/ARCH")]
    pub(crate) platform: Option<String>,
    /// Root of the source tree the build contexts are relative to.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub(crate) source: PathBuf,
    /// Print the build commands without running them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Builds to run at once within a phase.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) jobs: usize,
}

/// `up`'s arguments.
#[derive(Args)]
pub(crate) struct UpArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    #[command(flatten)]
    pub(crate) target: Selection,
    /// Run a tiny stand-in image per service (same networks, ports,
    /// env files, dependencies and health checks) instead of the real
    /// images: a smoke test of the topology.
    #[arg(long)]
    pub(crate) stand_ins: bool,
    /// Print the plan (checks and commands, in order) without running
    /// anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `test`'s arguments.
#[derive(Args)]
pub(crate) struct TestArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    /// Compose project prefix used with `up --project`.
    #[arg(long, value_name = "NAME", value_parser = project_name)]
    pub(crate) project: Option<String>,
    /// Check the system on this model host (`hosts:`) over SSH.
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,
    /// `human`: a table; `json`: one JSON object per check and line on
    /// stdout (`kind`, `from`, `target`, `expect`, `ok`, `detail`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub(crate) format: ReportFormat,
    /// Also write the checks as a JUnit XML report (one test suite per
    /// check family), the format CI dashboards read.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
}

/// `down`'s arguments.
#[derive(Args)]
pub(crate) struct DownArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    #[command(flatten)]
    pub(crate) target: Selection,
    /// Remove the named volumes too (their data is lost).
    #[arg(long)]
    pub(crate) volumes: bool,
    /// Print the plan without running anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `rollback`'s arguments.
#[derive(Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    /// The host, as named under `hosts:` in the model.
    #[arg(long, value_name = "NAME")]
    pub(crate) host: String,
    /// The release to go back to (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub(crate) to: Option<u32>,
    /// Print the plan without connecting.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `save`'s arguments.
#[derive(Args)]
pub(crate) struct SaveArgs {
    #[command(flatten)]
    pub(crate) paths: PathArgs,
    /// Where the tarballs, SHA256SUMS and images.json are written.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Only this phase's images (and the base images).
    #[arg(long, value_name = "PHASE")]
    pub(crate) phase: Option<String>,
    /// Also the published images the model runs, not only the built ones.
    #[arg(long)]
    pub(crate) all: bool,
    /// Print the commands without running them.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `import`'s arguments.
#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The compose files, in the order `docker compose -f` takes them;
    /// each one that defines services becomes a phase.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// The model directory to write.
    #[arg(long, default_value = "model", value_name = "DIR")]
    pub(crate) model: PathBuf,
    /// Replace a model already in that directory.
    #[arg(long)]
    pub(crate) force: bool,
    /// Do not fill in health checks for well-known images (postgres,
    /// mysql, mariadb, redis, mongo, nginx).
    #[arg(long)]
    pub(crate) no_fill: bool,
    /// `human`: the report for people; `json`: one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub(crate) format: ReportFormat,
}

/// How `import` and `test` print their reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    Human,
    Json,
}

/// How `graph` draws the system.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    Mermaid,
    Dot,
}

/// Which part of the system, under which compose project names.
#[derive(Args)]
pub(crate) struct Selection {
    /// Only this phase (default: every phase, in order).
    #[arg(long, value_name = "PHASE")]
    pub(crate) phase: Option<String>,
    /// Compose project prefix (`NAME-<phase>`); default: the names in the
    /// compose files.
    #[arg(long, value_name = "NAME", value_parser = project_name)]
    pub(crate) project: Option<String>,
    /// A model host (`hosts:`) to work on over SSH instead of this
    /// machine's engine.
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,
}

/// A `--project` prefix Compose accepts as a project name (lowercase
/// letters, digits, `-` and `_`, starting with a letter or digit), so a
/// bad one is a usage error before anything starts.
pub(crate) fn project_name(name: &str) -> Result<String, String> {
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
pub(crate) enum SecretsCommand {
    /// Replace one secret with a new random value and rewrite the files
    /// that hold it.
    Rotate {
        /// The secret's name, as declared under `secrets:` in the model.
        name: String,
        #[command(flatten)]
        paths: PathArgs,
    },
}

#[derive(Args)]
pub(crate) struct PathArgs {
    /// Directory holding the model's *.yaml files.
    #[arg(long, default_value = "model", value_name = "DIR")]
    pub(crate) model: PathBuf,
    /// Directory the generated files are written to.
    #[arg(long, default_value = "generated", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Secret store: generated values kept between runs (mode 0600,
    /// never commit it).
    #[arg(long, default_value = ".lucid-gen/secrets.env", value_name = "FILE")]
    pub(crate) secrets: PathBuf,
    /// Derive secrets from this seed instead of the store. Deterministic
    /// output for snapshots and tests only: never for a real deployment.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub(crate) insecure_secret_seed: Option<u64>,
    /// The model's variant that `up`, `test`, `plan`, `down`, `build` and
    /// `deploy` use (default: the first one the model declares); `all`
    /// and `verify` always cover every variant.
    #[arg(long, value_name = "NAME")]
    pub(crate) variant: Option<String>,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
    Github,
}

impl PathArgs {
    /// The validated settings the library works from.
    pub(crate) fn settings(&self) -> lucid_gen::workspace::Paths {
        lucid_gen::workspace::Paths {
            model: self.model.clone(),
            out: self.out.clone(),
            secrets: self.secrets.clone(),
            insecure_secret_seed: self.insecure_secret_seed,
            variant: self.variant.clone(),
        }
    }
}

impl BuildArgs {
    pub(crate) fn options(&self) -> docker::build::BuildOptions {
        docker::build::BuildOptions {
            phase: self.phase.clone(),
            platform: self.platform.clone(),
            source: self.source.clone(),
            dry_run: self.dry_run,
            jobs: self.jobs.max(1),
        }
    }
}

impl UpArgs {
    pub(crate) fn options(&self) -> docker::up::UpOptions {
        docker::up::UpOptions {
            phase: self.target.phase.clone(),
            stand_ins: self.stand_ins,
            project: self.target.project.clone(),
        }
    }
}

impl TestArgs {
    pub(crate) fn options(&self) -> docker::checks::TestOptions {
        docker::checks::TestOptions {
            project: self.project.clone(),
            json: self.format == ReportFormat::Json,
            junit: self.junit.clone(),
        }
    }
}

impl DownArgs {
    pub(crate) fn options(&self) -> docker::down::DownOptions {
        docker::down::DownOptions {
            phase: self.target.phase.clone(),
            volumes: self.volumes,
            project: self.target.project.clone(),
        }
    }
}

impl SaveArgs {
    pub(crate) fn options(&self) -> docker::save::SaveOptions {
        docker::save::SaveOptions {
            phase: self.phase.clone(),
            dir: self.dir.clone(),
            all: self.all,
            dry_run: self.dry_run,
        }
    }
}

impl Selection {
    pub(crate) fn plan_options(&self) -> docker::changes::PlanOptions {
        docker::changes::PlanOptions {
            phase: self.phase.clone(),
            project: self.project.clone(),
        }
    }
}

impl ImportArgs {
    pub(crate) fn options(&self) -> lucid_gen::import::ImportOptions {
        lucid_gen::import::ImportOptions {
            files: self.files.clone(),
            model: self.model.clone(),
            force: self.force,
            fill_known: !self.no_fill,
        }
    }
}

/// The completion script `lucid-gen completions SHELL` prints.
///
/// clap_complete's bash script names the case arm of each subcommand after
/// a mangled binary name (`lucid__subcmd__gen__subcmd__up`) while its
/// dispatch sets `lucid__gen__subcmd__up`, so no option of any subcommand
/// ever completed (clap-rs/clap#6421, #6529). The arms are renamed to what
/// the dispatch sets; once clap is fixed this finds nothing to rename.
pub(crate) fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    const BIN: &str = "lucid-gen";
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    if shell != clap_complete::Shell::Bash {
        return script;
    }
    let mangled = format!("{}__", BIN.replace('-', "__subcmd__"));
    let dispatched = format!("{}__", BIN.replace('-', "__"));
    String::from_utf8_lossy(&script)
        .replace(&mangled, &dispatched)
        .into_bytes()
}

/// The manual page `lucid-gen man` prints. clap_mangen lists each
/// subcommand as a page of its own (`lucid-gen-up(1)`) that only exists
/// when every subcommand's page is rendered and installed; `man` prints
/// one page, so each is listed as the command it is (`lucid-gen up`) and
/// the section says where its options are.
pub(crate) fn man_page() -> std::io::Result<Vec<u8>> {
    use clap::CommandFactory;
    let command = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    let mut text = String::from_utf8_lossy(&page).into_owned();
    let names = command.get_subcommands().map(|s| s.get_name());
    for name in names.chain(["help"]) {
        let name = name.replace('-', "\\-");
        text = text.replace(
            &format!("\n{}\\-{name}(1)\n", "lucid\\-gen"),
            &format!("\n\\fBlucid\\-gen {name}\\fR\n"),
        );
    }
    let options =
        "Each command's options: \\fBlucid\\-gen\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR.\n";
    Ok(text
        .replacen(
            ".SH SUBCOMMANDS\n",
            &format!(".SH SUBCOMMANDS\n{options}"),
            1,
        )
        .into_bytes())
}
