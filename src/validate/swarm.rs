//! Swarm mode: `system.mode: swarm`, hosts as Swarm nodes and each
//! service's placement, endpoint mode, update, rollback and restart
//! policy — resolved with lucid-gen's defaults — and the rules for what a
//! Swarm stack cannot do: a fixed port two tasks of a host-mode service
//! would share, an address to bind (Swarm publishes on every node
//! address), a placement no declared node satisfies, an isolated plane's
//! overlay sent in clear between nodes, a one-shot job (Swarm waits for
//! nothing: `depends_on` is ignored), a secret in the environment (it
//! would stand in the service spec), a network driver that is no overlay.
//! In compose mode any of these settings is refused rather than ignored.

use std::sync::Arc;

use crate::diagnostic::Kind;
use crate::model::raw::{self, DeployMode};
use crate::system::{Delivery, ServiceSwarm, SwarmNode, System, UpdatePolicy};

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    /// A service's `swarm:` with lucid-gen's defaults filled in.
    pub(super) fn service_swarm(&mut self, d: &Def<'_, raw::ServiceDef>) -> Arc<ServiceSwarm> {
        let Some(s) = &d.def.swarm else {
            return ServiceSwarm::shared_default();
        };
        let mut out = ServiceSwarm::default();
        let at = d.at(&p().key("swarm"));
        out.placement = (s.placement.iter())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.endpoint_mode = s.endpoint_mode;
        out.leave_out = s.leave_out.clone();
        if let Some(u) = &s.update {
            self.update_policy(u, &at.key("update"), &mut out.update);
        }
        if let Some(u) = &s.rollback {
            self.update_policy(u, &at.key("rollback"), &mut out.rollback);
        }
        if let Some(r) = &s.restart {
            let at = at.key("restart");
            if let Some(delay) = &r.delay {
                out.restart_delay = self.swarm_duration(delay, &at.key("delay"));
            }
            out.restart_max_attempts = r.max_attempts;
            out.restart_window =
                (r.window.as_ref()).map(|w| self.swarm_duration(w, &at.key("window")));
        }
        Arc::new(out)
    }

    fn update_policy(&mut self, u: &raw::UpdatePolicyDef, at: &At, out: &mut UpdatePolicy) {
        if let Some(n) = u.parallelism {
            out.parallelism = n;
        }
        if let Some(delay) = &u.delay {
            out.delay = self.swarm_duration(delay, &at.key("delay"));
        }
        if let Some(order) = u.order {
            out.order = order;
        }
        if let Some(action) = u.failure_action {
            out.failure_action = action;
        }
        if let Some(monitor) = &u.monitor {
            out.monitor = self.swarm_duration(monitor, &at.key("monitor"));
        }
    }

    /// A Go duration, as Swarm reads it; refused otherwise.
    fn swarm_duration(&mut self, value: &str, at: &At) -> String {
        if names::duration_nanos(value).is_err() {
            let value = value.to_string();
            self.report(at, Kind::InvalidDuration { value });
        }
        value.to_string()
    }

    /// A host's `swarm:`: its role and labels.
    pub(super) fn swarm_node(&mut self, d: &Def<'a, raw::HostDef>) -> Option<SwarmNode> {
        let s = d.def.swarm.as_ref()?;
        let at = d.at(&p().key("swarm").key("labels"));
        Some(SwarmNode {
            role: s.role,
            labels: self.labels(&s.labels, &at),
        })
    }

    /// The rules of swarm mode over the built system; in compose mode,
    /// every Swarm-only setting the model writes is refused.
    pub(super) fn swarm_rules(&mut self, m: &Merged<'a>, sys: &System) {
        if sys.mode == DeployMode::Compose {
            self.swarm_settings_in_compose_mode(m);
            return;
        }
        self.swarm_nodes(m, sys);
        for (i, (name, d)) in m.services.iter().enumerate() {
            let Some(s) = sys.services.get(i) else {
                continue;
            };
            let service = name.clone();
            let one_shot = d.def.run_once || d.def.initializes.is_some();
            if s.swarm.leave_out.is_some() && !one_shot {
                let at = d.at(&p().key("swarm").key("leave_out"));
                let service = service.clone();
                self.report(&at, Kind::SwarmLeaveOut { service });
            }
            if one_shot && s.swarm.leave_out.is_none() {
                let key = if d.def.initializes.is_some() {
                    "initializes"
                } else {
                    "run_once"
                };
                self.report(
                    &d.at(&p().key(key)),
                    Kind::SwarmOneShot {
                        service: service.clone(),
                    },
                );
            }
            for (j, u) in s.secrets.iter().enumerate() {
                if u.delivery == Delivery::Env && sys.swarm.env_secrets == raw::EnvSecrets::Refuse {
                    let secret = sys.secrets[u.secret].name.clone();
                    let at = d.at(&p().key("secrets").index(j));
                    let service = service.clone();
                    self.report(&at, Kind::SwarmSecretAsEnv { service, secret });
                }
            }
            self.swarm_secret_owner(m, sys, i);
            for (j, port) in s.ports.iter().enumerate() {
                let at = d.at(&p().key("ports").index(j));
                let loopback_unpublished =
                    sys.swarm.loopback_ports == raw::LoopbackPorts::Unpublished;
                let kept = port.host_ip.is_some_and(|ip| {
                    ip.is_unspecified() || (ip.is_loopback() && loopback_unpublished)
                });
                if port.host_ip.is_some() && !kept {
                    let port = port.container.0;
                    let service = service.clone();
                    self.report(&at.key("host_ip"), Kind::SwarmHostIp { service, port });
                }
            }
        }
        self.swarm_networks(m, sys);
    }

    /// Networks a stack file can carry: overlays, encrypted for isolated
    /// planes, without a gateway or IPv6.
    fn swarm_networks(&mut self, m: &Merged<'a>, sys: &System) {
        for (name, d) in &m.networks {
            let driver = &d.def.driver;
            if driver != "bridge" && driver != "overlay" {
                let (network, driver) = (name.clone(), driver.clone());
                self.report(
                    &d.at(&p().key("driver")),
                    Kind::SwarmNetworkDriver { network, driver },
                );
            }
            let found = sys.networks.iter().find(|n| &n.key == name);
            // The stack file format (docker/cli's compose schema 3.x) has
            // neither an IPAM gateway nor `enable_ipv6`.
            let unsupported = [
                // Docker's own choice (the subnet's first address) is
                // left out of the stack file, saying so.
                (
                    found
                        .is_some_and(|n| n.gateway.is_some() && n.gateway != n.subnet.first_host()),
                    "gateway",
                    "a gateway",
                ),
                (
                    found.is_some_and(|n| n.subnet.addr.is_ipv6()),
                    "subnet",
                    "an IPv6 subnet",
                ),
            ];
            for (_, key, what) in unsupported.into_iter().filter(|u| u.0) {
                let network = name.clone();
                self.report(
                    &d.at(&p().key(key)),
                    Kind::SwarmNetworkSetting { network, what },
                );
            }
            let isolated = sys
                .networks
                .iter()
                .find(|n| &n.key == name)
                .is_some_and(|n| sys.planes[n.plane].isolated && !n.encrypted);
            if isolated {
                let (network, plane) = (name.clone(), d.def.plane.clone());
                self.report(&d.here(), Kind::SwarmOverlayNotEncrypted { network, plane });
            }
        }
    }

    /// A service that mounts files needs a numeric uid/gid to own them.
    fn swarm_secret_owner(&mut self, m: &Merged<'a>, sys: &System, i: usize) {
        let (Some(s), Some((_, d))) = (sys.services.get(i), m.services.get_index(i)) else {
            return;
        };
        if s.numeric_owner().is_some() || crate::render::delivery::stack_mounts(sys, s).is_empty() {
            return;
        }
        let (at, why) = match s.image_user {
            true => (
                d.here(),
                "it runs a published image with no `user`, so its uid is unknown (a 0400 file owned by root is unreadable to a non-root image user)".to_string(),
            ),
            false => (
                d.at(&p().key("user")),
                format!("its user `{}` is not numeric", s.user),
            ),
        };
        let service = s.name.clone();
        self.report(&at, Kind::SwarmSecretOwner { service, why });
    }

    /// Placement some declared node satisfies, and a manager among the
    /// nodes.
    fn swarm_nodes(&mut self, m: &Merged<'a>, sys: &System) {
        let nodes: Vec<&SwarmNode> = sys.hosts.iter().filter_map(|h| h.swarm.as_ref()).collect();
        if !nodes.is_empty() && !nodes.iter().any(|n| n.role == raw::NodeRole::Manager) {
            if let Some(d) = m.hosts.values().find(|d| d.def.swarm.is_some()) {
                self.report(
                    &d.at(&p().key("swarm").key("role")),
                    Kind::SwarmNoManager {},
                );
            }
        }
        for (i, d) in m.services.values().enumerate() {
            let Some(s) = sys.services.get(i) else {
                continue;
            };
            if s.swarm.endpoint_mode == raw::EndpointMode::Dnsrr && s.replicas > 1 {
                for port in s.ports.iter().filter_map(|p| p.host) {
                    let at = d.at(&p().key("replicas"));
                    let (service, replicas, port) = (s.name.clone(), s.replicas, port.0);
                    let kind = Kind::SwarmHostModePort {
                        service,
                        replicas,
                        port,
                    };
                    self.report(&at, kind);
                }
            }
            if !s.swarm.placement.is_empty() && !nodes.iter().any(|n| fits(n, &s.swarm.placement)) {
                let labels = (s.swarm.placement.iter())
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let at = d.at(&p().key("swarm").key("placement"));
                let (service, nodes) = (s.name.clone(), nodes.len());
                self.report(
                    &at,
                    Kind::SwarmPlacement {
                        service,
                        labels,
                        nodes,
                    },
                );
            }
        }
    }

    /// Compose mode: a `swarm:` on a service or host, or `encrypted` on a
    /// network, would be ignored; each is refused where it is written.
    fn swarm_settings_in_compose_mode(&mut self, m: &Merged<'a>) {
        let mut found: Vec<(At, String)> = Vec::new();
        for (name, d) in &m.services {
            if d.def.swarm.is_some() {
                found.push((d.at(&p().key("swarm")), format!("service `{name}`")));
            }
        }
        for (name, d) in &m.hosts {
            if d.def.swarm.is_some() {
                found.push((d.at(&p().key("swarm")), format!("host `{name}`")));
            }
        }
        if let Some(d) = m.system.as_ref().filter(|d| d.def.swarm.is_some()) {
            found.push((d.at(&p().key("swarm")), "`system`".to_string()));
        }
        for (name, d) in &m.networks {
            if d.def.encrypted {
                found.push((d.at(&p().key("encrypted")), format!("network `{name}`")));
            }
        }
        for (at, what) in found {
            self.report(&at, Kind::SwarmOnly { what });
        }
    }
}

/// The node has every label of the placement, with its value.
fn fits(node: &SwarmNode, placement: &[(String, String)]) -> bool {
    (placement.iter()).all(|(k, v)| node.labels.iter().any(|(nk, nv)| nk == k && nv == v))
}
