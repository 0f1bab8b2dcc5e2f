//! A real three-node Docker Swarm: three stand-in nodes (`standin_node`)
//! on a network of the test's own — one manager, two workers, one of them
//! labelled for payments by the test — first Lucid's own four stacks
//! (its swarm form: `model/`), then the `swarm` fixture's, deployed to
//! them with `lucid-gen swarm up --stand-ins` over SSH (the
//! model's hosts are the nodes, their host keys pinned). Everything the
//! test made (nodes, network, agent, keys) is removed when it ends, also
//! when it fails.

use std::process::{Command, Output};
use std::time::Instant;

use super::standin_node::{swarm_node_image, text, Pi};
use crate::common::{stderr, stdout, unique_name, Project};
use crate::docker_tier::realserver::run;

/// A network of the test's own, removed when dropped (after the nodes).
struct Network(String);

impl Drop for Network {
    fn drop(&mut self) {
        let _ = run(Command::new("docker").args(["network", "rm", &self.0]));
    }
}

/// The nodes' network, on a subnet of its own: left to Docker, it takes
/// the next free 172.x/16 — possibly one of Lucid's overlay subnets
/// (172.20–22), and then the nodes' VXLAN traffic to each other is routed
/// into that overlay and cross-node connections on it time out.
fn create_network(name: &str) {
    let start = std::process::id() % 200;
    let mut last = String::new();
    for n in (0..20).map(|i| 20 + (start + i) % 200) {
        let subnet = format!("10.231.{n}.0/24");
        let made =
            run(Command::new("docker").args(["network", "create", "--subnet", &subnet, name]));
        if made.status.success() {
            return;
        }
        last = String::from_utf8_lossy(&made.stderr).to_string();
    }
    panic!("no free 10.231.x.0/24 for the swarm's network: {last}");
}

/// The swarm: the network first, so it is dropped last.
struct Swarm {
    nodes: Vec<Pi>,
    _network: Network,
}

impl Swarm {
    /// Three nodes: `manager`, `worker`, `pay` (labelled payments=true).
    fn start() -> Swarm {
        let network = Network(unique_name("lucid-gen-swarm"));
        create_network(&network.0);
        let mut swarm = Swarm {
            nodes: Vec::new(),
            _network: network,
        };
        for name in ["manager", "worker", "pay"] {
            let node = Pi::start_as(swarm_node_image(), name, Some(&swarm._network.0));
            swarm.nodes.push(node);
        }
        let ip = swarm.ip(0);
        swarm.nodes[0].sh(&format!("docker swarm init --advertise-addr {ip}"));
        let token = swarm.nodes[0].sh("docker swarm join-token -q worker");
        for node in &swarm.nodes[1..] {
            node.sh(&format!("docker swarm join --token {token} {ip}:2377"));
        }
        swarm.nodes[0].sh("docker node update --label-add payments=true pay");
        // One agent holds every node's client key.
        let sock = swarm.nodes[0].keys.path().join("agent.sock");
        for node in &swarm.nodes[1..] {
            let added = run(Command::new("ssh-add")
                .env("SSH_AUTH_SOCK", &sock)
                .arg(node.keys.path().join("id")));
            assert!(
                added.status.success(),
                "{}",
                String::from_utf8_lossy(&added.stderr)
            );
        }
        swarm
    }

    /// Node `i`'s address on the test network.
    fn ip(&self, i: usize) -> String {
        let format = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            self._network.0
        );
        text(&run(Command::new("docker").args([
            "inspect",
            "--format",
            &format,
            &self.nodes[i].name,
        ])))
    }

    /// The model's hosts: the three nodes over their loopback SSH ports.
    fn hosts(&self) -> String {
        let mut yaml = String::from("hosts:\n");
        for (node, (role, labels)) in self.nodes.iter().zip([
            ("manager", "{ zone: a }"),
            ("worker", "{ zone: b }"),
            ("worker", "{ zone: c, payments: \"true\" }"),
        ]) {
            let name = text(&run(Command::new("docker").args([
                "inspect",
                "--format",
                "{{.Config.Hostname}}",
                &node.name,
            ])));
            yaml.push_str(&format!(
                "  {name}:\n    address: 127.0.0.1\n    port: {}\n    user: deploy\n    \
                 directory: /srv/lucid\n    known_hosts: {}\n    deadline: 4m\n    \
                 swarm:\n      role: {role}\n      labels: {labels}\n",
                node.port,
                node.known_hosts().display()
            ));
        }
        yaml
    }

    /// `lucid-gen ARGS` in `p`, with the swarm's agent.
    fn lucid(&self, p: &Project, args: &[&str]) -> Output {
        let sock = self.nodes[0].keys.path().join("agent.sock");
        p.run()
            .env("SSH_AUTH_SOCK", &sock.display().to_string())
            .args(args)
            .status_any()
            .run()
    }

    /// `docker …` on the manager, as root.
    fn manager(&self, command: &str) -> String {
        self.nodes[0].sh(command)
    }
}

