//! The swarm fixture's stack files through Docker's own `docker stack
//! config` (client-only: no swarm needed, about 0.03 s a file): each is
//! accepted, every key written comes back (nothing the model said is
//! dropped), no service uses a key `docker stack deploy` ignores, and no
//! secret value is in a stack file or in what Docker makes of it.
//! `stack config` itself keeps the keys `stack deploy` later ignores
//! (`restart`, `security_opt`, `container_name` come back unchanged, with
//! no warning), so those are checked against docker/cli's list here.

use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

use crate::common::{need, repo_root, tool_runs, OutputBounded};
use crate::generated::render_model;

/// Service keys `docker stack deploy` ignores or cannot carry: docker/cli
/// `cli/compose/types` `UnsupportedProperties` (warned about as "Ignoring
/// unsupported options"), except `cap_add`/`cap_drop`, which that list
/// still names but `cli/compose/convert/service.go` sets as the
/// ContainerSpec's `CapabilityAdd`/`CapabilityDrop` since Docker 20.10,
/// plus what the stack loader accepts and the
/// converter never reads (`container_name`, `depends_on`, `expose`,
/// service-level `tmpfs`) and what its schema refuses (`platform`,
/// `pull_policy`).
const IGNORED_BY_STACK_DEPLOY: &[&str] = &[
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "devices",
    "domainname",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "restart",
    "security_opt",
    "shm_size",
    "ulimits",
    "userns_mode",
    "container_name",
    "depends_on",
    "expose",
    "tmpfs",
    "platform",
    "pull_policy",
];

/// Every key path of `rendered` must be in `resolved`: mappings key by
/// key, sequences item by item; scalars may be normalised (`256m` comes
/// back in bytes), so only their presence counts.
fn keys_kept(rendered: &Value, resolved: &Value, at: &str, lost: &mut Vec<String>) {
    match (rendered, resolved) {
        (Value::Mapping(r), Value::Mapping(o)) => {
            for (key, value) in r {
                let name = key
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or(format!("{key:?}"));
                match o.get(key) {
                    Some(back) => keys_kept(value, back, &format!("{at}.{name}"), lost),
                    None => lost.push(format!("{at}.{name}")),
                }
            }
        }
        (Value::Sequence(r), Value::Sequence(o)) => {
            if r.len() != o.len() {
                lost.push(format!("{at}: {} items, {} back", r.len(), o.len()));
            }
            for (i, (a, b)) in r.iter().zip(o).enumerate() {
                keys_kept(a, b, &format!("{at}[{i}]"), lost);
            }
        }
        // A list of names (`networks: [a, b]`) comes back as a mapping
        // keyed by them.
        (Value::Sequence(r), Value::Mapping(o)) => {
            for item in r.iter().filter(|item| !o.contains_key(*item)) {
                lost.push(format!("{at}: {item:?}"));
            }
        }
        (Value::Mapping(_) | Value::Sequence(_), _) => lost.push(format!("{at}: changed shape")),
        _ => {}
    }
}

#[test]
fn docker_stack_config_keeps_every_key_of_every_stack_file() {
    stack_files_pass_docker_stack_config(&repo_root().join("tests/fixtures/swarm"), 2);
}

/// Lucid's own model in its swarm form (`system.swarm` translations,
/// one-shot steps left out): its four phases' stack files.
#[test]
fn docker_stack_config_keeps_every_key_of_lucids_stack_files() {
    stack_files_pass_docker_stack_config(&repo_root().join("model"), 4);
}

fn stack_files_pass_docker_stack_config(model: &Path, phases: usize) {
    need(
        tool_runs("docker", &["stack", "config", "--help"]),
        "the docker CLI (`docker stack config`)",
    );
    let (outputs, values) = render_model(model, 42);
    let dir = tempfile::tempdir().unwrap();
    for (path, file) in &outputs {
        let to = dir.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, &file.text).unwrap();
    }
    let stacks: Vec<_> = (outputs.keys())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("stack.")
        })
        .collect();
    assert_eq!(stacks.len(), phases, "one stack file per phase: {stacks:?}");
    for path in stacks {
        let text = &outputs[path].text;
        let out = stack_config(&dir.path().join(path));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", path.display());
        assert!(!stderr.contains("Ignoring"), "{}: {stderr}", path.display());
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (name, value) in values.iter() {
            assert!(!text.contains(value), "{}: value of {name}", path.display());
            assert!(!stdout.contains(value), "stack config: value of {name}");
        }
        let rendered: Value = serde_yaml::from_str(text).unwrap();
        let resolved: Value = serde_yaml::from_str(&stdout).unwrap();
        let mut lost = Vec::new();
        keys_kept(&rendered, &resolved, "", &mut lost);
        assert!(lost.is_empty(), "{}: dropped {lost:?}", path.display());
        let services = rendered["services"].as_mapping().unwrap();
        assert!(!services.is_empty());
        for (name, service) in services {
            for key in IGNORED_BY_STACK_DEPLOY {
                assert!(
                    service.get(*key).is_none(),
                    "{}: service {name:?} has `{key}`, which docker stack deploy ignores",
                    path.display()
                );
            }
        }
    }
}

fn stack_config(file: &Path) -> std::process::Output {
    Command::new("docker")
        .args(["stack", "config", "-c"])
        .arg(file.file_name().unwrap())
        .current_dir(file.parent().unwrap())
        .output_bounded()
        .expect("run docker stack config")
}
