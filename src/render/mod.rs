//! Rendering: a valid [`System`] and its secret values in, every generated
//! file out, as a map of path → text.
//!
//! Invariants: rendering does no I/O and is deterministic (same model and
//! secrets, same bytes); every file goes through an askama template in
//! `templates/`; every value is escaped for the syntax it lands in by
//! [`crate::escape`] before a template sees it.

pub mod bake;
mod compose;
pub mod delivery;
mod dockerfile;
pub mod dockerignore;
mod env;
pub mod graph;
pub mod hashed_password;
pub mod hashes;
pub mod lint;
pub mod probe;
pub mod standin_override;
pub mod workflow;

use std::path::{Path, PathBuf};

use crate::compose_files;
use crate::escape::{gitignore_path, Unrepresentable};
use crate::output::{self, OutputFile, Outputs, MANIFEST};
use crate::parallel;
use crate::secrets::SecretValues;
use crate::system::{Service, System};

pub use compose::stack::file_name as stack_file_name;
pub use compose::AFTER_UP_PROFILE;
pub use dockerfile::{build_dockerfile, dockerfile_path, DockerfileAt};
pub use probe::probe_command;

/// Why rendering failed. A valid model renders; these are the backstop
/// when validation missed a value (it is refused, never written changed).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {template} failed: {error}")]
    Template {
        template: &'static str,
        error: askama::Error,
    },
    #[error("secret `{0}` has no value")]
    MissingSecret(String),
    /// A secret's value (an operator's: generated ones always fit) that
    /// cannot stand where a config file's placeholder puts it. The value
    /// is never shown.
    #[error("secret `{secret}` cannot go into config file `{target}` of service `{service}`: its value (not shown) {why}\n  help: supply a value without that, or move the placeholder in the config file")]
    SecretInConfig {
        secret: String,
        service: String,
        target: String,
        why: &'static str,
    },
    /// Validation should have refused the value; rendering refuses it
    /// rather than writing something else.
    #[error("{what} cannot be written: {why}")]
    Unrepresentable { what: String, why: &'static str },
}

/// Maps an escaper's refusal to a [`RenderError`] naming the value.
fn refused(what: impl FnOnce() -> String) -> impl FnOnce(Unrepresentable) -> RenderError {
    move |Unrepresentable(why)| RenderError::Unrepresentable { what: what(), why }
}

/// Renders every file of `system`.
pub fn render(system: &System, secrets: &SecretValues) -> Result<Outputs, RenderError> {
    let mut collected = Collect(Outputs::new());
    render_to(system, secrets, &mut collected)?;
    Ok(collected.0)
}

/// Where [`render_to`] hands the files it renders.
pub trait Sink {
    type Error: From<RenderError>;
    /// What a large file is rendered into as it is made (a compose file:
    /// 16 MB at 10,000 services), so that its text is never held whole.
    /// Rendered on a worker thread.
    type Stream: Stream;
    /// Takes one rendered file.
    fn put(&mut self, path: PathBuf, file: OutputFile) -> Result<(), Self::Error>;
    /// A stream for the public file `path`.
    fn open_stream(&mut self, path: &Path) -> Result<Self::Stream, Self::Error>;
    /// Takes back the stream for `path`, its file wholly rendered.
    fn close_stream(&mut self, path: PathBuf, stream: Self::Stream) -> Result<(), Self::Error>;
}

/// A file being rendered piece by piece.
pub trait Stream: std::fmt::Write + Send {
    /// Whether a write failed: the sink's `close_stream` says why.
    fn failed(&self) -> bool;
}

impl Stream for String {
    fn failed(&self) -> bool {
        false
    }
}

/// What rendering into `stream` came to: a failed write is the sink's
/// to report (when the stream is closed), anything else is rendering's.
fn streamed<S: Stream>(rendered: Result<(), RenderError>, stream: &S) -> Result<(), RenderError> {
    match rendered {
        Err(_) if stream.failed() => Ok(()),
        other => other,
    }
}

/// A [`Sink`] that keeps every file.
struct Collect(Outputs);

impl Sink for Collect {
    type Error = RenderError;
    type Stream = String;
    fn put(&mut self, path: PathBuf, file: OutputFile) -> Result<(), RenderError> {
        self.0.insert(path, file);
        Ok(())
    }
    fn open_stream(&mut self, _: &Path) -> Result<String, RenderError> {
        Ok(String::new())
    }
    fn close_stream(&mut self, path: PathBuf, text: String) -> Result<(), RenderError> {
        self.put(path, output::public(text))
    }
}

