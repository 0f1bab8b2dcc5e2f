//! Carrying out a [`SwarmAction`]: the manager check, the stand-ins, a
//! worker's images, a stack deploy with its wait and its rollback, the
//! removal of a stack's unused secrets and configs, a stack's removal.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Placement, SwarmAction, STACK_LABEL};
use crate::docker::deploy::run::DeployState;
use crate::docker::target::Target;
use crate::docker::{layers, standin, Cmd, DockerError, ErrorKind, Workspace};

/// How often the engine is asked while waiting.
const POLL: Duration = Duration::from_secs(2);

/// How long a service whose task spec changed may show no new update
/// before Swarm is taken to have found no task to replace (it starts one
/// within a second or two of the change; until it does, the service
/// still reports the previous update's state).
const UPDATE_START_GRACE: Duration = Duration::from_secs(20);

/// Update states after which a service is not what the deploy asked for.
const FAILED_UPDATE: [&str; 4] = [
    "paused",
    "rollback_started",
    "rollback_paused",
    "rollback_completed",
];

/// Runs one swarm step on `target`.
pub fn step(
    ws: &Workspace,
    target: &Target,
    action: &SwarmAction,
    state: &mut DeployState,
) -> Result<(), DockerError> {
    match action {
        SwarmAction::Init(init) => init.run(target),
        SwarmAction::Leave(leave) => leave.run(target),
        SwarmAction::Manager { placements } => manager(target, placements),
        SwarmAction::StandIns {
            overrides,
            platform,
            ..
        } => {
            let standins = standin::prepare(ws, platform)?;
            for (plan, path) in overrides {
                standin::write_stack_override(ws, plan, path, &standins)?;
            }
            state.standins = Some(standins);
            Ok(())
        }
        SwarmAction::NodeImages { node, services } => {
            let t = Target::ssh(node, &ws.model_dir);
            t.connect()?;
            let mut refs: Vec<String> = (services.iter())
                .map(|&i| &ws.system.services[i])
                .filter_map(|s| match &state.standins {
                    Some(st) => st.images.get(&s.name).cloned(),
                    None => Some(s.image.clone()),
                })
                .collect();
            refs.sort();
            refs.dedup();
            let transfer = layers::prepare(&t, &refs, false)?;
            let sent = layers::send(&t, &transfer)?;
            crate::outln!(
                "images on `{}`: sent {} bytes for {} of {} image(s) ({} of {} layers already there)",
                node.name,
                sent.bytes,
                sent.images,
                transfer.images.len(),
                transfer.layers_skipped,
                transfer.layers_total
            );
            Ok(())
        }
        SwarmAction::Deploy {
            stack,
            cmd,
            services,
            deadline,
        } => deploy(target, stack, cmd, services, *deadline),
        SwarmAction::PruneUnused { stack, file } => prune_unused(target, stack, file),
        SwarmAction::Remove {
            stack,
            cmd,
            deadline,
        } => remove(target, stack, cmd, *deadline),
    }
}

/// The `--filter` value selecting a stack's objects.
pub fn stack_filter(stack: &str) -> String {
    format!("label={STACK_LABEL}={stack}")
}

/// The engine is an active manager, and every placement has a ready node.
fn manager(target: &Target, placements: &[Placement]) -> Result<(), DockerError> {
    let info = (target.docker())
        .args([
            "info",
            "--format",
            "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
        ])
        .run()?;
    if info.trim() != "active true" {
        return Err(ErrorKind::SwarmRefused {
            why: format!(
                "the engine of {} is no swarm manager (swarm state: {})",
                target.describe(),
                info.trim()
            ),
            help: match target.remote() {
                None => "`lucid-gen swarm up --local --init` makes this machine's engine a \
                         one-node swarm (left again by `swarm down`); or run `docker swarm init`, \
                         or join it to a swarm as a manager"
                    .into(),
                Some(_) => "run `docker swarm init` there, or join it to a swarm as a manager; \
                            lucid-gen never creates or joins a swarm on a host"
                    .into(),
            },
        }
        .into());
    }
    if placements.is_empty() {
        return Ok(());
    }
    let nodes: Vec<BTreeMap<String, String>> = (nodes(target)?.into_iter())
        .filter(|n| n.ready && n.active)
        .map(|n| n.labels)
        .collect();
    let problems: Vec<String> = (placements.iter())
        .filter(|p| {
            !(nodes.iter()).any(|labels| {
                (p.labels.iter()).all(|(k, v)| labels.get(k).is_some_and(|nv| nv == v))
            })
        })
        .map(|p| {
            let wanted: Vec<String> = p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "`{}` must run on a node labelled {}, and no ready node is: label one with `docker node update --label-add {} NODE`",
                p.service,
                wanted.join(", "),
                wanted.join(" --label-add ")
            )
        })
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(ErrorKind::Preflight { problems }.into()),
    }
}

