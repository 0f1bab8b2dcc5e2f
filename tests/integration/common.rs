//! Shared test helpers: a builder that runs the real `lucid-gen` binary
//! (after `just`'s `Test::new().args(..).status(..).run()`), and scratch
//! projects made from the fixture models.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_lucid-gen");

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch project: a temp dir holding `model/` (a copy of a fixture or
/// of the repository's model), where `lucid-gen` runs with its defaults.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A copy of `tests/fixtures/<name>` as `model/`.
    pub fn fixture(name: &str) -> Project {
        Project::from_model(&repo_root().join("tests/fixtures").join(name))
    }

    /// A copy of the repository's own `model/`.
    pub fn lucid() -> Project {
        Project::from_model(&repo_root().join("model"))
    }

    pub fn from_model(model: &Path) -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(model, &dir.path().join("model"));
        Project { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file under `rel` with its bytes, for before/after comparisons.
    pub fn snapshot_tree(&self, rel: &str) -> Vec<(PathBuf, Vec<u8>)> {
        files_under(&self.path(rel))
            .into_iter()
            .map(|path| {
                let bytes = fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect()
    }

    /// A command running in this project.
    pub fn run(&self) -> Test {
        Test::new().current_dir(self.dir.path())
    }
}

/// What a directory entry is, seen without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Link,
    /// A FIFO, socket or device: never opened (it could block).
    Other,
}

/// One entry of a tree, as [`walk`] found it.
#[derive(Debug, Clone)]
pub struct Walked {
    /// Absolute path.
    pub path: PathBuf,
    /// Path relative to the walked root.
    pub rel: PathBuf,
    pub kind: Kind,
    pub meta: fs::Metadata,
}

/// The one directory walker of the test suite: every entry under `root`
/// (directories too), sorted by path, never following a link (a link is
/// an entry of its own), nothing opened. A missing root is an empty tree.
pub fn walk(root: &Path) -> Vec<Walked> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let kind = if meta.file_type().is_symlink() {
                Kind::Link
            } else if meta.is_dir() {
                stack.push(path.clone());
                Kind::Dir
            } else if meta.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            out.push(Walked {
                path,
                rel,
                kind,
                meta,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The regular files under `root`, as absolute paths, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    walk(root)
        .into_iter()
        .filter(|e| e.kind == Kind::File)
        .map(|e| e.path)
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// How long one command a test runs may take before it is killed and the
/// test fails naming it. Longer than any single step of the suite (the
/// slowest, a `lucid-gen up` building arm64 images under emulation on a
/// cold engine, takes minutes), far shorter than CI's whole run: a command
/// that hangs fails its own test instead of holding the run until CI
/// gives up on it, with no word of which step hung.
/// `LUCID_GEN_TEST_COMMAND_LIMIT` (seconds) overrides it.
pub fn command_limit() -> Duration {
    let secs = std::env::var("LUCID_GEN_TEST_COMMAND_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20 * 60);
    Duration::from_secs(secs)
}

/// `Command::output`, bounded by [`command_limit`]: what every test runs
/// goes through this (`tests/integration/invariants.rs` holds the suite to
/// it). As with `output`, stdin is null and stdout and stderr are
/// captured, and a command that cannot start is an `Err`. A command still
/// running at the limit is killed with every process it started (it runs
/// in a process group of its own), and the test panics with the command
/// and what it printed so far.
pub trait OutputBounded {
    fn output_bounded(&mut self) -> std::io::Result<Output>;
}

impl OutputBounded for Command {
    fn output_bounded(&mut self) -> std::io::Result<Output> {
        output_within(self, command_limit())
    }
}

/// [`OutputBounded::output_bounded`] with `input` as the command's stdin
/// (written on a thread of its own, then closed).
pub fn output_bounded_with_stdin(cmd: &mut Command, input: &[u8]) -> std::io::Result<Output> {
    bounded(cmd, Some(input.to_vec()), command_limit())
}

/// [`OutputBounded::output_bounded`] with an explicit limit.
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::io::Result<Output> {
    bounded(cmd, None, limit)
}

fn bounded(cmd: &mut Command, input: Option<Vec<u8>>, limit: Duration) -> std::io::Result<Output> {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::sync::mpsc;

    let stdin = match input {
        Some(_) => Stdio::piped(),
        None => Stdio::null(),
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    // Each pipe is read on a thread of its own, so that neither fills up
    // while the other is waited on; what was read arrives over a channel,
    // so a pipe a stray grandchild keeps open cannot hang the test either.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel();
        if let Some(mut pipe) = pipe {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                let _ = tx.send(bytes);
            });
        } else {
            let _ = tx.send(Vec::new());
        }
        rx
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), input) {
        // A command that stops reading gets a closed pipe, never a hang.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= limit {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            let so_far = |rx: &mpsc::Receiver<Vec<u8>>| {
                let bytes = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
                String::from_utf8_lossy(&bytes).into_owned()
            };
            panic!(
                "{cmd:?} was still running after {} s and was killed as hung \
                 (LUCID_GEN_TEST_COMMAND_LIMIT sets the limit in seconds)\n\
                 --- stdout\n{}\n--- stderr\n{}",
                limit.as_secs(),
                so_far(&out),
                so_far(&err)
            );
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    // The command has ended, so its pipes close, unless it left a process
    // behind that holds them: that gets a grace period, then is reported.
    let grace = Duration::from_secs(60);
    let collect = |rx: mpsc::Receiver<Vec<u8>>, which: &str| {
        rx.recv_timeout(grace).unwrap_or_else(|_| {
            panic!(
                "{cmd:?} ended ({status}) but its {which} was still open {} s later: \
                 a process it started holds it",
                grace.as_secs()
            )
        })
    };
    let stdout = collect(out, "stdout");
    let stderr = collect(err, "stderr");
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// One run of the binary and what it must do.
pub struct Test {
    command: Command,
    /// `None`: any exit status is fine.
    status: Option<i32>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            command: Command::new(BIN),
            status: Some(0),
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
        }
    }

    pub fn current_dir(mut self, dir: &Path) -> Test {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.command.env(key, value);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.command.args(args);
        self
    }

    pub fn status(mut self, status: i32) -> Test {
        self.status = Some(status);
        self
    }

    /// Accepts any exit status (the caller checks what matters).
    pub fn status_any(mut self) -> Test {
        self.status = None;
        self
    }

    pub fn stdout_has(mut self, text: &str) -> Test {
        self.stdout_has.push(text.to_string());
        self
    }

    pub fn stderr_has(mut self, text: &str) -> Test {
        self.stderr_has.push(text.to_string());
        self
    }

    /// Runs the command and checks the exit status and expected output.
    pub fn run(mut self) -> Output {
        let output = self.command.output_bounded().expect("run lucid-gen");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!(
            "{:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            self.command
        );
        if let Some(status) = self.status {
            assert_eq!(
                output.status.code(),
                Some(status),
                "exit status of {context}"
            );
        }
        for want in &self.stdout_has {
            assert!(
                stdout.contains(want.as_str()),
                "stdout lacks {want:?}: {context}"
            );
        }
        for want in &self.stderr_has {
            assert!(
                stderr.contains(want.as_str()),
                "stderr lacks {want:?}: {context}"
            );
        }
        assert!(!stderr.contains("panicked"), "panic: {context}");
        output
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A test that needs a tool runs or fails; it never passes without
/// running. Without the tool (Docker Engine, Compose v2, hadolint,
/// compose-lint, dclint: `.ci/install-docker.sh` installs them all) the
/// test fails with a message saying what is missing, under CI and
/// outside it alike.
pub fn need(available: bool, what: &str) {
    assert!(
        available,
        "this test needs {what}, which is not available here: install it \
         (as root: bash .ci/install-docker.sh) and run the test again; a \
         Docker test never passes without running"
    );
}

/// A name no other run on this Docker engine uses: `<what>-<pid>-<n>`,
/// for compose projects, image namespaces and networks.
pub fn unique_name(what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether a Docker engine answers here and Compose v2 runs (what every
/// test that starts containers needs).
pub fn docker_available() -> bool {
    compose_available() && tool_runs("docker", &["info", "--format", "{{.ServerVersion}}"])
}

/// Whether `program ARGS` runs and exits 0 (a tool is installed and works).
pub fn tool_runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output_bounded()
        .is_ok_and(|o| o.status.success())
}

/// Whether `docker compose` (Compose v2) runs here.
pub fn compose_available() -> bool {
    Command::new("docker")
        .args(["compose", "version"])
        .output_bounded()
        .is_ok_and(|o| o.status.success())
}

/// Held by every test that creates Docker networks or starts containers.
/// The tests share one process and one engine: networks with fixed
/// subnets (the fixtures', the repository model's) and networks that take
/// one from Docker's address pool would otherwise collide at random. A
/// test that panicked while holding it does not block the others, and
/// leaves the engine's account of what happened meanwhile in its output
/// ([`engine_report`]).
pub fn docker_stack() -> DockerStack {
    static STACK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let held = STACK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    DockerStack {
        _held: held,
        since: unix_now(),
    }
}

/// The engine, held by one test since `since` (Unix seconds).
pub struct DockerStack {
    _held: std::sync::MutexGuard<'static, ()>,
    since: u64,
}

impl Drop for DockerStack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", engine_report(self.since));
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the engine says happened since `since` (Unix seconds), for a
/// failed test's output: its state, every container, and each container
/// created, stopped or removed meanwhile, by whom (compose project).
fn engine_report(since: u64) -> String {
    let docker = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .output_bounded()
            .map(|o| {
                let text = format!("{}{}", stdout(&o), stderr(&o));
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(60)..].join("\n")
            })
            .unwrap_or_else(|e| format!("docker {args:?}: {e}"))
    };
    let until = (unix_now() + 1).to_string();
    let since = since.saturating_sub(1).to_string();
    format!(
        "--- the engine now: {}\n--- host bridges no network of this engine owns:\n{}\n\
         --- every container:\n{}\n--- container events since the test began:\n{}",
        docker(&[
            "info",
            "--format",
            "{{.ServerVersion}} storage={{.Driver}} cgroup={{.CgroupVersion}} containers={{.Containers}} running={{.ContainersRunning}}",
        ]),
        stray_bridges().join("\n"),
        docker(&[
            "ps",
            "-a",
            "--format",
            "{{.Names}} | {{.Status}} | created {{.CreatedAt}}",
        ]),
        docker(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--filter",
            "event=die",
            "--filter",
            "event=oom",
            "--filter",
            "event=destroy",
            "--format",
            "{{.Time}} {{.Action}} {{.Actor.Attributes.name}} ({{index .Actor.Attributes \"com.docker.compose.project\"}})",
        ]),
    )
}

/// The host's Docker-style bridges (`br-` and 12 hex digits) that belong
/// to no network of this engine, each with its addresses: what an engine
/// killed mid-run leaves behind (its containers' network namespaces
/// outlive it). One on a subnet a test then uses makes every connection
/// between that test's containers time out while each is healthy on its
/// own, so a failed Docker test names them, with how to remove them.
pub fn stray_bridges() -> Vec<String> {
    // One definition of a stray bridge, the one CI removes them by.
    let script = repo_root().join(".ci/remove-stray-bridges.sh");
    let listed = (Command::new("bash").arg(&script).arg("--list"))
        .output_bounded()
        .map(|o| stdout(&o))
        .unwrap_or_default();
    let mut stray: Vec<String> = (listed.lines())
        .filter_map(|line| line.split_once(' '))
        .map(|(name, address)| {
            format!("{name} {address} (remove it with `ip link del {name}` once no test runs)")
        })
        .collect();
    if stray.is_empty() {
        stray.push("none".to_string());
    }
    stray
}

/// Runs `lucid-gen down --volumes --project PREFIX` in `project` when the
/// test ends, passed or not, with `env` (the variables Compose needs to
/// read the files at all). Its outcome is not asserted: a panic while
/// unwinding would abort the whole test binary.
pub struct Down<'a> {
    pub project: &'a Project,
    pub prefix: String,
    pub env: Vec<(&'static str, String)>,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let down = (self.env.iter()).fold(self.project.run(), |t, (k, v)| t.env(k, v));
        let _ = down
            .args(&["down", "--volumes", "--project", &self.prefix])
            .status_any()
            .run();
    }
}

