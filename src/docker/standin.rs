//! Stand-in images: a smoke test of the generated topology before the real
//! images exist (and this repository's end-to-end tests, where no registry
//! is reachable).
//!
//! Each service gets a `FROM scratch` image holding one small static
//! program (`src/bin/lucid-gen-standin.rs`, compiled here with `rustc`)
//! that listens on the service's declared ports, answers its health check
//! (the program is also copied to `/usr/bin/python3`, to the path of an
//! exec health check, and to `node` or lucid-gen's probe program when an
//! `http`/`tcp` check runs one) and can probe other addresses. An override file then
//! swaps in only the images: networks, ports, env files, dependencies and
//! health checks stay exactly as generated.
//! Every model value in that override and in the stand-in Dockerfiles
//! (service names, the exec health check's path) goes through
//! `crate::escape`, so names like `true`, `123` or `/bin/a $b` arrive intact.
//!
//! The stand-ins run as the model's platform (e.g. linux/arm64) under
//! qemu emulation when the host has it and a Rust toolchain can build for
//! it; otherwise they fall back to the host's platform and say so loudly.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{io_error, Cmd, DockerError, ErrorKind, Workspace};
use crate::compose_files::ComposeFile;
use crate::escape::Unrepresentable;
use crate::escape::{docker_copy, docker_quoted, docker_word};
use crate::regular_file::{self, Follow};
use crate::render::probe_command;
use crate::system::{Probe, Protocol, Service};

/// The stand-in program itself, compiled into this crate too, so that the
/// pre-start check reads an exec health check exactly as the program will.
#[allow(dead_code)]
#[path = "../bin/lucid-gen-standin.rs"]
mod program;

/// The stand-in program's source, compiled for the target platform.
const SOURCE: &str = include_str!("../bin/lucid-gen-standin.rs");

/// Whether the engine honours `healthcheck.start_interval` (API ≥ 1.44).
fn engine_has_start_interval() -> bool {
    let version = Cmd::docker()
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .run()
        .unwrap_or_default();
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    matches!((parts.next(), parts.next()), (Some(Some(major)), Some(Some(minor))) if (major, minor) >= (1, 44))
}

/// Label on every stand-in image.
pub const LABEL: &str = "lucid-gen.stand-in";

/// Stand-in images for every service of a deployment.
#[derive(Debug, Clone)]
pub struct StandIns {
    /// The platform they run as.
    pub platform: String,
    /// Whether that differs from the model's platform.
    pub fallback: bool,
    /// Service name → image.
    pub images: BTreeMap<String, String>,
    /// An image with only the program, for probe containers.
    pub probe_image: String,
    /// Whether the engine honours `healthcheck.start_interval`.
    pub start_interval: bool,
}

/// How to compile the program for one platform.
struct Toolchain {
    rustc: String,
    target: Option<&'static str>,
    linker: Option<&'static str>,
    platform: String,
}

fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("lucid-gen-standin")
}

/// FNV-1a: a stable cache key, not a security hash.
pub fn fnv(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn arch_of(platform: &str) -> Option<(&'static str, &'static str)> {
    match platform.split('/').nth(1)? {
        "arm64" | "aarch64" => Some(("aarch64", "linux/arm64")),
        "amd64" | "x86_64" => Some(("x86_64", "linux/amd64")),
        _ => None,
    }
}

fn host_platform() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    }
}

fn works(cmd: Cmd) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

/// A rustc that has the standard library for `target`.
fn rustc_for(target: &str) -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(r) = std::env::var("LUCID_GEN_STANDIN_RUSTC") {
        candidates.push(r);
    }
    candidates.extend(["rustc".to_string(), "/usr/bin/rustc".to_string()]);
    candidates.into_iter().find(|rustc| {
        Cmd::new(rustc)
            .args(["--print", "target-libdir", "--target", target])
            .run()
            .is_ok_and(|dir| {
                fs::read_dir(dir.trim()).is_ok_and(|mut d| {
                    d.any(|e| {
                        e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd"))
                    })
                })
            })
    })
}

