//! The one-shot jobs run once their phase is up (`after_up`): planned as
//! one step each after the phase's `compose up --wait`, run by starting
//! the job's container (`compose up -d --no-deps`, which enables its
//! profile because it is named) and waiting, at most the phase's
//! deadline, until it exits; anything but exit 0 fails the step (and, on
//! a host, rolls the deploy back like a failed phase).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::inventory;
use super::progress::Progress;
use super::steps::{Action, Step};
use super::target::Target;
use super::{DockerError, ErrorKind, Workspace};
use crate::compose_files::ComposeFile;

/// How often the job's container is asked whether it exited.
const POLL: Duration = Duration::from_millis(500);

/// The steps that run `phase`'s `after_up` jobs, in model order.
pub fn steps(
    ws: &Workspace,
    target: &Target,
    phase: &ComposeFile,
    project: &str,
    files: &[PathBuf],
    deadline: u64,
) -> Vec<Step> {
    (phase.services.iter())
        .map(|&i| &ws.system.services[i])
        .filter(|s| s.after_up)
        .map(|s| Step {
            name: format!("after {} is up: {}", phase.file_name, s.name),
            action: Action::AfterUp {
                start: (target.compose(project, files)).args(["up", "-d", "--no-deps", &s.name]),
                project: project.to_string(),
                service: s.name.clone(),
                deadline,
            },
        })
        .collect()
}

/// Runs an [`Action::AfterUp`] step: starts the job, then waits for it.
pub fn run(step: &Step, target: &Target, progress: &Progress) -> Result<(), DockerError> {
    let Action::AfterUp {
        start,
        project,
        service,
        deadline,
    } = &step.action
    else {
        return Ok(());
    };
    progress.line(&format!("==> {}", step.name));
    progress.suspend(|| start.run_visible())?;
    progress.suspend(|| wait(target, project, service, *deadline))
}

/// Waits until every container of `service` in `project` has exited, at
/// most `deadline` seconds; Ok when each exited 0.
fn wait(target: &Target, project: &str, service: &str, deadline: u64) -> Result<(), DockerError> {
    let until = Instant::now() + Duration::from_secs(deadline);
    let failed = |outcome: String| {
        Err(ErrorKind::AfterUp {
            service: service.to_string(),
            project: project.to_string(),
            outcome,
        }
        .into())
    };
    loop {
        let found = inventory::containers(target, &[project.to_string()])?;
        let list = found.get(service).map(Vec::as_slice).unwrap_or_default();
        if list.is_empty() {
            return failed("has no container".into());
        }
        if list.iter().all(|c| !c.running) {
            return match list
                .iter()
                .find_map(|c| c.exit_code.filter(|&code| code != 0))
            {
                None => Ok(()),
                Some(code) => failed(format!("exited {code}")),
            };
        }
        if Instant::now() >= until {
            return failed(format!(
                "did not exit within {deadline} s (it is still running)"
            ));
        }
        std::thread::sleep(POLL);
    }
}