/// `swarm down`, timed under `label`; then no service, secret, config or
/// stack network is left on the manager.
fn down_leaves_nothing(swarm: &Swarm, p: &Project, label: &str) {
    let t = Instant::now();
    ok(&swarm.lucid(p, &["swarm", "down"]), "swarm down");
    eprintln!("{label}: down in {:.1?}", t.elapsed());
    for kind in ["service", "secret", "config"] {
        let left = swarm.manager(&format!("docker {kind} ls -q"));
        assert_eq!(left, "", "{kind}s left after swarm down");
    }
    let networks = swarm.manager("docker network ls --filter label=com.docker.stack.namespace -q");
    assert_eq!(networks, "", "stack networks left");
}

fn ok(out: &Output, what: &str) -> String {
    let all = format!("--- stdout\n{}\n--- stderr\n{}", stdout(out), stderr(out));
    assert_eq!(out.status.code(), Some(0), "{what}:\n{all}");
    stdout(out)
}

/// The fixture with its hosts replaced by the swarm's nodes.
fn project(swarm: &Swarm) -> Project {
    let p = Project::fixture("swarm");
    let system = p.read("model/system.yaml");
    let cut = system
        .find("\nhosts:\n")
        .expect("the fixture declares hosts");
    p.write("model/system.yaml", &system[..cut + 1]);
    p.write("model/nodes.yaml", &swarm.hosts());
    // Every service behind DNS round robin: nested nodes reach task
    // addresses but not a service's virtual IP (see docs/testing.md).
    let services = p.read("model/services.yaml");
    let services = services
        .replace(
            "    init: true\n",
            "    init: true\n    swarm:\n      endpoint_mode: dnsrr\n",
        )
        .replace(
            "    swarm:\n      update:",
            "    swarm:\n      endpoint_mode: dnsrr\n      update:",
        )
        .replace(
            "    swarm:\n      placement:",
            "    swarm:\n      endpoint_mode: dnsrr\n      placement:",
        );
    // The test's updates watched for 5 s, not the fixture's 20 s.
    let services = services.replace(
        "delay: 10s\n        order: start-first\n        monitor: 20s",
        "delay: 1s\n        order: start-first\n        monitor: 5s",
    );
    assert!(services.contains("monitor: 5s"));
    // A service on the payment plane alone, to probe its isolation from.
    p.write("model/services.yaml", &format!("{services}{LEDGER}"));
    p
}

