//! The one-node swarm of the quick path: `swarm up --init` makes this
//! machine's engine a swarm of one node when it is in none, and `swarm
//! down` leaves that swarm again — only one lucid-gen initialised, and
//! only once no service is left on it. An engine already in a swarm is
//! left as it is, before and after.
//!
//! What lucid-gen made is recorded on the engine itself, not in a file: the
//! node of the swarm it initialised carries [`INIT_LABEL`] (a node label
//! lives exactly as long as that swarm), and so does the `docker_gwbridge`
//! network it created for it. Nothing can go stale: a swarm the user
//! re-initialised by hand has no such label and is never left.
//!
//! Addresses are chosen, never left to Docker: the swarm listens and
//! advertises on 127.0.0.1 only (no other machine can join, port 2377 is
//! not open to the network); `ingress` and every overlay without a subnet
//! take theirs from a `--default-addr-pool` and `docker_gwbridge` (created
//! before `swarm init`, as Docker documents for a custom subnet) from a
//! range, each the first of a fixed list that overlaps none of the model's
//! subnets — not the next free 172.x/16 Docker would pick, which a
//! network created beside it with a fixed subnet may need.

use super::{swarm_step, SwarmAction};
use crate::docker::steps::Step;
use crate::docker::target::Target;
use crate::docker::{Cmd, DockerError, ErrorKind, Workspace};
use crate::system::Subnet;

/// The label on the node of a swarm lucid-gen initialised, and on the
/// `docker_gwbridge` it created for it.
pub const INIT_LABEL: &str = "lucid-gen.one-node-swarm";

/// The bridge every swarm node connects its tasks' overlays through.
const GWBRIDGE: &str = "docker_gwbridge";

/// What `swarm up --init` does on the local engine.
pub struct Init {
    /// `docker network create … docker_gwbridge` (when there is none).
    gwbridge: Cmd,
    /// `docker swarm init …`.
    init: Cmd,
    /// Every label a placement of the model selects: the one node must
    /// carry them all.
    labels: Vec<(String, String)>,
}

/// What `swarm down` does on the local engine after the stacks are gone.
pub struct Leave {
    leave: Cmd,
}

/// The `swarm up --init` step: refused unless the target is this machine.
pub fn init_step(ws: &Workspace, target: &Target) -> Result<Step, DockerError> {
    if let Some(remote) = target.remote() {
        return Err(ErrorKind::SwarmRefused {
            why: format!(
                "`--init` makes this machine's engine a one-node swarm, and this command runs on \
                 {} (the model's manager)",
                target.describe()
            ),
            help: format!(
                "add `--local` to deploy to this machine's engine; on `{}` run `docker swarm \
                 init` yourself",
                remote.host.name
            ),
        }
        .into());
    }
    let pool = first_free(ws, 240..248, 16, "the swarm's address pool")?;
    let bridge = first_free(ws, 248..255, 16, "docker_gwbridge")?;
    let gwbridge = (target.docker())
        .args(["network", "create", "--driver", "bridge", "--subnet"])
        .arg(bridge.to_string())
        .args([
            "--opt",
            "com.docker.network.bridge.name=docker_gwbridge",
            "--opt",
            "com.docker.network.bridge.enable_icc=false",
            "--opt",
            "com.docker.network.bridge.enable_ip_masquerade=true",
            "--label",
        ])
        .arg(format!("{INIT_LABEL}=true"))
        .arg(GWBRIDGE);
    let init = (target.docker())
        .args([
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--listen-addr",
            "127.0.0.1:2377",
            "--default-addr-pool",
        ])
        .arg(pool.to_string())
        .args(["--default-addr-pool-mask-length", "24"]);
    let mut labels: Vec<(String, String)> = Vec::new();
    for service in &ws.system.services {
        for (k, v) in &service.swarm.placement {
            if !labels.iter().any(|(have, _)| have == k) {
                labels.push((k.clone(), v.clone()));
            }
        }
    }
    Ok(swarm_step(
        "one-node swarm (--init)",
        SwarmAction::Init(Init {
            gwbridge,
            init,
            labels,
        }),
    ))
}

