//! What reaches a container besides its image, as files: each service's
//! secrets env file, the secret files containers mount, and the config
//! files rendered from the model (secret values filled in here, the only
//! place they enter a config file). Paths are decided here and nowhere else,
//! so validation, render, compose and deploy agree on them.

use std::path::PathBuf;

use super::hashed_password::{salt_for, tor_hashed_password};
use super::{env, output_path, RenderError};
use crate::escape::{config_value, ConfigSyntax, Unrepresentable};
use crate::output::{self, OutputFile};
use crate::secrets::SecretValues;
use crate::system::{ConfigFile, Delivery, Piece, Service, System};

/// The secrets env file of `service`, relative to the output root.
pub fn secrets_env_path(system: &System, service: &Service) -> PathBuf {
    output_path(
        &system.output.secrets_dir,
        &["env", &format!("{}.env", service.name)],
    )
}

/// The file holding secret `secret`, mounted by every service that
/// receives it as a file.
pub fn secret_file_path(system: &System, secret: usize) -> PathBuf {
    output_path(
        &system.output.secrets_dir,
        &["files", &system.secrets[secret].name],
    )
}

/// Where config file `file` of `service` is written: under the secrets
/// directory when it holds a secret, else under the config directory; the
/// container path is kept below the service's directory, so two targets
/// never share a file. A file whose text differs between variants is
/// written once per variant, below `<service>@<variant>` (`@` is in no
/// service name, so no other file can be there).
pub fn config_path(system: &System, service: &Service, file: &ConfigFile) -> PathBuf {
    let dir = match &file.variant {
        Some(v) => format!("{}@{v}", service.name),
        None => service.name.clone(),
    };
    let mut parts = vec![dir.as_str()];
    parts.extend(
        file.target
            .split('/')
            .filter(|p| !p.is_empty() && *p != "."),
    );
    match file.secret_bearing() {
        true => {
            parts.insert(0, "config");
            output_path(&system.output.secrets_dir, &parts)
        }
        false => output_path(&system.output.config_dir, &parts),
    }
}

/// The compose names of the config files of `service`, in order, each
/// unique in every compose file and a valid Compose `configs:`/`secrets:`
/// key (`[a-zA-Z0-9._-]+`): `<service>.<file name>`, every other character
/// of the file name (`@`, `+`, a space, non-ASCII) written `_`, numbered
/// `.2`, `.3`, … past the first key taken. Secret names are variable
/// names, without a dot, so the two never meet.
pub fn config_keys(service: &Service) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for f in &service.config_files {
        let name = f.target.rsplit('/').next().unwrap_or(&f.target);
        let name: String = name
            .chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    true => c,
                    false => '_',
                },
            )
            .collect();
        let base = format!("{}.{name}", service.name);
        let mut key = base.clone();
        let mut n = 1;
        while keys.contains(&key) {
            n += 1;
            key = format!("{base}.{n}");
        }
        keys.push(key);
    }
    keys
}

/// One file a service's containers bind-mount: its name in the compose
/// file's top-level `secrets:` or `configs:`, where it lives under the
/// output root, and where the container sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub key: String,
    pub path: PathBuf,
    pub target: String,
    /// Holds a secret: a Compose `secret`, written 0444 in a 0700 directory;
    /// otherwise a Compose `config`.
    pub secret: bool,
}

/// Every file `service` bind-mounts: its secret files, then its config
/// files, in model order.
pub fn mounts(system: &System, service: &Service) -> Vec<Mount> {
    let files = service.secrets.iter().filter_map(|u| {
        Some(Mount {
            key: system.secrets[u.secret].name.clone(),
            path: secret_file_path(system, u.secret),
            target: u.delivery.target()?.to_string(),
            secret: true,
        })
    });
    let keys = config_keys(service);
    let configs = service.config_files.iter().zip(keys).map(|(f, key)| Mount {
        key,
        path: config_path(system, service, f),
        target: f.target.clone(),
        secret: f.secret_bearing(),
    });
    files.chain(configs).collect()
}

/// Whether the stack files turn a secret delivered in the environment
/// into a Swarm secret file (`system.swarm.env_secrets: file-env`).
pub fn env_secrets_as_files(system: &System) -> bool {
    system.mode == crate::system::DeployMode::Swarm
        && system.swarm.env_secrets == crate::model::raw::EnvSecrets::FileEnv
}

/// Where a stack file mounts secret `secret` that the compose files
/// deliver in the environment.
pub fn stack_env_secret_target(system: &System, secret: usize) -> String {
    format!("/run/secrets/{}", system.secrets[secret].name)
}

/// Every file `service`'s stack file entry mounts: [`mounts`], plus its
/// environment secrets as files where the model translates them
/// ([`env_secrets_as_files`]).
pub fn stack_mounts(system: &System, service: &Service) -> Vec<Mount> {
    let mut out = mounts(system, service);
    if env_secrets_as_files(system) {
        let env = (service.secrets.iter()).filter(|u| u.delivery == Delivery::Env);
        for u in env {
            out.push(Mount {
                key: system.secrets[u.secret].name.clone(),
                path: secret_file_path(system, u.secret),
                target: stack_env_secret_target(system, u.secret),
                secret: true,
            });
        }
    }
    out
}