/// Services whose Dockerfiles one rendering job renders.
const DOCKERFILES_PER_JOB: usize = 256;

/// One independent piece of rendering: one large file rendered into a
/// stream as it is made, or a few small files rendered whole.
enum Job<'p> {
    Streamed(Streamed<'p>),
    Files(Files),
}

/// A file rendered into a stream.
enum Streamed<'p> {
    Compose(
        &'p System,
        &'p compose_files::ComposeFile,
        &'p compose::Shared,
    ),
    Bake,
}

/// Files rendered whole.
enum Files {
    Lint,
    /// The probe's files and the base images' Dockerfiles.
    BaseDockerfiles,
    /// The Dockerfiles of these services.
    Dockerfiles(std::ops::Range<usize>),
}

/// A job ready to run on a worker thread: a streamed file's job with its
/// path and stream, or a job of whole files.
enum Work<'j, 'p, S> {
    Stream(&'j Streamed<'p>, PathBuf, S),
    Files(&'j Files),
}

/// What one job rendered: files, or the one file it streamed.
enum Rendered<S> {
    Files(Vec<(PathBuf, String)>),
    Streamed(PathBuf, S),
}

impl Streamed<'_> {
    fn path(&self) -> PathBuf {
        match self {
            Streamed::Compose(sys, plan, _) => compose_path(sys, &plan.file_name),
            Streamed::Bake => PathBuf::from(bake::BAKE_FILE),
        }
    }
}

impl<S: Stream> Work<'_, '_, S> {
    fn render(self, system: &System) -> Result<Rendered<S>, RenderError> {
        match self {
            Work::Stream(job, path, mut stream) => {
                let rendered = match job {
                    Streamed::Compose(sys, plan, shared) => {
                        compose::render_into(sys, plan, shared, &mut stream)
                    }
                    Streamed::Bake => bake::render_into(system, &mut stream),
                };
                streamed(rendered, &stream)?;
                Ok(Rendered::Streamed(path, stream))
            }
            Work::Files(Files::Lint) => Ok(Rendered::Files(vec![(
                compose_path(system, lint::FILE),
                lint::render(system)?,
            )])),
            Work::Files(Files::BaseDockerfiles) => {
                let mut files = probe::render_all(system)?;
                files.extend(dockerfile::render_bases(system)?);
                Ok(Rendered::Files(files))
            }
            Work::Files(Files::Dockerfiles(range)) => Ok(Rendered::Files(
                dockerfile::render_services(system, range.clone())?,
            )),
        }
    }
}

/// Renders every file of `system` and hands each to `sink` as it is done
/// (in no particular order; [`render`] collects them by path). Memory:
/// the jobs run a few at a time (one per core), so only their files are
/// held at once, never the whole output; a writer can stage each file and
/// drop it. Stops at the first error, the one a sequential run would meet
/// first, or the sink's.
pub fn render_to<S: Sink>(
    system: &System,
    secrets: &SecretValues,
    sink: &mut S,
) -> Result<(), S::Error> {
    // What the files rendered last need of the others: the secret ones'
    // paths (`.gitignore`) and, in swarm mode, the mounted files' bytes.
    let mut secret_paths: Vec<PathBuf> = Vec::new();
    let mut delivered = Outputs::new();
    let swarm = system.mode == crate::system::DeployMode::Swarm;
    let mut put = |sink: &mut S, path: PathBuf, file: OutputFile| -> Result<(), S::Error> {
        if file.secret {
            secret_paths.push(path.clone());
        }
        sink.put(path, file)
    };
    for (i, env_file) in system.env_files.iter().enumerate() {
        let text = env::render(system, i)?;
        put(sink, env_path(system, &env_file.file), output::public(text))?;
    }
    delivery::render_each(system, secrets, &mut |path, file| {
        if swarm {
            delivered.insert(path.clone(), file.clone());
        }
        put(sink, path, file)
    })?;
    render_jobs(system, sink)?;
    for (path, file) in stack_files(system, secrets, &delivered)? {
        put(sink, path, file)?;
    }
    drop(delivered);
    if let Some((path, text)) = workflow::render(system)? {
        put(sink, path, output::public(text))?;
    }
    let path = PathBuf::from(graph::GRAPH_FILE);
    let mut stream = sink.open_stream(&path)?;
    let drawn =
        graph::mermaid_into(system, &mut stream).map_err(|_| RenderError::Unrepresentable {
            what: path.display().to_string(),
            why: "writing it failed",
        });
    streamed(drawn, &stream)?;
    sink.close_stream(path, stream)?;
    secret_paths.sort();
    let gitignore = gitignore(&secret_paths)?;
    sink.put(PathBuf::from(GITIGNORE), gitignore)
}

