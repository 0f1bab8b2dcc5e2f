//! A real three-node Docker Swarm: three stand-in nodes (`standin_node`)
//! on a network of the test's own — one manager, two workers, one of them
//! labelled for payments by the test — and Lucid's own four stacks (its
//! swarm form: `model/`) deployed to them with `lucid-gen swarm up
//! --stand-ins` over SSH (the model's hosts are the nodes, their host keys
//! pinned), then updated, rotated, broken and rolled back, and run without
//! a worker. Everything the
//! test made (nodes, network, agent, keys) is removed when it ends, also
//! when it fails.

use std::collections::{BTreeMap, BTreeSet};
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
    eprintln!("lucid swarm: test {when} in {:.1?}", t.elapsed());
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

/// Every service's running task IDs, by service (one call for all).
fn all_tasks(swarm: &Swarm) -> BTreeMap<String, Vec<String>> {
    let out = swarm.manager(
        "docker service ps --filter desired-state=running --format '{{.Name}} {{.ID}}' $(docker service ls -q)",
    );
    let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, id) in out.lines().filter_map(|l| l.split_once(' ')) {
        let service = name.rsplit_once('.').map_or(name, |(s, _)| s);
        tasks
            .entry(service.to_string())
            .or_default()
            .push(id.into());
    }
    tasks.values_mut().for_each(|ids| ids.sort());
    tasks
}

/// The services whose running tasks differ between `before` and `after`.
fn changed(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    (names.into_iter())
        .filter(|n| before.get(*n) != after.get(*n))
        .cloned()
        .collect()
}

/// `KEY=VALUE` lines of a service's environment, as Swarm holds it.
fn service_env(swarm: &Swarm, service: &str) -> String {
    swarm.manager(&format!(
        "docker service inspect --format '{{{{json .Spec.TaskTemplate.ContainerSpec.Env}}}}' {service}"
    ))
}

/// `swarm up --stand-ins` after a model change, timed under `what`; the
/// services whose tasks it replaced.
fn redeploy(swarm: &Swarm, p: &Project, what: &str) -> Vec<String> {
    let before = all_tasks(swarm);
    let t = Instant::now();
    ok(
        &swarm.lucid(p, &["swarm", "up", "--stand-ins"]),
        &format!("swarm up ({what})"),
    );
    eprintln!("lucid swarm: {what} in {:.1?}", t.elapsed());
    changed(&before, &all_tasks(swarm))
}

/// One environment variable of the session pipeline (2 replicas) changes:
/// only it is updated (one task at a time), every other service keeps its
/// tasks, and the matrix passes.
fn rolling_update(swarm: &Swarm, p: &Project) {
    let rel = "model/services/application.yaml";
    let services = p.read(rel);
    let edited = services.replacen(
        "  lucid-session-pipeline:\n    replicas: 2\n",
        "  lucid-session-pipeline:\n    replicas: 2\n    environment:\n      LOG_LEVEL: DEBUG\n",
        1,
    );
    assert_ne!(edited, services);
    p.write(rel, &edited);
    ok(&swarm.lucid(p, &["all"]), "all (update)");
    assert!(plan_line(swarm, p, PIPELINE).ends_with("update (env)"));
    assert!(plan_line(swarm, p, "lucid-foundation_lucid-mongodb").ends_with("unchanged"));
    let updated = redeploy(swarm, p, "rolling update of the session pipeline");
    assert_eq!(updated, [PIPELINE], "only the pipeline was updated");
    assert!(service_env(swarm, PIPELINE).contains("LOG_LEVEL=DEBUG"));
    assert_eq!(task_nodes(swarm, PIPELINE).len(), 2, "both replicas back");
    matrix(swarm, p, "after the update");
}

