//! One Compose service → one model service, key family by key family.
//! Each method maps what the model can hold and lists the rest (with its
//! file and line) as not expressible; pure.

use std::path::Path;

use super::compose::{literal, Service};
use super::draft::*;
use super::map::Mapper;
use super::secret_moves::secret_target;
use crate::model::YamlPath;
use crate::validate::names;

impl Mapper<'_> {
    pub(super) fn image_and_build(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        d.image = s.image.as_deref().map(literal);
        let Some(b) = &s.build else { return };
        let at = path.key("build");
        for (key, value) in &b.rest {
            if !super::compose::is_empty(value) {
                let why = match key.as_str() {
                    "target" => {
                        "the model builds a Dockerfile's last stage: it has no build target"
                    }
                    "args" => "the model has no build arguments",
                    "dockerfile_inline" => {
                        "the model builds a Dockerfile file (build.dockerfile), not inline text"
                    }
                    _ => "the model's build has context and Dockerfile only",
                };
                self.unmapped_at(Some(&d.name), at.key(key.as_str()), why);
            }
        }
        let context = literal(&b.context);
        let Some(rel) = self.relative_context(&context) else {
            let why = "a context outside the project directory, or remote: the model builds from the source tree; the service runs its image only";
            self.unmapped_at(Some(&d.name), at.key("context"), why);
            return;
        };
        let dockerfile = literal(b.dockerfile.as_deref().unwrap_or("Dockerfile"));
        let dockerfile = match Path::new(&dockerfile).strip_prefix(&context) {
            Ok(inside) => inside.display().to_string(),
            Err(_) => dockerfile,
        };
        if !names::is_relative_path(&dockerfile) {
            let why = "a Dockerfile outside the build context: the model's hand-written Dockerfile lies inside it";
            self.unmapped_at(Some(&d.name), at.key("dockerfile"), why);
            return;
        }
        d.build = Some(BuildDraft {
            context: rel,
            dockerfile,
        });
    }

    /// A context directory relative to the project directory, when inside.
    fn relative_context(&self, context: &str) -> Option<String> {
        let project_dir = &self.input.sources.project_dir;
        let inside = Path::new(context)
            .strip_prefix(project_dir)
            .ok()
            .or_else(|| {
                let real = std::path::absolute(project_dir).ok()?;
                Path::new(context).strip_prefix(real).ok()
            })?;
        let rel = inside.display().to_string();
        let rel = rel.trim_end_matches('/').to_string();
        let rel = if rel.is_empty() { ".".to_string() } else { rel };
        names::is_relative_path(&rel).then_some(rel)
    }

    pub(super) fn attachments(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        match &s.networks {
            Some(networks) => {
                for (key, attachment) in networks {
                    d.networks.push(key.clone());
                    if let Some(a) = attachment {
                        let at = path.key("networks").key(key.as_str());
                        self.rest(Some(&d.name), &at, &a.rest);
                    }
                }
            }
            None => {
                d.networks.push("default".into());
                let text = "joins the network `default`: the model joins every service that runs to a network".into();
                self.report.note(Some(&d.name), text);
            }
        }
        d.plane = (d.networks.first())
            .and_then(|n| self.plane_of.get(n).cloned())
            .unwrap_or_else(|| "app".into());
    }

    pub(super) fn ports(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        for (i, p) in s.ports.iter().enumerate() {
            let at = path.key("ports").index(i);
            self.rest(Some(&d.name), &at, &p.rest);
            let udp = match p.protocol.as_deref() {
                None | Some("tcp") => false,
                Some("udp") => true,
                Some(_) => {
                    self.unmapped_at(
                        Some(&d.name),
                        at.key("protocol"),
                        "the model's protocols are tcp and udp",
                    );
                    continue;
                }
            };
            if p.mode.as_deref().is_some_and(|m| m != "ingress") {
                self.unmapped_at(
                    Some(&d.name),
                    at.key("mode"),
                    "a Swarm port mode: the model publishes ports the Compose way",
                );
            }
            let host = match p.published.as_deref().map(str::parse::<u32>) {
                Some(Ok(h)) => Some(h),
                Some(Err(_)) | None => {
                    let why = "a host port Docker picks at run time: the model publishes a fixed port or none, so this one is only exposed to other containers";
                    self.unmapped_at(Some(&d.name), at.key("published"), why);
                    None
                }
            };
            let port = PortDraft {
                container: p.target,
                host,
                udp,
                host_ip: p.host_ip.clone().filter(|_| host.is_some()),
                name: p.name.as_deref().map(literal),
            };
            if !d.ports.contains(&port) {
                d.ports.push(port);
            }
        }
        for (i, e) in s.expose.iter().enumerate() {
            let (range, proto) = e.split_once('/').unwrap_or((e.as_str(), "tcp"));
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) else {
                self.unmapped_at(
                    Some(&d.name),
                    path.key("expose").index(i),
                    "not a port or port range",
                );
                continue;
            };
            for container in lo..=hi.min(lo + 1000) {
                let udp = proto == "udp";
                if !d
                    .ports
                    .iter()
                    .any(|p| p.container == container && p.udp == udp)
                {
                    d.ports.push(PortDraft {
                        container,
                        host: None,
                        udp,
                        host_ip: None,
                        name: None,
                    });
                }
            }
        }
    }

    pub(super) fn environment(
        &mut self,
        d: &mut ServiceDraft,
        s: &Service,
        path: &YamlPath,
        env_keys: Option<&Vec<String>>,
    ) {
        // What the service's model env files give it, the later winning.
        let mut provided: Vec<(String, String)> = Vec::new();
        if let Some(keys) = env_keys {
            d.env_files = Some(keys.clone());
            for key in keys {
                let file = self.draft.env_files.iter().find(|e| &e.key == key);
                for (k, v) in file.into_iter().flat_map(|f| &f.vars) {
                    provided.retain(|(p, _)| p != k);
                    provided.push((k.clone(), v.clone()));
                }
            }
        }
        for (var, value) in &s.environment {
            if self
                .moves
                .variables
                .contains_key(&(d.name.clone(), var.clone()))
            {
                continue;
            }
            let Some(value) = value.as_deref().map(literal) else {
                let why = "a variable without a value (Compose passes it from the shell when set): the model writes values; give it one, or list it under required_env";
                self.unmapped_at(
                    Some(&d.name),
                    path.key("environment").key(var.as_str()),
                    why,
                );
                continue;
            };
            if provided.iter().any(|(k, v)| k == var && *v == value) {
                continue;
            }
            d.environment.push((var.clone(), value));
        }
    }

    pub(super) fn delivered_secrets(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        for var in s.environment.keys() {
            if let Some(secret) = self.moves.variables.get(&(d.name.clone(), var.clone())) {
                d.secrets.push(SecretUseDraft {
                    name: secret.clone(),
                    file: None,
                });
            }
        }
        for (i, u) in s.secrets.iter().enumerate() {
            let at = path.key("secrets").index(i);
            for key in u.rest.keys() {
                let why = "Compose ignores a secret's uid, gid and mode outside Swarm; lucid-gen mounts it readable (0444) in a directory only its owner may enter (0700)";
                self.unmapped_at(Some(&d.name), at.key(key.as_str()), why);
            }
            let Some(name) = self.moves.files.get(&u.source).cloned() else {
                continue;
            };
            d.secrets.push(SecretUseDraft {
                name,
                file: Some(secret_target(&u.source, u.target.as_deref())),
            });
        }
    }

    pub(super) fn health(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        let Some(h) = &s.healthcheck else { return };
        let at = path.key("healthcheck");
        self.rest(Some(&d.name), &at, &h.rest);
        let test: Vec<String> = h.test.iter().flatten().map(|t| literal(t)).collect();
        let exec = match test.split_first() {
            _ if h.disable == Some(true) => None,
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
            Some((kind, [command])) if kind == "CMD-SHELL" => {
                Some(vec!["/bin/sh".into(), "-c".into(), command.clone()])
            }
            _ => None,
        };
        let Some(exec) = exec else {
            let text = "has no health check (the compose file turns it off)".into();
            self.report.note(Some(&d.name), text);
            return;
        };
        d.health = Some(HealthDraft {
            exec,
            interval: h.interval.clone(),
            timeout: h.timeout.clone(),
            retries: h.retries,
            start_period: h.start_period.clone(),
            filled: None,
        });
    }

    pub(super) fn resources(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        let deploy = s.deploy.as_ref();
        let at = path.key("deploy");
        let resources = deploy.and_then(|x| x.resources.as_ref());
        let limits = resources.and_then(|r| r.limits.as_ref());
        let reservations = resources.and_then(|r| r.reservations.as_ref());
        let memory = limits
            .and_then(|l| l.memory.as_ref())
            .or(s.mem_limit.as_ref());
        d.resources.memory = memory.and_then(size);
        let cpus = limits.and_then(|l| l.cpus.as_ref()).or(s.cpus.as_ref());
        d.resources.cpus = cpus.and_then(number).filter(|c| *c > 0.0);
        let pids = limits
            .and_then(|l| l.pids.as_ref())
            .or(s.pids_limit.as_ref());
        d.security.pids_limit = pids
            .and_then(number)
            .filter(|p| *p >= 1.0)
            .map(|p| p as u32);
        let reserved = reservations
            .and_then(|r| r.memory.as_ref())
            .or(s.mem_reservation.as_ref());
        d.resources.memory_reservation = reserved.and_then(size);
        if let Some(x) = deploy {
            self.rest(Some(&d.name), &at, &x.rest);
            d.replicas = x.replicas.filter(|n| *n != 1);
        }
        if let Some(r) = resources {
            self.rest(Some(&d.name), &at.key("resources"), &r.rest);
        }
        if let Some(l) = limits {
            self.rest(Some(&d.name), &at.key("resources").key("limits"), &l.rest);
        }
        if let Some(r) = reservations {
            let at = at.key("resources").key("reservations");
            self.rest(Some(&d.name), &at, &r.rest);
            if r.cpus.is_some() {
                self.unmapped_at(
                    Some(&d.name),
                    at.key("cpus"),
                    "the model reserves memory only",
                );
            }
        }
        if d.replicas.is_none() {
            d.replicas = s.scale.filter(|n| *n != 1);
        }
    }

    pub(super) fn security(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        let cite = |m: &Self, key: &str| {
            m.cite(&path.key(key))
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        };
        for (i, cap) in s.cap_add.iter().enumerate() {
            let name = names::normalize_capability(cap);
            let why = match name.as_str() {
                "ALL" | "SYS_ADMIN" => "lucid-gen never adds back ALL or SYS_ADMIN",
                n if !names::CAPABILITIES.contains(&n) => "not a Linux capability",
                _ => {
                    let reason = format!(
                        "imported: the compose file added it{}; say why it is needed",
                        cite(self, "cap_add")
                    );
                    d.security.cap_add.push((name, reason));
                    continue;
                }
            };
            self.unmapped_at(Some(&d.name), path.key("cap_add").index(i), why);
        }
        for (i, opt) in s.security_opt.iter().enumerate() {
            if !opt.starts_with("no-new-privileges") {
                let why = "the model sets no-new-privileges only (no seccomp, AppArmor or SELinux profiles)";
                self.unmapped_at(Some(&d.name), path.key("security_opt").index(i), why);
            }
        }
        if s.read_only == Some(false) {
            let text = "ran with a writable root filesystem, now read-only (security.writable_root with a reason keeps it writable)".into();
            self.report.note(Some(&d.name), text);
        }
        for (i, t) in s.tmpfs.iter().enumerate() {
            let (target, options) = t.split_once(':').unwrap_or((t.as_str(), ""));
            if !options.is_empty() {
                let why = "the model's tmpfs mounts have no options";
                self.unmapped_at(Some(&d.name), path.key("tmpfs").index(i), why);
            }
            add_tmpfs(d, target);
        }
        d.init = s.init == Some(true);
        if let Some(user) = s.user.as_deref().map(literal) {
            if names::is_root_user(&user) {
                let reason = format!("imported: the compose file runs it as root{}; say why it must, or give it another user", cite(self, "user"));
                d.security.run_as_root = Some(reason);
            }
            d.user = Some(user);
        }
    }

    pub(super) fn volumes(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        for (i, m) in s.volumes.iter().enumerate() {
            let at = path.key("volumes").index(i);
            let why = match (m.kind.as_str(), &m.source) {
                ("volume", Some(source)) => {
                    self.rest(Some(&d.name), &at, &m.rest);
                    d.volumes.push(VolumeDraft {
                        name: literal(source),
                        target: literal(&m.target),
                        read_only: m.read_only == Some(true),
                    });
                    continue;
                }
                ("tmpfs", _) => {
                    add_tmpfs(d, &literal(&m.target));
                    self.rest(Some(&d.name), &at, &m.rest);
                    continue;
                }
                ("volume", None) => "an anonymous volume: the model mounts named volumes only (name it to keep its data between runs)",
                ("bind", _) => "a bind mount of a host path: the model has no bind mounts yet; put the data in a named volume, a config file (config_files) or the image",
                _ => "the model mounts named volumes and tmpfs only",
            };
            self.unmapped_at(Some(&d.name), at, why);
        }
    }

    pub(super) fn dependencies(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        for (dep, x) in &s.depends_on {
            d.depends_on.push(dep.clone());
            let at = path.key("depends_on").key(dep.as_str());
            self.rest(Some(&d.name), &at, &x.rest);
            if x.required == Some(false) {
                self.unmapped_at(
                    Some(&d.name),
                    at.key("required"),
                    "the model's dependencies are always required",
                );
            }
            if x.restart == Some(true) {
                self.unmapped_at(
                    Some(&d.name),
                    at.key("restart"),
                    "the model does not restart a dependant with its dependency",
                );
            }
        }
    }

    pub(super) fn process(&mut self, d: &mut ServiceDraft, s: &Service, path: &YamlPath) {
        let list = |v: &Option<Vec<String>>| {
            v.as_ref()
                .map(|v| v.iter().map(|x| literal(x)).collect::<Vec<_>>())
        };
        d.command = list(&s.command).filter(|v| !v.is_empty());
        d.entrypoint = list(&s.entrypoint).filter(|v| !v.is_empty());
        for (key, value) in [("command", &s.command), ("entrypoint", &s.entrypoint)] {
            if value.as_ref().is_some_and(Vec::is_empty) {
                self.unmapped_at(
                    Some(&d.name),
                    path.key(key),
                    "an empty list (the image's own cleared): the model leaves an empty one out",
                );
            }
        }
        d.restart = match s.restart.as_deref() {
            None => None,
            Some(r @ ("no" | "always" | "on-failure" | "unless-stopped")) => Some(r.to_string()),
            Some(r) if r.starts_with("on-failure:") => {
                self.unmapped_at(
                    Some(&d.name),
                    path.key("restart"),
                    "the model's on-failure has no retry count",
                );
                Some("on-failure".into())
            }
            Some(_) => {
                self.unmapped_at(
                    Some(&d.name),
                    path.key("restart"),
                    "not a restart policy the model knows",
                );
                None
            }
        };
        d.labels = (s.labels.iter())
            .map(|(k, v)| (literal(k), literal(v)))
            .collect();
    }

    /// A service others wait for to complete is a one-shot job: no
    /// ports, health check, restart policy or replicas.
    pub(super) fn one_shot(&mut self, d: &mut ServiceDraft, s: &Service) {
        if !d.run_once {
            return;
        }
        let path = YamlPath::root().key("services").key(d.name.as_str());
        if !d.ports.is_empty() || d.replicas.is_some() {
            d.run_once = false;
            let text = "others wait for it to complete, but it has ports or replicas: the model cannot make it a one-shot job, so they wait until it started".into();
            self.report.note(Some(&d.name), text);
            return;
        }
        if s.healthcheck.is_some() && d.health.take().is_some() {
            self.unmapped_at(
                Some(&d.name),
                path.key("healthcheck"),
                "a one-shot job has no health check in the model",
            );
        }
        if d.restart.take().is_some() {
            self.unmapped_at(
                Some(&d.name),
                path.key("restart"),
                "a one-shot job is never restarted",
            );
        }
    }
}

