//! The quick path on the host engine: from an engine in no swarm, `swarm
//! up --local --init --stand-ins` of the small swarm fixture (two phases,
//! an encrypted isolated overlay, a service at 2 replicas, one placed by
//! label) makes the engine a one-node swarm and deploys it, `swarm test`
//! passes, and `swarm down --local` leaves the engine in no swarm with
//! nothing of the run left. A swarm lucid-gen did not initialise is left a
//! swarm by `swarm down`.
//!
//! The host engine is shared with every other Docker test of the run: the
//! test holds `docker_stack()` (as every test that creates networks with
//! fixed subnets or publishes host ports does), and [`EngineAsFound`]
//! leaves any swarm and removes a `docker_gwbridge` the test brought, also
//! when the test fails.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::realserver::run;
use super::standin_node::{host_platform, text};
use crate::common::{docker_available, docker_stack, need, stderr, stdout, Project};

/// The engine's `Swarm.LocalNodeState`.
fn swarm_state() -> String {
    text(&run(Command::new("docker").args([
        "info",
        "--format",
        "{{.Swarm.LocalNodeState}}",
    ])))
}

fn docker(args: &[&str]) -> Output {
    run(Command::new("docker").args(args))
}

fn gwbridge_exists() -> bool {
    docker(&["network", "inspect", "docker_gwbridge"])
        .status
        .success()
}

/// Puts the engine back as the test found it — in no swarm, without a
/// `docker_gwbridge` it did not have — when dropped, passed or not.
struct EngineAsFound {
    had_gwbridge: bool,
}

