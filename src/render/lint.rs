//! `.compose-lint.yml`: the compose linter findings the model accepts,
//! each with its reason, beside the compose files; and, for dclint, the
//! same acceptances written into the compose files themselves
//! ([`written_off`]).

use askama::Template;

use super::{template_error, RenderError};
use crate::escape::{comment, yaml_key, yaml_str, Comment, Yaml};
use crate::system::{Service, System};

/// The config file's name, in the compose directory.
pub const FILE: &str = ".compose-lint.yml";

/// compose-lint's rule for a service that runs as root.
const EXPLICIT_ROOT: &str = "CL-0018";

/// dclint rule → the compose-lint rule that finds the same problem.
pub const DCLINT_SAME_AS: &[(&str, &str)] = &[
    // Both: a published port bound to every interface.
    ("no-unbound-port-interfaces", "CL-0005"),
    // Both: an image by a tag such as `latest` rather than a version.
    ("service-image-require-explicit-tag", "CL-0004"),
];

/// A dclint rule written off on the line it is about, because the model
/// accepts the compose-lint rule that finds the same: the template writes
/// `# <reason>` then `# dclint disable-line <rule>` above that line, so
/// dclint at its default settings agrees with `verify`.
pub struct WrittenOff {
    pub reason: Comment,
    pub rule: &'static str,
}

/// `dclint_rule` written off for service `s`, when the model accepts its
/// compose-lint equivalent for `s` (or for every service).
pub fn written_off(system: &System, s: &Service, dclint_rule: &'static str) -> Option<WrittenOff> {
    let (_, id) = DCLINT_SAME_AS.iter().find(|(r, _)| *r == dclint_rule)?;
    let reason = (s.lint_exceptions.iter())
        .chain(&system.lint_exceptions)
        .find(|(k, _)| k == id)
        .map(|(_, reason)| reason)?;
    Some(WrittenOff {
        reason: comment(&format!("{id} accepted: {reason}")),
        rule: dclint_rule,
    })
}

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
        // A stated reason to run as root accepts the linter's finding
        // about it too, so the model does not say it twice.
        let root = s
            .security
            .run_as_root
            .as_ref()
            .filter(|_| !s.lint_exceptions.iter().any(|(id, _)| id == EXPLICIT_ROOT))
            .map(|reason| (EXPLICIT_ROOT.to_string(), reason.clone()));
        for (id, reason) in s.lint_exceptions.iter().chain(root.as_ref()) {
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
