//! Content-hash labels: what `plan` compares with the running containers.
//!
//! Every service in a compose file carries one label per component,
//! `lucid-gen.hash.<component>`, each a SHA-256 (first 16 bytes, hex) over
//! that component's inputs as bytes: `image` (reference and build),
//! `env` (the plain variables of its env files and its `environment`),
//! `ports`, `networks` (names and settings) and `config` (everything else
//! the container is started with). A running container whose label
//! differs is recreated by `up`, for that reason.
//!
//! Secrets get no label: compose files are committed, and a label derived
//! from a machine's secret store would make them differ per machine (and
//! put a function of a secret value into git). `plan` compares secret
//! values with the running container's environment in memory instead.
//!
//! Pure: [`ServiceInputs`] holds bytes per component, so files that reach
//! a container (config files mounted read-only, for example) are added by
//! pushing their bytes onto a component before [`hash_labels`].

use sha2::{Digest, Sha256};

use crate::system::{Service, System};

/// Prefix of every hash label; the component name follows.
pub const LABEL_PREFIX: &str = "lucid-gen.hash.";

/// Components in label order; `plan` reports a change by these names.
pub const COMPONENTS: [&str; 5] = ["image", "env", "ports", "networks", "config"];

/// One service's inputs, as byte strings per component.
#[derive(Debug, Default, Clone)]
pub struct ServiceInputs {
    pub image: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub ports: Vec<Vec<u8>>,
    pub networks: Vec<Vec<u8>>,
    pub config: Vec<Vec<u8>>,
}

/// The first 16 bytes of a component's SHA-256: what its label shows in hex.
pub type Digest16 = [u8; 16];

/// One [`Digest16`] per component, in [`COMPONENTS`] order: a service's
/// hash labels in 80 bytes (memory: the compose files of 10,000 services
/// kept every service's labels as ten strings, about 7 MB, from its
/// phase's file to the master's).
pub type Digests = [Digest16; 5];

/// SHA-256 over `parts`, each length-prefixed (so `["ab","c"]` and
/// `["a","bc"]` differ), first 16 bytes.
fn component_digest(parts: &[Vec<u8>]) -> Digest16 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let mut digest = [0; 16];
    digest.copy_from_slice(&hasher.finalize()[..16]);
    digest
}

fn hex(digest: &Digest16) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(32);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 15)]));
    }
    hex
}

/// [`component_digest`] as hex.
pub fn component_hash(parts: &[Vec<u8>]) -> String {
    hex(&component_digest(parts))
}

/// Each component's digest, in [`COMPONENTS`] order.
pub fn digests(inputs: &ServiceInputs) -> Digests {
    [
        &inputs.image,
        &inputs.env,
        &inputs.ports,
        &inputs.networks,
        &inputs.config,
    ]
    .map(|parts| component_digest(parts))
}

/// `(label, hash)` per component, in [`COMPONENTS`] order.
pub fn labels(digests: &Digests) -> Vec<(String, String)> {
    (COMPONENTS.iter().zip(digests))
        .map(|(name, digest)| (format!("{LABEL_PREFIX}{name}"), hex(digest)))
        .collect()
}

/// The hash labels of a service with these inputs.
pub fn hash_labels(inputs: &ServiceInputs) -> Vec<(String, String)> {
    labels(&digests(inputs))
}

/// Settings added after the others, pushed only when set, so services
/// without them keep their hashes.
fn flags(s: &Service, inputs: &mut ServiceInputs) {
    if s.health.as_ref().is_some_and(|h| h.restart_when_unhealthy) {
        inputs.config.push(b"restart_when_unhealthy".to_vec());
    }
    if s.init || s.image_user {
        let process = (s.init, s.image_user);
        inputs.config.push(bytes(format!("{process:?}")));
    }
}

fn bytes(text: impl Into<String>) -> Vec<u8> {
    text.into().into_bytes()
}