/// The secrets some service receives as a file, each written once to
/// [`secret_file_path`], in declaration order.
pub fn file_secrets(system: &System) -> Vec<usize> {
    let mut mounted = vec![false; system.secrets.len()];
    for u in system.services.iter().flat_map(|s| &s.secrets) {
        mounted[u.secret] |= u.delivery.target().is_some() || env_secrets_as_files(system);
    }
    (0..mounted.len()).filter(|&i| mounted[i]).collect()
}

/// A file on the host that a service's containers read: an env file, its
/// secrets env file, a secret file or a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    /// Relative to the output root.
    pub path: PathBuf,
    pub secret: bool,
    /// Bind-mounted: 0444 in a 0700 directory.
    pub mounted: bool,
}

/// Every file `service` needs on the host besides its compose file.
pub fn host_files(system: &System, service: &Service) -> Vec<HostFile> {
    let file = |path, secret, mounted| HostFile {
        path,
        secret,
        mounted,
    };
    let mut out: Vec<HostFile> = service
        .env_files
        .iter()
        .map(|&e| {
            file(
                super::env_path(system, &system.env_files[e].file),
                false,
                false,
            )
        })
        .collect();
    if has_env_secrets(service) {
        out.push(file(secrets_env_path(system, service), true, false));
    }
    // The stack files' mounts too: in swarm mode one release serves both.
    for m in stack_mounts(system, service) {
        out.push(file(m.path, m.secret, m.secret));
    }
    out
}

/// Whether `service` has a secrets env file.
pub fn has_env_secrets(service: &Service) -> bool {
    service.secrets.iter().any(|u| u.delivery == Delivery::Env)
}

/// Every secrets env file, secret file and config file of `system`.
/// Hands each to `put` as it is rendered (memory: one service's secret
/// env file at a time, not 10,000).
pub fn render_each<E: From<RenderError>>(
    system: &System,
    secrets: &SecretValues,
    put: &mut dyn FnMut(PathBuf, OutputFile) -> Result<(), E>,
) -> Result<(), E> {
    for s in &system.services {
        if has_env_secrets(s) {
            let text = env::render_service_secrets(system, s, secrets)?;
            put(secrets_env_path(system, s), output::private(text))?;
        }
    }
    let variants = system.variant_systems();
    for c in config_outputs(system, &variants) {
        let (s, f) = c.rendered;
        let text = fill(c.sys, s, f, secrets)?;
        let file = match f.secret_bearing() {
            true => output::mounted(text),
            false => output::public(text),
        };
        put(c.path, file)?;
    }
    for i in file_secrets(system) {
        let value = value(system, i, secrets)?;
        put(
            secret_file_path(system, i),
            output::mounted(value.to_string()),
        )?;
    }
    Ok(())
}

/// One config file written: config file `file` of `system.services[service]`
/// as `sys` (the system, or the variant it is rendered for) renders it.
pub struct ConfigOutput<'s> {
    pub path: PathBuf,
    pub service: usize,
    pub file: usize,
    pub sys: &'s System,
    pub rendered: (&'s Service, &'s ConfigFile),
}

/// Every config file written: one whose text differs between variants
/// once per variant that has its service (`variants`:
/// [`System::variant_systems`]), every other one once.
pub fn config_outputs<'s>(system: &'s System, variants: &'s [System]) -> Vec<ConfigOutput<'s>> {
    let mut out = Vec::new();
    for (i, s) in system.services.iter().enumerate() {
        for (j, f) in s.config_files.iter().enumerate() {
            let copies: Vec<&System> = match f.varies() {
                true => variants.iter().collect(),
                false => vec![system],
            };
            for sys in copies {
                let Some(vs) = sys.services.iter().find(|v| v.name == s.name) else {
                    continue;
                };
                let vf = &vs.config_files[j];
                out.push(ConfigOutput {
                    path: config_path(sys, vs, vf),
                    service: i,
                    file: j,
                    sys,
                    rendered: (vs, vf),
                });
            }
        }
    }
    out
}

fn value<'s>(system: &System, i: usize, secrets: &'s SecretValues) -> Result<&'s str, RenderError> {
    let name = &system.secrets[i].name;
    secrets
        .get(name)
        .ok_or_else(|| RenderError::MissingSecret(name.clone()))
}

/// A config file's text: its pieces, secrets filled in, each escaped for
/// where it stands in the file's syntax or refused
/// ([`RenderError::SecretInConfig`], the value never shown).
fn fill(
    system: &System,
    service: &Service,
    file: &ConfigFile,
    secrets: &SecretValues,
) -> Result<String, RenderError> {
    let syntax = ConfigSyntax::of(&file.target);
    let mut text = String::new();
    for piece in &file.pieces {
        match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::Secret(i) => {
                let line = text.rsplit('\n').next().unwrap_or("");
                let value = value(system, *i, secrets)?;
                let written =
                    config_value(value, syntax, line).map_err(|Unrepresentable(why)| {
                        RenderError::SecretInConfig {
                            secret: system.secrets[*i].name.clone(),
                            service: service.name.clone(),
                            target: file.target.clone(),
                            why,
                        }
                    })?;
                text.push_str(&written);
            }
            Piece::TorHashedPassword(i) => {
                let v = value(system, *i, secrets)?.as_bytes();
                text.push_str(&tor_hashed_password(v, salt_for(v)));
            }
            // Filled in by `System::with_variant`; rendered only from there.
            Piece::PerVariant(_) => {
                unreachable!("a varying config file rendered outside a variant")
            }
        }
    }
    Ok(text)
}