/// The compose files, the linter's config, the Dockerfiles and the bake
/// file, rendered as parallel jobs one window of jobs (one per core) at a
/// time; each window's files are handed on in job order, so the first
/// error is the one a sequential run would give. Each system's compose
/// files share one [`compose::Shared`].
fn render_jobs<S: Sink>(system: &System, sink: &mut S) -> Result<(), S::Error> {
    let variants = system.variant_systems();
    let plans = phases_and_master(system, &variants);
    let mut systems: Vec<&System> = Vec::new();
    let owner: Vec<usize> = (plans.iter())
        .map(
            |(sys, _)| match systems.iter().position(|s| std::ptr::eq(*s, *sys)) {
                Some(i) => i,
                None => {
                    systems.push(sys);
                    systems.len() - 1
                }
            },
        )
        .collect();
    let shared: Vec<compose::Shared> = systems.iter().map(|s| compose::Shared::new(s)).collect();
    let n = system.services.len();
    let jobs: Vec<Job> = (plans.iter().zip(owner))
        .map(|((sys, plan), o)| Job::Streamed(Streamed::Compose(sys, plan, &shared[o])))
        .chain([Job::Files(Files::Lint), Job::Files(Files::BaseDockerfiles)])
        .chain((0..n).step_by(DOCKERFILES_PER_JOB).map(|start| {
            Job::Files(Files::Dockerfiles(
                start..(start + DOCKERFILES_PER_JOB).min(n),
            ))
        }))
        .chain([Job::Streamed(Streamed::Bake)])
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    for window in jobs.chunks(cores) {
        // Streams are opened in job order before the window renders.
        let mut work = Vec::with_capacity(window.len());
        for job in window {
            work.push(match job {
                Job::Streamed(job) => {
                    let path = job.path();
                    let stream = sink.open_stream(&path)?;
                    Work::Stream(job, path, stream)
                }
                Job::Files(job) => Work::Files(job),
            });
        }
        let rendered = parallel::map_into(work, |work| work.render(system));
        for done in rendered {
            match done? {
                Rendered::Files(files) => {
                    for (path, text) in files {
                        sink.put(path, output::public(text))?;
                    }
                }
                Rendered::Streamed(path, stream) => sink.close_stream(path, stream)?,
            }
        }
    }
    Ok(())
}

/// The stack files of a swarm-mode system (none in compose mode): one per
/// phase, from the phase's compose plan. `outputs` holds the rendered
/// secret and config files their names are hashed from.
fn stack_files(
    system: &System,
    secrets: &SecretValues,
    outputs: &Outputs,
) -> Result<Vec<(PathBuf, OutputFile)>, RenderError> {
    if system.mode != crate::system::DeployMode::Swarm {
        return Ok(Vec::new());
    }
    let versioned = versioned_names(system, secrets, outputs);
    let mut out = Vec::new();
    for plan in compose_files::phases_and_master(system) {
        let Some(phase) = plan.phase else { continue };
        let text = compose::stack::render(system, &plan, &versioned)?;
        let path = compose_path(system, &compose::stack::file_name(system, phase));
        // Private (0600, git-ignored) though it holds no secret value:
        // its secret names are keyed with this machine's secret store, so
        // another machine's `all` writes other names.
        out.push((path, output::private(text)));
    }
    Ok(out)
}

