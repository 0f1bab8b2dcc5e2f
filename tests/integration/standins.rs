//! Stand-ins for any model, on a real Docker engine: an unseen model (a small
//! Git forge, `tests/fixtures/forge`) whose health checks Lucid's never used, a
//! probe no stand-in can honour refused before anything starts, and seeded random
//! valid models (ports, every probe form, planes with bridges, phases,
//! dependencies) brought up, tested and taken down. A failing random case prints
//! its seed; `LUCID_GEN_STANDIN_SEED=<seed>` replays that one case.

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{stderr, Project};

/// Seeds of the random cases CI runs (fixed, so a failure reproduces).
const SEED: u64 = 0x57a9_d1e5;
/// One service of a random model, as the generator decides it.
struct Svc {
    name: String,
    phase: usize,
    plane: usize,
    networks: Vec<usize>,
    ports: Vec<(u16, bool)>, // (port, udp)
    depends_on: Vec<usize>,
}

/// A random valid model: 1–3 phases, 3–6 services, an app plane, sometimes a
/// second open plane, sometimes an isolated plane with one bridge; one /24 per
/// network inside 10.230.0.0/16 (which no other test uses), names unique to
/// the seed so nothing clashes with another run.
fn random_model(seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let tag = format!("r{:06x}", seed & 0xff_ffff);
    let n = rng.random_range(3..=6usize);
    let phases = rng.random_range(1..=3usize.min(n));
    let isolated = rng.random_bool(0.5);
    let open_planes = if rng.random_bool(0.4) { 2 } else { 1 };
    let planes = open_planes + usize::from(isolated);
    let mut svcs = random_services(&mut rng, &tag, n, phases, planes);
    // The isolated plane's last service, if any, bridges to the app plane.
    let bridge = isolated
        .then(|| svcs.iter().rposition(|s| s.plane == planes - 1))
        .flatten();
    if let Some(b) = bridge {
        svcs[b].networks.push(0);
    }
    random_dependencies(&mut rng, &mut svcs);
    let mut y = String::new();
    let _ = write!(
        y,
        "system:\n  name: {tag}\n  platform: linux/amd64\n  registry: {{ namespace: example, tag: \"1.0\" }}\n\
         \x20 lint_exceptions: {{ CL-0019: \"Random test images are never pushed.\" }}\nplanes:\n"
    );
    for plane in 0..planes {
        let _ = writeln!(y, "  {tag}-plane{plane}:");
        if isolated && plane == planes - 1 {
            y.push_str("    isolated: true\n");
            if let Some(b) = bridge {
                let _ = write!(
                    y,
                    "    bridges:\n      - service: {}\n        to: {tag}-plane0\n        reason: The one way in.\n",
                    svcs[b].name
                );
            }
        } else {
            y.push_str("    description: Open.\n");
        }
    }
    y.push_str("networks:\n");
    for plane in 0..planes {
        let internal = isolated && plane == planes - 1;
        let _ = write!(
            y,
            "  {tag}-net{plane}:\n    plane: {tag}-plane{plane}\n    subnet: 10.230.{}.0/24\n    internal: {internal}\n",
            (seed as usize % 60) * 4 + plane
        );
    }
    y.push_str("phases:\n");
    for phase in 0..phases {
        let _ = write!(
            y,
            "  p{phase}:\n    env_file: base\n    compose_file: docker-compose.p{phase}.yml\n"
        );
    }
    y.push_str(
        "env_files:\n  base:\n    file: .env\n    vars:\n      GREETING: hello\nservices:\n",
    );
    for s in &svcs {
        write_service(&mut y, &mut rng, &tag, s, &svcs);
    }
    y
}