/// The payment plane's own service (only the gateway bridges out).
const LEDGER: &str = "
  hive-pay-ledger:
    phase: edge
    plane: pay
    networks: [hive-pay]
    image: example/pay-ledger:1.0
    user: \"1002:1002\"
    ports:
      - container: 9100
    health:
      exec: [/usr/local/bin/pay-ledger, --health]
    swarm:
      endpoint_mode: dnsrr
      placement: { payments: \"true\" }
";

/// Every row of `swarm test` passed — but one kind: a probe by IP address
/// into another plane's overlay that was answered. A task on a non-internal
/// overlay has a default route through the node's `docker_gwbridge`, so
/// from nested nodes a connection to an address of another overlay leaves
/// the node and is refused by the machine beyond it, which the prober
/// counts as a path (its rule for compose networks). Those rows are
/// printed, not asserted (an open finding); every by-name row is.
fn assert_matrix(report: &str) {
    let rows: Vec<&str> = report.lines().filter(|l| l.contains("  ")).collect();
    for kind in [
        "replicas",
        "placement",
        "running",
        "env",
        "image",
        "secrets",
        "dependency",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(kind)),
            "no {kind} row:\n{report}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r.starts_with("isolation-dns") && r.contains("unreachable")));
    let failed: Vec<&&str> = (rows.iter())
        .filter(|r| r.contains(" FAIL"))
        .filter(|r| {
            !(r.starts_with("isolation-tcp") && (r.contains("(10.") || r.contains("(172.")))
        })
        .collect();
    assert!(failed.is_empty(), "swarm test failed rows:\n{report}");
}

/// `swarm test` passes (its failed rows shown otherwise).
fn matrix(swarm: &Swarm, p: &Project, when: &str) {
    let t = Instant::now();
    let out = swarm.lucid(p, &["swarm", "test"]);
    eprintln!("swarm: test {when} in {:.1?}", t.elapsed());
    assert_matrix(&format!("{}{}", stdout(&out), stderr(&out)));
}

/// The `swarm plan` line of `service`.
fn plan_line(swarm: &Swarm, p: &Project, service: &str) -> String {
    let out = stdout(&swarm.lucid(p, &["swarm", "plan"]));
    (out.lines())
        .find(|l| l.trim_start().starts_with(&format!("{service} ")))
        .unwrap_or_else(|| panic!("no {service} in the plan:\n{out}"))
        .to_string()
}

/// The running task IDs of a service.
fn tasks(swarm: &Swarm, service: &str) -> String {
    swarm.manager(&format!(
        "docker service ps -q --filter desired-state=running {service} | sort"
    ))
}

/// One service's environment changes: only it is updated (rolling, one
/// task at a time, start first); the others keep their tasks and serve.
fn rolling_update(swarm: &Swarm, p: &Project) {
    let services = p.read("model/services.yaml");
    p.write(
        "model/services.yaml",
        &services.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"),
    );
    ok(&swarm.lucid(p, &["all"]), "all");
    assert!(plan_line(swarm, p, "hive-edge_hive-api").ends_with("update (env)"));
    assert!(plan_line(swarm, p, "hive-base_hive-db").ends_with("unchanged"));
    let (db, gateway, api) = (
        tasks(swarm, "hive-base_hive-db"),
        tasks(swarm, "hive-edge_hive-pay-gateway"),
        tasks(swarm, "hive-edge_hive-api"),
    );
    let t = Instant::now();
    ok(
        &swarm.lucid(p, &["swarm", "up", "--stand-ins"]),
        "swarm up (update)",
    );
    eprintln!("swarm: rolling update in {:.1?}", t.elapsed());
    assert_eq!(
        tasks(swarm, "hive-base_hive-db"),
        db,
        "hive-db kept its task"
    );
    assert_eq!(tasks(swarm, "hive-edge_hive-pay-gateway"), gateway);
    assert_ne!(
        tasks(swarm, "hive-edge_hive-api"),
        api,
        "hive-api was updated"
    );
    matrix(swarm, p, "after the update");
}

/// A rotated secret: a new content-hashed Swarm secret, the old one gone.
fn rotation(swarm: &Swarm, p: &Project) {
    let names = || swarm.manager("docker secret ls --format '{{.Name}}' | grep API_TOKEN");
    let before = names();
    ok(
        &swarm.lucid(p, &["secrets", "rotate", "API_TOKEN"]),
        "rotate",
    );
    assert!(plan_line(swarm, p, "hive-edge_hive-api").contains("secrets"));
    let t = Instant::now();
    ok(
        &swarm.lucid(p, &["swarm", "up", "--stand-ins"]),
        "swarm up (rotation)",
    );
    eprintln!("swarm: rotation deployed in {:.1?}", t.elapsed());
    let after = names();
    assert_eq!(after.lines().count(), 1, "{after}");
    assert_ne!(after, before, "a new secret name");
    matrix(swarm, p, "after the rotation");
}

/// One deploy changes two services of a stack and one of them cannot
/// start (its new host port is taken on the only node it may run on):
/// `swarm up` fails, and both services are back as they were — the one
/// that failed by Swarm's own rollback, the other by lucid-gen's.
fn broken_update(swarm: &Swarm, p: &Project) {
    let pay = &swarm.nodes[2];
    let image =
        pay.sh("docker image ls --format '{{.Repository}}:{{.Tag}}' | grep standin | head -1");
    pay.sh(&format!(
        "docker run -d --name port-taker -p 19090:9000 {image}"
    ));
    let services = p.read("model/services.yaml");
    let broken = services
        .replace("LOG_LEVEL: debug", "LOG_LEVEL: warn")
        .replacen(
        "    user: \"1001:1001\"\n    ports:\n      - container: 9000\n",
        "    user: \"1001:1001\"\n    security:\n      host_ports: The test's broken update.\n    \
         ports:\n      - container: 9000\n        host: 19090\n",
        1,
    );
    assert_ne!(broken, services);
    p.write("model/services.yaml", &broken);
    ok(&swarm.lucid(p, &["all"]), "all (broken)");
    let t = Instant::now();
    let out = swarm.lucid(p, &["swarm", "up", "--stand-ins"]);
    eprintln!("swarm: broken update rolled back in {:.1?}", t.elapsed());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}\n{err}", stdout(&out));
    assert!(err.contains("hive-edge_hive-pay-gateway"), "{err}");
    assert!(err.contains("rolled back hive-edge_hive-api"), "{err}");
    let env = swarm.manager(
        "docker service inspect --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' hive-edge_hive-api",
    );
    assert!(env.contains("LOG_LEVEL=debug"), "hive-api back: {env}");
    let ports = swarm.manager(
        "docker service inspect --format '{{json .Spec.EndpointSpec.Ports}}' hive-edge_hive-pay-gateway",
    );
    assert!(!ports.contains("19090"), "gateway back: {ports}");
    pay.sh("docker rm -f port-taker");
    p.write("model/services.yaml", &services);
    ok(&swarm.lucid(p, &["all"]), "all (back)");
    let planned = stdout(&swarm.lucid(p, &["swarm", "plan"]));
    assert!(planned.contains("nothing would change"), "{planned}");
    matrix(swarm, p, "after the rollback");
}