/// Each mounted file's Swarm name: `<key>-<hash>`, the hash over the
/// file's rendered content, for a secret-bearing file keyed with every
/// value of the secret store (so rotating one secret renames them all:
/// every service mounting a secret rolls its tasks).
/// Swarm cannot change a secret or config in place, so a new content
/// needs a new name. The key matters: a plain hash of a low-entropy
/// operator secret (a short password) in a committed stack file would let
/// anyone confirm a guess offline; keyed with the store's generated
/// values, the name says nothing without the store.
fn versioned_names(
    system: &System,
    secrets: &SecretValues,
    outputs: &Outputs,
) -> std::collections::BTreeMap<String, String> {
    let store: Vec<Vec<u8>> = (secrets.iter())
        .flat_map(|(k, v)| [k.as_bytes().to_vec(), v.as_bytes().to_vec()])
        .collect();
    let key = hashes::component_hash(&store);
    let mut names = std::collections::BTreeMap::new();
    for s in &system.services {
        for m in delivery::stack_mounts(system, s) {
            let content = outputs.get(&m.path).map(|f| f.text.as_bytes().to_vec());
            // A plain config file is public (committed under the output
            // directory): its hash needs no key, and so does not change
            // when a secret is rotated.
            let key = if m.secret { key.as_bytes() } else { &[] };
            let hash = hashes::component_hash(&[
                key.to_vec(),
                m.key.as_bytes().to_vec(),
                content.unwrap_or_default(),
            ]);
            let short = hash.get(..12).unwrap_or(&hash).to_string();
            names.insert(m.key.clone(), format!("{}-{short}", m.key));
        }
    }
    names
}

/// Every compose file to render (phases, master, groups), with the system
/// (variant) it renders.
fn phases_and_master<'s>(
    system: &'s System,
    variants: &'s [System],
) -> Vec<(&'s System, compose_files::ComposeFile)> {
    let systems: Vec<&System> = match variants.is_empty() {
        true => vec![system],
        false => variants.iter().collect(),
    };
    (systems.into_iter())
        .flat_map(|sys| compose_files::every(sys).into_iter().map(move |p| (sys, p)))
        .collect()
}

/// The `.gitignore` lucid-gen writes in the output root.
const GITIGNORE: &str = ".gitignore";

/// Where an env file goes, relative to the output root.
pub(crate) fn env_path(system: &System, file: &str) -> PathBuf {
    output_path(&system.output.env_dir, &[file])
}

/// Where a file of the compose directory goes, relative to the output root.
fn compose_path(system: &System, file: &str) -> PathBuf {
    output_path(&system.output.compose_dir, &[file])
}

/// `dir/part/...` as the plain relative path `write` expects: the model may
/// spell a directory `./configs/env` or `a/./b`; `.` components are dropped
/// (validation refuses `..` and absolute paths), so every output has one
/// spelling and `write` never meets a `.`.
pub(crate) fn output_path(dir: &str, parts: &[&str]) -> PathBuf {
    let mut path: PathBuf = std::path::Path::new(dir)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    for part in parts {
        path.push(part);
    }
    path
}

/// What put a file among the outputs, for messages about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputOrigin {
    /// `System::env_files[i]`.
    EnvFile(usize),
    /// The compose file of `System::phases[i]`; `None`: the master file.
    Compose(Option<usize>),
    /// The compose file of `System::groups[i]`.
    GroupCompose(usize),
    /// The Swarm stack file of `System::phases[i]` (swarm mode).
    Stack(usize),
    /// The compose linter's config.
    LintConfig,
    /// The Dockerfile of `System::images[i]`, or its `.dockerignore`.
    BaseDockerfile(usize),
    /// The Dockerfile of `System::services[i]`, or its `.dockerignore`.
    ServiceDockerfile(usize),
    BakeFile,
    /// The Mermaid drawing of the system.
    Graph,
    Gitignore,
    /// The secrets env file of `System::services[i]`.
    ServiceSecrets(usize),
    /// The file of `System::secrets[i]` that containers mount.
    SecretFile(usize),
    /// Config file `j` of `System::services[i]`.
    ConfigFile(usize, usize),
    /// `write`'s list of the files it wrote.
    Manifest,
    /// The health probe program's source or Dockerfile.
    Probe,
    /// The GitHub Actions workflow (`system.ci.github`).
    Workflow,
}

impl OutputOrigin {
    /// Whether the file holds a secret (and must be git-ignored).
    pub fn secret_bearing(self, system: &System) -> bool {
        match self {
            OutputOrigin::ServiceSecrets(_) | OutputOrigin::SecretFile(_) => true,
            OutputOrigin::ConfigFile(i, j) => system.services[i].config_files[j].secret_bearing(),
            _ => false,
        }
    }
}

/// One path the run writes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOutput {
    pub path: PathBuf,
    pub origin: OutputOrigin,
}

