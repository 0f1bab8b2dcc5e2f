//! A probe service: how `swarm test` probes from an overlay no stand-in
//! task is on alone. A stack's overlays are not attachable, so a plain
//! probe container cannot join one; a Swarm service can. One task of the
//! probe image on that one network, pinned to the node the probes run on
//! (they `docker exec` into it there), labelled [`LABEL`] with the stack
//! that owns the network (`swarm down` removes any left over) and removed
//! again when dropped, also after a failure.

use std::time::{Duration, Instant};

use crate::docker::target::Target;
use crate::docker::{DockerError, ErrorKind};

/// The label of every probe service; its value, the stack whose network
/// it joins.
pub const LABEL: &str = "lucid-gen.probe-service";

/// The label Swarm gives a task's container: its service's name.
const SERVICE_NAME_LABEL: &str = "com.docker.swarm.service.name";

/// How long its task may take to run, and to be gone after removal.
const START: Duration = Duration::from_secs(90);
const GONE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_secs(1);

/// A running probe service; removed (and its task waited for) on drop.
pub struct ProbeService {
    manager: Target,
    node: Target,
    name: String,
    /// Its task's container on the node.
    pub container: String,
}

impl ProbeService {
    /// Creates the service through `manager` on `network`, pinned to the
    /// node `node` reaches, and returns once its task runs there.
    pub fn start(
        manager: &Target,
        node: &Target,
        image: &str,
        network: &str,
    ) -> Result<ProbeService, DockerError> {
        let node_id = (node.docker())
            .args(["info", "--format", "{{.Swarm.NodeID}}"])
            .run()?
            .trim()
            .to_string();
        let owner = (manager.docker())
            .args(["network", "inspect", "--format"])
            .arg("{{index .Labels \"com.docker.stack.namespace\"}}")
            .arg(network)
            .run()?
            .trim()
            .replace("<no value>", "");
        // Guarded before it exists: whatever happens next, it is removed.
        let mut probe = ProbeService {
            manager: manager.clone(),
            node: node.clone(),
            name: service_name(network, &node_id, std::process::id()),
            container: String::new(),
        };
        (manager.docker())
            .args([
                "service",
                "create",
                "--detach",
                "--quiet",
                "--name",
                &probe.name,
            ])
            .args(["--network", network, "--replicas", "1", "--constraint"])
            .arg(format!("node.id=={node_id}"))
            .args(["--restart-condition", "none", "--stop-grace-period", "1s"])
            .args(["--read-only", "--user", "65532:65532", "--no-resolve-image"])
            .args(["--label", &format!("{LABEL}={owner}")])
            .args(["--container-label", "lucid-gen.probe=1", image])
            .run()?;
        probe.container = probe.wait(network)?;
        Ok(probe)
    }

    /// The running task's container, or why there is none in time.
    fn wait(&self, network: &str) -> Result<String, DockerError> {
        let until = Instant::now() + START;
        loop {
            let running = (self.node.docker())
                .args(["ps", "-q", "--no-trunc", "--filter", "status=running"])
                .arg("--filter")
                .arg(format!("label={SERVICE_NAME_LABEL}={}", self.name))
                .run()?;
            if let Some(id) = running.lines().next() {
                return Ok(id.to_string());
            }
            let state = (self.manager.docker())
                .args(["service", "ps", "--no-trunc"])
                .args(["--format", "{{.CurrentState}} {{.Error}}", &self.name])
                .run()
                .unwrap_or_default();
            let state = state.lines().next().unwrap_or_default().trim().to_string();
            let gave_up = ["Rejected", "Failed", "Complete", "Shutdown"]
                .iter()
                .any(|s| state.starts_with(s));
            if gave_up || Instant::now() >= until {
                return Err(ErrorKind::Failed {
                    command: format!(
                        "docker service create --name {} (a probe on {network})",
                        self.name
                    ),
                    status: format!("its task did not run within {} s", START.as_secs()),
                    stderr: state,
                }
                .into());
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for ProbeService {
    fn drop(&mut self) {
        let _ = (self.manager.docker())
            .args(["service", "rm", &self.name])
            .output();
        // Its task gone too: the network is free for `swarm down` then.
        let until = Instant::now() + GONE;
        while Instant::now() < until {
            let left = (self.node.docker())
                .args(["ps", "-a", "-q", "--filter"])
                .arg(format!("label={SERVICE_NAME_LABEL}={}", self.name))
                .run();
            if left.map_or(true, |l| l.trim().is_empty()) {
                break;
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Removes every probe service on a network of `stack` (one a `swarm
/// test` that was stopped left behind); their names.
pub fn remove_left(manager: &Target, stack: &str) -> Result<Vec<String>, DockerError> {
    let names = (manager.docker())
        .args(["service", "ls", "--filter"])
        .arg(format!("label={LABEL}={stack}"))
        .args(["--format", "{{.Name}}"])
        .run()?;
    let names: Vec<String> = names.lines().map(str::to_string).collect();
    for name in &names {
        manager.docker().args(["service", "rm", name]).run()?;
    }
    Ok(names)
}

/// A service name (a DNS label: at most 63 characters) naming the
/// network, the node and the run.
fn service_name(network: &str, node_id: &str, pid: u32) -> String {
    let net: String = (network.chars())
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '-',
        })
        .take(24)
        .collect();
    let node: String = node_id.chars().take(8).collect::<String>().to_lowercase();
    format!("lucid-gen-probe-{}-{node}-{pid}", net.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_service_is_named_by_network_node_and_run_within_a_dns_label() {
        assert_eq!(
            service_name("orders-net", "x3kd9QmtB0aa1c", 4242),
            "lucid-gen-probe-orders-net-x3kd9qmt-4242"
        );
        let long = service_name(&"Net_Work.".repeat(20), &"N".repeat(25), u32::MAX);
        assert!(long.len() <= 63, "{long}");
        assert!(long.starts_with("lucid-gen-probe-net-work-"), "{long}");
        assert!(long
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