/// `ENCRYPTION_KEY` rotated: a new content-hashed Swarm secret, the old
/// one gone, its user mounting the new one. A secret file's name is keyed
/// with the whole secret store (see `versioned_names`), so every service
/// mounting a secret rolls its tasks — and only those.
fn rotation(swarm: &Swarm, p: &Project) {
    let names = || swarm.manager("docker secret ls --format '{{.Name}}' | sort");
    let before = names();
    ok(
        &swarm.lucid(p, &["secrets", "rotate", "ENCRYPTION_KEY"]),
        "rotate",
    );
    let processor = "lucid-application_lucid-chunk-processor";
    assert!(plan_line(swarm, p, processor).contains("secrets"));
    let mounting = mounting_secrets(swarm);
    let updated = redeploy(swarm, p, "rotation of ENCRYPTION_KEY deployed");
    assert_eq!(updated, mounting, "the services mounting a secret rolled");
    let after = names();
    let key = |names: &str| -> Vec<String> {
        let mut keys: Vec<String> = (names.lines())
            .map(|n| n.rsplit_once('-').map_or(n, |(k, _)| k).to_string())
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(
        key(&after),
        key(&before),
        "one version of each per stack: {after}"
    );
    let encryption = |names: &str| -> String {
        (names.lines().find(|n| n.contains("_ENCRYPTION_KEY-")))
            .unwrap_or_else(|| panic!("no ENCRYPTION_KEY in {names}"))
            .to_string()
    };
    assert_ne!(encryption(&after), encryption(&before), "a new name");
    let mounted = swarm.manager(&format!(
        "docker service inspect --format '{{{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}}}{{{{.SecretName}}}} {{{{end}}}}' {processor}"
    ));
    assert!(
        mounted.contains(&encryption(&after)),
        "{processor}: {mounted}"
    );
    matrix(swarm, p, "after the rotation");
}

/// The services whose spec mounts at least one Swarm secret, sorted.
fn mounting_secrets(swarm: &Swarm) -> Vec<String> {
    let out = swarm.manager(
        "docker service inspect --format '{{.Spec.Name}} {{len .Spec.TaskTemplate.ContainerSpec.Secrets}}' $(docker service ls -q)",
    );
    let mut names: Vec<String> = (out.lines())
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, n)| *n != "0")
        .map(|(name, _)| name.to_string())
        .collect();
    names.sort();
    names
}

/// One deploy of the support stack changes two services and one of them
/// never becomes healthy (the payment gateway's new health check asks a
/// port nothing serves, as a release whose health endpoint moved would):
/// Swarm fails the gateway's update and rolls it back, `swarm up` exits 1,
/// and lucid-gen rolls the admin interface — whose own update was fine —
/// back too: both run their previous spec, no other service's tasks moved.
fn broken_update(swarm: &Swarm, p: &Project) {
    let rel = "model/services/support.yaml";
    let services = p.read(rel);
    let (head, gateway) = services
        .split_once("  lucid-payment-gateway:\n")
        .expect("the gateway in support.yaml");
    let gateway = gateway.replacen(
        "    health:\n      http: /health\n",
        "    health:\n      http: /health\n      port: 8098\n",
        1,
    );
    let broken = format!("{head}  lucid-payment-gateway:\n{gateway}").replacen(
        "    env_files: [foundation, support]\n",
        "    env_files: [foundation, support]\n    environment:\n      LOG_LEVEL: WARNING\n",
        1,
    );
    assert_eq!(broken.matches("LOG_LEVEL: WARNING").count(), 1);
    assert_eq!(broken.matches("port: 8098").count(), 1);
    p.write(rel, &broken);
    ok(&swarm.lucid(p, &["all"]), "all (broken)");
    assert!(plan_line(swarm, p, ADMIN).ends_with("update (env)"));
    assert!(plan_line(swarm, p, GATEWAY).ends_with("update (config)"));
    let before = all_tasks(swarm);
    let t = Instant::now();
    let out = swarm.lucid(p, &["swarm", "up", "--stand-ins"]);
    eprintln!(
        "lucid swarm: broken update rolled back in {:.1?}",
        t.elapsed()
    );
    let err = stderr(&out);
    eprintln!("lucid swarm: the broken update's message:\n{err}");
    assert_eq!(out.status.code(), Some(1), "{}\n{err}", stdout(&out));
    // Swarm's rollback of the gateway may have started or (a quick one)
    // completed when lucid-gen looks.
    assert!(
        err.contains(&format!("`{GATEWAY}`: Swarm stopped its update (rollback_")),
        "the gateway named, with Swarm's rollback: {err}"
    );
    eprintln!(
        "lucid swarm: the gateway's tasks:\n{}",
        swarm.manager(&format!("docker service ps --no-trunc {GATEWAY}"))
    );
    let rollback = (err.lines())
        .find(|l| l.contains("stack-wide rollback done"))
        .unwrap_or_else(|| panic!("no rollback line: {err}"));
    assert!(
        rollback.ends_with(&format!(
            "rolled back {ADMIN}; {GATEWAY} was rolled back by Swarm"
        )),
        "exactly the two services the deploy changed: {rollback}"
    );
    let env = service_env(swarm, ADMIN);
    assert!(!env.contains("LOG_LEVEL=WARNING"), "admin back: {env}");
    let health = swarm.manager(&format!(
        "docker service inspect --format '{{{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck}}}}' {GATEWAY}"
    ));
    assert!(
        health.contains("8097") && !health.contains("8098"),
        "gateway back: {health}"
    );
    let moved = changed(&before, &all_tasks(swarm));
    assert!(
        moved.iter().all(|s| [ADMIN, GATEWAY].contains(&s.as_str())),
        "only the two touched services moved: {moved:?}"
    );
    p.write(rel, &services);
    ok(&swarm.lucid(p, &["all"]), "all (back)");
    let planned = stdout(&swarm.lucid(p, &["swarm", "plan"]));
    assert!(planned.contains("nothing would change"), "{planned}");
    matrix(swarm, p, "after the rollback");
}

