//! The buildx bake file: every image as a target, grouped by phase, base
//! images wired in as named contexts so services build on the fresh base
//! without a registry round trip.

use askama::Template;

use super::{build_dockerfile, refused, template_error, DockerfileAt, RenderError};
use crate::escape::{
    comment, hcl_join, hcl_list, hcl_str, hcl_template, hcl_var_path, Comment, Hcl,
};
use crate::system::{Build, Service, System};
use crate::tags::{repository, TagPart};

/// Where the bake file goes, relative to the output root.
pub const BAKE_FILE: &str = "docker-bake.hcl";

struct Group {
    quoted: Hcl,
    targets: Hcl,
}

struct Target {
    name: Hcl,
    context: Hcl,
    dockerfile: Hcl,
    tags: Hcl,
    contexts: Vec<(Hcl, Hcl)>,
}

#[derive(Template)]
#[template(path = "docker-bake.hcl", escape = "none")]
struct BakeTemplate {
    bake_path: Comment,
    /// The groups, for the header comment.
    group_names: Comment,
    generated_default: Hcl,
    all_groups: Hcl,
    base_targets: Hcl,
    phase_groups: Vec<Group>,
    /// Variables extra tags read (`system.registry.extra_tags`).
    tag_variables: Vec<Hcl>,
}

/// The targets, after [`BakeTemplate`], rendered a few at a time (memory:
/// 10,000 services' targets are never held at once).
#[derive(Template)]
#[template(path = "docker-bake-targets.hcl", escape = "none")]
struct TargetsTemplate<'a> {
    targets: &'a [Target],
    platform: &'a Hcl,
}

/// Targets rendered at a time.
const TARGETS_PER_PIECE: usize = 256;

