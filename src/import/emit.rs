//! A [`Draft`] as model YAML text: `system.yaml` (system, variants,
//! planes, networks, phases, env files, secrets) and one
//! `services/<phase>.yaml` per phase. Pure; every scalar goes through
//! `escape` (plain when no YAML reader could misread it, else
//! double-quoted), every comment through `escape::comment`.

use std::fmt::Write as _;

use super::draft::*;
use crate::escape::{comment, yaml_key, yaml_str, Yaml};

/// The model files, as (path relative to the model directory, text).
pub fn emit(draft: &Draft) -> Vec<(String, String)> {
    let mut files = vec![("system.yaml".to_string(), system_file(draft))];
    for phase in &draft.phases {
        let services: Vec<&ServiceDraft> = (draft.services.iter())
            .filter(|s| s.phase == phase.name)
            .collect();
        let mut out = Out::default();
        out.comment(
            0,
            &format!(
                "Phase {}: {}. Written by `lucid-gen import`; edit freely.",
                phase.name, phase.description
            ),
        );
        out.raw(0, "services:");
        for (i, s) in services.into_iter().enumerate() {
            if i > 0 {
                out.blank();
            }
            service(&mut out, s);
        }
        files.push((format!("services/{}.yaml", phase.name), out.text));
    }
    files
}

/// A scalar as the loader reads it back: plain when unambiguous.
fn scalar(s: &str) -> Yaml {
    yaml_key(s)
}