/// Picks how to build for `wanted`, or why it cannot be done here.
fn toolchain(wanted: &str) -> Result<Toolchain, String> {
    let (arch, platform) =
        arch_of(wanted).ok_or_else(|| format!("no stand-in build for platform {wanted}"))?;
    if arch == std::env::consts::ARCH {
        let rustc = std::env::var("LUCID_GEN_STANDIN_RUSTC").unwrap_or_else(|_| "rustc".into());
        return Ok(Toolchain {
            rustc,
            target: None,
            linker: None,
            platform: platform.into(),
        });
    }
    let (target, linker, binfmt) = match arch {
        "aarch64" => (
            "aarch64-unknown-linux-gnu",
            "aarch64-linux-gnu-gcc",
            "qemu-aarch64",
        ),
        _ => (
            "x86_64-unknown-linux-gnu",
            "x86_64-linux-gnu-gcc",
            "qemu-x86_64",
        ),
    };
    let registered = Path::new("/proc/sys/fs/binfmt_misc").join(binfmt);
    let emulation = regular_file::read_text(&registered, Follow::Links, 64 << 10)
        .is_ok_and(|s| s.starts_with("enabled"));
    if !emulation {
        return Err(format!(
            "no {binfmt} emulation registered (apt-get install qemu-user-static binfmt-support; update-binfmts --enable {binfmt})"
        ));
    }
    let rustc = rustc_for(target).ok_or_else(|| {
        format!("no rustc with the {target} standard library (Debian: apt-get install rustc libstd-rust-dev:{} gcc-{}-linux-gnu libc6-dev-{}-cross)",
            if arch == "aarch64" { "arm64" } else { "amd64" },
            arch.replace('_', "-"),
            if arch == "aarch64" { "arm64" } else { "amd64" })
    })?;
    if !works(Cmd::new(linker).arg("--version")) {
        return Err(format!("no linker {linker} for {target}"));
    }
    Ok(Toolchain {
        rustc,
        target: Some(target),
        linker: Some(linker),
        platform: platform.into(),
    })
}

/// Compiles the program (cached by source, compiler and target).
fn compile(tc: &Toolchain) -> Result<PathBuf, DockerError> {
    let dir = cache_dir();
    fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
    let key = fnv(&[
        SOURCE.as_bytes(),
        tc.rustc.as_bytes(),
        tc.target.unwrap_or("host").as_bytes(),
    ]);
    let binary = dir.join(format!("standin-{}-{key}", tc.target.unwrap_or("host")));
    if binary.is_file() {
        return Ok(binary);
    }
    // Per-process names: two runs may compile the same program at once
    // (the cache is shared); the rename makes whichever finishes first win.
    let pid = std::process::id();
    let source = dir.join(format!("standin-{key}-{pid}.rs"));
    fs::write(&source, SOURCE).map_err(|e| io_error("write", &source, e))?;
    let partial = binary.with_extension(format!("{pid}.partial"));
    let mut cmd = Cmd::new(&tc.rustc).args([
        "--crate-name",
        "standin",
        "--edition",
        "2021",
        "-O",
        "-C",
        "panic=abort",
        "-C",
        "strip=symbols",
        "-C",
        "target-feature=+crt-static",
        "-C",
        "relocation-model=static",
    ]);
    if let (Some(target), Some(linker)) = (tc.target, tc.linker) {
        cmd = cmd
            .args(["--target", target, "-C"])
            .arg(format!("linker={linker}"));
    }
    let compiled = cmd.arg(&source).arg("-o").arg(&partial).run();
    let _ = fs::remove_file(&source);
    compiled?;
    fs::rename(&partial, &binary).map_err(|e| io_error("write", &binary, e))?;
    Ok(binary)
}

/// The working directory of a service's container: its build's `workdir`
/// (`/app` by default, as the generated Dockerfiles set it), `/` for a
/// service run from a published image or built from a hand-written
/// Dockerfile (whose own directory is unknown).
fn workdir(s: &Service) -> String {
    match &s.build {
        Some(b) if b.dockerfile.is_none() => normalise(b.workdir.as_deref().unwrap_or("/app"), "/"),
        _ => "/".to_string(),
    }
}

/// `path` made absolute against `base`, `.`/`..`/empty components resolved.
fn normalise(path: &str, base: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Where an exec health check's program must be for the image to run it:
/// an absolute path as is, a relative one with a `/` against the working
/// directory, a bare name on `PATH` (`/usr/local/bin` comes first).
fn exec_path(s: &Service, program: &str) -> String {
    if program.contains('/') {
        normalise(program, &workdir(s))
    } else {
        format!("/usr/local/bin/{program}")
    }
}

/// Paths Docker mounts over in every container: a program placed there
/// would be hidden.
const MOUNTED: [&str; 6] = [
    "/proc",
    "/sys",
    "/dev",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
];

fn is_under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || path.starts_with(&format!("{dir}/"))
}