/// The worker is stopped: its `hive-api` task is rescheduled onto another
/// node and `swarm test` passes again.
fn worker_lost(swarm: &Swarm, p: &Project) {
    let t = Instant::now();
    let before = task_nodes(swarm, "hive-edge_hive-api");
    run(Command::new("docker").args(["stop", "-t", "1", &swarm.nodes[1].name]));
    let wait = std::time::Duration::from_secs(120);
    let rescheduled = crate::docker_tier::realserver::wait_for(wait, || {
        let state = "docker node inspect --format '{{.Status.State}}' worker";
        let down = swarm.manager(state);
        // Every service whole again on the other nodes: what ran on the
        // worker restarted elsewhere and answers its health check (the
        // manager still counts the lost node's tasks as running).
        let services = [
            ("hive-base_hive-db", 1),
            ("hive-edge_hive-api", 2),
            ("hive-edge_hive-pay-gateway", 1),
            ("hive-edge_hive-pay-ledger", 1),
        ];
        let placed: Vec<(&str, Vec<String>)> = (services.iter())
            .map(|(s, _)| (*s, task_nodes(swarm, s)))
            .collect();
        let whole = (services.iter().zip(&placed))
            .all(|((_, n), (_, on))| on.iter().filter(|node| *node != "worker").count() == *n);
        match down == "down" && whole {
            true => Ok(()),
            false => Err(format!("worker {down}, tasks on {placed:?}")),
        }
    });
    rescheduled.unwrap();
    let after = task_nodes(swarm, "hive-edge_hive-api");
    eprintln!(
        "swarm: worker lost (hive-api was on {before:?}, now on {after:?}) in {:.1?}",
        t.elapsed()
    );
    matrix(swarm, p, "without the worker");
}

/// The nodes running a service's tasks, sorted (a task still starting —
/// not yet healthy — does not count).
fn task_nodes(swarm: &Swarm, service: &str) -> Vec<String> {
    let out = swarm.manager(&format!(
        "docker service ps --filter desired-state=running --format '{{{{.Node}}}} {{{{.CurrentState}}}}' {service}"
    ));
    let mut nodes: Vec<String> = (out.lines())
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, state)| state.starts_with("Running"))
        .map(|(node, _)| node.to_string())
        .collect();
    nodes.sort();
    nodes
}

#[test]
fn the_swarm_fixture_and_lucids_stand_in_stack_deploy_on_a_three_node_swarm() {
    let started = Instant::now();
    let swarm = Swarm::start();
    eprintln!("swarm: three nodes up in {:.1?}", started.elapsed());
    lucids_stand_in_stack(&swarm);
    let p = project(&swarm);
    ok(&swarm.lucid(&p, &["all"]), "all");
    let t = Instant::now();
    ok(
        &swarm.lucid(&p, &["swarm", "up", "--stand-ins"]),
        "swarm up",
    );
    eprintln!("swarm: up in {:.1?}", t.elapsed());
    let api = task_nodes(&swarm, "hive-edge_hive-api");
    assert_eq!(api.len(), 2, "two replicas: {api:?}");
    assert_ne!(api[0], api[1], "spread over two nodes: {api:?}");
    assert_eq!(task_nodes(&swarm, "hive-edge_hive-pay-gateway"), ["pay"]);
    assert_eq!(task_nodes(&swarm, "hive-edge_hive-pay-ledger"), ["pay"]);
    let t = Instant::now();
    let out = swarm.lucid(&p, &["swarm", "test"]);
    let tested = stdout(&out);
    eprintln!(
        "swarm: test in {:.1?}\n{tested}{}",
        t.elapsed(),
        stderr(&out)
    );
    assert_matrix(&tested);
    rolling_update(&swarm, &p);
    rotation(&swarm, &p);
    broken_update(&swarm, &p);
    worker_lost(&swarm, &p);
    let planned = swarm.lucid(&p, &["swarm", "plan"]);
    assert!(
        stdout(&planned).contains("nothing would change"),
        "{}",
        stdout(&planned)
    );
    down_leaves_nothing(&swarm, &p, "swarm");
    eprintln!("swarm: whole test {:.1?}", started.elapsed());
}

