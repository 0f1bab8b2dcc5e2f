//! `lucid-gen build`: images in dependency order with Docker's builder.
//!
//! The health probe program's image first when an image copies it, then
//! base images (a base built on another base waits for it), then
//! phase by phase in deploy order; within a step up to `jobs` builds run
//! at once. Only services with a `build` are built. With buildx installed,
//! the generated `docker-bake.hcl` does all of it in one `docker buildx
//! bake` (base images are wired into the services as named contexts);
//! without it, one `docker build` per image with the legacy builder.

mod legacy;
mod parallel;

use std::path::{Path, PathBuf};

pub use parallel::run_parallel;

use super::steps::{self, Action, ImageBuild, PackedContext, Plan, Precheck, Step};
use super::target::Target;
use super::{io_error, Cmd, DockerError, ErrorKind, Workspace};
use crate::render::bake::{base_target, phase_group, BAKE_FILE};
use crate::render::probe;
use crate::system::Build;
use crate::tags::{repository, TagError};

pub struct BuildOptions {
    /// Only this phase's images (base images are always built first).
    pub phase: Option<String>,
    /// Overrides the model's platform.
    pub platform: Option<String>,
    /// Root of the source tree the build contexts are relative to.
    pub source: PathBuf,
    /// Print the commands instead of running them.
    pub dry_run: bool,
    /// Builds run at once within a phase.
    pub jobs: usize,
}

/// One image to build.
struct Job {
    /// The image reference it is tagged with.
    image: String,
    /// Its extra tags (`system.registry.extra_tags`), as full references.
    extra_tags: Vec<String>,
    /// `base image <key>` or `service <name>`.
    what: String,
    dockerfile: PathBuf,
    /// `dockerfile` is hand-written, in the source tree.
    hand_written: bool,
    context: PathBuf,
}

/// Images that can be built at once: a wave of base images, or a phase.
struct Wave {
    label: String,
    jobs: Vec<Job>,
}

/// Which builder runs the builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// `docker buildx bake` with the generated bake file.
    Bake,
    /// One `docker build` per image (no buildx).
    Legacy,
}

impl Builder {
    /// Bake when `docker buildx` works here (the CLI alone answers).
    pub fn detect() -> Builder {
        let buildx =
            (Cmd::docker().args(["buildx", "version"]).output()).is_ok_and(|o| o.status.success());
        if buildx {
            Builder::Bake
        } else {
            Builder::Legacy
        }
    }
}

/// What `build` would do with the builder `builder` names (asked only
/// once the checks passed): every context and hand-written
/// Dockerfile checked and every extra tag resolved first (refused before
/// anything is built), then base images in waves and phase by phase.
pub fn plan(
    ws: &Workspace,
    opts: &BuildOptions,
    builder: impl FnOnce() -> Builder,
) -> Result<Plan, DockerError> {
    let source =
        std::path::absolute(&opts.source).map_err(|e| io_error("resolve", &opts.source, e))?;
    let phases = selected_phases(ws, opts.phase.as_deref())?;
    let mut steps = steps(ws, &phases, &source)?;
    if steps.is_empty() {
        return Ok(Plan {
            title: format!("build: the model builds no image{}", phase_note(opts)),
            steps: Vec::new(),
        });
    }
    let extra = resolve_extra_tags(ws, "built")?;
    // The probe image is lucid-gen's own, copied from at build time and
    // never run: only the model's images get the extra tags.
    let probe_image = probe::image(&ws.system);
    for job in steps.iter_mut().flat_map(|s| &mut s.jobs) {
        if job.image == probe_image {
            continue;
        }
        let repo = repository(&job.image);
        job.extra_tags = extra.iter().map(|t| format!("{repo}:{t}")).collect();
    }
    check_contexts(&steps, &source)?;
    check_dockerfiles(&steps)?;
    match builder() {
        Builder::Bake => Ok(bake(ws, opts, &phases, &source, &steps)),
        Builder::Legacy => {
            let platform = (opts.platform.clone()).unwrap_or_else(|| ws.system.platform.clone());
            legacy_plan(&steps, &platform, opts.jobs)
        }
    }
}

/// `lucid-gen build`: the plan, run on this machine's builder.
pub fn run(ws: &Workspace, opts: &BuildOptions) -> Result<(), DockerError> {
    let plan = plan(ws, opts, Builder::detect)?;
    let packs = (plan.steps.iter()).any(|s| match &s.action {
        Action::Build { images, .. } => images.iter().any(|b| b.packed.is_some()),
        _ => false,
    });
    if packs {
        eprintln!(
            "note: the legacy builder reads only a context's own .dockerignore: `build` sends each \
             context packed without what the Dockerfile's Dockerfile.dockerignore lists"
        );
    }
    if opts.dry_run {
        crate::out!("{plan}");
        return Ok(());
    }
    crate::outln!("{}", plan.title);
    steps::run(&plan, ws, &Target::LOCAL)?;
    let built: usize = (plan.steps.iter())
        .map(|s| match &s.action {
            Action::Build { images, .. } => images.len(),
            _ => 0,
        })
        .sum();
    if built > 0 {
        crate::outln!("build: {built} image(s) built");
    }
    Ok(())
}

