//! `lucid-gen build`: images in dependency order with Docker's builder.
//!
//! The health probe program's image first when an image copies it, then
//! base images (a base built on another base waits for it), then
//! phase by phase in deploy order; within a step up to `jobs` builds run
//! at once. Only services with a `build` are built. With buildx installed,
//! the generated `docker-bake.hcl` does all of it in one `docker buildx
//! bake` (base images are wired into the services as named contexts);
//! without it, one `docker build` per image with the legacy builder.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::progress::Progress;
use super::{Cmd, Deployment, DockerError};
use crate::ci::{repository, TagError};
use crate::render::bake::{base_target, phase_group, BAKE_FILE};
use crate::render::probe;
use crate::system::Build;

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

/// Lines of a failed build's output shown in the error.
const TAIL_LINES: usize = 30;

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
struct Step {
    label: String,
    jobs: Vec<Job>,
}

pub fn run(dep: &Deployment, opts: &BuildOptions) -> Result<(), DockerError> {
    let source = std::path::absolute(&opts.source).map_err(|e| {
        DockerError::Other(format!("cannot resolve {}: {e}", opts.source.display()))
    })?;
    let phases = selected_phases(dep, opts.phase.as_deref())?;
    let mut steps = steps(dep, &phases, &source)?;
    if steps.is_empty() {
        println!("build: the model builds no image{}", phase_note(opts));
        return Ok(());
    }
    let extra = resolve_extra_tags(dep, "built")?;
    // The probe image is lucid-gen's own, copied from at build time and
    // never run: only the model's images get the extra tags.
    let probe_image = probe::image(&dep.system);
    for job in steps.iter_mut().flat_map(|s| &mut s.jobs) {
        if job.image == probe_image {
            continue;
        }
        let repo = repository(&job.image);
        job.extra_tags = extra.iter().map(|t| format!("{repo}:{t}")).collect();
    }
    check_contexts(&steps, &source)?;
    check_dockerfiles(&steps)?;
    let platform = opts
        .platform
        .clone()
        .unwrap_or_else(|| dep.system.platform.clone());
    if buildx_available() {
        bake(dep, opts, &phases, &source, &steps)
    } else {
        legacy(&steps, &platform, opts)
    }
}

