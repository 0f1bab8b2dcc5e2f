//! Carrying out a host's steps: its preflight checks ([`preflight`]), its
//! own actions ([`host_step`]) and, when a step fails after `current` was
//! switched, the way back ([`roll_back`]). What one step learns for the
//! next (the host's facts, its lock, the image transfer decided in the
//! preflight, the new release) is a [`DeployState`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};

use super::release::{self, Contents, Manifest, PhaseUp};
use super::{HostAction, HostCheck};
use crate::docker::layers::{self, Transfer};
use crate::docker::remote::{self, value, values};
use crate::docker::standin::StandIns;
use crate::docker::steps::{Action, Precheck, Step, DOWN_ARGS};
use crate::docker::target::Target;
use crate::docker::{inventory, DockerError, ErrorKind, Workspace};
use crate::system::{DeployHost, ImageArrival};

/// What the steps of one run learn, for the steps after them.
#[derive(Default)]
pub struct DeployState {
    /// `current` points at this run's release: a failure now rolls back.
    pub switched: bool,
    /// The host's engine cannot be used: its other checks are skipped.
    pub engine_unusable: bool,
    pub standins: Option<StandIns>,
    /// Compose projects brought up (or tried) in this run, in order.
    pub phases_up: Vec<String>,
    /// A swarm run: a failure after the switch is rolled back by Swarm.
    pub swarm: bool,
    lock: Option<Lock>,
    facts: String,
    transfer: Option<Transfer>,
    previous: Option<Manifest>,
    manifest: Option<Manifest>,
}

/// The host's deploy lock, held while the session runs `LOCK`.
struct Lock {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"release\n");
        }
        let _ = self.child.wait();
    }
}

fn host(target: &Target) -> &DeployHost {
    &target.remote().expect("a host target").host
}

/// The host's facts (`remote::FACTS`), read once.
fn facts<'a>(target: &Target, state: &'a mut DeployState) -> Result<&'a str, DockerError> {
    if state.facts.is_empty() {
        state.facts = target
            .shell(remote::FACTS, &[&host(target).directory])
            .run()?;
    }
    Ok(&state.facts)
}

/// The host's own checks of a preflight step (none on this machine): the
/// connection (an unknown or changed key is its own error), then every
/// problem at once.
pub fn preflight(
    ws: &Workspace,
    target: &Target,
    checks: &[Precheck],
    state: &mut DeployState,
) -> Result<Vec<String>, DockerError> {
    let host_checks: Vec<&HostCheck> = (checks.iter())
        .filter_map(|c| match c {
            Precheck::Host(h) => Some(h),
            _ => None,
        })
        .collect();
    if host_checks.is_empty() {
        return Ok(Vec::new());
    }
    target.connect()?;
    let mut problems = Vec::new();
    for check in host_checks {
        match check {
            HostCheck::Lock => problems.extend(take_lock(target, state)?),
            HostCheck::Engine => problems.extend(engine_problems(target, state)?),
            HostCheck::Platform => problems.extend(platform_problem(target, state)?),
            HostCheck::FreeDisk { transfer } if !state.engine_unusable => {
                problems.extend(disk_problem(ws, target, *transfer, state)?)
            }
            HostCheck::FreeDisk { .. } | HostCheck::Connect(_) => {}
        }
    }
    Ok(problems)
}

/// Takes the host's lock; a problem when another deploy holds it.
fn take_lock(target: &Target, state: &mut DeployState) -> Result<Option<String>, DockerError> {
    let h = host(target);
    let note = format!(
        "lucid-gen {} on {} (pid {}), started {}",
        env!("CARGO_PKG_VERSION"),
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map_or("?".into(), |n| n.trim().to_string()),
        std::process::id(),
        crate::docker::time::utc_minute(now()),
    );
    let cmd = target.shell(remote::LOCK, &[&h.directory, &note]);
    let mut child = (cmd.command()?)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| cmd.not_found(e))?;
    let stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut first = lines.next().and_then(Result::ok).unwrap_or_default();
    if first == "stale" {
        let dead = lines.next().and_then(Result::ok).unwrap_or_default();
        eprintln!(
            "note: host `{}` had a stale deploy lock, taken over: {dead} stopped without finishing",
            h.name
        );
        first = lines.next().and_then(Result::ok).unwrap_or_default();
    }
    let problem = match first.as_str() {
        "locked" => {
            state.lock = Some(Lock { child, stdin });
            return Ok(None);
        }
        "busy" => format!(
            "another deploy to host `{}` is under way ({}); wait for it to finish (its lock is {}/.lock)",
            h.name,
            lines.next().and_then(Result::ok).unwrap_or_else(|| "holder unknown".into()),
            h.directory
        ),
        _ => format!(
            "cannot create {} on the host as `{}`: create it once as root and hand it over \
             (`sudo install -d -o {} {}`)",
            h.directory, h.user, h.user, h.directory
        ),
    };
    drop(stdin);
    let _ = child.wait();
    Ok(Some(problem))
}

