//! Dockerfiles: one per built service and one per base image, from the
//! template of the build's stack.

use std::path::PathBuf;

use askama::Template;

use super::dockerignore;
use super::{probe_command, refused, service_labels, template_error, RenderError};
use crate::escape::{
    comment, docker_copy, docker_quoted, docker_word, json_array, shell_word, Comment, DockerCopy,
    DockerJson, DockerWord, ShellWord,
};
use crate::system::{
    BaseImage, Build, Protocol, Service, Stack, System, REQUIREMENTS_IN_BUILDER, VERSION_IN_STAGE,
};

/// What every stack template fills in.
struct DockerfileView {
    header: Vec<Comment>,
    builder: DockerWord,
    runtime: DockerWord,
    /// `key="value"` pairs of one LABEL instruction.
    labels: Vec<(DockerWord, DockerWord)>,
    workdir: DockerWord,
    user: DockerWord,
    expose: Vec<(u16, &'static str)>,
    healthcheck: Option<HealthView>,
    entrypoint: Option<DockerJson>,
    /// The `dev` stage's process (node), when the build has one.
    dev_entrypoint: Option<DockerJson>,
    /// The runtime user as a shell word (the `dev` stage's `chown`).
    user_sh: ShellWord,
    copy_source: bool,
    /// `COPY` of the build context into the working directory (python).
    copy_app: DockerCopy,
    /// `COPY` of the builder's `/out` into the working directory (java).
    copy_out: DockerCopy,
    /// `COPY` of the builder's `/build` into the working directory (node).
    copy_build: DockerCopy,
    // python
    packages: Vec<ShellWord>,
    /// `COPY` of the requirements file into the builder stage (python).
    copy_requirements: Option<DockerCopy>,
    requirements_sh: ShellWord,
    python_version: Option<ShellWord>,
    deps_dir: DockerWord,
    deps_dir_sh: ShellWord,
    copy_deps: DockerCopy,
    pythonpath: DockerWord,
    // native
    copy: Vec<DockerCopy>,
    /// Named volume mount points under `/volumes`, created in a
    /// build-platform stage and copied with the runtime user's ownership.
    volume_dirs: Vec<ShellWord>,
    /// The probe image the health probe program is copied from.
    probe_from: Option<DockerWord>,
    /// The image's version and where it goes (`build.version_file`).
    version: Option<VersionView>,
}

struct VersionView {
    tag: ShellWord,
    copy: DockerCopy,
}

struct HealthView {
    interval: DockerWord,
    timeout: DockerWord,
    start_period: DockerWord,
    retries: u32,
    cmd: DockerJson,
}

#[derive(Template)]
#[template(path = "dockerfile/python.Dockerfile", escape = "none")]
struct PythonDockerfile<'a> {
    d: &'a DockerfileView,
}

#[derive(Template)]
#[template(path = "dockerfile/java.Dockerfile", escape = "none")]
struct JavaDockerfile<'a> {
    d: &'a DockerfileView,
}

#[derive(Template)]
#[template(path = "dockerfile/native.Dockerfile", escape = "none")]
struct NativeDockerfile<'a> {
    d: &'a DockerfileView,
}

#[derive(Template)]
#[template(path = "dockerfile/node.Dockerfile", escape = "none")]
struct NodeDockerfile<'a> {
    d: &'a DockerfileView,
}

/// Where the Dockerfile of a service (or, with `base`, a base image) goes,
/// relative to the output root.
pub fn dockerfile_path(system: &System, name: &str, base: bool) -> PathBuf {
    super::output_path(
        &system.output.dockerfile_dir,
        &[if base { "images" } else { "services" }, name, "Dockerfile"],
    )
}

/// `3.11` from `python:3.11-slim`.
fn python_version(builder: &str) -> Option<String> {
    let tag = builder.rsplit_once(':')?.1;
    let mut parts = tag.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().filter(|p| !p.is_empty())?;
    let minor = parts.next().filter(|p| !p.is_empty())?;
    tag[major.len()..]
        .starts_with('.')
        .then(|| format!("{major}.{minor}"))
}

