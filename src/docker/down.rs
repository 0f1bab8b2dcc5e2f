//! `lucid-gen down`: removes every container and network `up` created, in
//! reverse deploy order (later phases attach to earlier phases' networks);
//! volumes only when asked. [`plan`] computes the steps without an engine
//! (the master file's project is taken down only if it has containers,
//! decided when that step runs); [`run`] hands them to the runner.

use super::steps::{self, Action, Plan, Step};
use super::target::Target;
use super::{DockerError, Workspace};

pub struct DownOptions {
    pub phase: Option<String>,
    pub volumes: bool,
    pub project: Option<String>,
}

/// What `down` would do, computed without an engine.
pub fn plan(ws: &Workspace, target: &Target, opts: &DownOptions) -> Result<Plan, DockerError> {
    let phases = ws.plans(opts.phase.as_deref())?;
    // The master file deploys the same services under one project; take it
    // down too when it was used.
    let master = opts.phase.is_none().then(|| ws.master());
    let mut steps = Vec::new();
    for (file, master) in
        (master.iter().map(|m| (m, true))).chain(phases.iter().rev().map(|p| (p, false)))
    {
        let project = ws.project(file, opts.project.as_deref());
        let mut cmd = target
            .compose(&project, &[target.compose_path(ws, file)])
            .args(super::steps::DOWN_ARGS);
        if opts.volumes {
            cmd = cmd.arg("--volumes");
        }
        steps.push(Step {
            name: format!("down {} (project {project})", file.file_name),
            action: Action::Down {
                cmd,
                project: project.clone(),
                if_present: master,
            },
        });
        steps.push(Step {
            name: format!("{project} gone"),
            action: Action::NothingLeft { project },
        });
    }
    let title = format!(
        "down: {} phase(s) on {}{}",
        phases.len(),
        target.describe(),
        if opts.volumes { ", volumes too" } else { "" }
    );
    Ok(Plan { title, steps })
}

/// `lucid-gen down`: the plan, run.
pub fn run(ws: &Workspace, target: &Target, opts: &DownOptions) -> Result<(), DockerError> {
    steps::run(&plan(ws, target, opts)?, ws, target)
}
