//! Scale benchmark: `cargo bench --bench scale`.
//!
//! Generates synthetic models of 50, 500, 5,000 and 10,000 services in
//! temporary directories and times the release binary's `lucid-gen all`
//! as a user runs it (a child process per run): into a fresh output
//! directory (every file written) and again (nothing changes). Prints the
//! median and minimum of each, µs per service, the ratio to the 50-service
//! time scaled linearly, and each child's peak RSS. Beside each first run,
//! the floor: the same output tree copied by `cp -r` on the same file
//! system and made durable with `sync -f` (a minimal program writing the
//! same files, as `all` does). A second table times
//! the library's stages in-process. Last, `lucid-gen all` on the Lucid
//! model is timed side by side with `docker compose config -q` on the
//! master file it produced (skipped when Docker is missing).
//!
//! Environment knobs (all optional):
//! - `SCALE_SIZES=50,500,5000,10000` — model sizes;
//! - `SCALE_RUNS=7` — repetitions per size and measurement;
//! - `SCALE_COMPOSE_RUNS=10` — repetitions of the Docker comparison on Lucid;
//! - `SCALE_SIZE_COMPOSE_RUNS=3` — of the runs per size, how many also time
//!   `docker compose config -q` on that model's master file;
//! - `SCALE_COMPOSE_TIMEOUT=120` — seconds before such a run is stopped
//!   (the table then prints `>` the timeout and `<` the ratios);
//! - `SCALE_VERIFY_RUNS=3` — repetitions of `verify` against the linters by
//!   hand on Lucid;
//! - `SCALE_LUCID_MODEL=DIR` — the model compared with Docker (default
//!   `model/`, or `tests/fixtures/small` when `model/` does not exist);
//! - `SCALE_BIN=PATH` — time this lucid-gen binary instead of the one
//!   cargo built (e.g. an older build, for a before/after comparison);
//! - `SCALE_EMIT=DIR` — only write the synthetic models to `DIR/<size>/`
//!   and exit (for byte-comparing outputs across changes).
//!
//! std only (no criterion): a bench binary with `harness = false`. Run
//! without `--bench` (as `cargo test --benches` does), it only checks that
//! a 50-service synthetic model is valid.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lucid_gen::generate::{self, Mode};
use lucid_gen::secrets::{self, SecretSource};
use lucid_gen::workspace::Paths;
use lucid_gen::{model, render, validate, write};

const BUILT: &str = env!("CARGO_BIN_EXE_lucid-gen");
const PHASES: [&str; 4] = ["foundation", "core", "application", "support"];
/// Services per model file, so a large model spans several files.
const PER_FILE: usize = 1000;

/// The binary measured: this package's release build, or `SCALE_BIN` (to
/// time another build of lucid-gen with the same harness).
fn bin() -> String {
    std::env::var("SCALE_BIN").unwrap_or_else(|_| BUILT.to_string())
}

// ------------------------------------------------------------ synthetic model

/// The files of a synthetic model of `n` services: (relative path, text).
fn synthetic_model(n: usize) -> Vec<(String, String)> {
    let mut files = vec![("system.yaml".to_string(), system_yaml(n))];
    let phase_of = |i: usize| i * PHASES.len() / n;
    let mut i = 0;
    while i < n {
        let phase = phase_of(i);
        let start = i;
        let mut text = String::from("services:\n");
        while i < n && phase_of(i) == phase && i - start < PER_FILE {
            service_yaml(&mut text, i, phase);
            i += 1;
        }
        let chunk = start / PER_FILE;
        files.push((
            format!(
                "services/{}-{:02}-{chunk:02}.yaml",
                phase + 1,
                PHASES[phase]
            ),
            text,
        ));
    }
    files
}