/// Services in phase order (every phase has one), each on its plane's network.
fn random_services(
    rng: &mut StdRng,
    tag: &str,
    n: usize,
    phases: usize,
    planes: usize,
) -> Vec<Svc> {
    let mut phase_of: Vec<usize> = (0..phases)
        .chain((phases..n).map(|_| rng.random_range(0..phases)))
        .collect();
    phase_of.sort_unstable();
    (0..n)
        .map(|i| {
            // The app plane (0) always has a service, so it has a user.
            let plane = if i == 0 {
                0
            } else {
                rng.random_range(0..planes)
            };
            let mut ports: Vec<(u16, bool)> = Vec::new();
            for _ in 0..rng.random_range(0..=3) {
                let port = rng.random_range(1024..=60000);
                if !ports.iter().any(|(p, _)| *p == port) {
                    ports.push((port, rng.random_bool(0.15)));
                }
            }
            Svc {
                name: format!("{tag}-s{i}"),
                phase: phase_of[i],
                plane,
                networks: vec![plane],
                ports,
                depends_on: Vec::new(),
            }
        })
        .collect()
}

/// Each service depends on up to two earlier services it shares a network with.
fn random_dependencies(rng: &mut StdRng, svcs: &mut [Svc]) {
    for i in 1..svcs.len() {
        let reachable: Vec<usize> = (0..i)
            .filter(|&j| {
                svcs[j]
                    .networks
                    .iter()
                    .any(|n| svcs[i].networks.contains(n))
            })
            .collect();
        for _ in 0..rng.random_range(0..=2usize) {
            if reachable.is_empty() {
                break;
            }
            let j = reachable[rng.random_range(0..reachable.len())];
            if !svcs[i].depends_on.contains(&j) {
                svcs[i].depends_on.push(j);
            }
        }
    }
}

/// One service's YAML, with a health check of a random form on its ports.
fn write_service(y: &mut String, rng: &mut StdRng, tag: &str, s: &Svc, all: &[Svc]) {
    let names = |ix: &[usize], f: &dyn Fn(usize) -> String| {
        ix.iter().map(|&i| f(i)).collect::<Vec<_>>().join(", ")
    };
    let _ = write!(
        y,
        "  {}:\n    phase: p{}\n    plane: {tag}-plane{}\n    networks: [{}]\n    resources: {{ memory: 32m, cpus: 0.1 }}\n",
        s.name,
        s.phase,
        s.plane,
        names(&s.networks, &|n| format!("{tag}-net{n}")),
    );
    if !s.depends_on.is_empty() {
        let _ = writeln!(
            y,
            "    depends_on: [{}]",
            names(&s.depends_on, &|d| all[d].name.clone())
        );
    }
    if !s.ports.is_empty() {
        y.push_str("    ports:\n");
        for (port, udp) in &s.ports {
            let protocol = if *udp { "\n        protocol: udp" } else { "" };
            let _ = writeln!(y, "      - container: {port}{protocol}");
        }
    }
    let tcp: Vec<u16> = s.ports.iter().filter(|p| !p.1).map(|p| p.0).collect();
    let (health, python) = random_health(rng, &tcp);
    if python {
        let _ = write!(
            y,
            "    build:\n      stack: python\n      context: {}\n      builder: python:3.12-slim\n      \
             runtime: gcr.io/distroless/python3-debian12:nonroot\n      entrypoint: [python3, -m, app]\n",
            s.name
        );
    } else {
        let _ = writeln!(y, "    image: example/{}:1.0", s.name);
    }
    if let Some(health) = health {
        let interval = ["30s", "1m", "10s"][rng.random_range(0..3)];
        let _ = write!(
            y,
            "    health:\n{health}      interval: {interval}\n      start_period: 60s\n"
        );
    }
}

/// A health check (its probe lines) and whether it needs the python stack.
fn random_health(rng: &mut StdRng, tcp: &[u16]) -> (Option<String>, bool) {
    let path = ["/health", "/healthz", "/api/v2/ready", "/-/alive", "/"][rng.random_range(0..5)];
    let Some(&port) = tcp.get(rng.random_range(0..tcp.len().max(1))) else {
        let exec = [
            "[python3, -m, worker.health]",
            "[/opt/app/bin/check, --quiet]",
            "[./bin/health]",
            "[pg_isready]",
        ][rng.random_range(0..4)];
        return match rng.random_range(0..5) {
            0 => (None, false),
            _ => (Some(format!("      exec: {exec}\n")), rng.random_bool(0.5)),
        };
    };
    let probe = match rng.random_range(0..9) {
        0 => return (None, rng.random_bool(0.5)),
        1 => {
            return (
                Some(format!("      http: {path}\n      port: {port}\n")),
                true,
            )
        }
        2 => return (Some(format!("      tcp: true\n      port: {port}\n")), true),
        3 => format!("[wget, -q, -O-, \"http://localhost:{port}{path}\"]"),
        4 => format!("[curl, -f, \"http://127.0.0.1:{port}{path}\"]"),
        5 => format!("[redis-cli, -p, \"{port}\", ping]"),
        6 => format!("[sh, -c, \"curl -fsS http://localhost:{port}{path} || exit 1\"]"),
        7 => format!(
            "[python3, -c, \"import socket; socket.create_connection(('127.0.0.1', {port}))\"]"
        ),
        _ => "[/usr/local/bin/healthcheck, --all]".to_string(),
    };
    (Some(format!("      exec: {probe}\n")), rng.random_bool(0.5))
}