impl Drop for EngineAsFound {
    fn drop(&mut self) {
        if swarm_state() != "inactive" {
            // Every service and overlay goes before the node leaves: an
            // overlay left then stays in the engine (only a prune by label
            // removes it). The engine was in no swarm: all are the test's.
            let services = text(&docker(&["service", "ls", "-q"]));
            if !services.is_empty() {
                let _ = docker(
                    &[
                        &["service", "rm"][..],
                        &services.lines().collect::<Vec<_>>(),
                    ]
                    .concat(),
                );
            }
            for _ in 0..60 {
                let tasks = docker(&["ps", "-aq", "--filter", "label=com.docker.swarm.service.id"]);
                if text(&tasks).is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            let overlays = text(&docker(&["network", "ls", "-q", "--filter", "scope=swarm"]));
            for id in overlays.lines() {
                let _ = docker(&["network", "rm", id]);
            }
            let _ = docker(&["swarm", "leave", "--force"]);
        }
        let _ = docker(&[
            "network",
            "prune",
            "-f",
            "--filter",
            "label=com.docker.stack.namespace",
        ]);
        if self.had_gwbridge {
            return;
        }
        for _ in 0..20 {
            if !gwbridge_exists()
                || docker(&["network", "rm", "docker_gwbridge"])
                    .status
                    .success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn ok(out: &Output, what: &str) -> String {
    let all = format!("--- stdout\n{}\n--- stderr\n{}", stdout(out), stderr(out));
    assert_eq!(out.status.code(), Some(0), "{what}:\n{all}");
    stdout(out)
}

/// Objects of the run still on the engine: containers and networks of a
/// stack, and `docker_gwbridge`/`ingress`.
fn leftovers() -> Vec<String> {
    let mut left = Vec::new();
    for (kind, args, format) in [
        ("container", &["ps", "-a"][..], "{{.Names}}"),
        ("network", &["network", "ls"][..], "{{.Name}}"),
    ] {
        let filter = [
            "--filter",
            "label=com.docker.stack.namespace",
            "--format",
            format,
        ];
        let out = docker(&[args, &filter[..]].concat());
        left.extend(text(&out).lines().map(|n| format!("{kind} {n}")));
    }
    let networks = text(&docker(&["network", "ls", "--format", "{{.Name}}"]));
    left.extend(
        (networks.lines())
            .filter(|n| ["docker_gwbridge", "ingress"].contains(n))
            .map(|n| format!("network {n}")),
    );
    left
}

/// The swarm fixture, its stand-ins built for this machine, every service
/// with `endpoint_mode: dnsrr`: this machine's kernel has no IPVS (no
/// `/proc/net/ip_vs`), which a virtual IP and the ingress routing mesh
/// need (docs/testing.md).
fn hive() -> Project {
    let p = Project::fixture("swarm");
    let system = p.read("model/system.yaml").replacen(
        "  platform: linux/amd64\n",
        &format!("  platform: {}\n", host_platform()),
        1,
    );
    p.write("model/system.yaml", &system);
    let services = (p.read("model/services.yaml"))
        .replace("    swarm:\n", "    swarm:\n      endpoint_mode: dnsrr\n")
        .replace(
            "    init: true\n",
            "    init: true\n    swarm: { endpoint_mode: dnsrr }\n",
        );
    assert_eq!(services.matches("endpoint_mode: dnsrr").count(), 3);
    p.write("model/services.yaml", &services);
    p
}

#[test]
fn a_one_node_swarm_on_the_host_engine_is_initialised_tested_and_left_again() {
    need(docker_available(), "a Docker engine and Compose v2");
    let _stack = docker_stack();
    let state = swarm_state();
    assert_eq!(
        state, "inactive",
        "this test starts from an engine in no swarm, and this one's swarm state is `{state}` \
         (leave it with `docker swarm leave --force` if nothing of yours runs on it)"
    );
    let _found = EngineAsFound {
        had_gwbridge: gwbridge_exists(),
    };
    let p = hive();
    ok(&p.run().args(&["all"]).status_any().run(), "all");
    let started = Instant::now();
    let up = p
        .run()
        .args(&["swarm", "up", "--local", "--init", "--stand-ins"]);
    let up = ok(&up.status_any().run(), "swarm up --init");
    eprintln!(
        "quick swarm: up (init, stand-ins, 2 stacks) in {:.1?}",
        started.elapsed()
    );
    assert!(up.contains("initialised a one-node swarm"), "{up}");
    assert!(!up.contains("SWMTKN"), "the join token was printed:\n{up}");
    assert_eq!(swarm_state(), "active");
    let labels = text(&docker(&[
        "node",
        "inspect",
        "--format",
        "{{json .Spec.Labels}}",
        "self",
    ]));
    assert!(labels.contains(r#""payments":"true""#), "{labels}");
    let t = Instant::now();
    let tested = p
        .run()
        .args(&["swarm", "test", "--local"])
        .status_any()
        .run();
    eprintln!("quick swarm: test in {:.1?}", t.elapsed());
    let report = ok(&tested, "swarm test");
    for kind in ["replicas", "placement", "secrets", "isolation"] {
        assert!(report.contains(kind), "no {kind} row:\n{report}");
    }
    let t = Instant::now();
    let down = p
        .run()
        .args(&["swarm", "down", "--local"])
        .status_any()
        .run();
    let down = ok(&down, "swarm down");
    eprintln!("quick swarm: down in {:.1?}", t.elapsed());
    eprintln!("quick swarm: whole round trip {:.1?}", started.elapsed());
    assert!(down.contains("left the one-node swarm"), "{down}");
    assert_eq!(swarm_state(), "inactive", "swarm down left the swarm");
    assert_eq!(leftovers(), Vec::<String>::new(), "left after swarm down");

    // A swarm lucid-gen did not initialise stays a swarm.
    docker(&[
        "swarm",
        "init",
        "--advertise-addr",
        "127.0.0.1",
        "--listen-addr",
        "127.0.0.1:2377",
    ]);
    assert_eq!(swarm_state(), "active");
    let down = p
        .run()
        .args(&["swarm", "down", "--local"])
        .status_any()
        .run();
    let down = ok(&down, "swarm down on a swarm of the user's");
    assert!(down.contains("left as found"), "{down}");
    assert_eq!(swarm_state(), "active", "a swarm of the user's was left");
}