/// The plain worker is stopped: every Lucid service runs all its replicas
/// on the two nodes left (what ran on the worker restarted elsewhere and
/// answers its health check), and `swarm test` passes again.
fn worker_lost(swarm: &Swarm, p: &Project) {
    let desired = desired_replicas(swarm);
    let before = running_on(swarm);
    let lost: Vec<&String> = (before.iter())
        .filter(|(_, nodes)| nodes.iter().any(|n| n == "worker"))
        .map(|(s, _)| s)
        .collect();
    assert!(!lost.is_empty(), "tasks on the worker: {before:?}");
    let t = Instant::now();
    run(Command::new("docker").args(["stop", "-t", "1", &swarm.nodes[1].name]));
    let wait = std::time::Duration::from_secs(180);
    let rescheduled = crate::docker_tier::realserver::wait_for(wait, || {
        let down = swarm.manager("docker node inspect --format '{{.Status.State}}' worker");
        // The manager still counts the lost node's tasks as running.
        let now = running_on(swarm);
        let short: Vec<String> = (desired.iter())
            .filter(|(s, n)| {
                let on = now.get(*s).map_or(0, |nodes| {
                    nodes.iter().filter(|node| *node != "worker").count()
                });
                on != **n
            })
            .map(|(s, n)| format!("{s} ({n} wanted): {:?}", now.get(s)))
            .collect();
        match down == "down" && short.is_empty() {
            true => Ok(()),
            false => Err(format!("worker {down}; not whole: {short:?}")),
        }
    });
    rescheduled.unwrap();
    eprintln!(
        "lucid swarm: worker lost ({} services had tasks there: {lost:?}), all rescheduled in {:.1?}",
        lost.len(),
        t.elapsed()
    );
    matrix(swarm, p, "without the worker");
}

/// Each service's desired replica count (`docker service ls`).
fn desired_replicas(swarm: &Swarm) -> BTreeMap<String, usize> {
    let out = swarm.manager("docker service ls --format '{{.Name}} {{.Replicas}}'");
    (out.lines())
        .filter_map(|l| l.split_once(' '))
        .map(|(name, replicas)| {
            let wanted = (replicas.split('/').nth(1))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("replicas of {name}: {replicas}"));
            (name.to_string(), wanted)
        })
        .collect()
}

/// The nodes of every service's running (started and healthy) tasks.
fn running_on(swarm: &Swarm) -> BTreeMap<String, Vec<String>> {
    let out = swarm.manager(
        "docker service ps --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}}' $(docker service ls -q)",
    );
    let mut on: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in out.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(name), Some(node), Some(state)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if state.starts_with("Running") {
            let service = name.rsplit_once('.').map_or(name, |(s, _)| s);
            on.entry(service.to_string()).or_default().push(node.into());
        }
    }
    on
}

const PIPELINE: &str = "lucid-application_lucid-session-pipeline";
const ADMIN: &str = "lucid-support_lucid-admin-interface";
const GATEWAY: &str = "lucid-support_lucid-payment-gateway";

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