/// A flow list; items with `:` (which some readers take for a mapping in
/// flow context) double-quoted.
fn list(items: &[String]) -> String {
    let parts: Vec<String> = (items.iter())
        .map(|s| match s.contains(':') {
            true => yaml_str(s).to_string(),
            false => scalar(s).to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

#[derive(Default)]
struct Out {
    text: String,
}

impl Out {
    fn raw(&mut self, indent: usize, line: &str) {
        let _ = writeln!(self.text, "{:indent$}{line}", "");
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    fn comment(&mut self, indent: usize, text: &str) {
        self.raw(indent, &format!("# {}", comment(text)));
    }

    fn kv(&mut self, indent: usize, key: &str, value: impl std::fmt::Display) {
        self.raw(indent, &format!("{}: {value}", scalar(key)));
    }

    fn opt(&mut self, indent: usize, key: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.kv(indent, key, scalar(v));
        }
    }

    fn map(&mut self, indent: usize, key: &str, entries: &[(String, String)]) {
        if entries.is_empty() {
            return;
        }
        self.raw(indent, &format!("{}:", scalar(key)));
        for (k, v) in entries {
            self.kv(indent + 2, k, scalar(v));
        }
    }
}

fn system_file(draft: &Draft) -> String {
    let mut out = Out::default();
    for line in &draft.system.comments {
        out.comment(0, line);
    }
    let s = &draft.system;
    out.raw(0, "system:");
    out.kv(2, "name", scalar(&s.name));
    out.kv(2, "description", scalar(&s.description));
    out.kv(2, "platform", scalar(&s.platform));
    out.raw(2, "registry:");
    out.kv(4, "namespace", scalar(&s.namespace));
    out.kv(4, "tag", scalar(&s.tag));
    if !draft.variants.is_empty() {
        out.blank();
        out.raw(0, "variants:");
        for v in &draft.variants {
            out.raw(2, &format!("{}:", scalar(&v.name)));
            out.kv(4, "description", scalar(&v.description));
            out.kv(4, "build", v.build);
        }
    }
    out.blank();
    out.raw(0, "planes:");
    for p in &draft.planes {
        out.raw(2, &format!("{}:", scalar(&p.name)));
        out.kv(4, "description", scalar(&p.description));
    }
    out.blank();
    out.raw(0, "networks:");
    for n in &draft.networks {
        for c in &n.comments {
            out.comment(2, c);
        }
        out.raw(2, &format!("{}:", scalar(&n.key)));
        out.kv(4, "plane", scalar(&n.plane));
        out.opt(4, "name", &n.name);
        out.opt(4, "driver", &n.driver);
        out.kv(4, "subnet", scalar(&n.subnet));
        out.opt(4, "gateway", &n.gateway);
        if n.internal {
            out.kv(4, "internal", true);
        }
    }
    out.blank();
    out.raw(0, "phases:");
    for p in &draft.phases {
        out.raw(2, &format!("{}:", scalar(&p.name)));
        out.kv(4, "description", scalar(&p.description));
        out.kv(4, "env_file", scalar(&p.env_file));
        out.kv(4, "compose_file", scalar(&p.compose_file));
    }
    out.blank();
    out.raw(0, "env_files:");
    for e in &draft.env_files {
        out.raw(2, &format!("{}:", scalar(&e.key)));
        out.kv(4, "file", scalar(&e.file));
        out.kv(4, "description", scalar(&e.description));
        out.map(4, "vars", &e.vars);
    }
    if !draft.secrets.is_empty() {
        out.blank();
        out.raw(0, "secrets:");
        for s in &draft.secrets {
            out.raw(2, &format!("{}:", scalar(&s.name)));
            out.kv(4, "description", scalar(&s.description));
            match &s.source {
                SecretSource::Generated(bytes) => out.kv(4, "bytes", bytes),
                SecretSource::FromEnv(var) => out.kv(4, "from_env", scalar(var)),
            }
        }
    }
    out.text
}

fn service(out: &mut Out, s: &ServiceDraft) {
    for c in &s.comments {
        out.comment(2, c);
    }
    out.raw(2, &format!("{}:", scalar(&s.name)));
    out.kv(4, "phase", scalar(&s.phase));
    out.kv(4, "plane", scalar(&s.plane));
    out.opt(4, "image", &s.image);
    if let Some(b) = &s.build {
        out.raw(4, "build:");
        out.kv(6, "context", scalar(&b.context));
        out.kv(6, "dockerfile", scalar(&b.dockerfile));
    }
    if s.run_once {
        out.kv(4, "run_once", true);
    }
    out.opt(4, "user", &s.user);
    if s.init {
        out.kv(4, "init", true);
    }
    out.opt(4, "restart", &s.restart);
    if let Some(n) = s.replicas {
        out.kv(4, "replicas", n);
    }
    if !s.networks.is_empty() {
        out.kv(4, "networks", list(&s.networks));
    }
    ports(out, &s.ports);
    if !s.depends_on.is_empty() {
        out.kv(4, "depends_on", list(&s.depends_on));
    }
    if let Some(v) = &s.entrypoint {
        out.kv(4, "entrypoint", list(v));
    }
    if let Some(v) = &s.command {
        out.kv(4, "command", list(v));
    }
    if let Some(files) = &s.env_files {
        out.kv(4, "env_files", list(files));
    }
    out.map(4, "environment", &s.environment);
    secrets(out, &s.secrets);
    volumes(out, &s.volumes);
    health(out, &s.health);
    resources(out, &s.resources);
    security(out, &s.security);
    out.map(4, "labels", &s.labels);
}

fn ports(out: &mut Out, ports: &[PortDraft]) {
    if ports.is_empty() {
        return;
    }
    out.raw(4, "ports:");
    for p in ports {
        let mut fields = vec![format!("container: {}", p.container)];
        if let Some(h) = p.host {
            fields.push(format!("host: {h}"));
        }
        if let Some(ip) = &p.host_ip {
            fields.push(format!("host_ip: {}", yaml_str(ip)));
        }
        if p.udp {
            fields.push("protocol: udp".into());
        }
        if let Some(name) = &p.name {
            fields.push(format!("name: {}", yaml_str(name)));
        }
        out.raw(6, &format!("- {{ {} }}", fields.join(", ")));
    }
}

fn secrets(out: &mut Out, uses: &[SecretUseDraft]) {
    if uses.is_empty() {
        return;
    }
    out.raw(4, "secrets:");
    for u in uses {
        match &u.file {
            None => out.raw(6, &format!("- {}", scalar(&u.name))),
            Some(target) => out.raw(
                6,
                &format!(
                    "- {{ name: {}, as: file, target: {} }}",
                    scalar(&u.name),
                    yaml_str(target)
                ),
            ),
        }
    }
}

fn volumes(out: &mut Out, volumes: &[VolumeDraft]) {
    if volumes.is_empty() {
        return;
    }
    out.raw(4, "volumes:");
    for v in volumes {
        let ro = if v.read_only { ", read_only: true" } else { "" };
        out.raw(
            6,
            &format!(
                "- {{ name: {}, target: {}{ro} }}",
                yaml_str(&v.name),
                yaml_str(&v.target)
            ),
        );
    }
}

fn health(out: &mut Out, health: &Option<HealthDraft>) {
    let Some(h) = health else { return };
    if let Some(why) = &h.filled {
        out.comment(4, &format!("filled in by lucid-gen import: {why}"));
    }
    out.raw(4, "health:");
    out.kv(6, "exec", list(&h.exec));
    out.opt(6, "interval", &h.interval);
    out.opt(6, "timeout", &h.timeout);
    if let Some(r) = h.retries {
        out.kv(6, "retries", r);
    }
    out.opt(6, "start_period", &h.start_period);
}

fn resources(out: &mut Out, r: &ResourcesDraft) {
    if r.memory.is_none() && r.cpus.is_none() && r.memory_reservation.is_none() {
        return;
    }
    out.raw(4, "resources:");
    out.opt(6, "memory", &r.memory);
    if let Some(c) = r.cpus {
        out.kv(6, "cpus", c);
    }
    out.opt(6, "memory_reservation", &r.memory_reservation);
}

fn security(out: &mut Out, s: &SecurityDraft) {
    let empty = s.cap_add.is_empty()
        && s.run_as_root.is_none()
        && s.tmpfs.is_none()
        && s.pids_limit.is_none();
    if empty {
        return;
    }
    out.raw(4, "security:");
    if let Some(reason) = &s.run_as_root {
        out.kv(6, "run_as_root", yaml_str(reason));
    }
    if let Some(t) = &s.tmpfs {
        out.kv(6, "tmpfs", list(t));
    }
    if let Some(n) = s.pids_limit {
        out.kv(6, "pids_limit", n);
    }
    out.map(6, "cap_add", &s.cap_add);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_protect_what_yaml_would_misread() {
        let items: Vec<String> = ["sh", "-c", "a: b", "true", "8000", "x y"]
            .map(String::from)
            .to_vec();
        assert_eq!(list(&items), r#"[sh, "-c", "a: b", "true", "8000", "x y"]"#);
    }
}