/// Everything a base image and a service share, from their build.
fn base_view(
    system: &System,
    build: &Build,
    header: Vec<Comment>,
    labels: &[(String, String)],
    what: &str,
) -> Result<DockerfileView, RenderError> {
    let word = |value: &str, field: &str| {
        docker_word(value).map_err(refused(|| format!("{field} of {what}")))
    };
    let copy = |from: &str, to: &str, field: &str| {
        docker_copy(from, to).map_err(refused(|| format!("{field} of {what}")))
    };
    let workdir = build.workdir.as_deref().unwrap_or("/app");
    let deps_dir = "/opt/python/service";
    let mut header = header;
    // The platform is chosen at build time (`--platform`), not here.
    header.push(comment(&format!(
        "Built for {} (`--platform {}`); the runtime tag is multi-arch.",
        system.platform, system.platform
    )));
    Ok(DockerfileView {
        header,
        builder: word(&build.builder, "the builder image")?,
        runtime: word(&build.runtime, "the runtime image")?,
        labels: labels
            .iter()
            .map(|(k, v)| {
                let what = || format!("label `{k}` of {what}");
                Ok((
                    docker_word(k).map_err(refused(what))?,
                    docker_quoted(v).map_err(refused(what))?,
                ))
            })
            .collect::<Result<_, RenderError>>()?,
        workdir: word(workdir, "the working directory")?,
        user: word("65532:65532", "the user")?,
        expose: Vec::new(),
        healthcheck: None,
        entrypoint: (!build.entrypoint.is_empty()).then(|| json_array(&build.entrypoint)),
        dev_entrypoint: (!build.dev_entrypoint.is_empty())
            .then(|| json_array(&build.dev_entrypoint)),
        user_sh: shell_word("65532:65532"),
        copy_source: true,
        copy_app: copy(".", workdir, "the working directory")?,
        copy_out: copy("/out", workdir, "the working directory")?,
        copy_build: copy("/build", workdir, "the working directory")?,
        packages: build.packages.iter().map(|p| shell_word(p)).collect(),
        copy_requirements: match &build.requirements {
            Some(r) => Some(copy(r, REQUIREMENTS_IN_BUILDER, "the requirements file")?),
            None => None,
        },
        requirements_sh: shell_word(REQUIREMENTS_IN_BUILDER),
        python_version: python_version(&build.builder).map(|v| shell_word(&v)),
        deps_dir: word(deps_dir, "the dependency directory")?,
        deps_dir_sh: shell_word(deps_dir),
        copy_deps: copy(deps_dir, deps_dir, "the dependency directory")?,
        pythonpath: word("", "PYTHONPATH")?,
        copy: build
            .copy
            .iter()
            .map(|(from, to)| copy(from, to, "a copied path"))
            .collect::<Result<_, _>>()?,
        volume_dirs: Vec::new(),
        probe_from: None,
        version: None,
    })
}

fn render_view(stack: Stack, view: &DockerfileView) -> Result<String, RenderError> {
    let text = match stack {
        Stack::Python => PythonDockerfile { d: view }
            .render()
            .map_err(template_error("dockerfile/python.Dockerfile"))?,
        Stack::Java => JavaDockerfile { d: view }
            .render()
            .map_err(template_error("dockerfile/java.Dockerfile"))?,
        Stack::Native => NativeDockerfile { d: view }
            .render()
            .map_err(template_error("dockerfile/native.Dockerfile"))?,
        Stack::Node => NodeDockerfile { d: view }
            .render()
            .map_err(template_error("dockerfile/node.Dockerfile"))?,
    };
    Ok(text + "\n")
}

/// The base images' Dockerfiles, first of every Dockerfile lucid-gen
/// writes (then [`render_services`]); a build with a hand-written
/// Dockerfile gets none.
pub fn render_bases(system: &System) -> Result<Vec<(PathBuf, String)>, RenderError> {
    let mut out = Vec::new();
    for image in &system.images {
        let Some(stack) = image.build.stack else {
            continue;
        };
        let path = dockerfile_path(system, &image.key, true);
        let what = format!("base image {}", image.key);
        out.push((
            dockerignore::path(&path),
            dockerignore::render(system, &what)?,
        ));
        out.push((path, render_view(stack, &base_image_view(system, image)?)?));
    }
    Ok(out)
}

/// The Dockerfiles (and `.dockerignore`s) of `system.services[range]`.
pub fn render_services(
    system: &System,
    range: std::ops::Range<usize>,
) -> Result<Vec<(PathBuf, String)>, RenderError> {
    let mut out = Vec::new();
    for s in &system.services[range] {
        let Some(b) = &s.build else { continue };
        let Some(stack) = b.stack else { continue };
        let path = dockerfile_path(system, &s.name, false);
        let what = format!("service {}", s.name);
        out.push((
            dockerignore::path(&path),
            dockerignore::render(system, &what)?,
        ));
        out.push((path, render_view(stack, &service_view(system, s, b)?)?));
    }
    Ok(out)
}

/// Where the Dockerfile a build uses lies: under the output root
/// (`Generated`) for a stack, or in the build context (`Source`) for a
/// hand-written one; relative to that root.
pub enum DockerfileAt {
    Generated(PathBuf),
    Source(PathBuf),
}

/// The Dockerfile of a service (or, with `base`, a base image) whose build
/// is `b`.
pub fn build_dockerfile(system: &System, name: &str, base: bool, b: &Build) -> DockerfileAt {
    match &b.dockerfile {
        Some(file) => DockerfileAt::Source(PathBuf::from(&b.context).join(file)),
        None => DockerfileAt::Generated(dockerfile_path(system, name, base)),
    }
}