/// The extra tags with their variables read from the environment; an unset
/// one is refused before anything is `done` (built, saved), naming it.
pub(super) fn resolve_extra_tags(dep: &Deployment, done: &str) -> Result<Vec<String>, DockerError> {
    let mut out = Vec::new();
    for tag in &dep.system.extra_tags {
        out.push(tag.resolve(|v| std::env::var(v).ok()).map_err(|e| match e {
            TagError::Unset(v) => DockerError::Usage(format!(
                "the extra tag `{}` reads ${v}, which is not set (or empty); nothing was {done}\n  help: set it, e.g. `export {v}=...`, or remove the tag from `system.registry.extra_tags`",
                tag.written()
            )),
            TagError::Invalid { tag, value } => DockerError::Usage(format!(
                "the extra tag `{tag}` resolves to `{value}`, which is not a Docker tag; nothing was {done}\n  help: tags are letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`"
            )),
        })?);
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
fn selected_phases(dep: &Deployment, phase: Option<&str>) -> Result<Vec<usize>, DockerError> {
    Ok(dep.plans(phase)?.iter().filter_map(|p| p.phase).collect())
}

fn job(
    dep: &Deployment,
    image: &str,
    what: String,
    name: &str,
    base: bool,
    b: &Build,
    source: &Path,
) -> Job {
    let (dockerfile, hand_written) = dep.build_dockerfile(name, base, b, source);
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
fn steps(dep: &Deployment, phases: &[usize], source: &Path) -> Result<Vec<Step>, DockerError> {
    let system = &dep.system;
    let mut steps: Vec<Step> = probe_step(dep).into_iter().collect();
    let waves = system.base_image_waves().map_err(|stuck| {
        DockerError::Other(format!(
            "base images {} build on each other in a cycle",
            stuck.join(", ")
        ))
    })?;
    for wave in waves {
        let jobs = wave
            .iter()
            .map(|&i| {
                let img = &system.images[i];
                job(
                    dep,
                    &img.image,
                    format!("base image {}", img.key),
                    &img.key,
                    true,
                    &img.build,
                    source,
                )
            })
            .collect();
        steps.push(Step {
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
                    dep,
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
            steps.push(Step {
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
fn probe_step(dep: &Deployment) -> Option<Step> {
    let system = &dep.system;
    if !probe::needed(system) {
        return None;
    }
    Some(Step {
        label: "probe image".into(),
        jobs: vec![Job {
            image: probe::image(system),
            what: "health probe program".into(),
            dockerfile: dep.out_dir.join(probe::dockerfile_path(system)),
            hand_written: false,
            context: dep.out_dir.join(probe::context_dir(system)),
            extra_tags: Vec::new(),
        }],
    })
}

/// Every build context must exist before anything is built.
fn check_contexts(steps: &[Step], source: &Path) -> Result<(), DockerError> {
    let missing: Vec<String> = steps
        .iter()
        .flat_map(|s| &s.jobs)
        .filter(|j| !j.context.is_dir())
        .map(|j| format!("  {} ({}): {}", j.what, j.image, j.context.display()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(DockerError::Other(format!(
        "{} build context(s) missing under {}; nothing was built:\n{}\n  help: pass the root of the source tree with --source DIR",
        missing.len(),
        source.display(),
        missing.join("\n")
    )))
}

/// Every hand-written Dockerfile (`build.dockerfile`) exists.
fn check_dockerfiles(steps: &[Step]) -> Result<(), DockerError> {
    let missing: Vec<String> = steps
        .iter()
        .flat_map(|s| &s.jobs)
        .filter(|j| j.hand_written && !j.dockerfile.is_file())
        .map(|j| format!("  {} ({}): {}", j.what, j.image, j.dockerfile.display()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(DockerError::Other(format!(
        "{} hand-written Dockerfile(s) missing; nothing was built:\n{}\n  help: write the file at `build.dockerfile`, relative to the build context",
        missing.len(),
        missing.join("\n")
    )))
}

/// Whether `docker buildx` works here.
fn buildx_available() -> bool {
    Cmd::docker()
        .args(["buildx", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------- bake

fn bake(
    dep: &Deployment,
    opts: &BuildOptions,
    phases: &[usize],
    source: &Path,
    steps: &[Step],
) -> Result<(), DockerError> {
    let system = &dep.system;
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
        .env("GENERATED_DIR", &dep.out_dir.to_string_lossy())
        .args(["buildx", "bake", "-f"])
        .arg(dep.out_dir.join(BAKE_FILE));
    if let Some(p) = &opts.platform {
        cmd = cmd.arg("--set").arg(format!("*.platform={p}"));
    }
    let cmd = cmd.args(&groups);
    if opts.dry_run {
        println!("# buildx bake: {}", groups.join(", "));
        for job in steps.iter().flat_map(|s| &s.jobs) {
            if !job.extra_tags.is_empty() {
                println!("# {} also tagged {}", job.image, job.extra_tags.join(", "));
            }
        }
        println!("{cmd}");
        return Ok(());
    }
    let mut targets: Vec<String> = system.images.iter().map(|i| base_target(&i.key)).collect();
    if probe::needed(system) {
        targets.insert(0, probe::BAKE_TARGET.to_string());
    }
    println!(
        "build: docker buildx bake {} (base targets: {})",
        groups.join(" "),
        if targets.is_empty() {
            "none".into()
        } else {
            targets.join(", ")
        }
    );
    cmd.run_visible()
}

// -------------------------------------------------------------- legacy

/// Platform variables BuildKit defines by itself; the legacy builder knows
/// none of them.
const PLATFORM_ARGS: [&str; 8] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// What a Dockerfile needs from the legacy builder.
#[derive(Debug, Default, PartialEq)]
struct LegacyNeeds {
    /// Platform variables it declares with `ARG` (and so can be given).
    declared: Vec<&'static str>,
    /// Platform variables a `FROM` uses without a global `ARG`: the legacy
    /// builder expands them to nothing and fails.
    unresolvable: Vec<&'static str>,
}

fn legacy_needs(dockerfile: &str) -> LegacyNeeds {
    let mut needs = LegacyNeeds::default();
    let mut global: Vec<&str> = Vec::new();
    let mut seen_from = false;
    for line in dockerfile.lines() {
        let line = line.trim_start();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if word.eq_ignore_ascii_case("ARG") {
            let name = rest.trim().split('=').next().unwrap_or("").trim();
            if let Some(arg) = PLATFORM_ARGS.iter().find(|a| **a == name) {
                if !needs.declared.contains(arg) {
                    needs.declared.push(arg);
                }
                if !seen_from {
                    global.push(arg);
                }
            }
        } else if word.eq_ignore_ascii_case("FROM") {
            seen_from = true;
            for arg in PLATFORM_ARGS {
                let used =
                    rest.contains(&format!("${arg}")) || rest.contains(&format!("${{{arg}}}"));
                if used && !global.contains(&arg) && !needs.unresolvable.contains(&arg) {
                    needs.unresolvable.push(arg);
                }
            }
        }
    }
    needs
}

/// `os/arch[/variant]` split into the platform variables' values.
fn platform_values(prefix: &str, platform: &str) -> Vec<(String, String)> {
    let mut parts = platform.splitn(3, '/');
    let os = parts.next().unwrap_or_default();
    let arch = parts.next().unwrap_or_default();
    let variant = parts.next().unwrap_or_default();
    vec![
        (format!("{prefix}PLATFORM"), platform.to_string()),
        (format!("{prefix}OS"), os.to_string()),
        (format!("{prefix}ARCH"), arch.to_string()),
        (format!("{prefix}VARIANT"), variant.to_string()),
    ]
}

/// The legacy builder's command for one image.
///
/// `DOCKER_BUILDKIT=0` is set on purpose. The Docker CLI (23 and later)
/// runs BuildKit only through the buildx plugin: with `DOCKER_BUILDKIT=1`
/// and no buildx it refuses outright ("BuildKit is enabled but the buildx
/// component is missing or broken"), even though the 20.10 daemon has
/// BuildKit built in. Without buildx the only builder that works is the
/// legacy one, and a `DOCKER_BUILDKIT=1` left in the user's environment
/// must not break it. The legacy builder does not define the platform
/// variables BuildKit does (`BUILDPLATFORM`, `TARGETARCH`, ...), so those
/// a Dockerfile declares with `ARG` are passed as `--build-arg`; a `FROM
/// --platform=$BUILDPLATFORM` resolves only if `ARG BUILDPLATFORM` comes
/// before the first `FROM`. `BUILDPLATFORM` is the target platform too, so
/// the builder stage runs under emulation when the host's differs: the
/// legacy builder refuses `COPY --from` a stage of another platform ("was
/// found but does not match the specified platform"), which BuildKit
/// allows. `--force-rm`: the legacy builder otherwise leaves the
/// intermediate container of a failed step behind.
fn legacy_cmd(job: &Job, platform: &str, build_args: &[(String, String)]) -> Cmd {
    let mut cmd = Cmd::docker().env("DOCKER_BUILDKIT", "0").args([
        "build",
        "--platform",
        platform,
        "-t",
        &job.image,
    ]);
    for tag in &job.extra_tags {
        cmd = cmd.arg("-t").arg(tag);
    }
    cmd = cmd.arg("-f").arg(&job.dockerfile);
    for (k, v) in build_args {
        cmd = cmd.arg("--build-arg").arg(format!("{k}={v}"));
    }
    cmd.arg("--force-rm").arg(&job.context)
}

/// The legacy builder's commands for every step, and the problem that keeps
/// it from building some Dockerfiles (a `FROM $ARG` it cannot resolve).
type LegacyPlan<'a> = (Vec<Vec<(&'a Job, Cmd)>>, Option<String>);

fn legacy_plan<'a>(steps: &'a [Step], platform: &str) -> Result<LegacyPlan<'a>, DockerError> {
    let mut unresolvable = Vec::new();
    let mut planned: Vec<Vec<(&Job, Cmd)>> = Vec::new();
    for step in steps {
        let mut cmds = Vec::new();
        for job in &step.jobs {
            let text = std::fs::read_to_string(&job.dockerfile).map_err(|e| {
                DockerError::Other(format!("cannot read {}: {e}", job.dockerfile.display()))
            })?;
            let needs = legacy_needs(&text);
            if !needs.unresolvable.is_empty() {
                unresolvable.push(format!(
                    "  {} ({}): FROM uses ${} without a global ARG",
                    job.dockerfile.display(),
                    job.what,
                    needs.unresolvable.join(", $")
                ));
            }
            let mut values = platform_values("TARGET", platform);
            if needs.declared.iter().any(|a| a.starts_with("BUILD")) {
                values.extend(platform_values("BUILD", platform));
            }
            let args: Vec<(String, String)> = values
                .into_iter()
                .filter(|(k, _)| needs.declared.contains(&k.as_str()))
                .collect();
            cmds.push((job, legacy_cmd(job, platform, &args)));
        }
        planned.push(cmds);
    }
    let problem = (!unresolvable.is_empty()).then(|| {
        format!(
            "buildx is not installed, and the legacy builder cannot build {} Dockerfile(s):\n{}\n  help: install the buildx plugin (docker-buildx-plugin), or declare `ARG BUILDPLATFORM` before the first FROM in the stack's template (templates/dockerfile/)",
            unresolvable.len(),
            unresolvable.join("\n")
        )
    });
    Ok((planned, problem))
}

fn legacy(steps: &[Step], platform: &str, opts: &BuildOptions) -> Result<(), DockerError> {
    let (planned, problem) = legacy_plan(steps, platform)?;
    if opts.dry_run {
        if let Some(p) = &problem {
            eprintln!("warning: {p}");
        }
        eprintln!(
            "note: the legacy builder reads only a context's own .dockerignore: `build` sends each \
             context packed without what the Dockerfile's Dockerfile.dockerignore lists"
        );
        let mut last = "";
        for (step, cmds) in steps.iter().zip(&planned) {
            if step.label != last {
                println!("# {}", step.label);
                last = &step.label;
            }
            for (_, cmd) in cmds {
                println!("{cmd}");
            }
        }
        return Ok(());
    }
    if let Some(p) = problem {
        return Err(DockerError::Other(p));
    }
    let total: usize = steps.iter().map(|s| s.jobs.len()).sum();
    println!(
        "build: {total} image(s) for {platform} with the legacy builder (no buildx), up to {} at once",
        opts.jobs
    );
    let mut last = "";
    let mut left = total;
    let progress = Progress::new(total, "images");
    for (step, cmds) in steps.iter().zip(&planned) {
        if step.label != last {
            progress.line(&format!("==> {}", step.label));
            progress.message(&step.label);
            last = &step.label;
        }
        left -= cmds.len();
        run_parallel(cmds, opts.jobs, &progress).map_err(|e| match e {
            DockerError::Other(m) if left > 0 => DockerError::Other(format!(
                "{m}\n  stopped: {left} image(s) of later steps were not built"
            )),
            other => other,
        })?;
    }
    drop(progress);
    println!("build: {total} image(s) built");
    Ok(())
}

/// `job`'s legacy command with its context packed by `context::pack`
/// (the tar lives as long as the returned file) when its Dockerfile has a
/// rendered ignore file: `-f FILE … CONTEXT` becomes `-f
/// .lucid-gen.Dockerfile … -` with the tar on standard input.
fn packed(job: &Job, cmd: &Cmd) -> Result<(Cmd, Option<tempfile::NamedTempFile>), DockerError> {
    let ignore = crate::render::dockerignore::path(&job.dockerfile);
    if job.hand_written || !ignore.is_file() {
        return Ok((cmd.clone(), None));
    }
    let tar = super::context::pack(&job.context, &job.dockerfile, &ignore)?;
    let mut cmd = cmd.clone();
    if let Some(i) = cmd.args.iter().position(|a| a == "-f") {
        cmd.args[i + 1] = super::context::DOCKERFILE.into();
    }
    if let Some(last) = cmd.args.last_mut() {
        *last = "-".into();
    }
    cmd.stdin = Some(tar.path().to_path_buf());
    Ok((cmd, Some(tar)))
}

/// How one build went.
struct Outcome {
    success: bool,
    status: String,
    log: String,
    elapsed: Duration,
}

/// Runs `cmd` with stdout and stderr interleaved into one log, as a user
/// would have seen them.
fn run_logged(cmd: &Cmd) -> Result<Outcome, DockerError> {
    let start = Instant::now();
    let io = |e: std::io::Error| DockerError::Other(format!("cannot capture build output: {e}"));
    let mut log = tempfile::tempfile().map_err(io)?;
    let out: File = log.try_clone().map_err(io)?;
    let err: File = log.try_clone().map_err(io)?;
    let status = cmd
        .command()
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| cmd.not_found(e))?;
    log.rewind().map_err(io)?;
    let mut bytes = Vec::new();
    log.read_to_end(&mut bytes).map_err(io)?;
    Ok(Outcome {
        success: status.success(),
        status: status.to_string(),
        log: String::from_utf8_lossy(&bytes).into_owned(),
        elapsed: start.elapsed(),
    })
}

fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the builds of one step, up to `jobs` at once, printing each result
/// as it finishes. After a failure no new build starts; the running ones
/// finish, then every failure is reported.
fn run_parallel(cmds: &[(&Job, Cmd)], jobs: usize, progress: &Progress) -> Result<(), DockerError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let mut failures = Vec::new();
    let mut fatal = None;
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(cmds.len()) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((job, cmd)) = cmds.get(i) else { break };
                let result = packed(job, cmd).and_then(|(cmd, _tar)| run_logged(&cmd));
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            let job = cmds[i].0;
            progress.inc();
            match result {
                Ok(o) if o.success => progress.line(&format!(
                    "ok    {}  ({}, {:.1}s)",
                    job.image,
                    job.what,
                    o.elapsed.as_secs_f64()
                )),
                Ok(o) => {
                    stop.store(true, Ordering::SeqCst);
                    progress.line(&format!(
                        "FAIL  {}  ({}, {}, {:.1}s)",
                        job.image,
                        job.what,
                        o.status,
                        o.elapsed.as_secs_f64()
                    ));
                    failures.push(format!(
                        "building {} ({}) failed ({}); last lines of its output:\n{}\n  command: {}",
                        job.image,
                        job.what,
                        o.status,
                        tail(&o.log, TAIL_LINES),
                        cmds[i].1
                    ));
                }
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    fatal.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(DockerError::Other(failures.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_variables_the_legacy_builder_lacks() {
        let python =
            "FROM --platform=$BUILDPLATFORM python:3.11 AS builder\nARG TARGETARCH\nFROM x\n";
        assert_eq!(
            legacy_needs(python),
            LegacyNeeds {
                declared: vec!["TARGETARCH"],
                unresolvable: vec!["BUILDPLATFORM"],
            }
        );
        let fixed = "# c\nARG BUILDPLATFORM\nFROM --platform=${BUILDPLATFORM} python AS b\narg TARGETARCH=amd64\n";
        assert_eq!(
            legacy_needs(fixed),
            LegacyNeeds {
                declared: vec!["BUILDPLATFORM", "TARGETARCH"],
                unresolvable: vec![],
            }
        );
        assert_eq!(
            legacy_needs("FROM a AS up\nFROM b\nCOPY --from=up /x /y\n"),
            LegacyNeeds::default()
        );
    }

    #[test]
    fn platform_values_split_os_arch_variant() {
        assert_eq!(
            platform_values("TARGET", "linux/arm64/v8"),
            vec![
                ("TARGETPLATFORM".to_string(), "linux/arm64/v8".to_string()),
                ("TARGETOS".to_string(), "linux".to_string()),
                ("TARGETARCH".to_string(), "arm64".to_string()),
                ("TARGETVARIANT".to_string(), "v8".to_string()),
            ]
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let log: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let t = tail(&log, 30);
        assert!(t.starts_with("    line 11\n"));
        assert!(t.ends_with("    line 40"));
    }
}
