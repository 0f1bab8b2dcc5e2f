//! `lucid-gen test`: checks the running system from the inside.
//!
//! * every service has a running container, healthy when it has a check
//!   ([`replicas`] counts replicas);
//! * its environment holds exactly the generated values (env files, then
//!   secrets, then `environment`), compared without printing any value;
//! * no image holds a secret value in its config or build history;
//! * the secrets each container can read are exactly those its service
//!   declares, and its config files are readable ([`secrets`]);
//! * dependencies, external services and the isolation matrix ([`reach`]).
//!
//! Every row is a [`report::Check`]; the table, JSON lines and JUnit report
//! are written from them.

pub mod probe_service;
mod reach;
pub mod replicas;
pub mod report;
pub mod secrets;

use std::collections::{BTreeMap, BTreeSet};

pub use reach::isolation_from_services;
use replicas::{replicas_check, running_check, shown};
use report::Check;

use super::inventory::{self, Container, Found};
use super::standin;
use super::target::Target;
use super::{io_error, DockerError, Workspace};
use crate::system::{Service, System};

pub struct TestOptions {
    pub project: Option<String>,
    /// One JSON object per check on stdout instead of the table.
    pub json: bool,
    /// Also write the checks as a JUnit XML report to this file.
    pub junit: Option<std::path::PathBuf>,
}

/// `lucid-gen test`: every check against the running system on `target`,
/// printed as a table (or JSON lines); `Ok(true)` when all passed.
pub fn run(ws: &Workspace, target: &Target, opts: &TestOptions) -> Result<bool, DockerError> {
    let projects: Vec<String> = (ws.plans(None)?.iter())
        .map(|p| ws.project(p, opts.project.as_deref()))
        .collect();
    let found = inventory::containers(target, &projects)?;
    let mut checks = service_checks(ws, &found);
    checks.extend(image_checks(ws, target, &found)?);
    let pairs = (found.values().flatten()).map(|c| (c.service.as_str(), c.id.as_str()));
    checks.extend(secrets::checks(ws, target, pairs)?);
    let probe = standin::probe_image(target.platform(ws))?;
    if target.remote().is_some() {
        // The probe image goes to the host like any image: only its
        // missing layers.
        let transfer = super::layers::prepare(target, std::slice::from_ref(&probe), false)?;
        super::layers::send(target, &transfer)?;
    }
    checks.extend(reach::checks(ws, target, &found, probe, None)?);
    if let Some(path) = &opts.junit {
        // Written beside and renamed into place: a link or FIFO at the
        // path is replaced, never followed or left waiting for a reader.
        crate::write::atomic_write(path, report::junit(&checks).as_bytes(), false)
            .map_err(|e| io_error("write", path, e))?;
    }
    Ok(match opts.json {
        true => report::json_lines(&checks),
        false => report::table(&checks),
    })
}

/// The rows of one swarm node's running tasks (`swarm test`): each task
/// running (healthy), its environment, its images, reachability and
/// isolation probed from the tasks themselves. (Its secrets: `docker cp`
/// cannot copy Swarm's secret mounts out of a container, so `swarm test`
/// reads them from the service spec.)
/// `probe`: the image of the probe services `manager` starts where a real
/// image's dependency is probed from a network.
pub fn task_checks(
    ws: &Workspace,
    target: &Target,
    manager: &Target,
    found: &Found,
    probe: String,
) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    for (name, list) in found {
        let Some(s) = ws.system.service(name) else {
            continue;
        };
        for c in list {
            checks.push(running_check(s, c));
            checks.push(env_check(ws, s, c, true));
        }
    }
    checks.extend(image_checks(ws, target, found)?);
    checks.extend(reach::checks(ws, target, found, probe, Some(manager))?);
    Ok(checks)
}

