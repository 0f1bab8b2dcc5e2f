//! End to end on a real Docker engine: the generated files go to Docker's
//! own tooling. Every service runs as a stand-in image (no registry is
//! reachable here), health-gated phase by phase; `lucid-gen test` checks
//! reachability, isolation, environment and secrets from inside; `down`
//! leaves nothing behind. Without a Docker engine these tests fail, never skip.

use std::process::Command;

use crate::common::{docker_available, need, stdout, unique_name, Down, OutputBounded, Project};

pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output_bounded()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Container ids of every project whose name starts with `prefix`.
pub(crate) fn containers(prefix: &str) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Label \"com.docker.compose.project\"}}",
    ]);
    let mut ids: Vec<String> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, project)| project.starts_with(prefix))
        .map(|(id, _)| id.to_string())
        .collect();
    ids.sort();
    ids
}

pub(crate) fn networks_of(p: &Project) -> Vec<String> {
    let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
    let system = lucid_gen::validate::validate(loaded).unwrap().system;
    system.networks.iter().map(|n| n.name.clone()).collect()
}

pub(crate) fn leaves_nothing_behind(p: &Project, prefix: &str) {
    assert!(containers(prefix).is_empty(), "containers left behind");
    let existing = docker(&["network", "ls", "--format", "{{.Name}}"]);
    for net in networks_of(p) {
        assert!(
            !existing.lines().any(|l| l == net),
            "network {net} left behind"
        );
    }
}

