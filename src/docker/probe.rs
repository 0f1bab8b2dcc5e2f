//! `lucid-gen test`: checks the running system from the inside.
//!
//! * every service has a running container, healthy when it has a check;
//! * its environment holds exactly the generated values (env files, then
//!   secrets, then `environment`), compared without printing any value;
//! * no image holds a secret value in its config or build history;
//! * every declared dependency is reachable on its port from inside the
//!   dependant (stand-ins carry a prober; for real images a probe container
//!   joins a network the two share); an external service at the address and
//!   port the dependant's own environment names;
//! * the isolation matrix: a probe container on each network resolves and
//!   reaches exactly the services on that network, and reaches no other
//!   service even by IP address.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub(super) use super::replicas::Found;
use super::replicas::{replicas_check, running_check, shown};
use super::standin::{self, LABEL};
use super::{Cmd, Deployment, DockerError};
use crate::system::{Protocol, Service, System};

pub struct TestOptions {
    pub project: Option<String>,
    /// One JSON object per check on stdout instead of the table.
    pub json: bool,
    /// Also write the checks as a JUnit XML report to this file.
    pub junit: Option<std::path::PathBuf>,
}

/// A running container of one service (also read by `plan`).
pub(super) struct Container {
    pub(super) id: String,
    pub(super) service: String,
    pub(super) running: bool,
    pub(super) health: Option<String>,
    /// The exit status once it stopped (one-shot jobs).
    exit_code: Option<i64>,
    /// When it last started (RFC 3339), for `secret_check::stale_mounts`.
    pub(super) started_at: String,
    pub(super) env: BTreeMap<String, String>,
    /// Every label, for `plan`'s content hashes.
    pub(super) labels: BTreeMap<String, String>,
    image_id: String,
    stand_in: bool,
    /// Network name → IPv4 address.
    networks: BTreeMap<String, String>,
    /// Compose's replica number (`com.docker.compose.container-number`).
    pub(super) number: u32,
}

/// One row of the report.
pub(super) struct Check {
    pub(super) kind: &'static str,
    pub(super) from: String,
    pub(super) target: String,
    pub(super) expect: &'static str,
    pub(super) ok: bool,
    pub(super) detail: String,
}

fn inspect(ids: &[String]) -> Result<Vec<Value>, DockerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = Cmd::docker().arg("inspect").args(ids).run()?;
    serde_json::from_str(&out)
        .map_err(|e| DockerError::Other(format!("cannot read docker inspect output: {e}")))
}