/// Docker Engine and Compose there, new enough, usable; the tools the
/// release scripts run.
fn engine_problems(target: &Target, state: &mut DeployState) -> Result<Vec<String>, DockerError> {
    let h = host(target).clone();
    let facts = facts(target, state)?.to_string();
    let mut problems = Vec::new();
    for tool in values(&facts, "missing") {
        problems.push(match tool {
            "docker" => "Docker Engine is not installed there (`docker` is not on the PATH): install docker.io or Docker's docker-ce".to_string(),
            t => format!("the host lacks `{t}`, which the release scripts use: install it (tar, util-linux, coreutils)"),
        });
    }
    match (value(&facts, "engine"), value(&facts, "engine-error")) {
        (Some(v), _) if version_below(v, (20, 10, 0)) => problems.push(format!(
            "Docker Engine {v} there is too old: 20.10 or newer is needed"
        )),
        (Some(_), _) => {}
        (None, Some(e)) if e.contains("permission denied") => problems.push(format!(
            "`{}` may not use the Docker socket there: add it to the docker group \
             (`sudo usermod -aG docker {}`) and log in again",
            h.user, h.user
        )),
        (None, e) if !values(&facts, "missing").contains(&"docker") => problems.push(format!(
            "Docker Engine does not answer there: {}",
            e.unwrap_or("no answer").trim()
        )),
        (None, _) => {}
    }
    match value(&facts, "compose") {
        Some(v) if version_below(v, (2, 17, 0)) => problems.push(format!(
            "Docker Compose {v} there is too old: v2.17 or newer is needed (`up --wait-timeout`)"
        )),
        Some(_) => {}
        None if value(&facts, "engine").is_some() => problems.push(
            "Docker Compose v2 is missing there: install docker-compose-plugin (or put the \
             docker-compose binary in /usr/libexec/docker/cli-plugins/)"
                .into(),
        ),
        None => {}
    }
    state.engine_unusable = value(&facts, "engine").is_none();
    Ok(problems)
}

/// `major.minor.patch` (a leading `v` and a `+…`/`-…` suffix ignored)
/// below `min`.
fn version_below(v: &str, min: (u32, u32, u32)) -> bool {
    let v = v.trim().trim_start_matches('v');
    let mut parts = v
        .split(['.', '+', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    found < min
}

/// The architecture `uname -m` names, as Docker's platforms do.
fn docker_arch(machine: &str) -> &str {
    match machine {
        "aarch64" | "arm64" => "arm64",
        "x86_64" | "amd64" => "amd64",
        "armv7l" | "armv7" => "arm",
        other => other,
    }
}

fn platform_problem(
    target: &Target,
    state: &mut DeployState,
) -> Result<Option<String>, DockerError> {
    let h = host(target).clone();
    let facts = facts(target, state)?;
    let machine = value(facts, "arch").unwrap_or("unknown");
    let wanted = h.platform.split('/').nth(1).unwrap_or("");
    Ok((docker_arch(machine) != wanted).then(|| {
        format!(
            "host `{}` is {machine} (linux/{}), but the model says {}: its images would not run \
             there; fix `hosts.{}.platform` or deploy to another host",
            h.name,
            docker_arch(machine),
            h.platform,
            h.name
        )
    }))
}

/// Free space on the Docker root against the model's minimum and, when
/// images are sent, twice the bytes to send (decided here: the transfer
/// is prepared, nothing sent).
fn disk_problem(
    ws: &Workspace,
    target: &Target,
    transfer: bool,
    state: &mut DeployState,
) -> Result<Option<String>, DockerError> {
    let h = host(target).clone();
    let facts = facts(target, state)?.to_string();
    let free = value(&facts, "free-kib")
        .and_then(|k| k.trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024;
    let root = value(&facts, "root")
        .unwrap_or("the Docker root")
        .to_string();
    let mut need = (
        h.min_free_disk,
        format!("the model's minimum of {}", bytes(h.min_free_disk)),
    );
    if transfer {
        let refs = wanted_images(ws, &h, state.standins.as_ref());
        let containerd = value(&facts, "store") == Some("containerd");
        let t = layers::prepare(target, &refs, containerd)?;
        if 2 * t.send_bytes > need.0 {
            need = (
                2 * t.send_bytes,
                format!("twice the {} of images to send", bytes(t.send_bytes)),
            );
        }
        state.transfer = Some(t);
    }
    Ok((free < need.0).then(|| {
        format!(
            "only {} free on {root} there, below {}: free space first (`docker system prune`)",
            bytes(free),
            need.1
        )
    }))
}

/// A byte count for people: `20.0 GiB`, `5.1 MiB`, `312 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    match unit {
        "B" => format!("{n} B"),
        u => format!("{v:.1} {u}"),
    }
}

/// Every image the host's phases run: the stand-ins, or the model's.
fn wanted_images(ws: &Workspace, h: &DeployHost, standins: Option<&StandIns>) -> Vec<String> {
    let mut refs = BTreeSet::new();
    for &p in &h.phases {
        for s in ws.system.services_in(p) {
            match standins {
                Some(st) => refs.extend(st.images.get(&s.name).cloned()),
                None => {
                    refs.insert(s.image.clone());
                }
            }
        }
    }
    refs.into_iter().collect()
}

fn now() -> u64 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH))
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Release numbers on the host (`releases/N`), newest first, and the
/// highest number ever used (failed and partial ones included).
fn releases(facts: &str) -> (Vec<u32>, u32) {
    let names = values(facts, "release");
    let number = |n: &str| n.split('.').next().and_then(|n| n.parse::<u32>().ok());
    let mut good: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    good.sort_unstable_by(|a, b| b.cmp(a));
    let max = names.iter().filter_map(|n| number(n)).max().unwrap_or(0);
    (good, max)
}