/// The extra tags with their variables read from the environment; an unset
/// one is refused before anything is `done` (built, saved), naming it.
pub(super) fn resolve_extra_tags(
    ws: &Workspace,
    done: &'static str,
) -> Result<Vec<String>, DockerError> {
    let mut out = Vec::new();
    for tag in &ws.system.extra_tags {
        out.push(
            tag.resolve(|v| std::env::var(v).ok())
                .map_err(|e| match e {
                    TagError::Unset(var) => ErrorKind::TagVariableUnset {
                        tag: tag.written(),
                        var,
                        done,
                    },
                    TagError::Invalid { tag, value } => ErrorKind::TagInvalid { tag, value, done },
                })?,
        );
    }
    Ok(out)
}

fn phase_note(opts: &BuildOptions) -> String {
    match &opts.phase {
        Some(p) => format!(" for phase {p}"),
        None => String::new(),
    }
}

/// Indices of the phases to build, in deploy order.
fn selected_phases(ws: &Workspace, phase: Option<&str>) -> Result<Vec<usize>, DockerError> {
    Ok(ws.plans(phase)?.iter().filter_map(|p| p.phase).collect())
}

fn job(
    ws: &Workspace,
    image: &str,
    what: String,
    name: &str,
    base: bool,
    b: &Build,
    source: &Path,
) -> Job {
    let (dockerfile, hand_written) = ws.build_dockerfile(name, base, b, source);
    Job {
        image: image.to_string(),
        extra_tags: Vec::new(),
        what,
        dockerfile,
        hand_written,
        context: source.join(&b.context),
    }
}

/// Base images in waves (each after the bases it builds on), then one
/// step per phase that builds anything.
fn steps(ws: &Workspace, phases: &[usize], source: &Path) -> Result<Vec<Wave>, DockerError> {
    let system = &ws.system;
    let mut steps: Vec<Wave> = probe_step(ws).into_iter().collect();
    let waves = (system.base_image_waves()).map_err(|images| ErrorKind::BaseImageCycle {
        images: images.iter().map(|i| i.to_string()).collect(),
    })?;
    for wave in waves {
        let jobs = wave
            .iter()
            .map(|&i| {
                let img = &system.images[i];
                job(
                    ws,
                    &img.image,
                    format!("base image {}", img.key),
                    &img.key,
                    true,
                    &img.build,
                    source,
                )
            })
            .collect();
        steps.push(Wave {
            label: "base images".into(),
            jobs,
        });
    }
    for &p in phases {
        let jobs: Vec<Job> = system
            .services_in(p)
            .filter_map(|s| {
                let b = s.build.as_ref()?;
                Some(job(
                    ws,
                    &s.image,
                    format!("service {}", s.name),
                    &s.name,
                    false,
                    b,
                    source,
                ))
            })
            .collect();
        if !jobs.is_empty() {
            steps.push(Wave {
                label: format!("phase {}", system.phases[p].name),
                jobs,
            });
        }
    }
    Ok(steps)
}

/// The health probe program's image, built from the output directory
/// before every image that copies it (`render::probe`); `None` when no
/// image carries it.
fn probe_step(ws: &Workspace) -> Option<Wave> {
    let system = &ws.system;
    if !probe::needed(system) {
        return None;
    }
    Some(Wave {
        label: "probe image".into(),
        jobs: vec![Job {
            image: probe::image(system),
            what: "health probe program".into(),
            dockerfile: ws.out_dir.join(probe::dockerfile_path(system)),
            hand_written: false,
            context: ws.out_dir.join(probe::context_dir(system)),
            extra_tags: Vec::new(),
        }],
    })
}