/// The TCP ports a service's stand-in listens on: the declared ones.
fn tcp_ports(s: &Service) -> Vec<u16> {
    let tcp = s.ports.iter().filter(|p| p.protocol == Protocol::Tcp);
    tcp.map(|p| p.container.0).collect()
}

/// The health check as the model writes it, for messages.
fn describe(probe: &Probe) -> String {
    match probe {
        Probe::Http { port, path } => format!("http: {path} on port {}", port.0),
        Probe::Tcp { port } => format!("tcp on port {}", port.0),
        Probe::Exec(cmd) => format!("exec: {cmd:?}"),
    }
}

/// The program an `http`/`tcp` health check runs, when the stand-in must
/// be copied to it: Node.js (`node`) or lucid-gen's probe program; Python
/// is always there (`/usr/bin/python3`).
fn network_probe_program(s: &Service) -> Option<String> {
    if matches!(s.health.as_ref()?.probe, Probe::Exec(_)) {
        return None;
    }
    let program = probe_command(s)?.into_iter().next()?;
    (program != "python3").then_some(program)
}

/// Why the stand-in of `s` could not answer its health check as the real
/// service would (empty: it can). `up --stand-ins` reports these before
/// anything starts, so they never surface as "unhealthy" minutes later.
pub fn unhonourable(s: &Service) -> Vec<String> {
    let Some(health) = &s.health else {
        return Vec::new();
    };
    let ports = tcp_ports(s);
    let undeclared = |port: u16, how: &str| {
        format!(
            "{how} port {port}, which `{}` does not declare: add `- container: {port}` to its \
             `ports` (the stand-in listens only on declared TCP ports)",
            s.name
        )
    };
    let mut why = Vec::new();
    match &health.probe {
        Probe::Http { port, .. } | Probe::Tcp { port } if !ports.contains(&port.0) => {
            why.push(undeclared(port.0, "it probes"));
        }
        Probe::Http { .. } | Probe::Tcp { .. } => {
            if let Some(program) = network_probe_program(s) {
                why.extend(exec_problems(s, &[program]));
            }
        }
        Probe::Exec(cmd) => {
            why.extend(exec_problems(s, cmd));
            let program = cmd[0].rsplit('/').next().unwrap_or("");
            for check in program::exec_checks(program, &cmd[1..]) {
                let (host, port) = match &check {
                    program::Check::Http(url) => (url.host.as_str(), url.port),
                    program::Check::Tcp(host, port) => (host.as_str(), *port),
                };
                if program::is_loopback(host) && !ports.contains(&port) {
                    why.push(undeclared(port, &format!("it reaches {host} on")));
                }
            }
        }
    }
    let probe = describe(&health.probe);
    let name = &s.name;
    why.into_iter()
        .map(|w| format!("the stand-in for `{name}` cannot honour its health check ({probe}): {w}"))
        .collect()
}

/// Why the exec health check's program cannot be placed where it runs.
fn exec_problems(s: &Service, cmd: &[String]) -> Vec<String> {
    let path = exec_path(s, &cmd[0]);
    let mut why = Vec::new();
    if let Err(e) = docker_copy("standin", &path) {
        why.push(format!(
            "its program path `{path}` cannot be written in a Dockerfile: {e}"
        ));
    }
    if path == "/standin" || path == "/" {
        why.push(format!("the stand-in program itself occupies `{path}`"));
    }
    if let Some(dir) = MOUNTED.iter().find(|dir| is_under(&path, dir)) {
        why.push(format!("Docker mounts its own `{dir}` over `{path}`"));
    }
    let tmpfs = s.security.tmpfs.iter();
    if let Some(dir) = tmpfs.clone().find(|dir| is_under(&path, dir)) {
        why.push(format!("the service's tmpfs `{dir}` hides `{path}`"));
    }
    why
}

/// A model value the stand-in files cannot carry (validation refuses such
/// models first; this is the backstop).
fn unrepresentable(what: &'static str, value: &str, why: Unrepresentable) -> DockerError {
    ErrorKind::StandInValue {
        what,
        value: value.to_string(),
        why: why.to_string(),
    }
    .into()
}