/// Every path [`render`] (plus `write`'s manifest) produces for `system`,
/// computed by the same functions without rendering anything, so
/// validation can find two outputs sharing a path before a byte is written.
/// Duplicates are kept: finding them is the point.
pub fn output_paths(system: &System) -> Vec<PlannedOutput> {
    let mut out = Vec::new();
    let mut add = |path: PathBuf, origin| out.push(PlannedOutput { path, origin });
    for (i, env_file) in system.env_files.iter().enumerate() {
        add(env_path(system, &env_file.file), OutputOrigin::EnvFile(i));
    }
    let variants = system.variant_systems();
    for (sys, plan) in phases_and_master(system, &variants) {
        let origin = match plan.group {
            Some(i) => OutputOrigin::GroupCompose(i),
            None => OutputOrigin::Compose(plan.phase),
        };
        add(compose_path(sys, &plan.file_name), origin);
    }
    if system.mode == crate::system::DeployMode::Swarm {
        for phase in 0..system.phases.len() {
            let file = compose::stack::file_name(system, phase);
            add(compose_path(system, &file), OutputOrigin::Stack(phase));
        }
    }
    add(compose_path(system, lint::FILE), OutputOrigin::LintConfig);
    for (i, image) in system.images.iter().enumerate() {
        if image.build.stack.is_none() {
            continue;
        }
        let path = dockerfile_path(system, &image.key, true);
        add(dockerignore::path(&path), OutputOrigin::BaseDockerfile(i));
        add(path, OutputOrigin::BaseDockerfile(i));
    }
    for (i, s) in system.services.iter().enumerate() {
        if s.build.as_ref().is_some_and(|b| b.stack.is_some()) {
            let path = dockerfile_path(system, &s.name, false);
            add(
                dockerignore::path(&path),
                OutputOrigin::ServiceDockerfile(i),
            );
            add(path, OutputOrigin::ServiceDockerfile(i));
        }
    }
    for (i, s) in system.services.iter().enumerate() {
        if delivery::has_env_secrets(s) {
            add(
                delivery::secrets_env_path(system, s),
                OutputOrigin::ServiceSecrets(i),
            );
        }
    }
    for c in delivery::config_outputs(system, &variants) {
        add(c.path, OutputOrigin::ConfigFile(c.service, c.file));
    }
    for i in delivery::file_secrets(system) {
        add(
            delivery::secret_file_path(system, i),
            OutputOrigin::SecretFile(i),
        );
    }
    if probe::needed(system) {
        add(probe::source_path(system), OutputOrigin::Probe);
        add(probe::dockerfile_path(system), OutputOrigin::Probe);
    }
    add(PathBuf::from(bake::BAKE_FILE), OutputOrigin::BakeFile);
    if let Some(g) = &system.github {
        add(workflow::workflow_path(g), OutputOrigin::Workflow);
    }
    add(PathBuf::from(graph::GRAPH_FILE), OutputOrigin::Graph);
    add(PathBuf::from(GITIGNORE), OutputOrigin::Gitignore);
    add(PathBuf::from(MANIFEST), OutputOrigin::Manifest);
    out
}

/// `.gitignore` for the output root: every secret-bearing file, as a
/// pattern that matches exactly its path however the model spelled it.
fn gitignore(secret_paths: &[PathBuf]) -> Result<OutputFile, RenderError> {
    let mut text = String::from(
        "# Generated by lucid-gen: these files hold secret values and must never be committed.\n\
         # Temporary files of an interrupted run may hold them too.\n\
         .lucid-gen-tmp-*\n",
    );
    for path in secret_paths {
        let pattern =
            gitignore_path(path).map_err(refused(|| format!("the path `{}`", path.display())))?;
        text.push_str(&format!("{pattern}\n"));
    }
    Ok(output::public(text))
}

/// The prefix of the labels lucid-gen puts on every service (system, phase,
/// plane, input hashes): a model's label may not start with it, or one
/// `labels:` mapping would hold a key twice.
pub const OWN_LABEL_PREFIX: &str = "lucid-gen.";

/// Labels every service carries: the system's, then lucid-gen's own, then
/// the service's.
fn service_labels(system: &System, service: &Service) -> Vec<(String, String)> {
    let mut labels = system.labels.clone();
    labels.push(("lucid-gen.system".into(), system.name.clone()));
    labels.push((
        "lucid-gen.phase".into(),
        system.phases[service.phase].name.clone(),
    ));
    labels.push((
        "lucid-gen.plane".into(),
        system.planes[service.plane].name.clone(),
    ));
    labels.extend(service.labels.iter().cloned());
    labels
}

fn template_error(template: &'static str) -> impl FnOnce(askama::Error) -> RenderError {
    move |error| RenderError::Template { template, error }
}
