//! `lucid-gen swarm plan`: what `swarm up` would change, per service,
//! from `docker service inspect` against each phase's stack file: the
//! content-hash labels lucid-gen writes (image, env, ports, networks,
//! config), the content-hashed secret and config names (a rotation), the
//! replicas. One line per service — `create`, `update (why)`, `unchanged`
//! or `remove` (a service of the stack the file no longer has, which
//! `--prune` removes). No value is read or printed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::run::stack_filter;
use super::{stack, stack_path, SwarmOptions};
use crate::docker::target::Target;
use crate::docker::{DockerError, ErrorKind, Workspace};

/// A service as the stack file declares it (or the engine runs it).
#[derive(Debug, Default, PartialEq, Eq)]
struct Declared {
    labels: BTreeMap<String, String>,
    secrets: BTreeSet<String>,
    configs: BTreeSet<String>,
    replicas: u64,
}

/// Prints the plan of every selected stack; `Ok(true)` when nothing
/// would change.
pub fn run(ws: &Workspace, target: &Target, opts: &SwarmOptions) -> Result<bool, DockerError> {
    target.connect()?;
    let mut unchanged = true;
    for phase in ws.stack_plans(opts.phase.as_deref())? {
        let stack = stack(ws, &phase);
        let file = stack_path(ws, &Target::LOCAL, &phase);
        crate::outln!("stack {stack} ({}):", file.display());
        let wanted = declared(&file, &stack)?;
        let running = running(target, &stack)?;
        for (name, want) in &wanted {
            let line = match running.get(name) {
                None => "create".to_string(),
                Some(have) => match why(want, have) {
                    why if why.is_empty() => "unchanged".to_string(),
                    why => format!("update ({})", why.join(", ")),
                },
            };
            unchanged &= line == "unchanged";
            crate::outln!("  {name:<34} {line}");
        }
        for name in running.keys().filter(|n| !wanted.contains_key(*n)) {
            unchanged = false;
            crate::outln!("  {name:<34} remove (no longer in the stack file)");
        }
    }
    crate::outln!(
        "{}",
        match unchanged {
            true => "nothing would change",
            false => "`lucid-gen swarm up` would change the services above",
        }
    );
    Ok(unchanged)
}

/// What differs between the declared and the running service.
fn why(want: &Declared, have: &Declared) -> Vec<String> {
    let prefix = crate::render::hashes::LABEL_PREFIX;
    let mut why: Vec<String> = (want.labels.iter())
        .filter(|(k, v)| k.starts_with(prefix) && have.labels.get(*k) != Some(v))
        .map(|(k, _)| k[prefix.len()..].to_string())
        .collect();
    if want.secrets != have.secrets {
        why.push("secrets".into());
    }
    if want.configs != have.configs {
        why.push("configs".into());
    }
    if want.replicas != have.replicas {
        why.push(format!("replicas {} → {}", have.replicas, want.replicas));
    }
    why
}

/// The stack file's services, by their name in the swarm (`STACK_NAME`).
fn declared(
    file: &std::path::Path,
    stack: &str,
) -> Result<BTreeMap<String, Declared>, DockerError> {
    let json = super::read_stack(file)?;
    let mut out = BTreeMap::new();
    for (name, s) in json["services"].as_object().into_iter().flatten() {
        let sources = |key: &str| -> BTreeSet<String> {
            (s[key].as_array().into_iter().flatten())
                .filter_map(|m| m["source"].as_str())
                .map(|k| format!("{stack}_{k}"))
                .collect()
        };
        out.insert(
            format!("{stack}_{name}"),
            Declared {
                labels: strings(&s["labels"]),
                secrets: sources("secrets"),
                configs: sources("configs"),
                replicas: s["deploy"]["replicas"].as_u64().unwrap_or(1),
            },
        );
    }
    Ok(out)
}

/// A JSON object of strings as a map.
fn strings(v: &Value) -> BTreeMap<String, String> {
    (v.as_object().into_iter().flatten())
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

/// The stack's running services, as `docker service inspect` reports them.
fn running(target: &Target, stack: &str) -> Result<BTreeMap<String, Declared>, DockerError> {
    let names = (target.docker())
        .args(["service", "ls", "--filter"])
        .arg(stack_filter(stack))
        .args(["--format", "{{.Name}}"])
        .run()?;
    let names: Vec<&str> = names.split_whitespace().collect();
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let cmd = target.docker().args(["service", "inspect"]).args(&names);
    let out = cmd.run()?;
    let list: Vec<Value> = serde_json::from_str(&out).map_err(|e| ErrorKind::ToolOutput {
        command: cmd.to_string(),
        error: e.to_string(),
    })?;
    Ok((list.iter())
        .map(|s| {
            let spec = &s["Spec"];
            let c = &spec["TaskTemplate"]["ContainerSpec"];
            let names = |key: &str, field: &str| -> BTreeSet<String> {
                (c[key].as_array().into_iter().flatten())
                    .filter_map(|m| m[field].as_str().map(str::to_string))
                    .collect()
            };
            let name = spec["Name"].as_str().unwrap_or_default().to_string();
            let declared = Declared {
                labels: strings(&c["Labels"]),
                secrets: names("Secrets", "SecretName"),
                configs: names("Configs", "ConfigName"),
                replicas: spec["Mode"]["Replicated"]["Replicas"].as_u64().unwrap_or(0),
            };
            (name, declared)
        })
        .collect())
}
