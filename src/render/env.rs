//! Env files: plain variables, then secrets, each quoted for Compose's
//! `env_file` reader.

use askama::Template;

use super::{template_error, RenderError};
use crate::escape::{comment, env_file_value};
use crate::secrets::SecretValues;
use crate::system::System;

#[derive(Template)]
#[template(path = "env_file.env", escape = "none")]
struct EnvFileTemplate<'a> {
    description: Option<String>,
    readers: Vec<&'a str>,
    vars: Vec<String>,
    secrets: Vec<String>,
}

fn line(name: &str, value: &str) -> String {
    // Validation refused every value that cannot be written.
    let quoted = env_file_value(value).unwrap_or_else(|_| "''".to_string());
    format!("{name}={quoted}")
}

pub fn render(
    system: &System,
    index: usize,
    secrets: &SecretValues,
) -> Result<String, RenderError> {
    let file = &system.env_files[index];
    let readers = system
        .services
        .iter()
        .filter(|s| s.env_files.contains(&index))
        .map(|s| s.name.as_str())
        .collect();
    let mut secret_lines = Vec::new();
    for s in &file.secrets {
        let name = &system.secrets[*s].name;
        let value = secrets
            .get(name)
            .ok_or_else(|| RenderError::MissingSecret(name.clone()))?;
        secret_lines.push(line(name, value));
    }
    let t = EnvFileTemplate {
        description: file.description.as_deref().map(comment),
        readers,
        vars: file.vars.iter().map(|(k, v)| line(k, v)).collect(),
        secrets: secret_lines,
    };
    let mut text = t.render().map_err(template_error("env_file.env"))?;
    text.push('\n');
    Ok(text)
}