/// The release `current` points at.
fn current(facts: &str) -> Option<u32> {
    value(facts, "current")?
        .strip_prefix("releases/")?
        .parse()
        .ok()
}

fn read_manifest(target: &Target, at: &str) -> Result<Option<Manifest>, DockerError> {
    let text = target
        .shell(remote::MANIFEST, &[&host(target).directory, at])
        .run()?;
    Ok(Manifest::parse(&text))
}

/// One host step.
pub fn host_step(
    ws: &Workspace,
    target: &Target,
    action: &HostAction,
    state: &mut DeployState,
) -> Result<(), DockerError> {
    match action {
        HostAction::Release { files, phases } => send_release(ws, target, files, phases, state),
        HostAction::Images { mode, stand_ins } => {
            match *mode == ImageArrival::Transfer || *stand_ins {
                true => send_images(ws, target, state),
                false => pull_images(ws, target, state),
            }
        }
        HostAction::Switch { .. } => switch(target, state),
        HostAction::Prune { keep } => prune(target, *keep, state),
        HostAction::PruneImages => {
            let out = target.docker().args(["image", "prune", "-f"]).run()?;
            let freed = out.lines().last().unwrap_or("nothing to prune");
            crate::outln!("prune images: {freed}");
            Ok(())
        }
        HostAction::Revert { to } => revert(target, *to, state),
    }
}

/// The release's files into `releases/N.partial`: hard links to the
/// current release, then what changed.
fn send_release(
    ws: &Workspace,
    target: &Target,
    files: &[release::ReleaseFile],
    phases: &[PhaseUp],
    state: &mut DeployState,
) -> Result<(), DockerError> {
    let dir = host(target).directory.clone();
    let facts = facts(target, state)?.to_string();
    let (_, max) = releases(&facts);
    let next = max + 1;
    let previous = match current(&facts) {
        Some(_) => read_manifest(target, "current")?,
        None => None,
    };
    let contents = Contents::read(files)?;
    let before = previous
        .as_ref()
        .map(|m| m.files.clone())
        .unwrap_or_default();
    let hashes = contents.hashes();
    let mut gone: Vec<String> = (before.iter())
        .filter(|(path, hash)| hashes.get(*path) != Some(*hash))
        .map(|(path, _)| path.clone())
        .collect();
    gone.push(release::MANIFEST.to_string());
    let n = next.to_string();
    let mut args: Vec<&str> = vec![&dir, &n];
    args.extend(gone.iter().map(String::as_str));
    target.shell(remote::RELEASE_START, &args).run()?;
    let (tar, sent) = contents.tar(&before)?;
    target
        .shell(remote::RELEASE_EXTRACT, &[&dir, &n])
        .run_fed(|w| w.write_all(&tar))?;
    crate::outln!(
        "release {next}: {sent} of {} file(s) sent ({} bytes){}",
        files.len(),
        tar.len(),
        match &previous {
            Some(p) => format!(", the rest kept from release {}", p.number),
            None => String::new(),
        }
    );
    state.manifest = Some(Manifest {
        number: next,
        created: now(),
        system: ws.system.name.clone(),
        stand_ins: state.standins.is_some(),
        files: hashes,
        images: BTreeMap::new(),
        phases: phases.to_vec(),
    });
    state.previous = previous;
    Ok(())
}

