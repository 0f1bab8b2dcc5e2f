//! `lucid-gen swarm test`: the checks of `test` against a swarm's tasks,
//! node by node. The manager reports each service's replicas and where
//! its tasks run (placement); on every node (the manager, and each worker
//! the model declares, over its own SSH connection) the running tasks are
//! checked from inside — health, environment, images, the secrets each
//! can read against those declared, reachability and the isolation
//! matrix. Probes run in the stand-in tasks themselves; a stack's overlays
//! are not attachable, so a helper container could not join them: where
//! no stand-in task is on a network alone, its isolation is probed from a
//! short-lived probe service of lucid-gen's own on that one network, on
//! the manager's node (and a real image's dependencies from one on the
//! node asked), removed again afterwards.

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
    let phases = ws.stack_plans(opts.phase.as_deref())?;
    let stacks: Vec<String> = phases.iter().map(|p| stack(ws, p)).collect();
    let mut rows = Vec::new();
    for (phase, stack) in phases.iter().zip(&stacks) {
        rows.extend(replica_rows(ws, target, phase, stack)?);
        rows.extend(secret_rows(ws, target, phase, stack)?);
    }
    let mut nodes = vec![target.clone()];
    if let Some(remote) = target.remote() {
        let ready = ready_hostnames(target)?;
        for h in workers(ws, &remote.host) {
            match ready.contains(&h.name) {
                true => nodes.push(Target::ssh(h, &ws.model_dir)),
                // A lost node: the replicas rows say whether its tasks
                // were rescheduled; nothing on it can be asked.
                false => rows.push(Check {
                    kind: "node",
                    from: "-".into(),
                    target: format!("{} (not ready)", h.name),
                    expect: "not asked",
                    ok: true,
                    detail: String::new(),
                }),
            }
        }
    }
    let (mut used, mut probed) = (BTreeMap::new(), BTreeMap::new());
    let mut every_task = Found::new();
    for node in &nodes {
        node.connect()?;
        let found = running(inventory::stack_containers(node, &stacks)?);
        for (net, alone) in probers(&found) {
            *used.entry(net.clone()).or_insert(false) = true;
            *probed.entry(net).or_insert(false) |= alone;
        }
        let probe = match found.values().flatten().all(|c| c.stand_in) {
            true => String::new(),
            false => probe_image_on(ws, node)?,
        };
        let mut node_rows = checks::task_checks(ws, node, target, &found, probe)?;
        for row in &mut node_rows {
            if row.from != "-" && nodes.len() > 1 {
                row.from = format!("{} @{}", row.from, node_name(node));
            }
        }
        rows.extend(node_rows);
        for (service, tasks) in found {
            every_task.entry(service).or_default().extend(tasks);
        }
    }
    let unprobed: Vec<String> = (used.into_keys())
        .filter(|n| !probed.get(n).copied().unwrap_or(false))
        .collect();
    if !unprobed.is_empty() {
        let probe = probe_image_on(ws, target)?;
        let mut service_rows =
            checks::isolation_from_services(ws, target, &every_task, probe, &unprobed)?;
        for row in &mut service_rows {
            row.from = match nodes.len() > 1 {
                true => format!("{} @{} (probe service)", row.from, node_name(target)),
                false => format!("{} (probe service)", row.from),
            };
        }
        rows.extend(service_rows);
    }
    Ok(checks::report::table(&rows))
}

/// The probe image, on `node` (a remote node gets its missing layers).
fn probe_image_on(ws: &Workspace, node: &Target) -> Result<String, DockerError> {
    let probe = standin::probe_image(node.platform(ws))?;
    if node.remote().is_some() {
        let t = layers::prepare(node, std::slice::from_ref(&probe), false)?;
        layers::send(node, &t)?;
    }
    Ok(probe)
}