/// The inputs of `service` that the model determines.
/// A service's host paths (binds and devices), pushed only when set, so
/// services without them keep their hashes.
fn host_paths(s: &Service, inputs: &mut ServiceInputs) {
    if !s.binds.is_empty() || !s.devices.is_empty() {
        let host = (&s.binds, &s.devices);
        inputs.config.push(bytes(format!("{host:?}")));
    }
}

/// A build's `Debug` text as it was before `requirements`,
/// `version_file`, `dev_entrypoint` and `target` joined the build: a build
/// without them keeps its hash (and so its containers) across that change.
fn without_requirements(debug: String) -> String {
    debug
        .replace(", requirements: None", "")
        .replace(", version_file: None", "")
        .replace(", dev_entrypoint: [], target: None", "")
}

pub fn service_inputs(system: &System, service: &Service) -> ServiceInputs {
    let s = service;
    let mut inputs = ServiceInputs::default();
    inputs.image.push(bytes(&s.image));
    inputs.image.push(bytes(&system.platform));
    if let Some(build) = &s.build {
        inputs
            .image
            .push(bytes(without_requirements(format!("{build:?}"))));
        if let Some(base) = build.runtime_base {
            let base = format!("{:?}", system.images[base]);
            inputs.image.push(bytes(without_requirements(base)));
        }
    }
    for &f in &s.env_files {
        let file = &system.env_files[f];
        inputs.env.push(bytes(&file.file));
        for (k, v) in &file.vars {
            inputs.env.push(bytes(format!("{k}={v}")));
        }
    }
    for (k, v) in &s.environment {
        inputs.env.push(bytes(format!("{k}={v}")));
    }
    // Which variables say where its external services are (their values
    // are the operator's, filled by Compose at `up`, unknown here).
    for &e in &s.external_deps {
        let e = &system.externals[e];
        let external = (&e.name, &e.host_env, &e.port);
        inputs.env.push(bytes(format!("external {external:?}")));
    }
    // Which variables the operator must set (values unknown here, as above).
    inputs.env.extend(s.required_env.iter().map(required_line));
    inputs
        .ports
        .extend(s.ports.iter().map(|p| bytes(format!("{p:?}"))));
    for &n in &s.networks {
        let net = &system.networks[n];
        let settings = (
            &net.name,
            &net.driver,
            net.subnet,
            net.gateway,
            net.internal,
        );
        inputs.networks.push(bytes(format!("{settings:?}")));
    }
    let config = (
        &s.user,
        s.restart,
        &s.command,
        &s.security,
        &s.resources,
        &s.health,
        &s.volumes,
    );
    inputs.config.push(bytes(format!("{config:?}")));
    host_paths(s, &mut inputs);
    flags(s, &mut inputs);
    // What reaches the container besides its image: the entrypoint, the
    // secrets it receives and how (names, never values), and each config
    // file's text with its secret references (a changed secret value is
    // found by `plan` in the running container, not hashed here).
    let delivery = (&s.entrypoint, s.run_once, s.initializes, &s.secrets);
    inputs.config.push(bytes(format!("{delivery:?}")));
    for f in &s.config_files {
        inputs
            .config
            .push(bytes(format!("{}{:?}", f.target, f.pieces)));
    }
    inputs
        .config
        .push(bytes(format!("{:?}{:?}", system.labels, s.labels)));
    inputs
}

/// A required variable's hash input: its name, and `from` only when it
/// differs (so models without `from` hash as before).
fn required_line(r: &crate::system::RequiredVar) -> Vec<u8> {
    let from = (r.from != r.name).then(|| format!(" from {}", r.from));
    bytes(format!("required {}{}", r.name, from.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_length_prefixed() {
        let a = component_hash(&[b"ab".to_vec(), b"c".to_vec()]);
        let b = component_hash(&[b"a".to_vec(), b"bc".to_vec()]);
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn one_label_per_component() {
        let inputs = ServiceInputs {
            config: vec![b"x".to_vec()],
            ..ServiceInputs::default()
        };
        let labels = hash_labels(&inputs);
        assert_eq!(labels.len(), 5);
        assert_eq!(labels[4].0, "lucid-gen.hash.config");
        assert_ne!(labels[3].1, labels[4].1);
    }
}