/// Only the layers the host lacks, then every image ID checked there.
fn send_images(
    ws: &Workspace,
    target: &Target,
    state: &mut DeployState,
) -> Result<(), DockerError> {
    let t = match state.transfer.take() {
        Some(t) => t,
        None => {
            let refs = wanted_images(ws, host(target), state.standins.as_ref());
            layers::prepare(target, &refs, false)?
        }
    };
    let sent = layers::send(target, &t)?;
    crate::outln!(
        "images: sent {} bytes for {} of {} image(s) ({} of {} layers already on the host; full docker save {} bytes)",
        sent.bytes,
        sent.images,
        t.images.len(),
        t.layers_skipped,
        t.layers_total,
        t.full_bytes
    );
    if let Some(note) = sent.note {
        eprintln!("note: {note}");
    }
    if let Some(m) = &mut state.manifest {
        m.images = t.images.clone();
    }
    Ok(())
}

/// `docker compose pull` per phase of the new release, then the IDs.
fn pull_images(
    ws: &Workspace,
    target: &Target,
    state: &mut DeployState,
) -> Result<(), DockerError> {
    let h = host(target).clone();
    let m = state.manifest.as_mut().expect("the release step ran");
    let root = std::path::Path::new(&h.directory).join(format!("releases/{}.partial", m.number));
    for p in &m.phases {
        let files: Vec<_> = p.files.iter().map(|f| root.join(f)).collect();
        target
            .compose(&p.project, &files)
            .arg("pull")
            .run_visible()?;
    }
    let refs = wanted_images(ws, &h, None);
    let ids = layers::host_ids(target, &refs)?;
    m.images = refs.into_iter().zip(ids).collect();
    Ok(())
}

/// The manifest written, the release put in place, `current` switched.
fn switch(target: &Target, state: &mut DeployState) -> Result<(), DockerError> {
    let dir = host(target).directory.clone();
    let m = state.manifest.as_ref().expect("the release step ran");
    let n = m.number.to_string();
    let tar = release::manifest_tar(m)?;
    target
        .shell(remote::RELEASE_EXTRACT, &[&dir, &n])
        .run_fed(|w| w.write_all(&tar))?;
    target.shell(remote::RELEASE_FINISH, &[&dir, &n]).run()?;
    target.shell(remote::SWITCH, &[&dir, &n]).run()?;
    state.switched = true;
    crate::outln!("current → release {n}");
    Ok(())
}

/// Releases beyond the newest `keep` (and failed ones) removed, with the
/// images only they ran.
fn prune(target: &Target, keep: u32, state: &mut DeployState) -> Result<(), DockerError> {
    let dir = host(target).directory.clone();
    let facts = target.shell(remote::FACTS, &[&dir]).run()?;
    let names: Vec<&str> = values(&facts, "release");
    let (good, _) = releases(&facts);
    let (kept, old) = good.split_at(good.len().min(keep as usize));
    let mut remove: Vec<String> = old.iter().map(u32::to_string).collect();
    remove.extend(
        (names.iter())
            .filter(|n| n.parse::<u32>().is_err())
            .map(|n| n.to_string()),
    );
    if remove.is_empty() {
        return Ok(());
    }
    let mut kept_ids = BTreeSet::new();
    for n in kept {
        let m = read_manifest(target, &format!("releases/{n}"))?;
        kept_ids.extend(m.into_iter().flat_map(|m| m.images.into_values()));
    }
    let mut old_ids = BTreeSet::new();
    for n in old {
        let m = read_manifest(target, &format!("releases/{n}"))?;
        old_ids.extend(m.into_iter().flat_map(|m| m.images.into_values()));
    }
    let mut args: Vec<&str> = vec![&dir];
    args.extend(remove.iter().map(String::as_str));
    target.shell(remote::PRUNE, &args).run()?;
    let unused: Vec<&str> = old_ids.difference(&kept_ids).map(String::as_str).collect();
    if !unused.is_empty() {
        target.shell(REMOVE_IMAGES, &unused).run()?;
    }
    crate::outln!(
        "prune: removed {} (kept {}); {} image(s) only they ran",
        remove.join(", "),
        kept.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        unused.len()
    );
    state.facts.clear();
    Ok(())
}