fn system_yaml(n: usize) -> String {
    let mut s = format!(
        "\
system:
  name: bench
  description: Synthetic model of {n} services for lucid-gen's scale benchmark.
  platform: linux/arm64
  registry:
    namespace: bench
    tag: \"1.0\"
  labels:
    org.example.owner: platform-team

planes:
  core:
    description: Service-to-service traffic.
  ops:
    description: Monitoring and administration; may reach the core plane.
    may_join: [core]
    forbidden_terms: [wallet]

networks:
  bench-core-a:
    plane: core
    subnet: 10.60.0.0/16
  bench-core-b:
    plane: core
    subnet: 10.61.0.0/16
    internal: true
  bench-ops:
    plane: ops
    subnet: 10.62.0.0/16

phases:
"
    );
    for (i, phase) in PHASES.iter().enumerate() {
        let _ = write!(
            s,
            "  {phase}:\n    description: Phase {} of the synthetic system.\n    env_file: {phase}\n    compose_file: docker-compose.{phase}.yml\n",
            i + 1
        );
    }
    s.push_str(
        "\nenv_files:\n  build:\n    file: .env.build\n    vars:\n      PLATFORM: linux/arm64\n",
    );
    for phase in PHASES {
        let _ = write!(
            s,
            "  {phase}:\n    file: .env.{phase}\n    vars:\n      LOG_FORMAT: json\n      TZ: UTC\n      PHASE: {phase}\n"
        );
    }
    s.push_str(
        "
secrets:
  DB_PASSWORD:
    bytes: 32
  JWT_SECRET:
    bytes: 48
    encoding: base64url
  OPS_TOKEN:
    bytes: 16
    encoding: hex

images:
  python-base:
    image: bench/python-base:1.0
    build:
      stack: python
      context: base/python
      builder: python:3.11-slim
      runtime: gcr.io/distroless/python3-debian12:nonroot
      packages: [uvicorn==0.34.0]
",
    );
    s
}

fn name(i: usize) -> String {
    format!("svc-{i:05}")
}