pub(super) fn containers(projects: &[String]) -> Result<Found, DockerError> {
    let mut ids = Vec::new();
    for p in projects {
        let out = Cmd::docker()
            .args(["ps", "-a", "-q", "--no-trunc", "--filter"])
            .arg(format!("label=com.docker.compose.project={p}"))
            .run()?;
        ids.extend(out.lines().map(str::to_string));
    }
    let mut found = Found::new();
    for c in inspect(&ids)? {
        let labels = &c["Config"]["Labels"];
        let Some(service) = labels["com.docker.compose.service"].as_str() else {
            continue;
        };
        let env = c["Config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let networks = c["NetworkSettings"]["Networks"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, n)| {
                (
                    name.clone(),
                    n["IPAddress"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let number = labels["com.docker.compose.container-number"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        found
            .entry(service.to_string())
            .or_default()
            .push(Container {
                id: c["Id"].as_str().unwrap_or_default().to_string(),
                service: service.to_string(),
                running: c["State"]["Running"].as_bool().unwrap_or(false),
                health: c["State"]["Health"]["Status"].as_str().map(str::to_string),
                exit_code: c["State"]["ExitCode"].as_i64(),
                started_at: c["State"]["StartedAt"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                env,
                labels: (labels.as_object().into_iter().flatten())
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect(),
                image_id: c["Image"].as_str().unwrap_or_default().to_string(),
                stand_in: labels[LABEL].is_string(),
                networks,
                number,
            });
    }
    for list in found.values_mut() {
        list.sort_by_key(|c| c.number);
    }
    Ok(found)
}

/// The environment a service must see: its env files in order, the
/// secrets it receives as variables (its own secrets env file, read last),
/// then its own `environment`.
pub(super) fn expected_env(
    system: &System,
    s: &Service,
    secrets: &crate::secrets::SecretValues,
) -> BTreeMap<String, String> {
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

/// The port to probe a service on: its first TCP port.
fn probe_port(s: &Service) -> Option<u16> {
    s.ports
        .iter()
        .find(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.container.0)
}

/// Runs `standin probe many` in a container; returns check → (ok, line).
fn probe_many(
    container: &str,
    program: &str,
    checks: &[String],
) -> Result<BTreeMap<String, (bool, String)>, DockerError> {
    let mut results = BTreeMap::new();
    if checks.is_empty() {
        return Ok(results);
    }
    let out = Cmd::docker()
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
    name: String,
}

impl ProbeContainer {
    fn start(image: &str, network: &str) -> Result<ProbeContainer, DockerError> {
        let name = format!("lucid-gen-probe-{}-{}", network, std::process::id());
        let _ = Cmd::docker().args(["rm", "-f", &name]).output();
        Cmd::docker()
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
        Ok(ProbeContainer { name })
    }
}

impl Drop for ProbeContainer {
    fn drop(&mut self) {
        let _ = Cmd::docker().args(["rm", "-f", &self.name]).output();
    }
}

/// `lucid-gen test`: every check against the running system, printed as a
/// table; `Ok(true)` when all passed.
pub fn run(dep: &Deployment, opts: &TestOptions) -> Result<bool, DockerError> {
    let plans = dep.plans(None)?;
    let projects: Vec<String> = plans
        .iter()
        .map(|p| dep.project(p, opts.project.as_deref()))
        .collect();
    let found = containers(&projects)?;
    let mut checks = service_checks(dep, &found);
    checks.extend(image_checks(dep, &found)?);
    let pairs = (found.values().flatten()).map(|c| (c.service.as_str(), c.id.as_str()));
    checks.extend(
        super::secret_check::checks(dep, pairs)?
            .into_iter()
            .map(|r| Check {
                kind: r.kind,
                from: r.from,
                target: r.target,
                expect: r.expect,
                ok: r.ok,
                detail: r.detail,
            }),
    );
    let mut probers = Probers {
        image: standin::probe_image(dep)?,
        by_network: BTreeMap::new(),
    };
    checks.extend(dependency_checks(dep, &found, &mut probers)?);
    checks.extend(external_checks(dep, &found, &mut probers)?);
    checks.extend(isolation_checks(dep, &found, &mut probers)?);
    drop(probers);
    if let Some(path) = &opts.junit {
        // Written beside and renamed into place: a link or FIFO at the
        // path is replaced, never followed or left waiting for a reader.
        crate::write::atomic_write(path, junit(&checks).as_bytes(), false)
            .map_err(|e| DockerError::Other(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(if opts.json {
        report_json(&checks)
    } else {
        report(&checks)
    })
}

/// Probe containers started on demand, one per network; removed on drop.
struct Probers {
    image: String,
    by_network: BTreeMap<String, ProbeContainer>,
}

impl Probers {
    /// The name of the probe container on `network`, started if needed.
    fn on(&mut self, network: &str) -> Result<String, DockerError> {
        if !self.by_network.contains_key(network) {
            let probe = ProbeContainer::start(&self.image, network)?;
            self.by_network.insert(network.to_string(), probe);
        }
        Ok(self.by_network[network].name.clone())
    }
}

/// Every service running (healthy when it has a check), its environment
/// as generated (names only in the report: values may be secrets).
fn service_checks(dep: &Deployment, found: &Found) -> Vec<Check> {
    let mut checks = Vec::new();
    for s in &dep.system.services {
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
            checks.push(env_check(dep, s, c));
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

fn env_check(dep: &Deployment, s: &Service, c: &Container) -> Check {
    let expected = expected_env(&dep.system, s, &dep.secrets);
    let wrong: Vec<&str> = expected
        .iter()
        .filter(|(k, v)| c.env.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    Check {
        kind: "env",
        from: shown(s, c),
        target: format!("{} variables", expected.len()),
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
fn image_checks(dep: &Deployment, found: &Found) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    let images: BTreeSet<&str> = (found.values().flatten())
        .map(|c| c.image_id.as_str())
        .collect();
    for image in images {
        let config = Cmd::docker().args(["image", "inspect", image]).run()?;
        let history = Cmd::docker()
            .args(["history", "--no-trunc", "--format", "{{.CreatedBy}}", image])
            .run()?;
        let leaked: Vec<&str> = dep
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
            target: format!("{} secrets", dep.secrets.names().count()),
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

/// Every declared dependency reachable from inside the dependant (or, for
/// a real image without a prober, from a network both share), from each
/// of its running replicas.
fn dependency_checks(
    dep: &Deployment,
    found: &Found,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    for s in &dep.system.services {
        let running = found.get(&s.name).into_iter().flatten();
        for c in running.filter(|c| c.running) {
            checks.extend(dependencies_from(dep, s, c, probers)?);
        }
    }
    Ok(checks)
}

/// The dependency rows of one running container of `s`.
fn dependencies_from(
    dep: &Deployment,
    s: &Service,
    c: &Container,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let system = &dep.system;
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
        let result = probe_many(&from, "/standin", std::slice::from_ref(&check))?;
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
    dep: &Deployment,
    found: &Found,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let system = &dep.system;
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
                        let result = probe_many(&from, "/standin", std::slice::from_ref(&check))?;
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
fn isolation_checks(
    dep: &Deployment,
    found: &Found,
    probers: &mut Probers,
) -> Result<Vec<Check>, DockerError> {
    let mut checks = Vec::new();
    for net in &dep.system.networks {
        if !(found.values().flatten()).any(|c| c.networks.contains_key(&net.name)) {
            continue;
        }
        let prober = probers.on(&net.name)?;
        let wanted = isolation_wanted(dep, found, &net.name);
        let list: Vec<String> = wanted.iter().map(|(c, _, _)| c.clone()).collect();
        let results = probe_many(&prober, "/standin", &list)?;
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
fn isolation_wanted(dep: &Deployment, found: &Found, network: &str) -> Vec<(String, String, bool)> {
    let mut wanted: Vec<(String, String, bool)> = Vec::new();
    let mut want = |check: String, service: &str, reachable: bool| {
        if !wanted.iter().any(|(c, _, _)| *c == check) {
            wanted.push((check, service.to_string(), reachable));
        }
    };
    for c in found.values().flatten().filter(|c| c.running) {
        let Some(s) = dep.system.service(&c.service) else {
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
    wanted
}

/// Prints the table and the summary line; true when nothing failed.
fn report(checks: &[Check]) -> bool {
    let failed = checks.iter().filter(|c| !c.ok).count();
    println!(
        "{:<14} {:<34} {:<52} {:<12} RESULT",
        "CHECK", "FROM", "TARGET", "EXPECT"
    );
    for c in checks {
        println!(
            "{:<14} {:<34} {:<52} {:<12} {}{}",
            c.kind,
            c.from,
            c.target,
            c.expect,
            if c.ok { "ok" } else { "FAIL" },
            if c.ok || c.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.detail)
            }
        );
    }
    println!("test: {} checks, {failed} failed", checks.len());
    failed == 0
}

/// One JSON object per check on stdout (`kind`, `from`, `target`,
/// `expect`, `ok`, `detail`), the summary on stderr; true when nothing
/// failed.
fn report_json(checks: &[Check]) -> bool {
    for c in checks {
        let line = serde_json::json!({
            "kind": c.kind, "from": c.from, "target": c.target,
            "expect": c.expect, "ok": c.ok, "detail": c.detail,
        });
        println!("{}", crate::escape::json_line(&line));
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    eprintln!("test: {} checks, {failed} failed", checks.len());
    failed == 0
}

/// The checks as a JUnit XML report: one `testsuite` per check family,
/// one `testcase` per check (`classname` the family, `name` from and
/// target), a `failure` with the detail for each failed one.
fn junit(checks: &[Check]) -> String {
    use crate::escape::xml_text;
    let mut kinds: Vec<&str> = checks.iter().map(|c| c.kind).collect();
    kinds.dedup();
    kinds.sort_unstable();
    kinds.dedup();
    let failed = checks.iter().filter(|c| !c.ok).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"lucid-gen test\" tests=\"{}\" failures=\"{failed}\" errors=\"0\">\n",
        checks.len()
    ));
    for kind in kinds {
        let family: Vec<&Check> = checks.iter().filter(|c| c.kind == kind).collect();
        let failures = family.iter().filter(|c| !c.ok).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
            xml_text(kind),
            family.len()
        ));
        for c in family {
            let name = xml_text(&format!("{} -> {} ({})", c.from, c.target, c.expect));
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{name}\"",
                xml_text(kind)
            );
            if c.ok {
                out.push_str(&format!("{open}/>\n"));
            } else {
                let message = xml_text(&c.detail);
                out.push_str(&format!(
                    "{open}>\n      <failure message=\"{message}\" type=\"{}\">{message}</failure>\n    </testcase>\n",
                    xml_text(kind)
                ));
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
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