/// A `hosts:` entry `box` (127.0.0.1, directory `/srv/shop`, a pinned
/// fingerprint no host has) written into `p`'s model: enough for
/// `up --host box --dry-run`, which never connects.
pub fn add_test_host(p: &Project) {
    p.write(
        "model/test-host.yaml",
        "hosts:\n  box:\n    address: 127.0.0.1\n    user: deploy\n    directory: /srv/shop\n    \
         host_key: SHA256:89L+9G0ycLgBhtuu3FvQ6WvLmu+fIYfo7jEzYQ4lWiw\n",
    );
}

/// Another run holding the lock at `path` (a lock file, created when
/// missing, or a directory): a separate `flock` process, in a process
/// group of its own, holds it until [`LockHolder::release`] (or drop)
/// kills the group and waits for `flock` to be gone, so the lock is gone
/// exactly then. Held in the test process instead, its descriptor would
/// also be in any child a parallel test forks at that moment (until that
/// child's exec), keeping the lock after the test let it go; and no pipe
/// end of this process decides when it ends, for the same reason.
pub struct LockHolder {
    child: Option<std::process::Child>,
}

impl LockHolder {
    pub fn hold(path: &Path) -> LockHolder {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        // `--close`: the command does not get the lock's descriptor, only
        // `flock` holds it.
        let mut child = Command::new("flock")
            .args(["--exclusive", "--nonblock", "--close"])
            .arg(path)
            .args(["sh", "-c", "echo locked; exec sleep 600"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("flock (util-linux)");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "locked\n", "flock could not take {}", path.display());
        LockHolder { child: Some(child) }
    }

    /// Lets the lock go and waits until it is gone.
    pub fn release(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The certificate chain and private key an operator supplies for TLS,
/// where ConsensusNet's model reads them (`letsencrypt/fullchain.pem`,
/// `letsencrypt/privkey.pem`, seed 004's `./letsencrypt`) under `dir`:
/// a self-signed pair for `localhost` and 127.0.0.1, made by openssl at
/// test time (`.ci/install-tools.sh` installs it), never committed.
pub fn operator_tls(dir: &Path) {
    let le = dir.join("letsencrypt");
    fs::create_dir_all(&le).unwrap();
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext"])
        .arg("subjectAltName=DNS:localhost,IP:127.0.0.1")
        .arg("-keyout")
        .arg(le.join("privkey.pem"))
        .arg("-out")
        .arg(le.join("fullchain.pem"))
        .output_bounded()
        .expect("openssl on PATH (.ci/install-tools.sh installs it)");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
