//! Health probes: the command an `http` or `tcp` health check runs in the
//! service's image, and the tiny static probe program (`templates/probe/`)
//! lucid-gen ships for images without a shell, curl or an interpreter.
//!
//! Which program runs the probe follows from the build: the `python`
//! stack's Python, the `node` stack's Node.js, and for every other build
//! (`java`, `native`, a hand-written Dockerfile that says `probe: true`)
//! the probe program, built once as an implicit base image and copied into
//! each image that needs it. Published images only run `exec` checks
//! (validation refuses `http`/`tcp` there).

use std::path::PathBuf;

use askama::Template;

use super::{output_path, template_error, RenderError};
use crate::escape::{comment, js_str, python_str, Comment};
use crate::system::{Build, Probe, Service, Stack, System};

/// Where the probe program lies in every image that carries it.
pub const PROBE_PATH: &str = "/usr/local/bin/probe";

/// The bake target of the probe image.
pub const BAKE_TARGET: &str = "lucid-gen-probe";

/// The pinned compiler image the probe is built with.
const RUST_IMAGE: &str = "rust:1.83-alpine";

/// The program an image's `http`/`tcp` health check runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prober {
    Python,
    Node,
    /// The probe program at [`PROBE_PATH`].
    Static,
}

/// The prober of a build: the probe program when the build carries it
/// (`probe: true`), else its stack's interpreter or the probe program.
pub fn prober(build: &Build) -> Prober {
    match build.stack {
        _ if build.probe => Prober::Static,
        Some(Stack::Python) => Prober::Python,
        Some(Stack::Node) => Prober::Node,
        Some(Stack::Java | Stack::Native) | None => Prober::Static,
    }
}

/// Whether `service`'s image carries the probe program: its build says so,
/// or its `http`/`tcp` health check needs it.
pub fn carries_probe(service: &Service) -> bool {
    let Some(build) = &service.build else {
        return false;
    };
    let network_probe = service
        .health
        .as_ref()
        .is_some_and(|h| !matches!(h.probe, Probe::Exec(_)));
    build.probe || (network_probe && prober(build) == Prober::Static)
}

/// Whether any image needs the probe program (then its files are written
/// and its image is built before every other).
pub fn needed(system: &System) -> bool {
    system.services.iter().any(carries_probe)
}

/// The probe image: `<registry namespace>/lucid-gen-probe:<registry tag>`.
pub fn image(system: &System) -> String {
    format!("{}/{BAKE_TARGET}:{}", system.registry_namespace, system.tag)
}

/// The probe's build context, relative to the output root.
pub fn context_dir(system: &System) -> PathBuf {
    output_path(&system.output.dockerfile_dir, &["probe"])
}

/// The probe's source, relative to the output root.
pub fn source_path(system: &System) -> PathBuf {
    context_dir(system).join("probe.rs")
}

/// The probe image's Dockerfile, relative to the output root.
pub fn dockerfile_path(system: &System) -> PathBuf {
    context_dir(system).join("probe.Dockerfile")
}

#[derive(Template)]
#[template(path = "probe/probe.rs", escape = "none")]
struct ProbeSource;

#[derive(Template)]
#[template(path = "probe/probe.Dockerfile", escape = "none")]
struct ProbeDockerfile {
    header: Vec<Comment>,
    rust_image: &'static str,
}

/// The probe's source and Dockerfile, when some image needs them.
pub fn render_all(system: &System) -> Result<Vec<(PathBuf, String)>, RenderError> {
    if !needed(system) {
        return Ok(Vec::new());
    }
    let source = ProbeSource
        .render()
        .map_err(template_error("probe/probe.rs"))?;
    let users: Vec<&str> = (system.services.iter())
        .filter(|s| carries_probe(s))
        .map(|s| s.name.as_str())
        .collect();
    let header = vec![
        comment(&format!(
            "The health probe ({PROBE_PATH}) of: {}.",
            users.join(", ")
        )),
        comment(&format!(
            "Build from the output directory: docker build --platform {} -t {} -f THIS_FILE {}",
            system.platform,
            image(system),
            context_dir(system).display()
        )),
    ];
    let dockerfile = ProbeDockerfile {
        header,
        rust_image: RUST_IMAGE,
    }
    .render()
    .map_err(template_error("probe/probe.Dockerfile"))?;
    Ok(vec![
        (source_path(system), source + "\n"),
        (dockerfile_path(system), dockerfile + "\n"),
    ])
}