#[test]
fn lucid_comes_up_healthy_isolated_and_goes_away() {
    let _stack = crate::common::docker_stack();
    need(
        docker_available(),
        "a running Docker engine with Compose v2",
    );
    let p = Project::lucid();
    let prefix = unique_name("e2e-lucid");
    let started = std::time::Instant::now();
    p.run().args(&["all"]).run();
    let down = Down {
        project: &p,
        prefix: prefix.clone(),
        env: Vec::new(),
    };
    p.run()
        .args(&["up", "--stand-ins", "--project", &prefix])
        .run();
    let up = started.elapsed();

    let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
    let system = lucid_gen::validate::validate(loaded).unwrap().system;
    let out = p
        .run()
        .args(&["test", "--project", &prefix])
        .stdout_has(" 0 failed")
        .run();
    let table = stdout(&out);
    // Every service ran, healthy, with the generated environment.
    for s in &system.services {
        let row = |kind: &str| {
            table.lines().any(|l| {
                l.starts_with(kind) && l.contains(&format!(" {} ", s.name)) && l.ends_with(" ok")
            })
        };
        assert!(
            row("running"),
            "{} is not running healthy:\n{table}",
            s.name
        );
        assert!(row("env"), "{} env not checked:\n{table}", s.name);
        // Issue 10: what each container can read is exactly what it declares.
        assert!(
            row("secrets"),
            "{} reads other secrets than it declares:\n{table}",
            s.name
        );
        if !s.config_files.is_empty() {
            assert!(row("config-file"), "{} config file:\n{table}", s.name);
        }
    }
    // The TRON network reaches no blockchain service; the foundation
    // network reaches MongoDB and Redis.
    let chain: Vec<&str> = system
        .services
        .iter()
        .filter(|s| system.planes[s.plane].name == "chain")
        .map(|s| s.name.as_str())
        .collect();
    assert!(!chain.is_empty());
    for name in chain {
        let isolated = table.lines().any(|l| {
            l.starts_with("isolation-tcp")
                && l.contains("net lucid-tron-isolated")
                && l.contains(&format!(" {name} "))
                && l.contains("unreachable")
                && l.ends_with(" ok")
        });
        assert!(
            isolated,
            "no passing isolation check of {name} from the TRON network:\n{table}"
        );
    }
    for name in ["lucid-mongodb", "lucid-redis"] {
        let reached = table.lines().any(|l| {
            l.starts_with("isolation-tcp")
                && l.contains("net lucid-pi-network")
                && l.contains(&format!(" {name} "))
                && l.contains(" reachable ")
                && l.ends_with(" ok")
        });
        assert!(
            reached,
            "{name} not reachable from the foundation network:\n{table}"
        );
    }
    // No secret value is printed.
    for (_, value) in lucid_gen::secrets::resolve(
        &system,
        &lucid_gen::secrets::SecretSource::Store(p.path(".lucid-gen/secrets.env")),
        &[],
    )
    .unwrap()
    .values
    .iter()
    {
        assert!(!table.contains(value));
    }

    // A second `up` with an unchanged model recreates nothing.
    let before = containers(&prefix);
    assert_eq!(before.len(), system.services.len());
    p.run()
        .args(&["up", "--stand-ins", "--project", &prefix])
        .run();
    assert_eq!(
        before,
        containers(&prefix),
        "a second up recreated containers"
    );

    drop(down);
    leaves_nothing_behind(&p, &prefix);
    // BENCHMARKS.md quotes these (the second `up` included).
    eprintln!(
        "lucid stand-ins: up healthy in {:.1}s, all → up → test → up → down in {:.1}s",
        up.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn changing_one_service_recreates_only_that_service() {
    let _stack = crate::common::docker_stack();
    need(
        docker_available(),
        "a running Docker engine with Compose v2",
    );
    let p = Project::fixture("small");
    let prefix = unique_name("e2e-small");
    p.run().args(&["all"]).run();
    let down = Down {
        project: &p,
        prefix: prefix.clone(),
        env: Vec::new(),
    };
    p.run()
        .args(&["up", "--stand-ins", "--project", &prefix])
        .run();
    let id_of = |service: &str| {
        docker(&[
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
            "--filter",
            &format!("label=com.docker.compose.project={prefix}-edge"),
        ])
        .trim()
        .to_string()
    };
    let (api, gateway) = (id_of("shop-api"), id_of("shop-pay-gateway"));
    assert!(!api.is_empty() && !gateway.is_empty());

    let services = p.read("model/services.yaml");
    p.write(
        "model/services.yaml",
        &services.replace("      LOG_LEVEL: info\n", "      LOG_LEVEL: debug\n"),
    );
    // The edge phase file and the master change; nothing else.
    p.run().args(&["all"]).stdout_has("2 written").run();
    p.run()
        .args(&["up", "--stand-ins", "--project", &prefix])
        .run();
    assert_ne!(api, id_of("shop-api"), "shop-api was not recreated");
    assert_eq!(
        gateway,
        id_of("shop-pay-gateway"),
        "shop-pay-gateway was recreated"
    );
    let env = docker(&[
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &id_of("shop-api"),
    ]);
    assert!(env.contains("\"LOG_LEVEL=debug\""), "{env}");
    p.run()
        .args(&["test", "--project", &prefix])
        .stdout_has(" 0 failed")
        .run();

    drop(down);
    leaves_nothing_behind(&p, &prefix);
}

/// A model whose names YAML and Dockerfiles would misread if written bare:
/// the names validation still accepts that a YAML 1.1 reader would misread
/// (service and plane `y`, phase `n`: booleans there), a network named by
/// digits then a letter (unique on this engine), and an exec health check
/// whose program path holds a space and a `$`. `up --stand-ins` must write its
/// override file and stand-in Dockerfiles so Docker reads those names back
/// exactly: the service comes up healthy and `down` removes everything.
#[test]
fn stand_ins_carry_names_yaml_and_dockerfiles_would_misread() {
    let _stack = crate::common::docker_stack();
    need(
        docker_available(),
        "a running Docker engine with Compose v2",
    );
    let pid = std::process::id();
    let network = format!("{pid}{}d", unique_name("").rsplit('-').next().unwrap());
    let program = "/usr/local/bin/odd $HOME probe";
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write(
        "model/system.yaml",
        &format!(
            r#"system:
  name: odd
  description: Names that YAML and Dockerfiles would misread.
  platform: linux/amd64
  registry: {{ namespace: example, tag: "1.0" }}
planes:
  "y":
    description: Application traffic.
networks:
  "{network}":
    plane: "y"
    subnet: 10.197.{}.0/24
phases:
  "n":
    env_file: base
    compose_file: docker-compose.yml
env_files:
  base:
    file: .env
    vars:
      GREETING: hello
"#,
            pid % 256
        ),
    );
    p.write(
        "model/services.yaml",
        &format!(
            r#"services:
  "y":
    phase: "n"
    plane: "y"
    networks: ["{network}"]
    image: example/odd:1.0
    ports:
      - container: 8000
    health:
      exec: ["{program}", --health]
      interval: 1s
      start_period: 5s
    resources:
      memory: 64m
      cpus: 0.25
"#
        ),
    );
    let prefix = unique_name("e2e-standin-names");
    p.run().args(&["all"]).run();
    let down = Down {
        project: &p,
        prefix: prefix.clone(),
        env: Vec::new(),
    };
    p.run()
        .args(&["up", "--stand-ins", "--project", &prefix])
        .run();

    let ids = containers(&prefix);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let state = docker(&[
        "inspect",
        "--format",
        "{{.State.Health.Status}} {{index .Config.Labels \"com.docker.compose.service\"}} {{index .Config.Labels \"lucid-gen.stand-in\"}} {{json .Config.Healthcheck.Test}}",
        &ids[0],
    ]);
    assert_eq!(
        state.trim(),
        format!("healthy y y [\"CMD\",\"{program}\",\"--health\"]"),
    );
    let nets = docker(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &ids[0],
    ]);
    assert_eq!(nets.trim(), network);

    drop(down);
    leaves_nothing_behind(&p, &prefix);
}

/// A bridge no network of the engine owns (what a killed engine leaves,
/// with its subnet still routed) is named in a failed Docker test's
/// report, with how to remove it; the engine's own bridges are not.
#[test]
fn a_bridge_left_by_a_killed_engine_is_named_in_the_report() {
    // It creates a network from Docker's pool, which could take a subnet
    // another test is about to fix.
    let _stack = crate::common::docker_stack();
    need(
        docker_available(),
        "a running Docker engine with Compose v2",
    );
    let name = format!("br-{:012x}", u64::from(std::process::id()) << 8 | 0xab);
    let ip = |args: &[&str]| {
        let out = Command::new("ip").args(args).output_bounded().expect("ip");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = Command::new("ip")
                .args(["link", "del", &self.0])
                .output_bounded();
        }
    }
    ip(&["link", "add", &name, "type", "bridge"]);
    let _remove = Remove(name.clone());
    ip(&["addr", "add", "10.239.251.1/24", "dev", &name]);
    let stray = crate::common::stray_bridges();
    assert!(
        stray
            .iter()
            .any(|l| l.starts_with(&format!("{name} 10.239.251.1/24 "))
                && l.contains(&format!("ip link del {name}"))),
        "{stray:?}"
    );
    let own = docker(&["network", "create", &unique_name("lucid-gen-bridge")]);
    let own_bridge = format!("br-{}", &own.trim()[..12]);
    let stray = crate::common::stray_bridges();
    let _ = docker(&["network", "rm", own.trim()]);
    assert!(
        !stray.iter().any(|l| l.starts_with(&own_bridge)),
        "{stray:?}"
    );
}