/// The `swarm down` step of a local target: leave lucid-gen's swarm.
pub fn leave_step(target: &Target) -> Step {
    swarm_step(
        "one-node swarm lucid-gen initialised",
        SwarmAction::Leave(Leave {
            leave: target.docker().args(["swarm", "leave", "--force"]),
        }),
    )
}

/// The first `10.N.0.0/prefix` for N in `range` that overlaps none of the
/// model's subnets.
fn first_free(
    ws: &Workspace,
    range: std::ops::Range<u8>,
    prefix: u8,
    what: &str,
) -> Result<Subnet, DockerError> {
    let candidates = range.clone().map(|n| Subnet {
        addr: std::net::Ipv4Addr::new(10, n, 0, 0).into(),
        prefix,
    });
    for candidate in candidates {
        if !(ws.system.networks.iter()).any(|n| n.subnet.overlaps(candidate)) {
            return Ok(candidate);
        }
    }
    Err(ErrorKind::SwarmRefused {
        why: format!(
            "the model's subnets cover every range `--init` would take {what} from \
             (10.{}.0.0/16 … 10.{}.0.0/16)",
            range.start,
            range.end - 1
        ),
        help: "run `docker swarm init` yourself with a `--default-addr-pool` of your choice, \
               then `swarm up --local` without `--init`"
            .into(),
    }
    .into())
}

impl Init {
    pub fn details(&self) -> Vec<String> {
        let mut lines = vec![
            "if the engine is in a swarm already: left as it is (and `swarm down` will not leave it)"
                .to_string(),
            "otherwise, unless it exists:".to_string(),
            self.gwbridge.to_string(),
            self.init.to_string(),
        ];
        let mut labels = vec![format!("{INIT_LABEL}=true")];
        labels.extend(self.labels.iter().map(|(k, v)| format!("{k}={v}")));
        lines.push(format!(
            "label the node {} (the join token `swarm init` prints is not shown)",
            labels.join(", ")
        ));
        lines
    }

    /// Initialises the swarm when the engine is in none; a failure
    /// leaves the engine as it was.
    pub fn run(&self, target: &Target) -> Result<(), DockerError> {
        match state(target)?.as_str() {
            "active" => {
                match ours(target)? {
                    true => {
                        label(target, &self.labels)?;
                        crate::outln!("the engine is lucid-gen's one-node swarm already");
                    }
                    false => crate::outln!(
                        "the engine is in a swarm already: left as it is, `swarm down` will not leave it"
                    ),
                }
                return Ok(());
            }
            "inactive" => {}
            other => {
                return Err(ErrorKind::SwarmRefused {
                    why: format!("the local engine's swarm state is `{other}`"),
                    help: "finish joining (or `docker swarm leave --force`) first: `--init` only \
                           starts a swarm on an engine in none"
                        .into(),
                }
                .into())
            }
        }
        let made_bridge = match exists(target, GWBRIDGE) {
            true => false,
            false => self.gwbridge.run().map(|_| true)?,
        };
        // Its standard output holds the join token: never printed.
        let made = (self.init.run()).and_then(|_| {
            let mut labels = vec![(INIT_LABEL.to_string(), "true".to_string())];
            labels.extend(self.labels.iter().cloned());
            label(target, &labels)
        });
        if let Err(e) = made {
            let _ = target.docker().args(["swarm", "leave", "--force"]).run();
            if made_bridge {
                remove_bridge(target);
            }
            return Err(e);
        }
        crate::outln!(
            "initialised a one-node swarm on the local engine (advertised on 127.0.0.1); \
             `lucid-gen swarm down` leaves it again"
        );
        Ok(())
    }
}

