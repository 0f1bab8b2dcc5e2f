//! Env files: the model's shared files of plain variables, and each
//! service's own secrets env file; every line quoted for Compose's
//! `env_file` reader.

use askama::Template;

use super::{refused, template_error, RenderError};
use crate::escape::{comment, env_file_value, env_name, Comment, EnvName, EnvValue};
use crate::secrets::SecretValues;
use crate::system::{Delivery, Service, System};

#[derive(Template)]
#[template(path = "env_file.env", escape = "none")]
struct EnvFileTemplate {
    description: Option<Comment>,
    readers: Comment,
    vars: Vec<(EnvName, EnvValue)>,
    secrets: Vec<(EnvName, EnvValue)>,
}

/// One `NAME=value` line; a value that cannot be written is an error (the
/// value itself is never part of it).
fn line(file: &str, name: &str, value: &str) -> Result<(EnvName, EnvValue), RenderError> {
    let what = || format!("variable `{name}` of env file `{file}`");
    Ok((
        env_name(name).map_err(refused(what))?,
        env_file_value(value).map_err(refused(what))?,
    ))
}

pub fn render(system: &System, index: usize) -> Result<String, RenderError> {
    let file = &system.env_files[index];
    let readers: Vec<&str> = system
        .services
        .iter()
        .filter(|s| s.env_files.contains(&index))
        .map(|s| s.name.as_str())
        .collect();
    let vars = file
        .vars
        .iter()
        .map(|(k, v)| line(&file.file, k, v))
        .collect::<Result<_, _>>()?;
    finish(file.description.as_deref(), &readers, vars, Vec::new())
}

/// The secrets env file of one service: exactly the secrets it receives as
/// variables, so no neighbour's secret reaches it.
pub fn render_service_secrets(
    system: &System,
    service: &Service,
    secrets: &SecretValues,
) -> Result<String, RenderError> {
    let file = format!("secrets of {}", service.name);
    let mut lines = Vec::new();
    let mut supplied = Vec::new();
    for u in &service.secrets {
        let name = &system.secrets[u.secret].name;
        let by_operator = system.secrets[u.secret].supplied.is_some();
        if by_operator && u.delivery == Delivery::Env {
            supplied.push(name.as_str());
        }
        let value = secrets
            .get(name)
            .ok_or_else(|| RenderError::MissingSecret(name.clone()))?;
        match &u.delivery {
            Delivery::Env => lines.push(line(&file, name, value)?),
            Delivery::File { .. } | Delivery::FileEnv { .. } => {}
        }
    }
    let mut description = format!("Secrets {} receives as variables.", service.name);
    if !supplied.is_empty() {
        description.push_str(&format!(
            " Supplied by the operator, read on every `lucid-gen all`, never stored: {}.",
            supplied.join(", ")
        ));
    }
    finish(
        Some(&description),
        &[service.name.as_str()],
        Vec::new(),
        lines,
    )
}

fn finish(
    description: Option<&str>,
    readers: &[&str],
    vars: Vec<(EnvName, EnvValue)>,
    secrets: Vec<(EnvName, EnvValue)>,
) -> Result<String, RenderError> {
    let t = EnvFileTemplate {
        description: description.map(comment),
        readers: comment(&readers.join(", ")),
        vars,
        secrets,
    };
    let mut text = t.render().map_err(template_error("env_file.env"))?;
    text.push('\n');
    Ok(text)
}
