//! Env files: plain variables, then secrets, each quoted for Compose's
//! `env_file` reader.

use askama::Template;

use super::{refused, template_error, RenderError};
use crate::escape::{comment, env_file_value, env_name, Comment, EnvName, EnvValue};
use crate::secrets::SecretValues;
use crate::system::System;

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

pub fn render(
    system: &System,
    index: usize,
    secrets: &SecretValues,
) -> Result<String, RenderError> {
    let file = &system.env_files[index];
    let readers: Vec<&str> = system
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
        secret_lines.push(line(&file.file, name, value)?);
    }
    let t = EnvFileTemplate {
        description: file.description.as_deref().map(comment),
        readers: comment(&readers.join(", ")),
        vars: file
            .vars
            .iter()
            .map(|(k, v)| line(&file.file, k, v))
            .collect::<Result<_, _>>()?,
        secrets: secret_lines,
    };
    let mut text = t.render().map_err(template_error("env_file.env"))?;
    text.push('\n');
    Ok(text)
}
