//! `.compose-lint.yml`: the compose linter findings the model accepts,
//! each with its reason, beside the compose files.

use askama::Template;

use super::{template_error, RenderError};
use crate::escape::yaml_str;
use crate::system::System;

/// The config file's name, in the compose directory.
pub const FILE: &str = ".compose-lint.yml";

struct RuleView {
    id: String,
    /// Accepted for every service, because of this.
    everywhere: Option<String>,
    /// Otherwise: service → reason.
    services: Vec<(String, String)>,
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
            id: id.clone(),
            everywhere: Some(yaml_str(reason)),
            services: Vec::new(),
        })
        .collect();
    for s in &system.services {
        for (id, reason) in &s.lint_exceptions {
            match rules.iter_mut().find(|r| &r.id == id) {
                Some(r) if r.everywhere.is_some() => {}
                Some(r) => r.services.push((s.name.clone(), yaml_str(reason))),
                None => rules.push(RuleView {
                    id: id.clone(),
                    everywhere: None,
                    services: vec![(s.name.clone(), yaml_str(reason))],
                }),
            }
        }
    }
    Ok(LintTemplate { rules }
        .render()
        .map_err(template_error("compose-lint.yml"))?
        + "\n")
}
