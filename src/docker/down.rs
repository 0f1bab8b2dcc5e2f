//! `lucid-gen down`: removes every container and network `up` created, in
//! reverse deploy order (later phases attach to earlier phases' networks);
//! volumes only when asked.

use super::up::running_services;
use super::{Cmd, Deployment, DockerError};

pub struct DownOptions {
    pub phase: Option<String>,
    pub volumes: bool,
    pub project: Option<String>,
}

fn has_containers(project: &str) -> Result<bool, DockerError> {
    let out = Cmd::docker()
        .args(["ps", "-a", "-q", "--filter"])
        .arg(format!("label=com.docker.compose.project={project}"))
        .run()?;
    Ok(!out.trim().is_empty())
}

pub fn run(dep: &Deployment, opts: &DownOptions) -> Result<(), DockerError> {
    let mut plans = dep.plans(opts.phase.as_deref())?;
    // The master file deploys the same services under one project; take it
    // down too when it was used.
    if opts.phase.is_none() {
        let master = dep.master();
        if has_containers(&dep.project(&master, opts.project.as_deref()))? {
            plans.push(master);
        }
    }
    plans.reverse();
    for plan in &plans {
        let project = dep.project(plan, opts.project.as_deref());
        let mut down = Cmd::compose(&project, &[dep.compose_path(plan)]).args([
            "down",
            "--remove-orphans",
            "--timeout",
            "20",
        ]);
        if opts.volumes {
            down = down.arg("--volumes");
        }
        println!("==> down {} (project {project})", plan.file_name);
        down.run_visible()?;
        let left = running_services(&project)?;
        if !left.is_empty() {
            return Err(DockerError::Other(format!(
                "containers still running in {project}: {}",
                left.join(", ")
            )));
        }
    }
    Ok(())
}
