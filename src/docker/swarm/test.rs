//! `lucid-gen swarm test`: the checks of `test` against a swarm's tasks,
//! node by node. The manager reports each service's replicas and where
//! its tasks run (placement); on every node (the manager, and each worker
//! the model declares, over its own SSH connection) the running tasks are
//! checked from inside — health, environment, images, the secrets each
//! can read against those declared, reachability and the isolation
//! matrix. Probes run in the stand-in tasks themselves: a stack's overlays
//! are not attachable, so a helper container could not join them (only
//! where no stand-in task is on a network is a helper started).

use std::collections::BTreeMap;

use super::run::services;
use super::{stack, workers, SwarmOptions};
use crate::docker::checks::{self, report::Check};
use crate::docker::inventory::{self, Found};
use crate::docker::target::Target;
use crate::docker::{layers, standin, DockerError, Workspace};

/// Every check on every node; `Ok(true)` when all passed.
pub fn run(ws: &Workspace, target: &Target, opts: &SwarmOptions) -> Result<bool, DockerError> {
    target.connect()?;
    let phases = ws.plans(opts.phase.as_deref())?;
    let stacks: Vec<String> = phases.iter().map(|p| stack(ws, p)).collect();
    let mut rows = Vec::new();
    for (phase, stack) in phases.iter().zip(&stacks) {
        rows.extend(replica_rows(ws, target, phase, stack)?);
    }
    let mut nodes = vec![target.clone()];
    if let Some(remote) = target.remote() {
        let others = workers(ws, &remote.host).into_iter();
        nodes.extend(others.map(|h| Target::ssh(h, &ws.model_dir)));
    }
    for node in &nodes {
        node.connect()?;
        let found = running(inventory::stack_containers(node, &stacks)?);
        let probe = match every_network_has_a_standin(&found) {
            true => String::new(),
            false => {
                let probe = standin::probe_image(node.platform(ws))?;
                if node.remote().is_some() {
                    let t = layers::prepare(node, std::slice::from_ref(&probe), false)?;
                    layers::send(node, &t)?;
                }
                probe
            }
        };
        let mut node_rows = checks::task_checks(ws, node, &found, probe)?;
        for row in &mut node_rows {
            if row.from != "-" && nodes.len() > 1 {
                row.from = format!("{} @{}", row.from, node_name(node));
            }
        }
        rows.extend(node_rows);
    }
    Ok(checks::report::table(&rows))
}

/// How rows name a node.
fn node_name(node: &Target) -> String {
    match node.remote() {
        Some(r) => r.host.name.clone(),
        None => "local".into(),
    }
}

/// Only the running tasks (Swarm keeps stopped ones as history).
fn running(found: Found) -> Found {
    (found.into_iter())
        .map(|(s, list)| {
            (
                s,
                list.into_iter().filter(|c| c.running).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, list)| !list.is_empty())
        .collect()
}

/// Whether every network a task is on has a stand-in task to probe from.
fn every_network_has_a_standin(found: &Found) -> bool {
    let mut nets: BTreeMap<&str, bool> = BTreeMap::new();
    for c in found.values().flatten() {
        for n in c.networks.keys() {
            *nets.entry(n.as_str()).or_default() |= c.stand_in;
        }
    }
    nets.values().all(|&has| has)
}

/// Per service of the phase: as many tasks running as declared, and the
/// nodes they run on meeting its placement.
fn replica_rows(
    ws: &Workspace,
    target: &Target,
    phase: &crate::compose_files::ComposeFile,
    stack: &str,
) -> Result<Vec<Check>, DockerError> {
    let states = services(target, stack)?;
    let nodes = node_labels(target)?;
    let mut rows = Vec::new();
    for s in phase.services.iter().map(|&i| &ws.system.services[i]) {
        let name = format!("{stack}_{}", s.name);
        let (running, desired) = (states.get(&name)).map_or((0, 0), |st| (st.running, st.desired));
        rows.push(Check {
            kind: "replicas",
            from: "-".into(),
            target: s.name.clone(),
            expect: "as declared",
            ok: desired == s.replicas && running == desired,
            detail: format!("{running}/{desired} tasks running, {} declared", s.replicas),
        });
        let on = task_nodes(target, &name)?;
        let misplaced: Vec<&String> = (on.iter())
            .filter(|n| {
                let labels = nodes.get(*n);
                !(s.swarm.placement.iter())
                    .all(|(k, v)| labels.and_then(|l| l.get(k)).is_some_and(|nv| nv == v))
            })
            .collect();
        rows.push(Check {
            kind: "placement",
            from: "-".into(),
            target: s.name.clone(),
            expect: "as placed",
            ok: misplaced.is_empty() && !on.is_empty(),
            detail: format!("on {}", on.join(", ")),
        });
    }
    Ok(rows)
}

/// The nodes the running tasks of a service are on (sorted, each once).
fn task_nodes(target: &Target, service: &str) -> Result<Vec<String>, DockerError> {
    let out = (target.docker())
        .args(["service", "ps", "--filter", "desired-state=running"])
        .args(["--format", "{{.Node}} {{.CurrentState}}", service])
        .run()?;
    let mut nodes: Vec<String> = (out.lines())
        .filter(|l| l.contains(" Running"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

/// Every node's hostname → labels.
fn node_labels(target: &Target) -> Result<BTreeMap<String, BTreeMap<String, String>>, DockerError> {
    let ids = (target.docker())
        .args(["node", "ls", "--format", "{{.ID}}"])
        .run()?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    let out = (target.docker())
        .args([
            "node",
            "inspect",
            "--format",
            "{{.Description.Hostname}} {{json .Spec.Labels}}",
        ])
        .args(&ids)
        .run()?;
    Ok((out.lines())
        .filter_map(|l| l.split_once(' '))
        .map(|(host, json)| {
            let labels: Option<BTreeMap<String, String>> =
                serde_json::from_str(json).ok().flatten();
            (host.to_string(), labels.unwrap_or_default())
        })
        .collect())
}