/// The generator itself, over many seeds: every model it makes is valid
/// (cheap, no engine), and together they use every probe form and shape.
#[test]
fn the_random_model_generator_makes_only_valid_models() {
    let mut master = StdRng::seed_from_u64(SEED ^ 0xfeed);
    let mut all = String::new();
    for _ in 0..40 {
        let seed: u64 = master.random();
        let model = random_model(seed);
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        p.write("model/model.yaml", &model);
        let check = p.run().args(&["check"]).status_any().run();
        assert!(
            check.status.success(),
            "generator bug: seed {seed:#x} made an invalid model:\n{}\n{model}",
            stderr(&check)
        );
        all.push_str(&model);
    }
    for shape in [
        "http: /",
        "tcp: true",
        "[python3, -m,",
        "[wget,",
        "[curl,",
        "[redis-cli, -p,",
        "[sh, -c,",
        "create_connection",
        "[./bin/health]",
        "[/opt/app/bin/check",
        "isolated: true",
        "bridges:",
        "protocol: udp",
        "depends_on:",
        "phase: p2",
    ] {
        assert!(all.contains(shape), "no generated model has {shape:?}");
    }
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::docker_available;
    use crate::common::need;
    use crate::common::stdout;
    use crate::common::unique_name;
    use crate::common::Down;
    use std::time::Instant;

    const CASES: usize = 3;
    fn parse_seed(text: &str) -> u64 {
        let text = text.trim();
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.unwrap_or_else(|e| panic!("LUCID_GEN_STANDIN_SEED={text:?}: {e}"))
    }

    /// `up --stand-ins`, `test` (all passing, every service running healthy) and
    /// `down`, leaving no container, network or volume. Returns the `test` table.
    fn up_test_down(p: &Project, what: &str) -> String {
        let prefix = unique_name(what);
        let started = Instant::now();
        p.run().args(&["all"]).run();
        let down = Down {
            project: p,
            prefix: prefix.clone(),
            env: Vec::new(),
        };
        p.run()
            .args(&["up", "--stand-ins", "--project", &prefix])
            .run();
        let up = started.elapsed();
        let out = p
            .run()
            .args(&["test", "--project", &prefix])
            .status_any()
            .run();
        let table = stdout(&out);
        assert!(
            out.status.success() && table.contains(" 0 failed"),
            "{what}: `lucid-gen test` failed:\n{table}{}",
            stderr(&out)
        );
        let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
        let system = lucid_gen::validate::validate(loaded).unwrap().system;
        for s in &system.services {
            let healthy = table.lines().any(|l| {
                l.starts_with("running")
                    && l.contains(&format!(" {} ", s.name))
                    && l.ends_with(" ok")
            });
            assert!(
                healthy,
                "{what}: {} is not running healthy:\n{table}",
                s.name
            );
        }
        drop(down);
        leaves_nothing_behind(p, &prefix);
        let volumes = docker(&["volume", "ls", "--format", "{{.Name}}"]);
        for s in &system.services {
            for v in &s.volumes {
                let name = format!("{}-{}", system.name, v.name);
                assert!(
                    !volumes.lines().any(|l| l == name),
                    "volume {name} left behind"
                );
            }
        }
        eprintln!(
            "{what}: {} services up in {:.1}s, up → test → down in {:.1}s",
            system.services.len(),
            up.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        table
    }
    use crate::docker_tier::e2e::{containers, docker, leaves_nothing_behind};

    /// The unseen model: `http: /healthz` on port 8700 (not the first),
    /// `python3 -m quarry_worker.health`, `pg_isready -p`, `redis-cli ping`, `curl`
    /// and `wget` of loopback URLs, a TCP probe, a program at an absolute path, a
    /// proxy in a later phase and an isolated billing plane with one bridge.
    #[test]
    fn an_unseen_forge_comes_up_healthy_as_stand_ins() {
        let _stack = crate::common::docker_stack();
        need(
            docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = Project::fixture("forge");
        let table = up_test_down(&p, "standin-forge");
        // The billing plane's internal network reaches only billing services.
        let isolated = table.lines().any(|l| {
            l.starts_with("isolation-tcp")
                && l.contains("net forge-billing")
                && l.contains(" forge-web ")
                && l.contains("unreachable")
                && l.ends_with(" ok")
        });
        assert!(
            isolated,
            "no passing isolation check of the billing plane:\n{table}"
        );
    }

    /// A health check the stand-in cannot answer as the real service would is
    /// refused by `up --stand-ins` before anything starts, naming service and probe.
    #[test]
    fn a_probe_no_stand_in_can_honour_is_refused_before_anything_starts() {
        let _stack = crate::common::docker_stack();
        need(
            docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = Project::fixture("forge");
        let services = p.read("model/services.yaml");
        let broken = services
            .replace(
                "      http: /healthz\n      port: 8700\n",
                "      http: /healthz\n      port: 9090\n",
            )
            .replace(
                "http://localhost:8080/nginx-health",
                "http://localhost:8181/nginx-health",
            )
            .replace(
                "[/opt/billing/bin/healthcheck, --quiet]",
                "[/proc/healthcheck]",
            );
        assert_ne!(broken, services);
        p.write("model/services.yaml", &broken);
        let prefix = unique_name("standin-refused");
        p.run().args(&["all"]).run();
        let out = p
            .run()
            .args(&["up", "--stand-ins", "--project", &prefix])
            .status(1)
            .stderr_has("nothing was started")
            .run();
        let err = stderr(&out);
        for expected in [
            "the stand-in for `forge-web` cannot honour its health check (http: /healthz on port 9090): it probes port 9090, which `forge-web` does not declare",
            "the stand-in for `forge-proxy` cannot honour its health check (exec: [\"wget\", \"-q\", \"-O-\", \"http://localhost:8181/nginx-health\"]): it reaches localhost on port 8181",
            "the stand-in for `forge-billing` cannot honour its health check (exec: [\"/proc/healthcheck\"]): Docker mounts its own `/proc` over `/proc/healthcheck`",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
        }
        assert!(containers(&prefix).is_empty(), "something started");
        // The model itself is valid: only its stand-ins could not answer.
        p.run().args(&["check"]).run();
    }

    #[test]
    fn random_valid_models_come_up_healthy_as_stand_ins() {
        let _stack = crate::common::docker_stack();
        need(
            docker_available(),
            "a running Docker engine with Compose v2",
        );
        let seeds: Vec<u64> = match std::env::var("LUCID_GEN_STANDIN_SEED") {
            Ok(seed) => vec![parse_seed(&seed)],
            Err(_) => {
                let mut master = StdRng::seed_from_u64(SEED);
                (0..CASES).map(|_| master.random()).collect()
            }
        };
        for seed in seeds {
            let model = random_model(seed);
            let p = Project {
                dir: tempfile::tempdir().unwrap(),
            };
            p.write("model/model.yaml", &model);
            let replay = format!("seed {seed:#x} (replay: LUCID_GEN_STANDIN_SEED={seed:#x})");
            eprintln!("random stand-in model, {replay}");
            let check = p.run().args(&["check"]).status_any().run();
            assert!(
                check.status.success(),
                "generator bug: {replay} made an invalid model:\n{}\n{model}",
                stderr(&check)
            );
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                up_test_down(&p, "standin-random")
            }));
            if let Err(panic) = result {
                eprintln!("random stand-in model failed, {replay}:\n{model}");
                std::panic::resume_unwind(panic);
            }
        }
    }
}