/// The environment a service must see: its env files in order, the
/// secrets it receives as variables (its own secrets env file, read last),
/// then its own `environment`. `stack`: as a Swarm stack file gives it,
/// where `system.swarm.env_secrets: file-env` turns each secret variable
/// into `<NAME>_FILE`.
pub fn expected_env(
    system: &System,
    s: &Service,
    secrets: &crate::secrets::SecretValues,
    stack: bool,
) -> BTreeMap<String, String> {
    let as_files = stack && crate::render::delivery::env_secrets_as_files(system);
    let mut env = BTreeMap::new();
    for f in &s.env_files {
        let file = &system.env_files[*f];
        for (k, v) in &file.vars {
            env.insert(k.clone(), v.clone());
        }
    }
    for u in &s.secrets {
        let name = &system.secrets[u.secret].name;
        match &u.delivery {
            crate::system::Delivery::Env if as_files => {
                let target = crate::render::delivery::stack_env_secret_target(system, u.secret);
                env.insert(format!("{name}_FILE"), target);
            }
            crate::system::Delivery::Env => {
                let value = secrets.get(name).unwrap_or_default().to_string();
                env.insert(name.clone(), value);
            }
            crate::system::Delivery::FileEnv { target } => {
                env.insert(format!("{name}_FILE"), target.clone());
            }
            crate::system::Delivery::File { .. } => {}
        }
    }
    for (k, v) in &s.environment {
        env.insert(k.clone(), v.clone());
    }
    env
}

/// Every service running (healthy when it has a check), its environment
/// as generated (names only in the report: values may be secrets).
fn service_checks(ws: &Workspace, found: &Found) -> Vec<Check> {
    let mut checks = Vec::new();
    for s in &ws.system.services {
        let list = found.get(&s.name).map(Vec::as_slice).unwrap_or_default();
        if list.is_empty() {
            checks.push(Check {
                kind: "running",
                from: "-".into(),
                target: s.name.clone(),
                expect: "running",
                ok: false,
                detail: "no container".into(),
            });
            continue;
        }
        if s.replicas != 1 || list.len() != 1 {
            checks.push(replicas_check(s, list));
        }
        for c in list {
            checks.push(match s.run_once {
                true => job_check(s, c),
                false => running_check(s, c),
            });
            checks.push(env_check(ws, s, c, false));
        }
    }
    checks
}

/// A one-shot job ran to completion with status 0.
fn job_check(s: &Service, c: &Container) -> Check {
    let done = !c.running && c.exit_code == Some(0);
    Check {
        kind: "running",
        from: "-".into(),
        target: shown(s, c),
        expect: "exited 0",
        ok: done,
        detail: match (c.running, c.exit_code) {
            (true, _) => "still running".into(),
            (false, Some(code)) => format!("exited {code}"),
            (false, None) => "not run".into(),
        },
    }
}

/// `stack`: a Swarm task, whose environment is the stack file's.
fn env_check(ws: &Workspace, s: &Service, c: &Container, stack: bool) -> Check {
    let expected = expected_env(&ws.system, s, &ws.secrets, stack);
    let wrong: Vec<&str> = expected
        .iter()
        .filter(|(k, v)| c.env.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    Check {
        kind: "env",
        from: shown(s, c),
        target: crate::generate::counted(expected.len(), "variable"),
        expect: "as generated",
        ok: wrong.is_empty(),
        // Names only: values may be secrets.
        detail: if wrong.is_empty() {
            String::new()
        } else {
            format!("differs: {}", wrong.join(", "))
        },
    }
}

/// No secret value in any image's config or history.
fn image_checks(ws: &Workspace, target: &Target, found: &Found) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    let images: BTreeSet<&str> = (found.values().flatten())
        .map(|c| c.image_id.as_str())
        .collect();
    for image in images {
        let config = target.docker().args(["image", "inspect", image]).run()?;
        let history = target
            .docker()
            .args(["history", "--no-trunc", "--format", "{{.CreatedBy}}", image])
            .run()?;
        let leaked: Vec<&str> = ws
            .secrets
            .iter()
            .filter(|(_, value)| config.contains(value) || history.contains(value))
            .map(|(name, _)| name)
            .collect();
        let short = image
            .trim_start_matches("sha256:")
            .get(..12)
            .unwrap_or(image)
            .to_string();
        checks.push(Check {
            kind: "image",
            from: short,
            target: format!("{} secrets", ws.secrets.names().count()),
            expect: "absent",
            ok: leaked.is_empty(),
            detail: if leaked.is_empty() {
                String::new()
            } else {
                format!("holds {}", leaked.join(", "))
            },
        });
    }
    Ok(checks)
}