/// The hostnames of the nodes the manager sees as ready.
fn ready_hostnames(target: &Target) -> Result<Vec<String>, DockerError> {
    Ok((super::run::nodes(target)?.into_iter())
        .filter(|n| n.ready)
        .map(|n| n.hostname)
        .collect())
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

/// Each network a task is on, and whether a stand-in task is on it alone
/// (so can probe its isolation).
fn probers(found: &Found) -> BTreeMap<String, bool> {
    let mut nets = BTreeMap::new();
    for c in found.values().flatten() {
        let own: Vec<&String> = c.networks.keys().filter(|n| *n != "ingress").collect();
        for n in &own {
            *nets.entry(n.to_string()).or_insert(false) |= c.stand_in && own.len() == 1;
        }
    }
    nets
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
    let ready = ready_hostnames(target)?;
    let mut rows = Vec::new();
    for s in phase.services.iter().map(|&i| &ws.system.services[i]) {
        let name = format!("{stack}_{}", s.name);
        let desired = states.get(&name).map_or(0, |st| st.desired);
        // The manager still counts a lost node's tasks as running: only
        // tasks on ready nodes count.
        let tasks = running_tasks(target, &name)?;
        let running = tasks.iter().filter(|n| ready.contains(n)).count() as u32;
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

/// Per service of the phase: the secrets its tasks can read — those
/// mounted for the service's user (owner and mode in the service spec),
/// and any store value in the spec's environment — equal those it
/// declares. From the spec because `docker cp` cannot copy Swarm's secret
/// mounts out of a container; names only, values never printed.
fn secret_rows(
    ws: &Workspace,
    target: &Target,
    phase: &crate::compose_files::ComposeFile,
    stack: &str,
) -> Result<Vec<Check>, DockerError> {
    let mut rows = Vec::new();
    for s in phase.services.iter().map(|&i| &ws.system.services[i]) {
        let name = format!("{stack}_{}", s.name);
        let cmd = target.docker().args(["service", "inspect", &name]);
        let spec: serde_json::Value = serde_json::from_str(&cmd.run()?).unwrap_or_default();
        let c = &spec[0]["Spec"]["TaskTemplate"]["ContainerSpec"];
        let uid = s.numeric_owner().map(|(uid, _)| uid.to_string());
        let mut readable = std::collections::BTreeSet::new();
        for m in c["Secrets"].as_array().into_iter().flatten() {
            let file = &m["File"];
            let mode = file["Mode"].as_u64().unwrap_or(0);
            let owner = file["UID"].as_str().map(str::to_string);
            let reads = mode & 0o004 != 0 || (mode & 0o400 != 0 && owner == uid);
            let key = (m["SecretName"].as_str().unwrap_or_default())
                .strip_prefix(&format!("{stack}_"))
                .and_then(|k| k.rsplit_once('-'))
                .map(|(k, _)| k.to_string());
            if let (true, Some(key)) = (reads, key) {
                readable.extend(mounted_secrets(&ws.system, s, &key));
            }
        }
        let env = (c["Env"].as_array().into_iter().flatten()).filter_map(|v| v.as_str());
        let none: &[crate::docker::archive::Entry] = &[];
        readable.extend(checks::secrets::readable_secrets(
            env,
            none,
            ws.secrets.iter(),
        ));
        let known: std::collections::BTreeSet<String> =
            (ws.system.secrets.iter()).map(|x| x.name.clone()).collect();
        readable.retain(|k| known.contains(k));
        let want = checks::secrets::expected(&ws.system, s).secrets;
        rows.push(checks::secrets::secrets_row(&s.name, &want, &readable));
    }
    Ok(rows)
}

/// The secrets a Swarm secret mounted under `key` gives its reader: the
/// secret itself, or for a secret-bearing config file (`<service>.<file>`)
/// every secret whose value it holds.
fn mounted_secrets(
    system: &crate::system::System,
    s: &crate::system::Service,
    key: &str,
) -> Vec<String> {
    let keys = crate::render::delivery::config_keys(s);
    match (s.config_files.iter().zip(&keys)).find(|(_, k)| *k == key) {
        Some((f, _)) => (f.pieces.iter())
            .filter_map(|p| match p {
                crate::system::Piece::Secret(i) => Some(system.secrets[*i].name.clone()),
                _ => None,
            })
            .collect(),
        None => vec![key.to_string()],
    }
}

/// The nodes the running tasks of a service are on (sorted, each once).
fn task_nodes(target: &Target, service: &str) -> Result<Vec<String>, DockerError> {
    let mut nodes = running_tasks(target, service)?;
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

/// The node of each running task of a service (one entry per task).
fn running_tasks(target: &Target, service: &str) -> Result<Vec<String>, DockerError> {
    let out = (target.docker())
        .args(["service", "ps", "--filter", "desired-state=running"])
        .args(["--format", "{{.Node}} {{.CurrentState}}", service])
        .run()?;
    Ok((out.lines())
        .filter(|l| l.contains(" Running"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect())
}

/// Every node's hostname → labels.
fn node_labels(target: &Target) -> Result<BTreeMap<String, BTreeMap<String, String>>, DockerError> {
    Ok((super::run::nodes(target)?.into_iter())
        .map(|n| (n.hostname, n.labels))
        .collect())
}
