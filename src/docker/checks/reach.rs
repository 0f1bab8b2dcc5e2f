//! Reachability rows of `lucid-gen test`: every declared dependency
//! reachable on its port from inside the dependant (stand-ins carry a
//! prober; for real images a probe container joins a network the two
//! share); an external service at the address and port the dependant's
//! own environment names; and the isolation matrix — a probe container on
//! each network resolves and reaches exactly the services on that network,
//! and reaches no other service even by IP address.

use std::collections::BTreeMap;

use super::probe_service::ProbeService;
use super::replicas::shown;
use super::report::Check;
use crate::docker::inventory::{Container, Found};
use crate::docker::target::Target;
use crate::docker::{DockerError, Workspace};
use crate::system::{Protocol, Service};

/// The port to probe a service on: its first TCP port.
fn probe_port(s: &Service) -> Option<u16> {
    s.ports
        .iter()
        .find(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.container.0)
}

/// Runs `standin probe many` in a container; returns check → (ok, line).
fn probe_many(
    target: &Target,
    container: &str,
    program: &str,
    checks: &[String],
) -> Result<BTreeMap<String, (bool, String)>, DockerError> {
    let mut results = BTreeMap::new();
    if checks.is_empty() {
        return Ok(results);
    }
    let out = (target.docker())
        .args(["exec", container, program, "probe", "many"])
        .args(checks)
        .output()?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(verdict), Some(check), rest) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let rest = rest.unwrap_or_default().to_string();
        // A refused connection reached the host: the network path exists.
        let ok = verdict == "ok" || rest.contains("refused");
        results.insert(check.to_string(), (ok, rest));
    }
    for c in checks {
        results
            .entry(c.clone())
            .or_insert((false, format!("no answer from the prober in {container}")));
    }
    Ok(results)
}

/// A probe container attached to one network, removed when dropped.
struct ProbeContainer {
    target: Target,
    name: String,
}

impl ProbeContainer {
    fn start(target: &Target, image: &str, network: &str) -> Result<ProbeContainer, DockerError> {
        let name = format!("lucid-gen-probe-{}-{}", network, std::process::id());
        let _ = target.docker().args(["rm", "-f", &name]).output();
        (target.docker())
            .args([
                "run",
                "-d",
                "--rm",
                "--name",
                &name,
                "--network",
                network,
                "--read-only",
                "--user",
                "65532:65532",
            ])
            .args(["--label", "lucid-gen.probe=1", image])
            .run()?;
        Ok(ProbeContainer {
            target: target.clone(),
            name,
        })
    }
}

