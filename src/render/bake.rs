//! The buildx bake file: every image as a target, grouped by phase, base
//! images wired in as named contexts so services build on the fresh base
//! without a registry round trip.

use std::path::Path;

use askama::Template;

use super::{dockerfile_path, template_error, RenderError};
use crate::system::System;

/// Where the bake file goes, relative to the output root.
pub const BAKE_FILE: &str = "docker-bake.hcl";

struct Group {
    name: String,
    quoted: String,
    targets: String,
}

struct Target {
    name: String,
    context: String,
    dockerfile: String,
    tag: String,
    contexts: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "docker-bake.hcl", escape = "none")]
struct BakeTemplate {
    bake_path: String,
    generated_default: String,
    all_groups: String,
    base_targets: String,
    phase_groups: Vec<Group>,
    targets: Vec<Target>,
    platform: String,
}

/// An HCL string literal; `${` and `%{` stay literal.
pub fn hcl_str(value: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An HCL string that interpolates one of the file's variables.
fn with_var(var: &str, rest: &Path) -> String {
    let escaped = hcl_str(&rest.to_string_lossy());
    format!("\"${{{var}}}/{}", &escaped[1..])
}

/// The bake group of a phase's images (prefixed: group and target names
/// share one namespace, and a phase may be named like a service).
pub fn phase_group(phase: &str) -> String {
    format!("phase-{phase}")
}

/// The bake target name of a base image.
pub fn base_target(key: &str) -> String {
    format!("image-{key}")
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| hcl_str(i))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render(system: &System) -> Result<String, RenderError> {
    let mut targets = Vec::new();
    let base_names: Vec<String> = system.images.iter().map(|i| base_target(&i.key)).collect();
    // A build on a base image gets it as a named context: bake builds the
    // base first and hands it over without a registry.
    let base_context = |runtime_base: Option<usize>| {
        runtime_base
            .map(|i| {
                vec![(
                    hcl_str(&system.images[i].image),
                    hcl_str(&format!("target:{}", base_target(&system.images[i].key))),
                )]
            })
            .unwrap_or_default()
    };
    for (image, name) in system.images.iter().zip(&base_names) {
        targets.push(Target {
            name: hcl_str(name),
            context: with_var("SOURCE_DIR", Path::new(&image.build.context)),
            dockerfile: with_var("GENERATED_DIR", &dockerfile_path(system, &image.key, true)),
            tag: hcl_str(&image.image),
            contexts: base_context(image.build.runtime_base),
        });
    }
    let mut phase_groups = Vec::new();
    for (p, phase) in system.phases.iter().enumerate() {
        let built: Vec<String> = system
            .services_in(p)
            .filter(|s| s.build.is_some())
            .map(|s| s.name.clone())
            .collect();
        if built.is_empty() {
            continue;
        }
        let name = phase_group(&phase.name);
        phase_groups.push(Group {
            quoted: hcl_str(&name),
            name,
            targets: list(&built),
        });
        for s in system.services_in(p) {
            let Some(b) = &s.build else { continue };
            let contexts = base_context(b.runtime_base);
            targets.push(Target {
                name: hcl_str(&s.name),
                context: with_var("SOURCE_DIR", Path::new(&b.context)),
                dockerfile: with_var("GENERATED_DIR", &dockerfile_path(system, &s.name, false)),
                tag: hcl_str(&s.image),
                contexts,
            });
        }
    }
    let mut all = vec!["base-images".to_string()];
    all.extend(phase_groups.iter().map(|g| g.name.clone()));
    let t = BakeTemplate {
        bake_path: format!("generated/{BAKE_FILE}"),
        generated_default: hcl_str("generated"),
        all_groups: list(&all),
        base_targets: list(&base_names),
        phase_groups,
        targets,
        platform: hcl_str(&system.platform),
    };
    Ok(t.render().map_err(template_error("docker-bake.hcl"))? + "\n")
}

#[cfg(test)]
mod tests {
    use super::hcl_str;

    #[test]
    fn hcl_strings_keep_templates_literal() {
        assert_eq!(hcl_str("a\"b${c}%{d}$e"), "\"a\\\"b$${c}%%{d}$e\"");
    }
}