/// The probe command of a health check, in exec form, runnable in the
/// service's image without a shell.
pub fn probe_command(service: &Service) -> Option<Vec<String>> {
    let health = service.health.as_ref()?;
    let by = service.build.as_deref().map_or(Prober::Static, prober);
    Some(match (&health.probe, by) {
        (Probe::Exec(cmd), _) => cmd.clone(),
        (Probe::Http { port, path }, Prober::Python) => python(format!(
            "import urllib.request; urllib.request.urlopen({}, timeout=5)",
            python_str(&format!("http://127.0.0.1:{}{}", port.0, path))
        )),
        (Probe::Tcp { port }, Prober::Python) => python(format!(
            "import socket; socket.create_connection(('127.0.0.1', {}), timeout=5).close()",
            port.0
        )),
        // A 5 s deadline for the whole check; `redirect: 'manual'` judges
        // the answer itself, as the probe program does.
        (Probe::Http { port, path }, Prober::Node) => node(format!(
            "setTimeout(() => process.exit(1), 5000); \
             fetch({}, {{ redirect: 'manual' }}).then(r => process.exit(r.status < 400 ? 0 : 1), () => process.exit(1))",
            js_str(&format!("http://127.0.0.1:{}{}", port.0, path))
        )),
        (Probe::Tcp { port }, Prober::Node) => node(format!(
            "setTimeout(() => process.exit(1), 5000); \
             require('net').connect({}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))",
            port.0
        )),
        (Probe::Http { port, path }, Prober::Static) => vec![
            PROBE_PATH.into(),
            "http".into(),
            port.0.to_string(),
            path.clone(),
        ],
        (Probe::Tcp { port }, Prober::Static) => {
            vec![PROBE_PATH.into(), "tcp".into(), port.0.to_string()]
        }
    })
}

/// `$0` of the restarting wrapper, which the shell puts in its messages.
pub const RESTART_NAME: &str = "restart-when-unhealthy";

/// The wrapper `restart_when_unhealthy` runs a health check through
/// (`/bin/sh -c RESTART_SCRIPT restart-when-unhealthy RETRIES START
/// PROBE...`): Docker's restart policy restarts a container whose process
/// exits, never one whose check fails, so after `RETRIES` counted failures
/// in a row the wrapper stops it and the policy starts it again.
///
/// - Its state (`START OK COUNT`) is in `/dev/shm`, a tmpfs in every
///   container (read-only root or not), for the container's current start:
///   START is PID 1's start time (field 22 of `/proc/1/stat`), so a state
///   left from before a restart counts for nothing.
/// - A failure counts as Docker counts it: once the container has been up
///   `START` hundredths of a second (`/proc/uptime` against PID 1's start,
///   in the kernel's fixed 100 ticks a second) or has passed a check since
///   it started. A success sets the count to 0.
/// - The count goes up *before* the probe runs, so a probe that hangs
///   until Docker's timeout still counts; the next run then finds
///   `RETRIES` and stops the container without waiting for its probe.
/// - Stopping is SIGTERM to PID 1 — Docker's init (`init: true`, which
///   validation requires), which passes it to the service's process;
///   a process still running at the next check (one that ignores SIGTERM,
///   or hangs in its handler) gets SIGKILL with every other process but
///   PID 1 (`kill -KILL -1`), and init exits when its child does.
///
/// No model text is in the script: the probe comes as arguments (`"$@"`),
/// never parsed by the shell. POSIX `sh` only (dash and BusyBox's ash
/// both run it), one line.
pub const RESTART_SCRIPT: &str = concat!(
    "n=$1 p=$2 f=/dev/shm/lucid-gen-health; shift 2; ",
    "w() { echo \"$*\" >\"$f\"; } 2>/dev/null; ",
    "t() { shift 19; echo \"$1\"; }; ",
    "read -r s </proc/1/stat; s=$(t ${s##*) }); read -r u _ </proc/uptime; ",
    "o=0 c=0; { read -r a b d <\"$f\" && [ \"$a\" = \"$s\" ] && o=$b c=$d; } 2>/dev/null; ",
    "case $o/$c in *[!0-9/]* | /* | */) o=0 c=0 ;; esac; ",
    "if [ $c -gt $n ]; then echo \"$0: still running after SIGTERM: SIGKILL to every process but PID 1\"; ",
    "kill -KILL -1; exit 1; fi; ",
    "if [ $c -eq $n ]; then w $s $o $((n + 1)); ",
    "echo \"$0: $n checks in a row did not pass: SIGTERM to PID 1, the restart policy starts the container again\"; ",
    "kill -TERM 1; exit 1; fi; ",
    "k=$o; [ $((${u%.*}00 + 1${u#*.} - 100 - s)) -ge $p ] && k=1; ",
    "[ $k = 1 ] && w $s $o $((c + 1)); ",
    "if \"$@\"; then w $s 1 0; exit 0; fi; ",
    "if [ $k = 1 ] && [ $((c + 1)) -ge $n ]; then w $s $o $((n + 1)); ",
    "echo \"$0: $n checks in a row failed: SIGTERM to PID 1, the restart policy starts the container again\"; ",
    "kill -TERM 1; fi; ",
    "exit 1"
);