impl Drop for ProbeContainer {
    fn drop(&mut self) {
        let _ = (self.target.docker())
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// Every dependency, external-service and isolation row, from probe
/// containers of `image` started on demand (and removed again).
///
/// With `swarm` (the manager; a swarm's overlays are not attachable, so a
/// helper container cannot join them), a running stand-in task attached
/// to that network alone probes it, and else a probe service pinned to
/// this node; isolation is probed here only from such a task (`swarm
/// test` probes the other networks from probe services, see
/// [`isolation_from_services`]).
pub fn checks(
    ws: &Workspace,
    target: &Target,
    found: &Found,
    image: String,
    swarm: Option<&Target>,
) -> Result<Vec<Check>, DockerError> {
    let mut tasks = BTreeMap::new();
    let standins =
        (found.values().flatten()).filter(|c| swarm.is_some() && c.running && c.stand_in);
    // Only a task on that one network (besides Swarm's `ingress`) can
    // stand for it: a bridge task would also reach the other plane.
    for c in standins {
        let nets: Vec<&String> = c.networks.keys().filter(|n| *n != "ingress").collect();
        if let [net] = nets[..] {
            tasks.entry(net.clone()).or_insert_with(|| c.id.clone());
        }
    }
    let mut probers = Probers {
        target: target.clone(),
        image,
        by_network: BTreeMap::new(),
        tasks,
        manager: swarm.cloned(),
    };
    let mut checks = dependency_checks(ws, found, &mut probers)?;
    checks.extend(external_checks(ws, found, &mut probers)?);
    let only: Vec<String> = probers.tasks.keys().cloned().collect();
    let only = probers.manager.is_some().then_some(&only[..]);
    checks.extend(isolation_checks(ws, found, &mut probers, only)?);
    Ok(checks)
}

/// The isolation rows of each of `networks` in a swarm, each probed from
/// a probe service of `image` on it alone, pinned to the manager's node
/// (`found`: the running tasks of every node).
pub fn isolation_from_services(
    ws: &Workspace,
    manager: &Target,
    found: &Found,
    image: String,
    networks: &[String],
) -> Result<Vec<Check>, DockerError> {
    let mut probers = Probers {
        target: manager.clone(),
        image,
        by_network: BTreeMap::new(),
        tasks: BTreeMap::new(),
        manager: Some(manager.clone()),
    };
    isolation_checks(ws, found, &mut probers, Some(networks))
}

/// A prober lucid-gen started: a container, or in a swarm a service.
enum Prober {
    Container(ProbeContainer),
    Service(ProbeService),
}

impl Prober {
    /// The container to `docker exec` the probes in.
    fn container(&self) -> &str {
        match self {
            Prober::Container(c) => &c.name,
            Prober::Service(s) => &s.container,
        }
    }
}

/// Probers started on demand, one per network; removed on drop.
struct Probers {
    target: Target,
    image: String,
    by_network: BTreeMap<String, Prober>,
    /// Network → a running stand-in task on it, which probes instead.
    tasks: BTreeMap<String, String>,
    /// In a swarm, the manager: probers are probe services it starts.
    manager: Option<Target>,
}

impl Probers {
    /// The container to probe `network` from, started if needed.
    fn on(&mut self, network: &str) -> Result<String, DockerError> {
        if let Some(task) = self.tasks.get(network) {
            return Ok(task.clone());
        }
        if !self.by_network.contains_key(network) {
            let probe = match &self.manager {
                Some(m) => {
                    Prober::Service(ProbeService::start(m, &self.target, &self.image, network)?)
                }
                None => {
                    Prober::Container(ProbeContainer::start(&self.target, &self.image, network)?)
                }
            };
            self.by_network.insert(network.to_string(), probe);
        }
        Ok(self.by_network[network].container().to_string())
    }
}

/// Every declared dependency reachable from inside the dependant (or, for
/// a real image without a prober, from a network both share), from each
/// of its running replicas.
fn dependency_checks(
    ws: &Workspace,
    found: &Found,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    for s in &ws.system.services {
        let running = found.get(&s.name).into_iter().flatten();
        for c in running.filter(|c| c.running) {
            checks.extend(dependencies_from(ws, s, c, probers)?);
        }
    }
    Ok(checks)
}

/// The dependency rows of one running container of `s`.
fn dependencies_from(
    ws: &Workspace,
    s: &Service,
    c: &Container,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let system = &ws.system;
    let mut checks = Vec::new();
    for d in &s.depends_on {
        let target = &system.services[*d];
        // A job is waited for, not reached: its row says it exited 0.
        if target.run_once {
            continue;
        }
        let check = match probe_port(target) {
            Some(port) => format!("tcp,{},{port},3000", target.name),
            None => format!("dns,{}", target.name),
        };
        let from = if c.stand_in {
            c.id.clone()
        } else {
            let Some(net) = s.networks.iter().find(|n| target.networks.contains(n)) else {
                continue;
            };
            probers.on(&system.networks[*net].name)?
        };
        let result = probe_many(
            &probers.target,
            &from,
            "/standin",
            std::slice::from_ref(&check),
        )?;
        let (ok, detail) = result
            .get(&check)
            .cloned()
            .unwrap_or((false, "no result".into()));
        checks.push(Check {
            kind: "dependency",
            from: shown(s, c),
            // The timeout only, never a port 3000 before it.
            target: (check.strip_suffix(",3000").unwrap_or(&check))
                .replacen(',', " ", 1)
                .replace(',', ":"),
            expect: "reachable",
            ok,
            detail,
        });
    }
    Ok(checks)
}

/// The prober's check for external service `e` as a dependant with
/// environment `env` sees it: `tcp,HOST,PORT,3000` from the variables
/// Compose filled (a fixed port from the model), or why there is none.
fn external_probe(
    e: &crate::system::ExternalService,
    env: &BTreeMap<String, String>,
) -> Result<String, String> {
    let var = |name: &str| {
        (env.get(name).filter(|v| !v.is_empty()))
            .cloned()
            .ok_or_else(|| format!("{name} is not set in the container"))
    };
    let host = var(&e.host_env)?;
    let port = match &e.port {
        crate::system::ExternalPort::Env(name) => var(name)?,
        crate::system::ExternalPort::Fixed(port) => port.to_string(),
    };
    if host.contains(',') || port.parse::<u16>().is_err() {
        return Err(format!("`{}` is no host and port", e.name));
    }
    Ok(format!("tcp,{host},{port},3000"))
}

/// Every external service a running service depends on reachable from
/// inside each of its containers (a stand-in) or from a probe on its first
/// network.
fn external_checks(
    ws: &Workspace,
    found: &Found,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let system = &ws.system;
    let mut checks = Vec::new();
    for s in &system.services {
        let running = found.get(&s.name).into_iter().flatten();
        for c in running.filter(|c| c.running) {
            for e in s.external_deps.iter().map(|&e| &system.externals[e]) {
                let (ok, detail) = match external_probe(e, &c.env) {
                    Err(why) => (false, why),
                    Ok(check) => {
                        let from = match (c.stand_in, s.networks.first()) {
                            (true, _) => c.id.clone(),
                            (false, Some(net)) => probers.on(&system.networks[*net].name)?,
                            (false, None) => continue,
                        };
                        let result = probe_many(
                            &probers.target,
                            &from,
                            "/standin",
                            std::slice::from_ref(&check),
                        )?;
                        let (ok, detail) =
                            (result.get(&check).cloned()).unwrap_or((false, "no result".into()));
                        // Unlike a stand-in, an external service must accept:
                        // a refused connection means nothing serves there.
                        (ok && !detail.contains("refused"), detail)
                    }
                };
                checks.push(Check {
                    kind: "external",
                    from: shown(s, c),
                    target: e.name.clone(),
                    expect: "reachable",
                    ok,
                    detail,
                });
            }
        }
    }
    Ok(checks)
}

/// The isolation matrix: from one probe per network, every service on it
/// reachable by name and port, every other one neither by name nor by IP.
/// `only` (a swarm): the networks to probe here; a probe service that
/// does not start fails its network's row.
fn isolation_checks(
    ws: &Workspace,
    found: &Found,
    probers: &mut Probers,
    only: Option<&[String]>,
) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    for net in &ws.system.networks {
        if !(found.values().flatten()).any(|c| c.networks.contains_key(&net.name)) {
            continue;
        }
        if only.is_some_and(|o| !o.contains(&net.name)) {
            continue;
        }
        let prober = match (probers.on(&net.name), only) {
            (Ok(p), _) => p,
            (Err(e), None) => return Err(e),
            (Err(e), Some(_)) => {
                checks.push(Check {
                    kind: "isolation",
                    from: format!("net {}", net.name),
                    target: "probe service".into(),
                    expect: "running",
                    ok: false,
                    detail: e.to_string().replace('\n', " "),
                });
                continue;
            }
        };
        let swarm = probers.manager.is_some();
        let wanted = isolation_wanted(ws, found, &net.name, swarm);
        let list: Vec<String> = wanted.iter().map(|(c, _, _)| c.clone()).collect();
        let results = probe_many(&probers.target, &prober, "/standin", &list)?;
        for (check, service, reachable) in wanted {
            let (got, detail) = results
                .get(&check)
                .cloned()
                .unwrap_or((false, "no result".into()));
            let what = check.split(',').take(3).collect::<Vec<_>>();
            let dns = what[0] == "dns";
            checks.push(Check {
                kind: if dns {
                    "isolation-dns"
                } else {
                    "isolation-tcp"
                },
                from: format!("net {}", net.name),
                target: if dns {
                    service
                } else {
                    format!("{service} ({}:{})", what[1], what[2])
                },
                expect: if reachable {
                    "reachable"
                } else {
                    "unreachable"
                },
                ok: got == reachable,
                detail,
            });
        }
    }
    Ok(checks)
}

/// The probes to run from `network`: (probe spec, service, reachable?).
/// Each replica is probed by its own address too: reachable on the
/// network, unreachable off it.
/// With `everywhere` (a swarm, whose other nodes' tasks are not in
/// `found`), every service the model keeps off `network` must not resolve
/// on it either.
fn isolation_wanted(
    ws: &Workspace,
    found: &Found,
    network: &str,
    everywhere: bool,
) -> Vec<(String, String, bool)> {
    let mut wanted: Vec<(String, String, bool)> = Vec::new();
    let mut want = |check: String, service: &str, reachable: bool| {
        if !wanted.iter().any(|(c, _, _)| *c == check) {
            wanted.push((check, service.to_string(), reachable));
        }
    };
    for c in found.values().flatten().filter(|c| c.running) {
        let Some(s) = ws.system.service(&c.service) else {
            continue;
        };
        let port = probe_port(s).unwrap_or(9);
        let on = c.networks.contains_key(network);
        want(format!("dns,{}", s.name), &s.name, on);
        if on {
            want(format!("tcp,{},{port},3000", s.name), &s.name, true);
            if s.replicas > 1 {
                if let Some(ip) = c.networks.get(network).filter(|ip| !ip.is_empty()) {
                    want(format!("tcp,{ip},{port},3000"), &shown(s, c), true);
                }
            }
        } else {
            for ip in c.networks.values().filter(|ip| !ip.is_empty()) {
                want(format!("tcp,{ip},{port},700"), &shown(s, c), false);
            }
        }
    }
    for s in ws.system.services.iter().filter(|_| everywhere) {
        if !(s.networks.iter()).any(|&n| ws.system.networks[n].name == network) {
            want(format!("dns,{}", s.name), &s.name, false);
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{ExternalPort, ExternalService};

    #[test]
    fn an_external_service_is_probed_where_the_dependants_environment_says() {
        let db = ExternalService {
            name: "orders-db".into(),
            description: None,
            host_env: "DB_HOST".into(),
            port: ExternalPort::Env("DB_PORT".into()),
        };
        let env = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            (pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect()
        };
        let both = env(&[("DB_HOST", "db.example.net"), ("DB_PORT", "6432")]);
        assert_eq!(
            external_probe(&db, &both).unwrap(),
            "tcp,db.example.net,6432,3000"
        );
        let no_port = env(&[("DB_HOST", "db.example.net"), ("DB_PORT", "")]);
        assert_eq!(
            external_probe(&db, &no_port).unwrap_err(),
            "DB_PORT is not set in the container"
        );
        let bad = env(&[("DB_HOST", "a,b"), ("DB_PORT", "6432")]);
        assert!(external_probe(&db, &bad).is_err());
        let fixed = ExternalService {
            port: ExternalPort::Fixed(587),
            ..db
        };
        let host = env(&[("DB_HOST", "10.0.0.5")]);
        assert_eq!(
            external_probe(&fixed, &host).unwrap(),
            "tcp,10.0.0.5,587,3000"
        );
    }
}