impl Leave {
    pub fn details(&self) -> Vec<String> {
        vec![
            format!(
                "only if lucid-gen initialised the engine's swarm (`swarm up --init`: its node \
                 labelled {INIT_LABEL}) and no service or overlay network but `ingress` is left \
                 on it:"
            ),
            self.leave.to_string(),
            format!("docker network rm {GWBRIDGE} (if lucid-gen created it)"),
            "a swarm lucid-gen did not initialise is left as found".into(),
        ]
    }

    pub fn run(&self, target: &Target) -> Result<(), DockerError> {
        if state(target)? != "active" || !ours(target)? {
            crate::outln!("the engine's swarm is not one lucid-gen initialised: left as found");
            return Ok(());
        }
        // An overlay still there when the node leaves would stay behind
        // in the engine, removable only by a prune: keep the swarm then.
        let services = (target.docker())
            .args(["service", "ls", "--format", "service {{.Name}}"])
            .run()?;
        let networks = (target.docker())
            .args(["network", "ls", "--filter", "scope=swarm"])
            .args(["--format", "network {{.Name}}"])
            .run()?;
        let left: Vec<&str> = (services.lines().chain(networks.lines()))
            .filter(|l| *l != "network ingress")
            .collect();
        if !left.is_empty() {
            crate::outln!(
                "kept lucid-gen's one-node swarm: {} still on it ({}); `lucid-gen swarm down \
                 --local` of their system leaves it once nothing is left",
                left.len(),
                left.join(", ")
            );
            return Ok(());
        }
        self.leave.run()?;
        remove_bridge(target);
        crate::outln!("left the one-node swarm lucid-gen initialised: the engine is in no swarm");
        Ok(())
    }
}

/// The engine's `Swarm.LocalNodeState`: `inactive`, `active`, `pending`, …
fn state(target: &Target) -> Result<String, DockerError> {
    let out = (target.docker())
        .args(["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .run()?;
    Ok(out.trim().to_string())
}

/// Whether the engine's own node carries [`INIT_LABEL`].
fn ours(target: &Target) -> Result<bool, DockerError> {
    let format = format!("{{{{index .Spec.Labels \"{INIT_LABEL}\"}}}}");
    let out = (target.docker())
        .args(["node", "inspect", "--format", &format, "self"])
        .run()?;
    Ok(out.trim() == "true")
}

/// Adds `labels` to the engine's own node.
fn label(target: &Target, labels: &[(String, String)]) -> Result<(), DockerError> {
    if labels.is_empty() {
        return Ok(());
    }
    let id = (target.docker())
        .args(["info", "--format", "{{.Swarm.NodeID}}"])
        .run()?;
    let mut cmd = target.docker().args(["node", "update"]);
    for (k, v) in labels {
        cmd = cmd.arg("--label-add").arg(format!("{k}={v}"));
    }
    cmd.arg(id.trim()).run().map(drop)
}

/// Whether a network of that name exists.
fn exists(target: &Target, network: &str) -> bool {
    (target.docker())
        .args(["network", "inspect", "--format", "{{.Name}}", network])
        .run()
        .is_ok()
}

/// Removes `docker_gwbridge` when it carries [`INIT_LABEL`], once the
/// swarm's sandboxes have let go of it (a few seconds after leaving).
fn remove_bridge(target: &Target) {
    let format = format!("{{{{index .Labels \"{INIT_LABEL}\"}}}}");
    for _ in 0..15 {
        let labelled = (target.docker())
            .args(["network", "inspect", "--format", &format, GWBRIDGE])
            .run();
        match labelled {
            Ok(l) if l.trim() == "true" => {}
            _ => return,
        }
        if (target.docker().args(["network", "rm", GWBRIDGE]).run()).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    eprintln!("note: {GWBRIDGE} is kept (still in use): `docker network rm {GWBRIDGE}` removes it");
}