/// Every build context must exist before anything is built.
fn check_contexts(steps: &[Wave], source: &Path) -> Result<(), DockerError> {
    let missing: Vec<String> = steps
        .iter()
        .flat_map(|s| &s.jobs)
        .filter(|j| !j.context.is_dir())
        .map(|j| format!("  {} ({}): {}", j.what, j.image, j.context.display()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ErrorKind::MissingContexts {
        root: source.to_path_buf(),
        missing,
    }
    .into())
}

/// Every hand-written Dockerfile (`build.dockerfile`) exists.
fn check_dockerfiles(steps: &[Wave]) -> Result<(), DockerError> {
    let missing: Vec<String> = steps
        .iter()
        .flat_map(|s| &s.jobs)
        .filter(|j| j.hand_written && !j.dockerfile.is_file())
        .map(|j| format!("  {} ({}): {}", j.what, j.image, j.dockerfile.display()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ErrorKind::MissingDockerfiles { missing }.into())
}

fn bake(
    ws: &Workspace,
    opts: &BuildOptions,
    phases: &[usize],
    source: &Path,
    steps: &[Wave],
) -> Plan {
    let system = &ws.system;
    let mut groups = Vec::new();
    if !system.images.is_empty() || probe::needed(system) {
        groups.push("base-images".to_string());
    }
    // The bake file has a group only for phases that build something.
    for &p in phases {
        if system.services_in(p).any(|s| s.build.is_some()) {
            groups.push(phase_group(&system.phases[p].name));
        }
    }
    let mut cmd = Cmd::docker()
        .env("SOURCE_DIR", &source.to_string_lossy())
        .env("GENERATED_DIR", &ws.out_dir.to_string_lossy())
        .args(["buildx", "bake", "-f"])
        .arg(ws.out_dir.join(BAKE_FILE));
    if let Some(p) = &opts.platform {
        cmd = cmd.arg("--set").arg(format!("*.platform={p}"));
    }
    let cmd = cmd.args(&groups);
    let notes = (steps.iter().flat_map(|s| &s.jobs))
        .filter(|job| !job.extra_tags.is_empty())
        .map(|job| format!("{} also tagged {}", job.image, job.extra_tags.join(", ")))
        .collect();
    let mut targets: Vec<String> = system.images.iter().map(|i| base_target(&i.key)).collect();
    if probe::needed(system) {
        targets.insert(0, probe::BAKE_TARGET.to_string());
    }
    let title = format!(
        "build: docker buildx bake {} (base targets: {})",
        groups.join(" "),
        match targets.is_empty() {
            true => "none".into(),
            false => targets.join(", "),
        }
    );
    Plan {
        title,
        steps: vec![Step {
            name: format!("buildx bake: {}", groups.join(", ")),
            action: Action::Run { cmd, notes },
        }],
    }
}

/// The legacy builder's commands for every step, and the problem that keeps
/// A Dockerfile larger than this is not one.
const MAX_DOCKERFILE_BYTES: u64 = 8 << 20;

/// A Dockerfile's text (a hand-written one is the user's file): a regular
/// file only, bounded.
fn read_dockerfile(path: &Path) -> Result<String, DockerError> {
    use crate::regular_file::{read_text, Follow};
    read_text(path, Follow::Links, MAX_DOCKERFILE_BYTES)
        .map_err(|e| io_error("read", path, e.into()))
}

/// The legacy builder's plan: a preflight step when it cannot build some
/// Dockerfiles (a `FROM $ARG` it cannot resolve), then one step per wave
/// or phase, up to `jobs` builds at once.
fn legacy_plan(steps: &[Wave], platform: &str, jobs: usize) -> Result<Plan, DockerError> {
    let mut unresolvable = Vec::new();
    let mut planned = Vec::new();
    for step in steps {
        let mut images = Vec::new();
        for job in &step.jobs {
            let text = read_dockerfile(&job.dockerfile)?;
            let needs = legacy::legacy_needs(&text);
            if !needs.unresolvable.is_empty() {
                unresolvable.push(format!(
                    "{} ({}): FROM uses ${} without a global ARG",
                    job.dockerfile.display(),
                    job.what,
                    needs.unresolvable.join(", $")
                ));
            }
            let mut values = legacy::platform_values("TARGET", platform);
            if needs.declared.iter().any(|a| a.starts_with("BUILD")) {
                values.extend(legacy::platform_values("BUILD", platform));
            }
            let args: Vec<(String, String)> = (values.into_iter())
                .filter(|(k, _)| needs.declared.contains(&k.as_str()))
                .collect();
            let ignore = crate::render::dockerignore::path(&job.dockerfile);
            images.push(ImageBuild {
                image: job.image.clone(),
                what: job.what.clone(),
                cmd: legacy::legacy_cmd(job, platform, &args),
                packed: (!job.hand_written && ignore.is_file()).then(|| PackedContext {
                    context: job.context.clone(),
                    dockerfile: job.dockerfile.clone(),
                    ignore,
                }),
            });
        }
        planned.push(Step {
            name: step.label.clone(),
            action: Action::Build { images, jobs },
        });
    }
    if !unresolvable.is_empty() {
        let problem = format!(
            "buildx is not installed, and the legacy builder cannot build {} Dockerfile(s):\n  {}\n  help: install the buildx plugin (docker-buildx-plugin), or declare `ARG BUILDPLATFORM` before the first FROM in the stack's template (templates/dockerfile/)",
            unresolvable.len(),
            unresolvable.join("\n  ")
        );
        planned.insert(
            0,
            Step {
                name: "preflight".into(),
                action: Action::Preflight(vec![Precheck::Known(problem)]),
            },
        );
    }
    let total: usize = steps.iter().map(|s| s.jobs.len()).sum();
    Ok(Plan {
        title: format!(
            "build: {total} image(s) for {platform} with the legacy builder (no buildx), up to {jobs} at once"
        ),
        steps: planned,
    })
}
