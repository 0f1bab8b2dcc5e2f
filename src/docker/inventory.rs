//! What runs on a target: the containers of compose projects, read with
//! `docker ps` and `docker inspect` ([`containers`]), by service and
//! replica number; the running services of a project; which project owns
//! a network. Read by `up`'s steps, `test`'s checks and `plan`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::standin::LABEL;
use super::target::{Target, NUMBER_LABEL, PROJECT_LABEL, SERVICE_LABEL};
use super::{DockerError, ErrorKind};

/// The label `docker stack deploy` puts on everything of a stack.
const STACK_LABEL: &str = super::swarm::STACK_LABEL;
/// The label Swarm puts on a task's container: its service.
const SWARM_SERVICE_LABEL: &str = "com.docker.swarm.service.name";
/// The label Swarm puts on a task's container: its slot (replica).
const SLOT_LABEL: &str = "com.docker.swarm.task.slot";

/// A container of one service, as the engine reports it.
pub struct Container {
    pub id: String,
    pub service: String,
    pub running: bool,
    pub health: Option<String>,
    /// The output of its last health check, when it has one.
    pub health_log: Option<String>,
    /// The exit status once it stopped (one-shot jobs).
    pub exit_code: Option<i64>,
    /// When it last started (RFC 3339), for `secret_check::stale_mounts`.
    pub started_at: String,
    pub env: BTreeMap<String, String>,
    /// Every label, for `plan`'s content hashes.
    pub labels: BTreeMap<String, String>,
    pub image_id: String,
    /// Whether it runs a stand-in image (which carries a prober).
    pub stand_in: bool,
    /// Network name → IPv4 address.
    pub networks: BTreeMap<String, String>,
    /// Compose's replica number (`com.docker.compose.container-number`).
    pub number: u32,
}

/// Every container of each service, by service name, replicas in order.
pub type Found = BTreeMap<String, Vec<Container>>;

/// `docker inspect` of `ids`, parsed.
pub fn inspect(target: &Target, ids: &[String]) -> Result<Vec<Value>, DockerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let cmd = target.docker().arg("inspect").args(ids);
    let out = cmd.run()?;
    serde_json::from_str(&out).map_err(|e| {
        ErrorKind::ToolOutput {
            command: cmd.to_string(),
            error: e.to_string(),
        }
        .into()
    })
}

/// The IDs of every container (running or not) of `project`.
pub fn container_ids(target: &Target, project: &str) -> Result<Vec<String>, DockerError> {
    let out = (target.docker())
        .args(["ps", "-a", "-q", "--no-trunc", "--filter"])
        .arg(Target::project_filter(project))
        .run()?;
    Ok(out.lines().map(str::to_string).collect())
}

/// Services of `project` that have a running container.
pub fn running_services(target: &Target, project: &str) -> Result<Vec<String>, DockerError> {
    let out = (target.docker())
        .args(["ps", "--filter"])
        .arg(Target::project_filter(project))
        .args(["--format", "{{.Label \"com.docker.compose.service\"}}"])
        .run()?;
    Ok(out.lines().map(str::to_string).collect())
}

/// The compose project a Docker network belongs to: `Some("")` when it
/// exists without a compose label, `None` when it does not exist.
pub fn network_project(target: &Target, name: &str) -> Option<String> {
    let out = (target.docker())
        .args(["network", "inspect", "--format"])
        .arg(format!("{{{{index .Labels \"{PROJECT_LABEL}\"}}}}"))
        .arg(name)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every container of the given compose projects, by service.
pub fn containers(target: &Target, projects: &[String]) -> Result<Found, DockerError> {
    let mut ids = Vec::new();
    for p in projects {
        ids.extend(container_ids(target, p)?);
    }
    found(target, &ids)
}

/// Every container (task) of the given swarm stacks on `target`'s node,
/// by service (its name in the model), task slots in order.
pub fn stack_containers(target: &Target, stacks: &[String]) -> Result<Found, DockerError> {
    let mut ids = Vec::new();
    for stack in stacks {
        let out = (target.docker())
            .args(["ps", "-a", "-q", "--no-trunc", "--filter"])
            .arg(format!("label={STACK_LABEL}={stack}"))
            .run()?;
        ids.extend(out.lines().map(str::to_string));
    }
    found(target, &ids)
}

/// The inspected containers of `ids`, by service.
fn found(target: &Target, ids: &[String]) -> Result<Found, DockerError> {
    let mut found = Found::new();
    for c in inspect(target, ids)? {
        if let Some(container) = container(&c) {
            (found.entry(container.service.clone()).or_default()).push(container);
        }
    }
    for list in found.values_mut() {
        list.sort_by_key(|c| c.number);
    }
    Ok(found)
}

/// One inspected container; `None` when Compose did not make it.
fn container(c: &Value) -> Option<Container> {
    let labels = &c["Config"]["Labels"];
    // A swarm task's service is `STACK_NAME`; its replica, the task slot.
    let stack = labels[STACK_LABEL].as_str();
    let service = match stack {
        None => labels[SERVICE_LABEL].as_str()?,
        Some(stack) => (labels[SWARM_SERVICE_LABEL].as_str()?)
            .strip_prefix(stack)
            .and_then(|s| s.strip_prefix('_'))?,
    };
    let number = match stack {
        None => &labels[NUMBER_LABEL],
        Some(_) => &labels[SLOT_LABEL],
    };
    let strings = |v: &Value| -> BTreeMap<String, String> {
        (v.as_object().into_iter().flatten())
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    };
    let env = (c["Config"]["Env"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let networks = (c["NetworkSettings"]["Networks"]
        .as_object()
        .into_iter()
        .flatten())
    .map(|(name, n)| {
        let ip = n["IPAddress"].as_str().unwrap_or_default();
        (name.clone(), ip.to_string())
    })
    .collect();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Some(Container {
        id: text(&c["Id"]),
        service: service.to_string(),
        running: c["State"]["Running"].as_bool().unwrap_or(false),
        health: c["State"]["Health"]["Status"].as_str().map(str::to_string),
        health_log: (c["State"]["Health"]["Log"].as_array())
            .and_then(|log| log.last())
            .and_then(|last| last["Output"].as_str())
            .map(str::to_string),
        exit_code: c["State"]["ExitCode"].as_i64(),
        started_at: text(&c["State"]["StartedAt"]),
        env,
        labels: strings(labels),
        image_id: text(&c["Image"]),
        stand_in: labels[LABEL].is_string(),
        networks,
        number: (number.as_str()).and_then(|n| n.parse().ok()).unwrap_or(1),
    })
}