/// One service. Services fall in three groups by `i % 3`: two on the core
/// plane (one network each) and one on the ops plane (some also joining
/// core). Dependencies point at earlier services of the same group, so
/// they share a network, never form a cycle and never reach a later phase.
fn service_yaml(s: &mut String, i: usize, phase: usize) {
    let me = name(i);
    let group = i % 3;
    let (plane, networks) = match group {
        0 => ("core", "[bench-core-a]"),
        1 if i % 4 == 1 => ("core", "[bench-core-b, bench-core-a]"),
        1 => ("core", "[bench-core-b]"),
        _ if i % 6 == 5 => ("ops", "[bench-ops, bench-core-a]"),
        _ => ("ops", "[bench-ops]"),
    };
    let _ = write!(
        s,
        "  {me}:\n    description: Synthetic service {i}.\n    phase: {}\n    plane: {plane}\n    networks: {networks}\n",
        PHASES[phase]
    );
    let deps: Vec<String> = [3, 3 * (2 + i % 5), 3 * (8 + i % 13)]
        .into_iter()
        .take(1 + (i / 3) % 3)
        .filter(|off| *off <= i)
        .map(|off| name(i - off))
        .collect();
    if !deps.is_empty() {
        let _ = writeln!(s, "    depends_on: [{}]", deps.join(", "));
    }
    let python = i % 4 != 3;
    let port = if python { 8000 } else { 9000 };
    let _ = writeln!(s, "    ports:\n      - container: {port}");
    if i.is_multiple_of(5) {
        // Unique per service: 20000 + i / 5 stays ≤ 65535 up to 227,000 services.
        let _ = writeln!(
            s,
            "        host: {}\n        host_ip: 127.0.0.1",
            20000 + i / 5
        );
    }
    if i.is_multiple_of(2) {
        let _ = writeln!(s, "      - container: 9100\n        name: metrics");
    }
    if python {
        let _ = write!(
            s,
            "    build:
      stack: python
      context: services/{me}
      builder: python:3.11-slim
      runtime: image:python-base
      packages: [fastapi==0.115.6, httpx==0.28.1, pydantic==2.10.4]
      entrypoint: [python3, -m, uvicorn, app:app, --host, 0.0.0.0, --port, \"{port}\"]
    health:
      http: /health
      interval: 15s
"
        );
    } else {
        let _ = write!(
            s,
            "    build:
      stack: native
      context: services/{me}
      builder: bench/upstream-{me}:1.0
      runtime: gcr.io/distroless/base-debian12:nonroot
      copy:
        - from: /usr/local/bin/{me}
          to: /usr/local/bin/{me}
      entrypoint: [/usr/local/bin/{me}, --port, \"{port}\"]
    health:
      exec: [/usr/local/bin/{me}, --health]
"
        );
    }
    let _ = write!(
        s,
        "    environment:\n      SERVICE_NAME: {me}\n      LOG_LEVEL: {}\n",
        if i.is_multiple_of(7) { "debug" } else { "info" }
    );
    if let Some(first) = deps.first() {
        let _ = writeln!(s, "      UPSTREAM_URL: http://{first}:8000");
    }
    let secret = match (phase, group) {
        (0, _) => "DB_PASSWORD",
        (3, 2) => "OPS_TOKEN",
        _ if i.is_multiple_of(2) => "DB_PASSWORD",
        _ => "JWT_SECRET",
    };
    let _ = writeln!(s, "    secrets: [{secret}]");
    if i.is_multiple_of(10) {
        let _ = writeln!(
            s,
            "    volumes:\n      - name: {me}-data\n        target: /var/lib/{me}"
        );
    }
    let (memory, cpus) = if python {
        ("256m", "0.5")
    } else {
        ("128m", "0.25")
    };
    let _ = writeln!(
        s,
        "    resources:\n      memory: {memory}\n      cpus: {cpus}"
    );
    s.push('\n');
}

fn write_model(dir: &Path, n: usize) {
    for (rel, text) in synthetic_model(n) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

// --------------------------------------------------------------- processes

/// How one child process went.
struct Run {
    wall: Duration,
    /// User + system CPU time, when the platform reports it: unlike wall
    /// time, barely affected by other load on the machine.
    cpu: Option<Duration>,
    /// Peak resident set size in KiB, when the platform reports it.
    max_rss_kib: Option<u64>,
    success: bool,
}

#[cfg(target_os = "linux")]
mod sys {
    use std::os::raw::{c_int, c_long};

    /// `struct rusage` on Linux: two `timeval`s, then 14 longs, the first
    /// of which is `ru_maxrss` (KiB).
    #[repr(C)]
    pub struct RUsage {
        pub utime: [c_long; 2],
        pub stime: [c_long; 2],
        pub maxrss: c_long,
        pub rest: [c_long; 13],
    }

    extern "C" {
        fn wait4(pid: c_int, status: *mut c_int, options: c_int, usage: *mut RUsage) -> c_int;
    }

    /// Reaps `pid`, returning (exited with 0, peak RSS in KiB, CPU time).
    pub fn wait(pid: u32) -> (bool, u64, std::time::Duration) {
        let mut status: c_int = 0;
        let mut usage = RUsage {
            utime: [0; 2],
            stime: [0; 2],
            maxrss: 0,
            rest: [0; 13],
        };
        loop {
            // SAFETY: valid pointers to locals; `pid` is our own child,
            // which nothing else waits for.
            let r = unsafe { wait4(pid as c_int, &mut status, 0, &mut usage) };
            if r == pid as c_int {
                break;
            }
            let err = std::io::Error::last_os_error();
            assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "wait4: {err}");
        }
        let exited_ok = status & 0x7f == 0 && (status >> 8) & 0xff == 0;
        let micros = |tv: [c_long; 2]| tv[0].max(0) as u64 * 1_000_000 + tv[1].max(0) as u64;
        let cpu = std::time::Duration::from_micros(micros(usage.utime) + micros(usage.stime));
        (exited_ok, usage.maxrss.max(0) as u64, cpu)
    }
}

/// Runs `cmd` to completion with its output in `log`, timing the wall clock
/// from spawn to reaping.
fn run(cmd: &mut Command, log: &Path) -> Run {
    let out = fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    #[cfg(target_os = "linux")]
    let (success, max_rss_kib, cpu) = {
        let _ = &mut child;
        let (ok, rss, cpu) = sys::wait(child.id());
        (ok, Some(rss), Some(cpu))
    };
    #[cfg(not(target_os = "linux"))]
    let (success, max_rss_kib, cpu) = (child.wait().unwrap().success(), None, None);
    Run {
        wall: start.elapsed(),
        cpu,
        max_rss_kib,
        success,
    }
}

fn lucid_gen(work: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    // The lock lives next to the (unused) store, relative to the cwd.
    cmd.current_dir(work).args(args);
    cmd
}

fn all_cmd(work: &Path, model: &Path, out: &Path) -> Command {
    let (model, out) = (model.to_str().unwrap(), out.to_str().unwrap());
    lucid_gen(
        work,
        &[
            "all",
            "--model",
            model,
            "--out",
            out,
            "--insecure-secret-seed",
            "1",
        ],
    )
}

/// Runs a command that must succeed; panics with its log otherwise.
fn must(cmd: &mut Command, log: &Path) -> Run {
    let r = run(cmd, log);
    if !r.success {
        panic!(
            "{cmd:?} failed:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
    }
    r
}

// -------------------------------------------------------------- statistics

fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn min(xs: &[Duration]) -> Duration {
    xs.iter().copied().min().unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------------- bench

struct SizeResult {
    n: usize,
    files: usize,
    first: Vec<Duration>,
    second: Vec<Duration>,
    first_cpu: Vec<Duration>,
    second_cpu: Vec<Duration>,
    rss_kib: u64,
    /// `docker compose config -q` on the master file, in the same runs
    /// (empty when Compose is missing).
    compose: Vec<Duration>,
    /// `cp -r` of the first run's output and `sync -f` of the copy, in the
    /// same runs: the floor of writing these files durably here.
    floor: Vec<Duration>,
}

/// How long `docker compose config` may take on a synthetic master file
/// before it is stopped (`SCALE_COMPOSE_TIMEOUT` seconds, default 120):
/// on today's synthetic model it ran 11 minutes at 5,000 services.
fn compose_timeout() -> Duration {
    Duration::from_secs(env_usize("SCALE_COMPOSE_TIMEOUT", 120) as u64)
}

/// Runs `cmd` (it must succeed) and returns its wall time, or the timeout
/// when it is stopped there (then the tables print `>` that time, and the
/// ratios against it are upper bounds).
fn compose_timed(cmd: &mut Command, log: &Path) -> Duration {
    let out = fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "{cmd:?} failed:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
            return start.elapsed();
        }
        if start.elapsed() >= compose_timeout() {
            // `docker compose` runs the plugin as its child; stopping the
            // CLI alone would leave the plugin running.
            // Its children hang off any of its threads.
            let tasks = fs::read_dir(format!("/proc/{}/task", child.id()));
            let mut children = String::new();
            for task in tasks.into_iter().flatten().flatten() {
                children += &fs::read_to_string(task.path().join("children")).unwrap_or_default();
                children.push(' ');
            }
            for pid in children.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
            let _ = child.kill();
            let _ = child.wait();
            return compose_timeout();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `docker compose` runs here.
fn compose_available() -> bool {
    Command::new("docker")
        .args(["compose", "version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `docker compose -f docker-compose.master.yml config -q` in `out`'s
/// compose directory.
fn compose_config(out: &Path) -> Command {
    let mut c = Command::new("docker");
    c.current_dir(out.join("configs/docker")).args([
        "compose",
        "-f",
        "docker-compose.master.yml",
        "config",
        "-q",
    ]);
    c
}

fn bench_size(root: &Path, n: usize, runs: usize) -> SizeResult {
    let work = root.join(format!("n{n}"));
    let model = work.join("model");
    write_model(&model, n);
    let log = work.join("log.txt");

    // The model must be valid and free of warnings.
    let mut check = lucid_gen(&work, &["check", "--model", model.to_str().unwrap()]);
    must(&mut check, &log);
    let text = fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("warning") && text.contains(&format!("{n} services")),
        "synthetic model of {n} services is not clean:\n{text}"
    );

    let (mut first, mut second) = (Vec::new(), Vec::new());
    let (mut first_cpu, mut second_cpu) = (Vec::new(), Vec::new());
    let mut rss_kib = 0;
    let mut files = 0;
    let mut compose = Vec::new();
    let mut floor = Vec::new();
    // Compose takes ~20 s on 10,000 services: at most this many of the runs.
    let compose_runs = match compose_available() {
        true => env_usize("SCALE_SIZE_COMPOSE_RUNS", 3).min(runs),
        false => 0,
    };
    for r in 0..runs {
        let out = work.join(format!("out{r}"));
        let a = must(&mut all_cmd(&work, &model, &out), &log);
        let summary = fs::read_to_string(&log).unwrap();
        assert!(summary.contains(" 0 unchanged"), "first run: {summary}");
        let b = must(&mut all_cmd(&work, &model, &out), &log);
        let summary = fs::read_to_string(&log).unwrap();
        assert!(summary.contains(": 0 written"), "second run: {summary}");
        files = summary
            .split(", ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if r < compose_runs {
            compose.push(compose_timed(&mut compose_config(&out), &log));
        }
        let copy = work.join(format!("floor{r}"));
        let mut cp = Command::new("sh");
        cp.args(["-c", "cp -r \"$0\" \"$1\" && sync -f \"$1\""])
            .args([&out, &copy]);
        floor.push(must(&mut cp, &log).wall);
        first.push(a.wall);
        second.push(b.wall);
        first_cpu.extend(a.cpu);
        second_cpu.extend(b.cpu);
        rss_kib = rss_kib
            .max(a.max_rss_kib.unwrap_or(0))
            .max(b.max_rss_kib.unwrap_or(0));
        // Output trees stay until the end: on ext4 without a journal, creating
        // files right after deleting thousands is many times slower (it
        // skips recently freed inodes), which would measure the bench, not
        // lucid-gen.
    }
    SizeResult {
        n,
        files,
        first,
        second,
        first_cpu,
        second_cpu,
        rss_kib,
        compose,
        floor,
    }
}

/// The library's stages in-process, best of `runs`: load, validate,
/// render, write into a fresh directory, write again; then the whole
/// pipeline as the binary runs it (`generate::all`, with its locks, store
/// and manifest) into a fresh directory and again.
fn stages(root: &Path, n: usize, runs: usize) -> [Duration; 7] {
    let work = root.join(format!("n{n}"));
    let model_dir = work.join("model");
    let mut best = [Duration::MAX; 7];
    for r in 0..runs {
        let out = work.join(format!("stage-out{r}"));
        let t = Instant::now();
        let loaded = model::load_dir(&model_dir).expect("model loads");
        let t_load = t.elapsed();
        let t = Instant::now();
        let valid = validate::validate(loaded).expect("model is valid");
        let t_validate = t.elapsed();
        let t = Instant::now();
        let values = secrets::resolve(&valid.system, &SecretSource::Seeded(1), &[])
            .expect("seeded secrets")
            .values;
        let outputs = write::with_manifest(render::render(&valid.system, &values).unwrap());
        let t_render = t.elapsed();
        let t = Instant::now();
        write::apply(&out, &outputs).unwrap();
        let t_write1 = t.elapsed();
        let t = Instant::now();
        let s = write::apply(&out, &outputs).unwrap();
        let t_write2 = t.elapsed();
        assert_eq!(s.written, 0);
        let paths = Paths {
            model: model_dir.clone(),
            out: work.join(format!("all-out{r}")),
            secrets: work.join(format!("all-store{r}/secrets.env")),
            insecure_secret_seed: Some(1),
            variant: None,
        };
        let t = Instant::now();
        generate::all(&paths, Mode::Write, &[]).expect("generate::all");
        let t_all1 = t.elapsed();
        let t = Instant::now();
        generate::all(&paths, Mode::Write, &[]).expect("generate::all again");
        let t_all2 = t.elapsed();
        for (b, t) in best.iter_mut().zip([
            t_load, t_validate, t_render, t_write1, t_write2, t_all1, t_all2,
        ]) {
            *b = (*b).min(t);
        }
    }
    best
}

fn print_table(results: &[SizeResult]) {
    let base = &results[0];
    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n as f64;
    // Time at this size over the base size's time scaled by the size ratio:
    // 1.0 is exactly linear; below 1 the fixed start-up cost is amortised.
    let scaled = |d: Duration, b: Duration, n: usize| {
        d.as_secs_f64() / (b.as_secs_f64() * n as f64 / base.n as f64)
    };
    println!(
        "| services | files | first run: median / min (ms) | CPU (ms) | µs/service | vs {} scaled | second run: median / min (ms) | CPU (ms) | µs/service | vs {} scaled | peak RSS (MiB) |",
        base.n, base.n
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let (b1, b2) = (median(&base.first), median(&base.second));
    let cpu = |xs: &[Duration]| {
        if xs.is_empty() {
            "n/a".to_string()
        } else {
            format!("{:.0}", ms(median(xs)))
        }
    };
    for r in results {
        let (m1, m2) = (median(&r.first), median(&r.second));
        println!(
            "| {} | {} | {:.1} / {:.1} | {} | {:.1} | {:.2} | {:.1} / {:.1} | {} | {:.1} | {:.2} | {:.1} |",
            r.n,
            r.files,
            ms(m1),
            ms(min(&r.first)),
            cpu(&r.first_cpu),
            per(m1, r.n),
            scaled(m1, b1, r.n),
            ms(m2),
            ms(min(&r.second)),
            cpu(&r.second_cpu),
            per(m2, r.n),
            scaled(m2, b2, r.n),
            r.rss_kib as f64 / 1024.0,
        );
    }
    for w in results.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        println!(
            "{} → {} services (×{:.0}): first run ×{:.2}, second run ×{:.2}",
            a.n,
            b.n,
            b.n as f64 / a.n as f64,
            median(&b.first).as_secs_f64() / median(&a.first).as_secs_f64(),
            median(&b.second).as_secs_f64() / median(&a.second).as_secs_f64(),
        );
    }
    print_against_compose(results);
}

/// The table: `all` first run and again against `docker compose
/// config -q` on the master file, measured in the same runs; then the
/// targets at 10,000 services.
fn print_against_compose(results: &[SizeResult]) {
    println!("\n| services | `all` first run (median, ms) | floor: `cp -r` + `sync -f` (median, ms) | first / floor | `all` again (median, ms) | compose config (median, ms) | ratio first / again | peak RSS (MiB) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let (m1, m2) = (median(&r.first), median(&r.second));
        let (compose, ratio) = match r.compose.is_empty() {
            true => ("n/a".to_string(), "n/a".to_string()),
            false => {
                let c = median(&r.compose).as_secs_f64();
                let over = if median(&r.compose) >= compose_timeout() {
                    ("> ", "< ")
                } else {
                    ("", "")
                };
                (
                    format!("{}{:.0}", over.0, c * 1e3),
                    format!(
                        "{}{:.3} / {}{:.3}",
                        over.1,
                        m1.as_secs_f64() / c,
                        over.1,
                        m2.as_secs_f64() / c
                    ),
                )
            }
        };
        let floor = median(&r.floor);
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.1} | {compose} | {ratio} | {:.1} |",
            r.n,
            ms(m1),
            ms(floor),
            m1.as_secs_f64() / floor.as_secs_f64(),
            ms(m2),
            r.rss_kib as f64 / 1024.0
        );
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    if let Some(big) = results.iter().find(|r| r.n == 10_000) {
        let (m1, m2) = (median(&big.first), median(&big.second));
        let c = (!big.compose.is_empty()).then(|| median(&big.compose).as_secs_f64());
        let share = |d: Duration, max: f64| match c {
            Some(c) => format!(
                "{:.3}× compose (≤ {max}: {})",
                d.as_secs_f64() / c,
                verdict(d.as_secs_f64() <= max * c)
            ),
            None => "compose n/a".to_string(),
        };
        println!(
            "10,000 services: first run {:.0} ms (≤ 500: {}), {}; again {:.0} ms (≤ 250: {}), {}; peak RSS {:.1} MiB (≤ 64: {})",
            ms(m1),
            verdict(m1 <= Duration::from_millis(500)),
            share(m1, 0.02),
            ms(m2),
            verdict(m2 <= Duration::from_millis(250)),
            share(m2, 0.01),
            big.rss_kib as f64 / 1024.0,
            verdict(big.rss_kib <= 64 * 1024),
        );
        let floor = median(&big.floor);
        println!(
            "10,000 services: the floor (the same files copied and made durable) is {:.0} ms, so a first run ≤ 500 ms is {} on this file system",
            ms(floor),
            match floor <= Duration::from_millis(500) {
                true => "possible",
                false => "below the floor, not reachable",
            }
        );
        if let Some(half) = results.iter().find(|r| r.n == 5_000) {
            let g1 = m1.as_secs_f64() / median(&half.first).as_secs_f64();
            let g2 = m2.as_secs_f64() / median(&half.second).as_secs_f64();
            println!(
                "5,000 → 10,000: first run ×{g1:.2}, again ×{g2:.2} (≤ 2.1: {})",
                verdict(g1 <= 2.1 && g2 <= 2.1)
            );
        }
    }
}

fn docker_comparison(root: &Path, runs: usize) {
    let (model_dir, note) = match std::env::var_os("SCALE_LUCID_MODEL") {
        Some(dir) => (PathBuf::from(dir), ""),
        None if Path::new("model").is_dir() => (PathBuf::from("model"), ""),
        None => (
            PathBuf::from("tests/fixtures/small"),
            " (model/ does not exist yet: using the test fixture instead)",
        ),
    };
    let model_dir = std::path::absolute(&model_dir).unwrap();
    println!(
        "\n## `lucid-gen all` vs `docker compose config -q` on {}{note}\n",
        model_dir.display()
    );
    let work = root.join("docker");
    fs::create_dir_all(&work).unwrap();
    let log = work.join("log.txt");
    if !compose_available() {
        println!("docker compose is not installed: comparison skipped");
        return;
    }
    let out = work.join("out");
    must(&mut all_cmd(&work, &model_dir, &out), &log);
    let compose = || compose_config(&out);
    // Warm-up: caches, plugin discovery.
    must(&mut compose(), &log);
    let (mut fresh, mut again, mut docker) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..runs {
        let fresh_out = work.join(format!("fresh{r}"));
        fresh.push(must(&mut all_cmd(&work, &model_dir, &fresh_out), &log).wall);
        again.push(must(&mut all_cmd(&work, &model_dir, &out), &log).wall);
        docker.push(must(&mut compose(), &log).wall);
    }
    let d = median(&docker);
    println!("| command | median (ms) | min (ms) | ratio to compose |");
    println!("|---|---:|---:|---:|");
    for (what, xs) in [
        ("`lucid-gen all` (fresh output dir)", &fresh),
        ("`lucid-gen all` (up to date)", &again),
        (
            "`docker compose -f docker-compose.master.yml config -q`",
            &docker,
        ),
    ] {
        let m = median(xs);
        println!(
            "| {what} | {:.2} | {:.2} | {:.3} |",
            ms(m),
            ms(min(xs)),
            m.as_secs_f64() / d.as_secs_f64()
        );
    }
    let again = median(&again).as_secs_f64() / d.as_secs_f64();
    println!(
        "{runs} alternating runs each; `all` up to date / compose = {again:.3} — target ≤ 0.03: {}",
        if again <= 0.03 { "met" } else { "NOT met" }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` (or
    // `--all-targets`) does not: then only check that a small synthetic
    // model is valid, in a second rather than minutes.
    if !std::env::args().any(|a| a == "--bench") {
        let root = tempfile::tempdir().unwrap();
        let model = root.path().join("model");
        write_model(&model, 50);
        let log = root.path().join("log.txt");
        let mut check = lucid_gen(root.path(), &["check", "--model", model.to_str().unwrap()]);
        must(&mut check, &log);
        println!("synthetic model valid; run `cargo bench --bench scale` to measure");
        return;
    }
    let sizes: Vec<usize> = std::env::var("SCALE_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![50, 500, 5_000, 10_000]);
    if let Some(dir) = std::env::var_os("SCALE_EMIT") {
        for n in &sizes {
            write_model(&Path::new(&dir).join(n.to_string()), *n);
        }
        println!("wrote {sizes:?} to {}", Path::new(&dir).display());
        return;
    }
    let runs = env_usize("SCALE_RUNS", 7).max(1);
    let root = tempfile::Builder::new()
        .prefix("lucid-gen-scale-")
        .tempdir()
        .unwrap();

    println!("# lucid-gen scale benchmark\n");
    println!("binary: {}", bin());
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!("{runs} runs per size; wall time from spawn to exit of `lucid-gen all --insecure-secret-seed 1`\n");

    let mut results = Vec::new();
    for &n in &sizes {
        results.push(bench_size(root.path(), n, runs));
    }
    print_table(&results);

    if std::env::var_os("SCALE_BIN").is_some() {
        println!("\n(SCALE_BIN is set: the in-process stages would time this checkout's library, not that binary; skipped)");
    } else {
        println!("\n## Stages in-process (best of {runs}, ms)\n");
        println!("| services | load | validate | render | write (fresh) | write (unchanged) | `generate::all` (fresh) | `generate::all` (unchanged) |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &n in &sizes {
            let s = stages(root.path(), n, runs);
            println!(
                "| {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                ms(s[0]),
                ms(s[1]),
                ms(s[2]),
                ms(s[3]),
                ms(s[4]),
                ms(s[5]),
                ms(s[6])
            );
        }
    }

    docker_comparison(root.path(), env_usize("SCALE_COMPOSE_RUNS", 10).max(1));
    verify_comparison(root.path(), env_usize("SCALE_VERIFY_RUNS", 3).max(1));
}

/// `lucid-gen verify` on `model/`'s output against the same linters run by
/// hand, each once over all the files that it takes at once (compose config
/// per file, then compose-lint, dclint, hadolint and actionlint), in
/// alternating runs.
fn verify_comparison(root: &Path, runs: usize) {
    if !Path::new("model").is_dir() {
        return;
    }
    println!("\n## `lucid-gen verify` vs the linters by hand on model/\n");
    let tools = ["hadolint", "compose-lint", "dclint", "actionlint"];
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !Command::new(t)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if !missing.is_empty() {
        println!("not installed: {}: comparison skipped", missing.join(", "));
        return;
    }
    let work = root.join("verify");
    fs::create_dir_all(&work).unwrap();
    let log = work.join("log.txt");
    let model = std::path::absolute("model").unwrap();
    let out = work.join("generated");
    must(&mut all_cmd(&work, &model, &out), &log);
    let files = |dir: &Path, pick: &dyn Fn(&Path) -> bool| -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else if pick(&p) {
                    found.push(p);
                }
            }
        }
        found.sort();
        found
    };
    let compose = files(&out, &|p| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("docker-compose.")
    });
    let dockerfiles = files(&out, &|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        name == "Dockerfile" || name.ends_with(".Dockerfile")
    });
    let workflows = files(&out, &|p| {
        p.to_string_lossy().contains("/.github/workflows/")
    });
    let by_hand = |log: &Path| -> Duration {
        let t = Instant::now();
        for f in &compose {
            let mut c = Command::new("docker");
            c.current_dir(f.parent().unwrap())
                .args(["compose", "-f"])
                .arg(f.file_name().unwrap())
                .args(["config", "-q"]);
            must(&mut c, log);
        }
        let mut dirs: Vec<&Path> = compose.iter().map(|f| f.parent().unwrap()).collect();
        dirs.dedup();
        for dir in dirs {
            let mut c = Command::new("compose-lint");
            c.current_dir(dir).args(["check", "--fail-on", "low"]);
            c.args(
                compose
                    .iter()
                    .filter(|f| f.parent() == Some(dir))
                    .map(|f| f.file_name().unwrap()),
            );
            run(&mut c, log);
        }
        run(
            Command::new("dclint")
                .args(&compose)
                .args(["-f", "json", "-o"])
                .arg(work.join("dclint.json")),
            log,
        );
        run(
            Command::new("hadolint")
                .arg("--no-color")
                .args(&dockerfiles),
            log,
        );
        if !workflows.is_empty() {
            run(
                Command::new("actionlint").arg("-no-color").args(&workflows),
                log,
            );
        }
        t.elapsed()
    };
    let verify = || {
        let mut c = lucid_gen(&work, &["verify", "--out", out.to_str().unwrap()]);
        c.args([
            "--model",
            model.to_str().unwrap(),
            "--insecure-secret-seed",
            "1",
        ]);
        c
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ours.push(must(&mut verify(), &log).wall);
        theirs.push(by_hand(&log));
    }
    let (o, t) = (median(&ours), median(&theirs));
    println!("| command | median (s) | min (s) |");
    println!("|---|---:|---:|");
    println!(
        "| `lucid-gen verify` ({} compose files, {} Dockerfiles, {} workflow) | {:.2} | {:.2} |",
        compose.len(),
        dockerfiles.len(),
        workflows.len(),
        o.as_secs_f64(),
        min(&ours).as_secs_f64()
    );
    println!(
        "| the same linters by hand, each over all its files | {:.2} | {:.2} |",
        t.as_secs_f64(),
        min(&theirs).as_secs_f64()
    );
    println!(
        "{runs} alternating runs each; verify / by hand = {:.2} — target ≤ 0.5: {}",
        o.as_secs_f64() / t.as_secs_f64(),
        if o.as_secs_f64() <= 0.5 * t.as_secs_f64() {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