/// `docker image rm` each argument, quietly (an image still in use stays).
const REMOVE_IMAGES: &str =
    r#"for i in "$@"; do docker image rm "$i" >/dev/null 2>&1 || true; done"#;

/// `docker tag ID REF` for each pair of arguments.
const RETAG: &str = r#"while [ $# -gt 1 ]; do docker tag "$1" "$2" || exit 1; shift 2; done"#;

/// Points `current` at release `m`, re-tags its images and brings its
/// phases up, health-gated.
fn bring_back(target: &Target, m: &Manifest) -> Result<(), DockerError> {
    let h = host(target);
    let n = m.number.to_string();
    target.shell(remote::SWITCH, &[&h.directory, &n]).run()?;
    let pairs: Vec<&str> = (m.images.iter())
        .flat_map(|(r, id)| [id.as_str(), r.as_str()])
        .collect();
    if !pairs.is_empty() {
        target.shell(RETAG, &pairs).run()?;
    }
    let root = std::path::Path::new(&h.directory).join("current");
    let deadline = h.deadline_secs.to_string();
    for p in &m.phases {
        let files: Vec<_> = p.files.iter().map(|f| root.join(f)).collect();
        (target.compose(&p.project, &files))
            .args(crate::docker::steps::UP_ARGS)
            .arg(&deadline)
            .run_visible()?;
    }
    Ok(())
}

/// `rollback --host`: back to release `to`, or to the one before the
/// current; lists the releases.
fn revert(target: &Target, to: Option<u32>, state: &mut DeployState) -> Result<(), DockerError> {
    let h = host(target).clone();
    let facts = facts(target, state)?.to_string();
    let (good, _) = releases(&facts);
    let cur = current(&facts);
    let list = listing(&facts);
    let chosen = match to {
        Some(n) if good.contains(&n) => Some(n),
        Some(n) => {
            return Err(ErrorKind::NoRelease {
                host: h.name,
                why: format!("there is no release {n}; the host has: {list}"),
            }
            .into())
        }
        None => good.iter().copied().find(|&n| cur.is_none_or(|c| n < c)),
    };
    let Some(n) = chosen.filter(|n| Some(*n) != cur) else {
        return Err(ErrorKind::NoRelease {
            host: h.name,
            why: format!("nothing before the current one; the host has: {list}"),
        }
        .into());
    };
    let m =
        read_manifest(target, &format!("releases/{n}"))?.ok_or_else(|| ErrorKind::NoRelease {
            host: h.name.clone(),
            why: format!("release {n} has no readable manifest"),
        })?;
    bring_back(target, &m)?;
    let facts = target.shell(remote::FACTS, &[&h.directory]).run()?;
    crate::outln!(
        "rollback: host `{}` runs release {n} again; releases: {}",
        h.name,
        listing(&facts)
    );
    Ok(())
}

/// `1, 2 (current), 3 (failed)`.
fn listing(facts: &str) -> String {
    let cur = current(facts);
    let mut names: Vec<&str> = values(facts, "release");
    names.sort_by_key(|n| n.split('.').next().and_then(|n| n.parse::<u32>().ok()));
    let shown: Vec<String> = (names.iter())
        .map(
            |n| match (n.parse::<u32>().ok(), n.strip_suffix(".failed")) {
                (Some(x), _) if Some(x) == cur => format!("{x} (current)"),
                (Some(x), _) => x.to_string(),
                (None, Some(f)) => format!("{f} (failed)"),
                (None, None) => format!("{n} (incomplete)"),
            },
        )
        .collect();
    match shown.is_empty() {
        true => "none".into(),
        false => shown.join(", "),
    }
}