/// Lucid's own model, swarm form, on the three nodes: its hosts replaced
/// by the nodes (the third labelled payments=true, where the TRON plane
/// goes), the host's platform (stand-ins run natively), every service
/// behind DNS round robin (nested nodes, as above), and the session
/// pipeline at 2 replicas.
fn lucid_project(swarm: &Swarm) -> Project {
    let p = Project::lucid();
    p.write("model/hosts.yaml", &swarm.hosts());
    let system = p.read("model/system.yaml").replacen(
        "  platform: linux/arm64\n",
        &format!("  platform: {}\n", super::standin_node::host_platform()),
        1,
    );
    p.write("model/system.yaml", &system);
    for file in ["foundation", "core", "application", "support"] {
        let rel = format!("model/services/{file}.yaml");
        let text = (p.read(&rel))
            .replace(
                "    swarm: { placement:",
                "    swarm: { endpoint_mode: dnsrr, placement:",
            )
            .replace(
                "    swarm:\n      leave_out:",
                "    swarm:\n      endpoint_mode: dnsrr\n      leave_out:",
            );
        let mut out = String::new();
        let mut block = String::new();
        for line in text.lines() {
            if line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':') {
                out.push_str(&with_dnsrr(&block));
                block.clear();
            }
            block.push_str(line);
            block.push('\n');
        }
        out.push_str(&with_dnsrr(&block));
        let out = out.replace(
            "  lucid-session-pipeline:\n",
            "  lucid-session-pipeline:\n    replicas: 2\n",
        );
        p.write(&rel, &out);
    }
    p
}

/// A service block without `swarm:` gets `endpoint_mode: dnsrr`.
fn with_dnsrr(block: &str) -> String {
    if block.contains("\n    swarm:") || !block.contains("\n    phase: ") {
        return block.to_string();
    }
    block.replacen(
        "\n    phase: ",
        "\n    swarm: { endpoint_mode: dnsrr }\n    phase: ",
        1,
    )
}

/// Lucid's four stacks with stand-ins on the three nodes, before the
/// fixture's (which end with a worker lost): the session pipeline's 2 replicas on two nodes, the
/// TRON plane on the payments node, the `swarm test` matrix passing, and
/// nothing left after `swarm down`.
fn lucids_stand_in_stack(swarm: &Swarm) {
    let started = Instant::now();
    let p = lucid_project(swarm);
    ok(&swarm.lucid(&p, &["all"]), "all");
    let t = Instant::now();
    let up = swarm.lucid(&p, &["swarm", "up", "--stand-ins"]);
    eprintln!("lucid swarm: up in {:.1?}", t.elapsed());
    ok(&up, "swarm up");
    for line in stdout(&up).lines().filter(|l| l.contains("images: sent")) {
        eprintln!("lucid swarm: {}", line.trim());
    }
    let pipeline = task_nodes(swarm, "lucid-application_lucid-session-pipeline");
    assert_eq!(pipeline.len(), 2, "two replicas: {pipeline:?}");
    assert_ne!(
        pipeline[0], pipeline[1],
        "spread over two nodes: {pipeline:?}"
    );
    for service in ["lucid-tron-client", "lucid-payment-gateway"] {
        let nodes = task_nodes(swarm, &format!("lucid-support_{service}"));
        assert_eq!(nodes, ["pay"], "{service} on the payments node");
    }
    let t = Instant::now();
    let out = swarm.lucid(&p, &["swarm", "test"]);
    let tested = format!("{}{}", stdout(&out), stderr(&out));
    eprintln!("lucid swarm: test in {:.1?}\n{tested}", t.elapsed());
    assert_matrix(&tested);
    down_leaves_nothing(swarm, &p, "lucid swarm");
    eprintln!("lucid swarm: whole Lucid part {:.1?}", started.elapsed());
}
