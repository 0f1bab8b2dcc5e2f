//! The serde types of Compose's normalised project, as `docker compose
//! config --format json` prints it. Every type keeps the keys it does not
//! name in `rest`, so nothing a compose file says is dropped unseen: the
//! mapping reports each of them as something the model cannot hold.
//!
//! Strings are as Compose prints them, a literal `$` written `$$`;
//! [`literal`] (`escape::compose_text`) turns them back into the text the
//! container sees.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

/// Keys a type does not name, in Compose's order.
pub type Rest = IndexMap<String, Value>;

/// The whole project.
#[derive(Debug, Deserialize)]
pub struct Project {
    pub name: String,
    #[serde(default)]
    pub services: IndexMap<String, Service>,
    #[serde(default)]
    pub networks: IndexMap<String, Network>,
    #[serde(default)]
    pub volumes: IndexMap<String, Volume>,
    #[serde(default)]
    pub secrets: IndexMap<String, Secret>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// One service.
#[derive(Debug, Default, Deserialize)]
pub struct Service {
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub build: Option<Build>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub environment: IndexMap<String, Option<String>>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub expose: Vec<String>,
    /// Network key → its attachment settings (`null` for none).
    #[serde(default)]
    pub networks: Option<IndexMap<String, Option<Attachment>>>,
    #[serde(default)]
    pub depends_on: IndexMap<String, Dependency>,
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub deploy: Option<Deploy>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub restart: Option<String>,
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// Covered: every service drops all capabilities.
    #[serde(default)]
    #[allow(dead_code)]
    pub cap_drop: Vec<String>,
    #[serde(default)]
    pub read_only: Option<bool>,
    #[serde(default)]
    pub security_opt: Vec<String>,
    #[serde(default)]
    pub tmpfs: Vec<String>,
    #[serde(default)]
    pub init: Option<bool>,
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    #[serde(default)]
    pub volumes: Vec<Mount>,
    #[serde(default)]
    pub secrets: Vec<SecretUse>,
    /// `mem_limit`, `cpus`, `pids_limit`, `mem_reservation`: Compose keeps
    /// them beside `deploy.resources` (and refuses the two when they differ).
    #[serde(default)]
    pub mem_limit: Option<Value>,
    #[serde(default)]
    pub mem_reservation: Option<Value>,
    #[serde(default)]
    pub cpus: Option<Value>,
    #[serde(default)]
    pub pids_limit: Option<Value>,
    #[serde(default)]
    pub scale: Option<u32>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Build {
    pub context: String,
    #[serde(default)]
    pub dockerfile: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Port {
    pub target: u32,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub host_ip: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A service's settings on one network (aliases, fixed addresses, ...).
#[derive(Debug, Deserialize)]
pub struct Attachment {
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Dependency {
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub restart: Option<bool>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Option<Vec<String>>,
    #[serde(default)]
    pub disable: Option<bool>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub start_period: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Deploy {
    #[serde(default)]
    pub replicas: Option<u32>,
    #[serde(default)]
    pub resources: Option<Resources>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Resources {
    #[serde(default)]
    pub limits: Option<Limits>,
    #[serde(default)]
    pub reservations: Option<Limits>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// `memory` is a byte count as a string, `cpus` a number, `pids` a count.
#[derive(Debug, Deserialize)]
pub struct Limits {
    #[serde(default)]
    pub memory: Option<Value>,
    #[serde(default)]
    pub cpus: Option<Value>,
    #[serde(default)]
    pub pids: Option<Value>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// One entry of a service's `volumes`, in Compose's long form.
#[derive(Debug, Deserialize)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub source: Option<String>,
    pub target: String,
    #[serde(default)]
    pub read_only: Option<bool>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct SecretUse {
    pub source: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Network {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub internal: Option<bool>,
    #[serde(default)]
    pub external: Option<bool>,
    #[serde(default)]
    pub ipam: Option<Ipam>,
    #[serde(default)]
    pub enable_ipv6: Option<bool>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Ipam {
    #[serde(default)]
    pub config: Vec<IpamPool>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct IpamPool {
    #[serde(default)]
    pub subnet: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize)]
pub struct Volume {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub external: Option<bool>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// A top-level secret: where Compose takes its value from. Covered: the
/// model generates the value, so neither the file nor the variable is read
/// (and the Swarm `name` has no use outside Swarm).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct Secret {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub external: Option<bool>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// Parses `docker compose config --format json` output.
pub fn parse(json: &str) -> Result<Project, serde_json::Error> {
    serde_json::from_str(json)
}

/// The text a value Compose printed stands for (its `$$` is one `$`).
pub use crate::escape::compose_text as literal;

/// Whether a leftover value says nothing (`null`, `{}`, `[]`, `false`):
/// Compose prints some empty settings (`placement: {}`, `volume: {}`).
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Object(m) => m.values().all(is_empty),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_kept() {
        let p = parse(
            r#"{"name":"p","services":{"a":{"image":"x","stop_signal":"SIGINT",
            "ports":[{"target":80,"published":"8080","x":1}]}},"x-top":1}"#,
        )
        .unwrap();
        let a = &p.services["a"];
        assert_eq!(a.rest.keys().collect::<Vec<_>>(), ["stop_signal"]);
        assert_eq!(a.ports[0].rest.keys().collect::<Vec<_>>(), ["x"]);
        assert_eq!(p.rest.keys().collect::<Vec<_>>(), ["x-top"]);
    }
}
