//! `lucid-gen plan`: what `up` would change, per service, before it does.
//!
//! Compares the generated compose files' content-hash labels
//! (`render::hashes`: image, env, ports, networks, config) with the labels
//! of the running containers (`docker inspect`), and each secret a service
//! receives with the value in its running environment (in memory; no value
//! is printed). Prints one line per service — `create`, `recreate (why)`,
//! `unchanged`, `start` (a stopped container), `scale` (a replicated
//! service with another number of containers than declared) or `remove` (a
//! container of the project the model no longer has) — and says whether
//! anything would change. Every replica of a service is compared. Built on labels lucid-gen writes, not on Compose's dry run.

use super::checks::expected_env;
use super::inventory::{containers, Container};
use super::stale_mounts::stale_mounts;
use super::target::Target;
use super::{DockerError, Workspace};
use crate::render::hashes::{hash_labels, service_inputs, LABEL_PREFIX};
use crate::system::Service;

pub struct PlanOptions {
    /// Only this phase.
    pub phase: Option<String>,
    /// Compose project prefix used with `up --project`.
    pub project: Option<String>,
}

/// What `up` would do to one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create,
    /// The components that differ, in label order (`secrets` last).
    Recreate(Vec<String>),
    Start,
    /// Containers running, replicas declared.
    Scale(usize, u32),
    Unchanged,
    Remove,
}

impl Change {
    fn describe(&self) -> String {
        match self {
            Change::Create => "create".into(),
            Change::Recreate(why) => format!("recreate ({})", why.join(", ")),
            Change::Start => "start (stopped)".into(),
            Change::Scale(from, to) => format!("scale ({from} → {to} replicas)"),
            Change::Unchanged => "unchanged".into(),
            Change::Remove => "remove (no longer in the model)".into(),
        }
    }
}

/// The secrets `s` receives whose running value differs from the store's.
fn secrets_changed(ws: &Workspace, s: &Service, c: &Container) -> bool {
    let secret_names: Vec<&str> = (s.secrets.iter())
        .filter(|u| u.delivery == crate::system::Delivery::Env)
        .map(|u| ws.system.secrets[u.secret].name.as_str())
        .collect();
    let expected = expected_env(&ws.system, s, &ws.secrets);
    secret_names
        .iter()
        .any(|name| c.env.get(*name) != expected.get(*name))
}

/// What `up` would do to service `s`, given its containers (one per
/// replica): the reasons of every replica together.
fn service_change(ws: &Workspace, target: &Target, s: &Service, list: &[Container]) -> Change {
    if list.is_empty() {
        return Change::Create;
    }
    let labels = hash_labels(&service_inputs(&ws.system, s));
    let mut why: Vec<String> = Vec::new();
    for c in list {
        let changed = (labels.iter())
            .filter(|(label, hash)| c.labels.get(label) != Some(hash))
            .map(|(label, _)| label[LABEL_PREFIX.len()..].to_string());
        for reason in changed {
            if !why.contains(&reason) {
                why.push(reason);
            }
        }
    }
    let rotated = list.iter().any(|c| {
        secrets_changed(ws, s, c) || stale_mounts(ws, target, s, &c.started_at).unwrap_or(true)
    });
    if rotated {
        why.push("secret rotated".into());
    }
    // A one-shot job that exited 0 is done, not stopped.
    let done = |c: &Container| s.run_once && c.exit_code == Some(0);
    let stopped = list.iter().any(|c| !c.running && !done(c));
    match (why.is_empty(), stopped) {
        (false, _) => Change::Recreate(why),
        (true, true) => Change::Start,
        (true, false) if list.len() != s.replicas as usize => Change::Scale(list.len(), s.replicas),
        (true, false) => Change::Unchanged,
    }
}

/// Every service of the selected phases with its change, then containers
/// of those projects the model no longer has.
pub fn changes(
    ws: &Workspace,
    target: &Target,
    opts: &PlanOptions,
) -> Result<Vec<(String, Change)>, DockerError> {
    let plans = ws.plans(opts.phase.as_deref())?;
    let mut out = Vec::new();
    for plan in &plans {
        let project = ws.project(plan, opts.project.as_deref());
        let mut found = containers(target, &[project])?;
        let phase = plan.phase.expect("phase plans only");
        for s in ws.system.services_in(phase) {
            let list = found.remove(&s.name).unwrap_or_default();
            let change = service_change(ws, target, s, &list);
            out.push((s.name.clone(), change));
        }
        out.extend(found.into_keys().map(|name| (name, Change::Remove)));
    }
    Ok(out)
}

/// Prints the plan; true when nothing would change.
pub fn run(ws: &Workspace, target: &Target, opts: &PlanOptions) -> Result<bool, DockerError> {
    let changes = changes(ws, target, opts)?;
    let width = changes.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut pending = 0;
    for (name, change) in &changes {
        if *change != Change::Unchanged {
            pending += 1;
        }
        crate::outln!("{name:<width$}  {}", change.describe());
    }
    if pending == 0 {
        crate::outln!(
            "plan: nothing to do ({} services up to date)",
            changes.len()
        );
    } else {
        crate::outln!(
            "plan: {pending} of {} services would change; run `lucid-gen up` to apply",
            changes.len()
        );
    }
    Ok(pending == 0)
}