/// The stand-in Dockerfile of one service (`None`: the probe image). Every
/// model value goes through `crate::escape`.
fn dockerfile(service: Option<&Service>) -> Result<String, DockerError> {
    let mut text =
        String::from("FROM scratch\nCOPY standin /standin\nCOPY standin /usr/bin/python3\n");
    let Some(s) = service else {
        text.push_str(&format!(
            "LABEL {LABEL}=probe\nENTRYPOINT [\"/standin\", \"serve\"]\n"
        ));
        return Ok(text);
    };
    if let Some(cmd) = network_probe_program(s) {
        let path = exec_path(s, &cmd);
        let args = docker_copy("standin", &path)
            .map_err(|e| unrepresentable("the health check program", &path, e))?;
        text.push_str(&format!("COPY {args}\n"));
    }
    if let Some(Probe::Exec(cmd)) = s.health.as_ref().map(|h| &h.probe) {
        let path = exec_path(s, &cmd[0]);
        if path != "/standin" && path != "/usr/bin/python3" {
            let args = docker_copy("standin", &path)
                .map_err(|e| unrepresentable("the health check program", &path, e))?;
            text.push_str(&format!("COPY {args}\n"));
        }
        if cmd[0].contains('/') && !cmd[0].starts_with('/') {
            // A relative program runs from the working directory.
            let dir = workdir(s);
            let dir = docker_word(&dir).map_err(|e| unrepresentable("the workdir", &dir, e))?;
            text.push_str(&format!("WORKDIR {dir}\n"));
        }
    }
    let ports = |proto: Protocol| {
        let list = s
            .ports
            .iter()
            .filter(|p| p.protocol == proto)
            .map(|p| p.container.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        docker_word(&list).map_err(|e| unrepresentable("the port list", &list, e))
    };
    let name =
        docker_quoted(&s.name).map_err(|e| unrepresentable("the service name", &s.name, e))?;
    text.push_str(&format!(
        "ENV STANDIN_TCP_PORTS={} STANDIN_UDP_PORTS={}\nLABEL {LABEL}={name}\nENTRYPOINT [\"/standin\", \"serve\"]\n",
        ports(Protocol::Tcp)?,
        ports(Protocol::Udp)?,
    ));
    Ok(text)
}

/// The stand-in program, statically linked, is a few MiB.
const MAX_BINARY_BYTES: u64 = 256 << 20;

/// Builds (or finds) the image for one Dockerfile.
fn image(binary: &Path, text: &str, platform: &str) -> Result<String, DockerError> {
    let bytes = regular_file::read(binary, Follow::Links, MAX_BINARY_BYTES)
        .map_err(|e| io_error("read", binary, e.into()))?;
    let tag = format!(
        "lucid-gen-standin:{}",
        fnv(&[&bytes, text.as_bytes(), platform.as_bytes()])
    );
    if works(Cmd::docker().args(["image", "inspect", "--format", "{{.Id}}", &tag])) {
        return Ok(tag);
    }
    let ctx = cache_dir().join(format!(
        "ctx-{}-{}",
        &tag["lucid-gen-standin:".len()..],
        std::process::id()
    ));
    let io = |e: std::io::Error| io_error("prepare", &ctx, e);
    fs::create_dir_all(&ctx).map_err(io)?;
    fs::copy(binary, ctx.join("standin")).map_err(io)?;
    fs::write(ctx.join("Dockerfile"), text).map_err(io)?;
    // The classic builder needs no buildx and records the platform of a
    // FROM-scratch image correctly.
    let built = Cmd::docker()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "--platform", platform, "-t", &tag])
        .arg(&ctx)
        .run();
    let _ = fs::remove_dir_all(&ctx);
    built?;
    Ok(tag)
}

/// The toolchain for the model's platform, or the host's with a warning.
fn pick_toolchain(wanted: &str) -> Result<(Toolchain, bool), DockerError> {
    match toolchain(wanted) {
        Ok(tc) => Ok((tc, false)),
        Err(why) => {
            let host = host_platform();
            eprintln!("WARNING: stand-ins will run as {host}, NOT as {wanted} like the model's images: {why}");
            Ok((toolchain(host).map_err(ErrorKind::Toolchain)?, true))
        }
    }
}

/// Just the probe image (for `lucid-gen test` against any deployment),
/// for `platform` (the target's).
pub fn probe_image(platform: &str) -> Result<String, DockerError> {
    let (tc, _) = pick_toolchain(platform)?;
    let binary = compile(&tc)?;
    image(&binary, &dockerfile(None)?, &tc.platform)
}