/// After a failure once `current` was switched: the previous release
/// back (switch, images, phases up), or — on a first release — the phases
/// this run started taken down and `current` removed. Returns the error
/// to report: what failed (the service and its last health output) and
/// what rolling back did.
pub fn roll_back(
    _ws: &Workspace,
    target: &Target,
    step: &Step,
    error: DockerError,
    state: &mut DeployState,
) -> DockerError {
    let h = host(target).clone();
    let failure = match &step.action {
        Action::Compose { project, .. } => {
            unhealthy(target, project, &h).unwrap_or_else(|| error.to_string())
        }
        _ => error.to_string(),
    };
    let m = state.manifest.clone().unwrap_or_default();
    let n = m.number.to_string();
    eprintln!("{failure}\nrolling back host `{}` …", h.name);
    let outcome = match &state.previous {
        Some(prev) => {
            let prev = prev.clone();
            let back = bring_back(target, &prev)
                .and_then(|()| down_new_projects(target, &m, &prev, state))
                .and_then(|()| {
                    target
                        .shell(remote::MARK_FAILED, &[&h.directory, &n])
                        .run()
                        .map(drop)
                });
            match back {
                Ok(()) => format!(
                    "rolled back to release {}: its phases are up and healthy again (release {n} kept as {n}.failed)",
                    prev.number
                ),
                Err(e) => format!("rolling back to release {} failed too: {e}", prev.number),
            }
        }
        None => {
            let root = std::path::Path::new(&h.directory).join("current");
            let mut result = Ok(());
            for project in state.phases_up.iter().rev() {
                let Some(p) = m.phases.iter().find(|p| &p.project == project) else {
                    continue;
                };
                let files: Vec<_> = p.files.iter().map(|f| root.join(f)).collect();
                let down = target.compose(project, &files).args(DOWN_ARGS);
                result = result.and(down.run().map(drop));
            }
            let result = result.and(
                target
                    .shell(remote::UNSWITCH, &[&h.directory, &n])
                    .run()
                    .map(drop),
            );
            match result {
                Ok(()) => format!(
                    "this was the host's first release: there is nothing to go back to, so the phases it \
                     started were taken down and the host is as it was (release {n} kept as {n}.failed)"
                ),
                Err(e) => format!("taking the first release down failed too: {e}"),
            }
        }
    };
    ErrorKind::RolledBack { failure, outcome }.into()
}

/// Phases this run brought up that the previous release does not have.
fn down_new_projects(
    target: &Target,
    m: &Manifest,
    prev: &Manifest,
    state: &DeployState,
) -> Result<(), DockerError> {
    let root = std::path::Path::new(&host(target).directory)
        .join("releases")
        .join(m.number.to_string());
    for project in state.phases_up.iter().rev() {
        if prev.phases.iter().any(|p| &p.project == project) {
            continue;
        }
        let Some(p) = m.phases.iter().find(|p| &p.project == project) else {
            continue;
        };
        let files: Vec<_> = p.files.iter().map(|f| root.join(f)).collect();
        target.compose(project, &files).args(DOWN_ARGS).run()?;
    }
    Ok(())
}

/// Which service of `project` kept its phase from coming up, with its
/// last health check output.
fn unhealthy(target: &Target, project: &str, h: &DeployHost) -> Option<String> {
    let found = inventory::containers(target, &[project.to_string()]).ok()?;
    let bad = (found.values().flatten()).find(|c| {
        (c.health.as_deref().is_some_and(|s| s != "healthy"))
            || (!c.running && c.exit_code != Some(0))
    })?;
    let state = match (&bad.health, bad.running) {
        (Some(health), _) => health.clone(),
        (None, false) => format!("exited {}", bad.exit_code.unwrap_or(-1)),
        (None, true) => "running".into(),
    };
    let said = match bad.health_log.as_deref().map(str::trim) {
        Some(log) if !log.is_empty() => format!("; its last health check said: {log}"),
        _ => String::new(),
    };
    Some(format!(
        "project {project} did not come up healthy within {}s: service `{}` is {state}{said}",
        h.deadline_secs, bad.service
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_release_listings() {
        assert!(version_below("20.04.1", (20, 10, 0)));
        assert!(!version_below("20.10.24+dfsg1", (20, 10, 0)));
        assert!(!version_below("v2.40.3", (2, 17, 0)));
        assert!(version_below("2.12.2", (2, 17, 0)));
        let facts = "current=releases/2\nrelease=1\nrelease=10\nrelease=2\nrelease=3.failed\nrelease=4.partial\n";
        assert_eq!(releases(facts), (vec![10, 2, 1], 10));
        assert_eq!(current(facts), Some(2));
        assert_eq!(
            listing(facts),
            "1, 2 (current), 3 (failed), 4.partial (incomplete), 10"
        );
        assert_eq!(bytes(20 * 1024 * 1024 * 1024), "20.0 GiB");
        assert_eq!(bytes(312), "312 B");
    }
}
