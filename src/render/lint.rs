//! `.compose-lint.yml`: the compose linter findings the model accepts,
//! each with its reason, beside the compose files.

use askama::Template;

use super::{template_error, RenderError};
use crate::escape::{yaml_key, yaml_str, Yaml};
use crate::system::System;

/// The config file's name, in the compose directory.
pub const FILE: &str = ".compose-lint.yml";

struct RuleView {
    id: Yaml,
    /// Accepted for every service, because of this.
    everywhere: Option<Yaml>,
    /// Otherwise: service → reason.
    services: Vec<(Yaml, Yaml)>,
}

#[derive(Template)]
#[template(path = "compose-lint.yml", escape = "none")]
struct LintTemplate {
    rules: Vec<RuleView>,
}

pub fn render(system: &System) -> Result<String, RenderError> {
    let mut rules: Vec<RuleView> = system
        .lint_exceptions
        .iter()
        .map(|(id, reason)| RuleView {
            id: yaml_key(id),
            everywhere: Some(yaml_str(reason)),
            services: Vec::new(),
        })
        .collect();
    for s in &system.services {
        for (id, reason) in &s.lint_exceptions {
            let entry = (yaml_key(&s.name), yaml_str(reason));
            // `yaml_key` is one-to-one, so equal keys mean equal ids.
            let key = yaml_key(id);
            match rules.iter_mut().find(|r| r.id == key) {
                Some(r) if r.everywhere.is_some() => {}
                Some(r) => r.services.push(entry),
                None => rules.push(RuleView {
                    id: key,
                    everywhere: None,
                    services: vec![entry],
                }),
            }
        }
    }
    Ok(LintTemplate { rules }
        .render()
        .map_err(template_error("compose-lint.yml"))?
        + "\n")
}
