//! `lucid-gen plan`: what `up` would change, per service, before it does.
//!
//! Compares the generated compose files' content-hash labels
//! (`render::hashes`: image, env, ports, networks, config) with the labels
//! of the running containers (`docker inspect`), and each secret a service
//! receives with the value in its running environment (in memory; no value
//! is printed). Prints one line per service — `create`, `recreate (why)`,
//! `unchanged`, `start` (a stopped container) or `remove` (a container of
//! the project the model no longer has) — and says whether anything would
//! change. Built on labels lucid-gen writes, not on Compose's dry run.

use std::collections::BTreeMap;

use super::probe::{containers, expected_env, Container};
use super::secret_check::stale_mounts;
use super::{Deployment, DockerError};
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
    Unchanged,
    Remove,
}

impl Change {
    fn describe(&self) -> String {
        match self {
            Change::Create => "create".into(),
            Change::Recreate(why) => format!("recreate ({})", why.join(", ")),
            Change::Start => "start (stopped)".into(),
            Change::Unchanged => "unchanged".into(),
            Change::Remove => "remove (no longer in the model)".into(),
        }
    }
}

/// The secrets `s` receives whose running value differs from the store's.
fn secrets_changed(dep: &Deployment, s: &Service, c: &Container) -> bool {
    let secret_names: Vec<&str> = (s.secrets.iter())
        .filter(|u| u.delivery == crate::system::Delivery::Env)
        .map(|u| dep.system.secrets[u.secret].name.as_str())
        .collect();
    let expected = expected_env(&dep.system, s, &dep.secrets);
    secret_names
        .iter()
        .any(|name| c.env.get(*name) != expected.get(*name))
}

/// What `up` would do to service `s`, given its container (if any).
fn service_change(dep: &Deployment, s: &Service, c: Option<&Container>) -> Change {
    let Some(c) = c else {
        return Change::Create;
    };
    let mut why: Vec<String> = hash_labels(&service_inputs(&dep.system, s))
        .into_iter()
        .filter(|(label, hash)| c.labels.get(label) != Some(hash))
        .map(|(label, _)| label[LABEL_PREFIX.len()..].to_string())
        .collect();
    if secrets_changed(dep, s, c) || stale_mounts(dep, s, &c.started_at).unwrap_or(true) {
        why.push("secret rotated".into());
    }
    match (why.is_empty(), c.running) {
        (false, _) => Change::Recreate(why),
        (true, false) => Change::Start,
        (true, true) => Change::Unchanged,
    }
}

/// Every service of the selected phases with its change, then containers
/// of those projects the model no longer has.
pub fn changes(dep: &Deployment, opts: &PlanOptions) -> Result<Vec<(String, Change)>, DockerError> {
    let plans = dep.plans(opts.phase.as_deref())?;
    let mut out = Vec::new();
    for plan in &plans {
        let project = dep.project(plan, opts.project.as_deref());
        let mut found: BTreeMap<String, Container> = containers(&[project])?;
        let phase = plan.phase.expect("phase plans only");
        for s in dep.system.services_in(phase) {
            let change = service_change(dep, s, found.get(&s.name));
            found.remove(&s.name);
            out.push((s.name.clone(), change));
        }
        out.extend(found.into_keys().map(|name| (name, Change::Remove)));
    }
    Ok(out)
}

/// Prints the plan; true when nothing would change.
pub fn run(dep: &Deployment, opts: &PlanOptions) -> Result<bool, DockerError> {
    let changes = changes(dep, opts)?;
    let width = changes.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut pending = 0;
    for (name, change) in &changes {
        if *change != Change::Unchanged {
            pending += 1;
        }
        println!("{name:<width$}  {}", change.describe());
    }
    if pending == 0 {
        println!(
            "plan: nothing to do ({} services up to date)",
            changes.len()
        );
    } else {
        println!(
            "plan: {pending} of {} services would change; run `lucid-gen up` to apply",
            changes.len()
        );
    }
    Ok(pending == 0)
}