/// The `version` stage of a build with `version_file`: the tag of
/// `image`, copied to that path.
fn version_view(b: &Build, image: &str, what: &str) -> Result<Option<VersionView>, RenderError> {
    let Some(path) = &b.version_file else {
        return Ok(None);
    };
    let copy = docker_copy(VERSION_IN_STAGE, path)
        .map_err(refused(|| format!("the version file of {what}")))?;
    Ok(Some(VersionView {
        tag: shell_word(crate::tags::tag(image)),
        copy,
    }))
}

fn base_image_view(system: &System, image: &BaseImage) -> Result<DockerfileView, RenderError> {
    let b = &image.build;
    let mut header = vec![comment(&format!(
        "Base image {} ({})",
        image.image, image.key
    ))];
    header.extend(image.description.as_deref().map(comment));
    header.push(comment(&format!(
        "Build from the source tree: docker build --platform {} -t {} -f THIS_FILE {}",
        system.platform, image.image, b.context
    )));
    let labels = [
        (
            "org.opencontainers.image.title".to_string(),
            image.image.clone(),
        ),
        ("lucid-gen.system".to_string(), system.name.clone()),
    ];
    let what = format!("base image `{}`", image.key);
    let mut view = base_view(system, b, header, &labels, &what)?;
    view.version = version_view(b, &image.image, &what)?;
    if let Some(user) = &image.user {
        view.user = docker_word(user).map_err(refused(|| what.clone()))?;
    }
    let base_dir = "/opt/python/base";
    view.copy_source = false;
    view.deps_dir = docker_word(base_dir).map_err(refused(|| what.clone()))?;
    view.deps_dir_sh = shell_word(base_dir);
    view.copy_deps = docker_copy(base_dir, base_dir).map_err(refused(|| what.clone()))?;
    view.pythonpath = docker_word(base_dir).map_err(refused(|| what.clone()))?;
    Ok(view)
}

fn service_view(system: &System, s: &Service, b: &Build) -> Result<DockerfileView, RenderError> {
    let mut header = vec![comment(&format!(
        "Service {} (phase {}, plane {})",
        s.name, system.phases[s.phase].name, system.planes[s.plane].name
    ))];
    header.extend(s.description.as_deref().map(comment));
    if let Some(base) = b.runtime_base {
        header.push(comment(&format!(
            "Build base image {} first.",
            system.images[base].image
        )));
    }
    header.push(comment(&format!(
        "Build from the source tree: docker build --platform {} -t {} -f THIS_FILE {}",
        system.platform, s.image, b.context
    )));
    let mut labels = vec![
        ("org.opencontainers.image.title".to_string(), s.name.clone()),
        (
            "org.opencontainers.image.base.name".to_string(),
            b.runtime.clone(),
        ),
    ];
    if let Some(d) = &s.description {
        labels.push((
            "org.opencontainers.image.description".to_string(),
            d.clone(),
        ));
    }
    labels.extend(service_labels(system, s));
    let what = format!("service `{}`", s.name);
    let refuse = |field: &'static str| refused(move || format!("{field} of service `{}`", s.name));
    let mut view = base_view(system, b, header, &labels, &what)?;
    view.version = version_view(b, &s.image, &what)?;
    view.user = docker_word(&s.user).map_err(refuse("the user"))?;
    view.user_sh = shell_word(&s.user);
    let workdir = b.workdir.as_deref().unwrap_or("/app");
    let base_is_python = b
        .runtime_base
        .is_some_and(|i| system.images[i].build.stack == Some(Stack::Python));
    let pythonpath = if base_is_python {
        format!("{workdir}:/opt/python/service:/opt/python/base")
    } else {
        format!("{workdir}:/opt/python/service")
    };
    view.pythonpath = docker_word(&pythonpath).map_err(refuse("PYTHONPATH"))?;
    view.volume_dirs = s
        .volumes
        .iter()
        .map(|v| shell_word(&format!("/volumes{}", v.target)))
        .collect();
    view.expose = s
        .ports
        .iter()
        .map(|p| match p.protocol {
            Protocol::Tcp => (p.container.0, "tcp"),
            Protocol::Udp => (p.container.0, "udp"),
        })
        .collect();
    if super::probe::carries_probe(s) {
        let image = super::probe::image(system);
        view.probe_from = Some(docker_word(&image).map_err(refuse("the probe image"))?);
    }
    view.healthcheck = match &s.health {
        None => None,
        Some(h) => Some(HealthView {
            interval: docker_word(&h.interval).map_err(refuse("the health check"))?,
            timeout: docker_word(&h.timeout).map_err(refuse("the health check"))?,
            start_period: docker_word(&h.start_period).map_err(refuse("the health check"))?,
            retries: h.retries,
            cmd: json_array(&probe_command(s).unwrap_or_default()),
        }),
    };
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_versions_from_builder_tags() {
        assert_eq!(python_version("python:3.11-slim").as_deref(), Some("3.11"));
        assert_eq!(python_version("python:3.12").as_deref(), Some("3.12"));
        assert_eq!(python_version("python:slim"), None);
        assert_eq!(python_version("python"), None);
    }
}