/// Renders the targets collected so far into `out`, and forgets them.
fn render_targets(
    targets: &mut Vec<Target>,
    platform: &Hcl,
    out: &mut dyn std::fmt::Write,
) -> Result<(), RenderError> {
    let t = TargetsTemplate { targets, platform };
    t.render_into(out)
        .map_err(template_error("docker-bake.hcl"))?;
    targets.clear();
    Ok(())
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

/// A target's Dockerfile: the generated one, or a hand-written one in the
/// source tree.
fn bake_dockerfile(system: &System, name: &str, base: bool, b: &Build) -> Hcl {
    match build_dockerfile(system, name, base, b) {
        DockerfileAt::Generated(path) => hcl_var_path("GENERATED_DIR", &path.to_string_lossy()),
        DockerfileAt::Source(path) => hcl_var_path("SOURCE_DIR", &path.to_string_lossy()),
    }
}

/// The probe program's image, built from the output directory before
/// every other image, when some image carries the program.
fn probe_target(system: &System) -> Option<Target> {
    if !super::probe::needed(system) {
        return None;
    }
    let context = super::probe::context_dir(system);
    Some(Target {
        name: hcl_str(super::probe::BAKE_TARGET),
        context: hcl_var_path("GENERATED_DIR", &context.to_string_lossy()),
        dockerfile: hcl_var_path(
            "GENERATED_DIR",
            &super::probe::dockerfile_path(system).to_string_lossy(),
        ),
        tags: hcl_join(&[hcl_str(&super::probe::image(system))]),
        contexts: Vec::new(),
    })
}

/// The probe image as a named context of a service that carries it, so
/// `COPY --from=<probe image>` takes the freshly built target.
fn probe_context(system: &System, s: &Service) -> Option<(Hcl, Hcl)> {
    super::probe::carries_probe(s).then(|| {
        (
            hcl_str(&super::probe::image(system)),
            hcl_str(&format!("target:{}", super::probe::BAKE_TARGET)),
        )
    })
}

/// Every tag of a built image: its reference, then the extra tags on its
/// repository, a `${NAME}` one interpolating the bake variable NAME.
fn tags(system: &System, image: &str) -> Result<Hcl, RenderError> {
    let mut tags = vec![hcl_str(image)];
    for extra in &system.extra_tags {
        let mut parts = vec![TagPart::Text(format!("{}:", repository(image)))];
        parts.extend(extra.parts.iter().cloned());
        let what = || format!("the extra tag `{}`", extra.written());
        tags.push(hcl_template(&parts).map_err(refused(what))?);
    }
    Ok(hcl_join(&tags))
}

/// The variables the extra tags read, each once, declared in the bake file.
fn tag_variables(system: &System) -> Vec<Hcl> {
    let mut names: Vec<&str> = Vec::new();
    for v in system.extra_tags.iter().flat_map(|t| t.vars()) {
        if !names.contains(&v) {
            names.push(v);
        }
    }
    names.into_iter().map(hcl_str).collect()
}

/// A build on a base image gets it as a named context: bake builds the
/// base first and hands it over without a registry.
fn base_context(system: &System, runtime_base: Option<usize>) -> Vec<(Hcl, Hcl)> {
    (runtime_base.into_iter())
        .map(|i| {
            let image = &system.images[i];
            let target = format!("target:{}", base_target(&image.key));
            (hcl_str(&image.image), hcl_str(&target))
        })
        .collect()
}

/// Each phase's group of built images (phases building none have none),
/// and every group's name.
fn phase_groups(system: &System) -> (Vec<Group>, Vec<String>) {
    let mut phase_groups = Vec::new();
    let mut group_names = vec!["base-images".to_string()];
    for (p, phase) in system.phases.iter().enumerate() {
        let built: Vec<&str> = system
            .services_in(p)
            .filter(|s| s.build.is_some())
            .map(|s| s.name.as_str())
            .collect();
        if built.is_empty() {
            continue;
        }
        let name = phase_group(&phase.name);
        phase_groups.push(Group {
            quoted: hcl_str(&name),
            targets: hcl_list(&built),
        });
        group_names.push(name);
    }
    (phase_groups, group_names)
}

/// The bake file into `out`, piece by piece.
pub fn render_into(system: &System, out: &mut dyn std::fmt::Write) -> Result<(), RenderError> {
    let mut targets = Vec::new();
    let base_names: Vec<String> = system.images.iter().map(|i| base_target(&i.key)).collect();
    let base_context = |runtime_base| base_context(system, runtime_base);
    // The probe image comes first in the base images' group.
    let mut base_group = Vec::new();
    if let Some(target) = probe_target(system) {
        base_group.push(super::probe::BAKE_TARGET.to_string());
        targets.push(target);
    }
    base_group.extend(base_names.iter().cloned());
    for (image, name) in system.images.iter().zip(&base_names) {
        targets.push(Target {
            name: hcl_str(name),
            context: hcl_var_path("SOURCE_DIR", &image.build.context),
            dockerfile: bake_dockerfile(system, &image.key, true, &image.build),
            tags: tags(system, &image.image)?,
            contexts: base_context(image.build.runtime_base),
        });
    }
    let (phase_groups, group_names) = phase_groups(system);
    let t = BakeTemplate {
        bake_path: comment(&format!("generated/{BAKE_FILE}")),
        group_names: comment(&group_names.join(", ")),
        generated_default: hcl_str("generated"),
        all_groups: hcl_list(&group_names),
        base_targets: hcl_list(&base_group),
        phase_groups,
        tag_variables: tag_variables(system),
    };
    t.render_into(out)
        .map_err(template_error("docker-bake.hcl"))?;
    let platform = hcl_str(&system.platform);
    for (p, _) in system.phases.iter().enumerate() {
        for s in system.services_in(p) {
            let Some(b) = &s.build else { continue };
            let mut contexts = base_context(b.runtime_base);
            contexts.extend(probe_context(system, s));
            targets.push(Target {
                name: hcl_str(&s.name),
                context: hcl_var_path("SOURCE_DIR", &b.context),
                dockerfile: bake_dockerfile(system, &s.name, false, b),
                tags: tags(system, &s.image)?,
                contexts,
            });
            if targets.len() >= TARGETS_PER_PIECE {
                render_targets(&mut targets, &platform, out)?;
            }
        }
    }
    render_targets(&mut targets, &platform, out)?;
    out.write_char('\n')
        .map_err(|e| template_error("docker-bake.hcl")(e.into()))
}