/// Lucid's own four stacks with stand-ins on the three nodes: the session
/// pipeline's 2 replicas on two nodes, the TRON plane on the payments
/// node, the `swarm test` matrix; then a rolling update, a secret
/// rotation, a broken update rolled back stack-wide and a lost worker,
/// the matrix passing after each; the plan says nothing would change, and
/// `swarm down` leaves nothing.
#[test]
fn lucids_stand_in_stack_updates_rotates_rolls_back_and_survives_a_lost_worker_on_a_three_node_swarm(
) {
    let started = Instant::now();
    let swarm = Swarm::start();
    eprintln!("lucid swarm: three nodes up in {:.1?}", started.elapsed());
    let p = lucid_project(&swarm);
    ok(&swarm.lucid(&p, &["all"]), "all");
    let t = Instant::now();
    let up = swarm.lucid(&p, &["swarm", "up", "--stand-ins"]);
    eprintln!("lucid swarm: up in {:.1?}", t.elapsed());
    ok(&up, "swarm up");
    for line in stdout(&up).lines().filter(|l| l.contains("images: sent")) {
        eprintln!("lucid swarm: {}", line.trim());
    }
    let pipeline = task_nodes(&swarm, PIPELINE);
    assert_eq!(pipeline.len(), 2, "two replicas: {pipeline:?}");
    assert_ne!(
        pipeline[0], pipeline[1],
        "spread over two nodes: {pipeline:?}"
    );
    for service in ["lucid-tron-client", "lucid-payment-gateway"] {
        let nodes = task_nodes(&swarm, &format!("lucid-support_{service}"));
        assert_eq!(nodes, ["pay"], "{service} on the payments node");
    }
    let t = Instant::now();
    let out = swarm.lucid(&p, &["swarm", "test"]);
    let tested = format!("{}{}", stdout(&out), stderr(&out));
    eprintln!("lucid swarm: test in {:.1?}\n{tested}", t.elapsed());
    assert_matrix(&tested);
    chain_probed_by_a_probe_service(&swarm, &tested);
    rolling_update(&swarm, &p);
    rotation(&swarm, &p);
    broken_update(&swarm, &p);
    worker_lost(&swarm, &p);
    let planned = stdout(&swarm.lucid(&p, &["swarm", "plan"]));
    assert!(planned.contains("nothing would change"), "{planned}");
    down_leaves_nothing(&swarm, &p, "lucid swarm");
    eprintln!("lucid swarm: whole test {:.1?}", started.elapsed());
}

/// Lucid's own model, swarm form, on the three nodes: its hosts replaced
/// by the nodes (the third labelled payments=true, where the TRON plane
/// goes), the host's platform (stand-ins run natively), every service
/// with [`TEST_SWARM`], and the session pipeline at 2 replicas.
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
                &format!("    swarm: {{ {TEST_SWARM}, placement:"),
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

/// The test's Swarm settings for every service: DNS round robin (nested
/// nodes reach task addresses but not a service's virtual IP, see
/// docs/testing.md), and updates and rollbacks watched for 5 s, not 30 s.
const TEST_SWARM: &str = "endpoint_mode: dnsrr, update: { monitor: 5s }, rollback: { monitor: 5s }";

/// A service block without `swarm:` gets [`TEST_SWARM`].
fn with_dnsrr(block: &str) -> String {
    if block.contains("\n    swarm:") || !block.contains("\n    phase: ") {
        return block.to_string();
    }
    block.replacen(
        "\n    phase: ",
        &format!("\n    swarm: {{ {TEST_SWARM} }}\n    phase: "),
        1,
    )
}

/// No task is on the chain overlay alone (the block manager is on
/// lucid-pi-network too): its isolation rows come from a probe service,
/// each by-name row passing, and no probe service is left afterwards.
fn chain_probed_by_a_probe_service(swarm: &Swarm, report: &str) {
    let rows: Vec<&str> = (report.lines())
        .filter(|r| r.starts_with("isolation"))
        .filter(|r| r.contains("net lucid-chain-network") && r.contains("(probe service)"))
        .collect();
    let by_name = |r: &&&str| !(r.contains("(10.") || r.contains("(172."));
    let named: Vec<&&str> = rows.iter().filter(by_name).collect();
    for expect in [" reachable ", " unreachable "] {
        assert!(
            named
                .iter()
                .any(|r| r.starts_with("isolation-dns") && r.contains(expect)),
            "no{expect}chain row from a probe service:\n{report}"
        );
    }
    assert!(
        named.iter().all(|r| r.trim_end().ends_with(" ok")),
        "chain rows:\n{}",
        rows.join("\n")
    );
    let left = swarm.manager("docker service ls -q --filter label=lucid-gen.probe-service");
    assert_eq!(left, "", "probe services left after swarm test");
}