/// A swarm node as the manager sees it.
pub(super) struct Node {
    pub hostname: String,
    /// `Status.State` is `ready`.
    pub ready: bool,
    /// `Spec.Availability` is `active`: tasks may be scheduled there.
    pub active: bool,
    pub labels: BTreeMap<String, String>,
}

/// Every node of the swarm, from one `node ls` and one `node inspect`.
pub(super) fn nodes(target: &Target) -> Result<Vec<Node>, DockerError> {
    let ids = (target.docker())
        .args(["node", "ls", "--format", "{{.ID}}"])
        .run()?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    let out = (target.docker())
        .args([
            "node",
            "inspect",
            "--format",
            "{{.Description.Hostname}} {{.Status.State}} {{.Spec.Availability}} {{json .Spec.Labels}}",
        ])
        .args(&ids)
        .run()?;
    Ok((out.lines())
        .filter_map(|l| {
            let mut words = l.splitn(4, ' ');
            let (hostname, state) = (words.next()?, words.next()?);
            let (availability, labels) = (words.next()?, words.next()?);
            Some(Node {
                hostname: hostname.to_string(),
                ready: state == "ready",
                active: availability == "active",
                labels: (serde_json::from_str::<Option<BTreeMap<String, String>>>(labels))
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// One service of a stack as the engine reports it.
#[derive(Debug, Clone)]
pub(super) struct ServiceState {
    /// The whole spec, as JSON: a deploy changed the service when it
    /// differs (`docker stack deploy` updates every service of the stack,
    /// so its version moves even when nothing changed).
    spec: String,
    /// The task template and endpoint spec, as JSON: what makes Swarm
    /// replace tasks when it changes.
    template: String,
    /// When the last update (or rollback) started, empty before any.
    started: String,
    pub running: u32,
    pub desired: u32,
    pub update: String,
    message: String,
}

/// Every service of `stack`: name → state.
pub(super) fn services(
    target: &Target,
    stack: &str,
) -> Result<BTreeMap<String, ServiceState>, DockerError> {
    let listed = (target.docker())
        .args(["service", "ls", "--filter"])
        .arg(stack_filter(stack))
        .args(["--format", "{{.Name}} {{.Replicas}}"])
        .run()?;
    let mut out = BTreeMap::new();
    let mut names = Vec::new();
    for line in listed.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(replicas)) = (words.next(), words.next()) else {
            continue;
        };
        let (running, desired) = replicas.split_once('/').unwrap_or(("0", "0"));
        let state = ServiceState {
            spec: String::new(),
            template: String::new(),
            started: String::new(),
            running: running.parse().unwrap_or(0),
            desired: desired.parse().unwrap_or(0),
            update: String::new(),
            message: String::new(),
        };
        names.push(name.to_string());
        out.insert(name.to_string(), state);
    }
    if names.is_empty() {
        return Ok(out);
    }
    let inspected = (target.docker())
        .args([
            "service",
            "inspect",
            "--format",
            "{{.Spec.Name}}\t{{json .Spec}}\t{{if .UpdateStatus}}{{.UpdateStatus.StartedAt}}{{end}}\t{{json .Spec.TaskTemplate}}{{json .Spec.EndpointSpec}}\t{{if .UpdateStatus}}{{.UpdateStatus.State}}\t{{.UpdateStatus.Message}}{{end}}",
        ])
        .args(&names)
        .run()?;
    for line in inspected.lines() {
        let mut parts = line.splitn(6, '\t');
        let name = parts.next().unwrap_or_default();
        if let Some(s) = out.get_mut(name) {
            s.spec = parts.next().unwrap_or_default().to_string();
            s.started = parts.next().unwrap_or_default().to_string();
            s.template = parts.next().unwrap_or_default().to_string();
            s.update = parts.next().unwrap_or_default().to_string();
            s.message = parts.next().unwrap_or_default().to_string();
        }
    }
    Ok(out)
}

/// `docker stack deploy`, the wait, and on a failure the whole deploy
/// rolled back.
fn deploy(
    target: &Target,
    stack: &str,
    cmd: &Cmd,
    model: &[String],
    deadline: u64,
) -> Result<(), DockerError> {
    let before = services(target, stack)?;
    let deployed = cmd.run_visible();
    let after = services(target, stack).unwrap_or_default();
    let touched = changed(&before, &after);
    let names: Vec<String> = model.iter().map(|s| format!("{stack}_{s}")).collect();
    // Until Swarm starts replacing the tasks of a changed service, that
    // service still reports its previous update as completed.
    let replacing: BTreeMap<String, String> = (after.iter())
        .filter_map(|(name, s)| {
            let b = before.get(name)?;
            (b.template != s.template).then(|| (name.clone(), b.started.clone()))
        })
        .collect();
    let failure = match deployed {
        Err(e) => e.to_string(),
        Ok(()) => match wait(target, stack, &names, &replacing, deadline, false) {
            Ok(()) => return print_status(target, stack),
            Err(why) => why,
        },
    };
    eprintln!("{failure}\nrolling back every service this deploy changed …");
    let outcome = roll_back(target, stack, &before, &touched, deadline);
    Err(ErrorKind::SwarmRolledBack {
        stack: stack.to_string(),
        failure,
        outcome,
    }
    .into())
}

/// The services `after` has that `before` lacked or held with another
/// spec: what a deploy changed, and what its rollback puts back.
fn changed(
    before: &BTreeMap<String, ServiceState>,
    after: &BTreeMap<String, ServiceState>,
) -> Vec<String> {
    (after.iter())
        .filter(|(name, s)| before.get(*name).is_none_or(|b| b.spec != s.spec))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Waits until each of `names` runs all its replicas and no update is
/// under way (with `rolled_back`, a completed rollback counts as done);
/// a service in `replacing` (name → when its last update had started
/// before this one was asked for) must also show a newer update, unless
/// none starts within [`UPDATE_START_GRACE`]. `Err` says which service
/// did not settle, and why.
fn wait(
    target: &Target,
    stack: &str,
    names: &[String],
    replacing: &BTreeMap<String, String>,
    deadline: u64,
    rolled_back: bool,
) -> Result<(), String> {
    let began = Instant::now();
    let until = began + Duration::from_secs(deadline);
    loop {
        let in_grace = began.elapsed() < UPDATE_START_GRACE;
        let states = services(target, stack).map_err(|e| e.to_string())?;
        let mut pending = Vec::new();
        for name in names {
            let Some(s) = states.get(name) else {
                pending.push(format!("`{name}` does not exist"));
                continue;
            };
            let settled = match judge(s, replacing.get(name), in_grace, rolled_back) {
                Update::Settled => true,
                Update::Pending => false,
                Update::Stopped => {
                    return Err(format!(
                        "`{name}`: Swarm stopped its update ({}: {}){}",
                        s.update,
                        s.message,
                        task_errors(target, name)
                    ))
                }
            };
            if s.running < s.desired || !settled {
                pending.push(format!(
                    "`{name}`: {}/{} replicas running and healthy, update state `{}`{}",
                    s.running,
                    s.desired,
                    if s.update.is_empty() {
                        "none"
                    } else {
                        &s.update
                    },
                    task_errors(target, name)
                ));
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(format!(
                "not converged within {deadline} s:\n  {}",
                pending.join("\n  ")
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Where a service's update stands, for [`wait`].
#[derive(Debug, PartialEq, Eq)]
enum Update {
    /// Nothing under way (its replicas are counted separately).
    Settled,
    /// Under way, or not yet started.
    Pending,
    /// This deploy's update was paused or rolled back by Swarm.
    Stopped,
}

/// Judges `s`; `before` is when its last update had started before this
/// one was asked for (only for a service whose task spec changed). Such a
/// service reports its previous update until Swarm starts this one
/// (`Pending`, unless `in_grace` is over: Swarm found no task to
/// replace); a stopped update of an earlier deploy is not this deploy's.
fn judge(s: &ServiceState, before: Option<&String>, in_grace: bool, rolled_back: bool) -> Update {
    let waiting_start = before.is_some_and(|b| *b == s.started);
    let this_update = before.is_some() && !waiting_start;
    let under_way = s.update == "updating" || s.update.ends_with("_started");
    let settled = match (waiting_start, this_update && !rolled_back) {
        (true, _) => !in_grace && !under_way,
        (false, true) if FAILED_UPDATE.contains(&s.update.as_str()) => return Update::Stopped,
        (false, true) => s.update.is_empty() || s.update == "completed",
        (false, false) => !under_way,
    };
    match settled {
        true => Update::Settled,
        false => Update::Pending,
    }
}

/// The last failed tasks' errors of a service, for a message.
fn task_errors(target: &Target, name: &str) -> String {
    let out = (target.docker())
        .args(["service", "ps", "--no-trunc", "--format"])
        .arg("{{.Name}} {{.Node}} {{.CurrentState}}: {{.Error}}")
        .arg(name)
        .run()
        .unwrap_or_default();
    let failed: Vec<&str> = (out.lines())
        .filter(|l| !l.trim_end().ends_with(':'))
        .take(3)
        .collect();
    match failed.is_empty() {
        true => String::new(),
        false => format!("; last task errors: {}", failed.join("; ")),
    }
}

/// Every service of `touched` back: those that existed before are rolled
/// back (unless Swarm already did), those the deploy created removed.
fn roll_back(
    target: &Target,
    stack: &str,
    before: &BTreeMap<String, ServiceState>,
    touched: &[String],
    deadline: u64,
) -> String {
    let now = services(target, stack).unwrap_or_default();
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut back = Vec::new();
    let mut replacing = BTreeMap::new();
    for name in touched {
        let result = match before.contains_key(name) {
            false => (target.docker().args(["service", "rm"]).arg(name).run())
                .map(|_| format!("removed {name} (it was new)")),
            true if now
                .get(name)
                .is_some_and(|s| s.update.starts_with("rollback")) =>
            {
                back.push(name.clone());
                Ok(format!("{name} was rolled back by Swarm"))
            }
            true => {
                back.push(name.clone());
                if let Some(s) = now.get(name) {
                    replacing.insert(name.clone(), s.started.clone());
                }
                (target.docker())
                    .args(["service", "rollback", "--detach", "--quiet"])
                    .arg(name)
                    .run()
                    .map(|_| format!("rolled back {name}"))
            }
        };
        match result {
            Ok(line) => done.push(line),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    let settled = wait(target, stack, &back, &replacing, deadline, true);
    match (failed.is_empty(), settled) {
        (true, Ok(())) if done.is_empty() => "the deploy changed no service".to_string(),
        (true, Ok(())) => format!(
            "stack-wide rollback done, every service as before the deploy: {}",
            done.join("; ")
        ),
        (true, Err(why)) => format!("rolled back ({}), but {why}", done.join("; ")),
        (false, _) => format!("rolling back failed too: {}", failed.join("; ")),
    }
}

/// Each service's replicas and update state after a deploy.
fn print_status(target: &Target, stack: &str) -> Result<(), DockerError> {
    let states = services(target, stack)?;
    for (name, s) in &states {
        crate::outln!(
            "  {name:<34} {}/{} running{}",
            s.running,
            s.desired,
            match s.update.as_str() {
                "" => String::new(),
                u => format!(", update {u}"),
            }
        );
    }
    Ok(())
}

/// Names the stack file declares under `key` (`secrets` or `configs`), as
/// `docker stack deploy` names them in the swarm (`STACK_KEY`).
fn declared(file: &std::path::Path, stack: &str, key: &str) -> Result<Vec<String>, DockerError> {
    let stack_file = super::read_stack(file)?;
    let keys = stack_file[key].as_object();
    Ok((keys.into_iter().flat_map(|m| m.keys()))
        .map(|k| format!("{stack}_{k}"))
        .collect())
}

/// Secrets and configs of `stack` the stack file no longer names.
fn prune_unused(target: &Target, stack: &str, file: &std::path::Path) -> Result<(), DockerError> {
    for kind in ["secret", "config"] {
        let keep = declared(file, stack, &format!("{kind}s"))?;
        let listed = (target.docker())
            .args([kind, "ls", "--filter"])
            .arg(stack_filter(stack))
            .args(["--format", "{{.Name}}"])
            .run()?;
        for old in listed.lines().filter(|n| !keep.iter().any(|k| k == n)) {
            match target.docker().args([kind, "rm", old]).run() {
                Ok(_) => crate::outln!("  removed unused {kind} {old}"),
                Err(e) => eprintln!("note: {kind} {old} is kept: {e}"),
            }
        }
    }
    Ok(())
}

/// What is left of `stack`: `kind name` per object.
fn leftovers(target: &Target, stack: &str) -> Result<Vec<String>, DockerError> {
    let mut left = Vec::new();
    for (kind, args, format) in [
        ("service", &["service", "ls"][..], "{{.Name}}"),
        ("container", &["ps", "-a"][..], "{{.Names}}"),
        ("network", &["network", "ls"][..], "{{.Name}}"),
        ("secret", &["secret", "ls"][..], "{{.Name}}"),
        ("config", &["config", "ls"][..], "{{.Name}}"),
    ] {
        let out = (target.docker())
            .args(args)
            .arg("--filter")
            .arg(stack_filter(stack))
            .args(["--format", format])
            .run()?;
        left.extend(out.lines().map(|n| format!("{kind} {n}")));
    }
    Ok(left)
}

/// Any probe service left on the stack's networks removed, `docker stack
/// rm`, then wait until nothing of the stack is left; a
/// network or secret `stack rm` could not remove while tasks were still
/// stopping is removed once they are gone.
fn remove(target: &Target, stack: &str, cmd: &Cmd, deadline: u64) -> Result<(), DockerError> {
    // A probe service a stopped `swarm test` left would hold a network.
    for name in crate::docker::checks::probe_service::remove_left(target, stack)? {
        eprintln!("removed probe service {name} (left by `swarm test`)");
    }
    if let Err(e) = cmd.run_visible() {
        eprintln!("note: {e}; removing what is left once the tasks are gone");
    }
    let until = Instant::now() + Duration::from_secs(deadline);
    loop {
        let left = leftovers(target, stack)?;
        if left.is_empty() {
            return Ok(());
        }
        let tasks_gone =
            !(left.iter()).any(|l| l.starts_with("service ") || l.starts_with("container "));
        if tasks_gone {
            for l in &left {
                let (kind, name) = l.split_once(' ').unwrap_or((l, ""));
                let _ = target.docker().args([kind, "rm", name]).run();
            }
        }
        if Instant::now() >= until {
            return Err(ErrorKind::SwarmLeftovers {
                stack: stack.to_string(),
                left,
            }
            .into());
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(update: &str, started: &str) -> ServiceState {
        ServiceState {
            spec: "{}".into(),
            template: String::new(),
            started: started.into(),
            running: 1,
            desired: 1,
            update: update.into(),
            message: String::new(),
        }
    }

    #[test]
    fn a_changed_service_still_showing_its_last_update_is_not_done() {
        let before = "2026-12-06 06:00:00 +0000 UTC".to_string();
        let old = state("completed", &before);
        assert_eq!(judge(&old, Some(&before), true, false), Update::Pending);
        // Swarm found nothing to replace: done once the grace is over.
        assert_eq!(judge(&old, Some(&before), false, false), Update::Settled);
        let new = state("updating", "2026-12-06 06:01:00 +0000 UTC");
        assert_eq!(judge(&new, Some(&before), true, false), Update::Pending);
        let done = state("completed", "2026-12-06 06:01:00 +0000 UTC");
        assert_eq!(judge(&done, Some(&before), true, false), Update::Settled);
    }

    #[test]
    fn only_this_deploys_stopped_update_is_a_failure() {
        let before = "2026-12-06 06:00:00 +0000 UTC".to_string();
        let stopped = state("rollback_completed", "2026-12-06 06:01:00 +0000 UTC");
        assert_eq!(judge(&stopped, Some(&before), true, false), Update::Stopped);
        // An earlier deploy's, on a service this one did not change.
        assert_eq!(judge(&stopped, None, true, false), Update::Settled);
        // Waiting for a rollback: a completed one is what was asked.
        assert_eq!(judge(&stopped, Some(&before), true, true), Update::Settled);
        let rolling = state("rollback_started", "2026-12-06 06:01:00 +0000 UTC");
        assert_eq!(judge(&rolling, None, true, true), Update::Pending);
    }

    #[test]
    fn a_deploy_changed_only_the_services_whose_spec_differs() {
        let spec = |text: &str| ServiceState {
            spec: text.into(),
            ..state("completed", "")
        };
        let before = BTreeMap::from([
            ("s_same".to_string(), spec(r#"{"Env":["A=1"]}"#)),
            ("s_env".to_string(), spec(r#"{"Env":["A=1"]}"#)),
        ]);
        // `docker stack deploy` updated all three; only two differ.
        let after = BTreeMap::from([
            ("s_same".to_string(), spec(r#"{"Env":["A=1"]}"#)),
            ("s_env".to_string(), spec(r#"{"Env":["A=2"]}"#)),
            ("s_new".to_string(), spec(r#"{"Env":["A=1"]}"#)),
        ]);
        assert_eq!(changed(&before, &after), ["s_env", "s_new"]);
    }
}