/// Compiles the program and builds an image for every service, for
/// `platform` (the target's: the model's here, a host's own there).
pub fn prepare(ws: &Workspace, platform: &str) -> Result<StandIns, DockerError> {
    let (tc, _) = pick_toolchain(platform)?;
    let fallback = tc.platform != ws.system.platform;
    let binary = compile(&tc)?;
    let mut images = BTreeMap::new();
    for s in &ws.system.services {
        images.insert(
            s.name.clone(),
            image(&binary, &dockerfile(Some(s))?, &tc.platform)?,
        );
    }
    let probe_image = image(&binary, &dockerfile(None)?, &tc.platform)?;
    crate::outln!(
        "stand-ins: {} images for {} (program {})",
        images
            .values()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        tc.platform,
        binary.display()
    );
    Ok(StandIns {
        platform: tc.platform,
        fallback,
        images,
        probe_image,
        start_interval: engine_has_start_interval(),
    })
}

/// Where `up --stand-ins` writes the override of the compose project
/// `project` of the workspace: one file per project and output directory,
/// in the cache.
pub fn override_path(ws: &Workspace, project: &str) -> PathBuf {
    cache_dir().join("overrides").join(format!(
        "{project}-{}.yml",
        fnv(&[ws.out_dir.to_string_lossy().as_bytes()])
    ))
}

/// Writes the compose override that swaps in the stand-in images for the
/// services of `plan` (its text is `render::standin_override`'s) at `path`.
pub fn write_override(
    ws: &Workspace,
    plan: &ComposeFile,
    path: &Path,
    standins: &StandIns,
) -> Result<(), DockerError> {
    let text = crate::render::standin_override::text(
        &ws.system,
        plan,
        &crate::render::standin_override::StandInImages {
            images: &standins.images,
            platform: standins.fallback.then_some(standins.platform.as_str()),
            start_interval: standins.start_interval,
        },
    );
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    crate::write::atomic_write(path, text.as_bytes(), false).map_err(|e| io_error("write", path, e))
}

/// Writes the stack override that swaps in the stand-in images for the
/// services of `plan` (its text is `render::standin_override::stack_text`'s).
pub fn write_stack_override(
    ws: &Workspace,
    plan: &ComposeFile,
    path: &Path,
    standins: &StandIns,
) -> Result<(), DockerError> {
    let text = crate::render::standin_override::stack_text(&ws.system, plan, &standins.images);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    crate::write::atomic_write(path, text.as_bytes(), false).map_err(|e| io_error("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::System;

    fn forge() -> System {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forge");
        let loaded = crate::model::load_dir(&dir).unwrap();
        crate::validate::validate(loaded).unwrap().system
    }

    #[test]
    fn paths_resolve_like_exec_does() {
        assert_eq!(normalise("./bin/../health", "/app"), "/app/health");
        assert_eq!(normalise("/a//b/./c", "/x"), "/a/b/c");
        assert_eq!(normalise("../../..", "/app"), "/");
        assert!(is_under("/proc/x", "/proc") && is_under("/proc", "/proc/"));
        assert!(!is_under("/procfs", "/proc"));
    }

    #[test]
    fn the_health_program_is_placed_where_it_runs() {
        let system = forge();
        let file = |s: &Service| dockerfile(Some(s)).unwrap();
        let db = file(system.service("forge-db").unwrap());
        assert!(
            db.contains("COPY standin /usr/local/bin/pg_isready\n"),
            "{db}"
        );
        let hooks = file(system.service("forge-hooks").unwrap());
        assert!(
            hooks.contains("COPY standin /usr/local/bin/probe\n"),
            "{hooks}"
        );
        let web = file(system.service("forge-web").unwrap());
        assert!(!web.contains("/usr/local/bin/"), "{web}");
        let billing = file(system.service("forge-billing").unwrap());
        assert!(billing.contains("COPY standin /opt/billing/bin/healthcheck\n"));
        let mut worker = system.service("forge-worker").unwrap().clone();
        let health = worker.health.as_mut().unwrap();
        health.probe = Probe::Exec(vec!["./bin/health".into(), "--fast".into()]);
        let text = file(&worker);
        assert!(
            text.contains("COPY standin /app/bin/health\nWORKDIR /app\n"),
            "{text}"
        );
        for s in &system.services {
            assert_eq!(unhonourable(s), Vec::<String>::new(), "{}", s.name);
        }
        worker.security.tmpfs.push("/app/bin".into());
        let why = unhonourable(&worker);
        assert!(why[0].ends_with("the service's tmpfs `/app/bin` hides `/app/bin/health`"));
    }
}