/// The health check of a service with `restart_when_unhealthy`, in exec
/// form: [`RESTART_SCRIPT`] through `/bin/sh`, then its retries, its start
/// period in hundredths of a second (rounded up) and the probe
/// ([`probe_command`]), each argument a word of its own. `None` without
/// the setting.
pub fn restarting_probe(service: &Service) -> Option<Vec<String>> {
    let health = (service.health.as_ref()).filter(|h| h.restart_when_unhealthy)?;
    let mut command: Vec<String> = vec![
        "/bin/sh".into(),
        "-c".into(),
        RESTART_SCRIPT.into(),
        RESTART_NAME.into(),
        health.retries.to_string(),
        health.start_period_ns.div_ceil(10_000_000).to_string(),
    ];
    command.extend(probe_command(service)?);
    Some(command)
}

fn python(code: String) -> Vec<String> {
    vec!["python3".into(), "-c".into(), code]
}

fn node(code: String) -> Vec<String> {
    vec!["node".into(), "-e".into(), code]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forge() -> System {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forge");
        let loaded = crate::model::load_dir(&dir).unwrap();
        crate::validate::validate(loaded).unwrap().system
    }

    #[test]
    fn the_restarting_check_passes_the_probe_as_arguments() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/swarm");
        let loaded = crate::model::load_dir(&dir).unwrap();
        let system = crate::validate::validate(loaded).unwrap().system;
        let mut db = system.service("hive-db").unwrap().clone();
        let command = restarting_probe(&db).unwrap();
        assert_eq!(command[..3], ["/bin/sh", "-c", RESTART_SCRIPT]);
        // Three retries and 40 s (the defaults), in hundredths of a second.
        assert_eq!(command[3..6], [RESTART_NAME, "3", "4000"]);
        assert_eq!(command[6..], probe_command(&db).unwrap());
        assert!(!RESTART_SCRIPT.contains('\n'));
        // A start period is rounded up: it never ends early.
        db.health.as_mut().unwrap().start_period_ns = 1;
        assert_eq!(restarting_probe(&db).unwrap()[5], "1");
        db.health.as_mut().unwrap().restart_when_unhealthy = false;
        assert_eq!(restarting_probe(&db), None);
        // Other services keep the plain probe.
        assert_eq!(restarting_probe(system.service("hive-api").unwrap()), None);
    }

    #[test]
    fn the_build_picks_the_program_that_runs_the_probe() {
        let system = forge();
        let command = |name: &str| probe_command(system.service(name).unwrap()).unwrap();
        assert_eq!(command("forge-web")[..2], ["python3", "-c"]);
        assert_eq!(
            command("forge-hooks"),
            [PROBE_PATH, "http", "8800", "/ready"]
        );
        assert_eq!(command("forge-search"), [PROBE_PATH, "tcp", "9200"]);
        let carrying: Vec<&str> = (system.services.iter())
            .filter(|s| carries_probe(s))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(carrying, ["forge-hooks", "forge-search"]);
        // `probe: true` on the python stack: the probe program instead.
        let mut web = system.service("forge-web").unwrap().clone();
        web.build.as_mut().unwrap().probe = true;
        assert!(carries_probe(&web));
        assert_eq!(
            probe_command(&web).unwrap(),
            [PROBE_PATH, "http", "8700", "/healthz"]
        );
        // The node stack: `node -e`, the URL as a JavaScript literal.
        web.build.as_mut().unwrap().probe = false;
        web.build.as_mut().unwrap().stack = Some(Stack::Node);
        let node = probe_command(&web).unwrap();
        assert_eq!(node[..2], ["node", "-e"]);
        assert!(
            node[2].contains("fetch('http://127.0.0.1:8700/healthz'"),
            "{node:?}"
        );
        assert!(!carries_probe(&web));
    }
}