fn add_tmpfs(d: &mut ServiceDraft, target: &str) {
    let list = d.security.tmpfs.get_or_insert_with(|| vec!["/tmp".into()]);
    if !list.iter().any(|t| t == target) {
        list.push(target.to_string());
    }
}

/// A JSON number or numeric string.
fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A byte count (Compose prints sizes in bytes) as the model writes sizes:
/// in the largest unit that holds it exactly.
fn size(v: &serde_json::Value) -> Option<String> {
    let bytes = number(v)?;
    if bytes < 1.0 || bytes.fract() != 0.0 {
        return None;
    }
    let bytes = bytes as u64;
    let units = [(1u64 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")];
    Some(
        (units.iter())
            .find(|(unit, _)| bytes.is_multiple_of(*unit))
            .map_or(bytes.to_string(), |(unit, suffix)| {
                format!("{}{suffix}", bytes / unit)
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_largest_exact_unit() {
        let s = |n: u64| size(&serde_json::json!(n.to_string()));
        assert_eq!(s(1 << 30).as_deref(), Some("1g"));
        assert_eq!(s(104857600).as_deref(), Some("100m"));
        assert_eq!(s(3072).as_deref(), Some("3k"));
        assert_eq!(s(1000).as_deref(), Some("1000"));
    }
}
