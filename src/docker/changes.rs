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
    let expected = expected_env(&ws.system, s, &ws.secrets, false);
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

/// What `up` would change: every service of the selected phases with its
/// change, then containers of those projects the model no longer has.
pub struct Changes {
    pub services: Vec<(String, Change)>,
    /// How many of those services run stand-ins (`up --stand-ins`), which
    /// `up` would replace with the real images.
    pub stand_ins: usize,
}

/// Every service of the selected phases with its change, then containers
/// of those projects the model no longer has.
pub fn changes(
    ws: &Workspace,
    target: &Target,
    opts: &PlanOptions,
) -> Result<Changes, DockerError> {
    let plans = ws.plans(opts.phase.as_deref())?;
    let mut out = Changes {
        services: Vec::new(),
        stand_ins: 0,
    };
    for plan in &plans {
        let project = ws.project(plan, opts.project.as_deref());
        let mut found = containers(target, &[project])?;
        let phase = plan.phase.expect("phase plans only");
        for s in ws.system.services_in(phase) {
            let list = found.remove(&s.name).unwrap_or_default();
            out.stand_ins += usize::from(list.iter().any(|c| c.stand_in));
            let change = service_change(ws, target, s, &list);
            out.services.push((s.name.clone(), change));
        }
        let gone = found.into_keys().map(|name| (name, Change::Remove));
        out.services.extend(gone);
    }
    Ok(out)
}

/// Prints the plan; true when nothing would change.
pub fn run(ws: &Workspace, target: &Target, opts: &PlanOptions) -> Result<bool, DockerError> {
    let Changes {
        services: changes,
        stand_ins,
    } = changes(ws, target, opts)?;
    let width = changes.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut pending = 0;
    for (name, change) in &changes {
        if *change != Change::Unchanged {
            pending += 1;
        }
        crate::outln!("{name:<width$}  {}", change.describe());
    }
    crate::outln!("{}", summary(pending, changes.len(), stand_ins));
    Ok(pending == 0)
}

/// The plan's last line: what would change and which `up` applies it —
/// with stand-ins running, `up --stand-ins` (plain `up` would replace
/// them with the real images).
fn summary(pending: usize, total: usize, stand_ins: usize) -> String {
    let services = crate::generate::counted(total, "service");
    let what = match pending {
        0 => format!("plan: nothing to do ({services} up to date)"),
        _ => format!("plan: {pending} of {services} would change"),
    };
    match (pending, stand_ins) {
        (0, 0) => what,
        (_, 0) => format!("{what}; run `lucid-gen up` to apply"),
        (0, n) => format!(
            "{what}; {}, which `lucid-gen up` would replace with the real images",
            running(n)
        ),
        (_, n) => format!(
            "{what}; {}: run `lucid-gen up --stand-ins` to apply (`lucid-gen up` would replace them with the real images)",
            running(n)
        ),
    }
}

/// `1 service runs a stand-in` / `3 services run stand-ins`.
fn running(n: usize) -> String {
    match n {
        1 => "1 service runs a stand-in".into(),
        _ => format!("{n} services run stand-ins"),
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn the_summary_says_which_up_applies_the_plan() {
        assert_eq!(
            summary(0, 4, 0),
            "plan: nothing to do (4 services up to date)"
        );
        assert_eq!(
            summary(1, 4, 0),
            "plan: 1 of 4 services would change; run `lucid-gen up` to apply"
        );
        assert_eq!(
            summary(0, 4, 4),
            "plan: nothing to do (4 services up to date); 4 services run stand-ins, which `lucid-gen up` would replace with the real images"
        );
        assert_eq!(
            summary(2, 4, 1),
            "plan: 2 of 4 services would change; 1 service runs a stand-in: run `lucid-gen up --stand-ins` to apply (`lucid-gen up` would replace them with the real images)"
        );
    }
}
