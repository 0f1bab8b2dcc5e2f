//! Dockerfiles: one per built service and one per base image, from the
//! template of the build's stack.

use std::path::PathBuf;

use askama::Template;

use super::{probe_command, service_labels, template_error, RenderError};
use crate::escape::{comment, json_array};
use crate::system::{Build, Protocol, Stack, System};

/// What every stack template fills in.
struct DockerfileView {
    header: Vec<String>,
    builder: String,
    runtime: String,
    /// `key="value"` pairs, one per line, for a single LABEL.
    labels: Option<String>,
    workdir: String,
    user: String,
    expose: Vec<String>,
    healthcheck: Option<String>,
    entrypoint: Option<String>,
    copy_source: bool,
    // python
    packages: Vec<String>,
    python_version: Option<String>,
    deps_dir: String,
    pythonpath: String,
    // native
    copy: Vec<(String, String)>,
    /// Named volume mount points under `/volumes`, shell-quoted, created
    /// in a build-platform stage and copied with the runtime user's
    /// ownership.
    volume_dirs: Vec<String>,
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

/// Where the Dockerfile of a service (or, with `base`, a base image) goes,
/// relative to the output root.
pub fn dockerfile_path(system: &System, name: &str, base: bool) -> PathBuf {
    PathBuf::from(&system.output.dockerfile_dir)
        .join(if base { "images" } else { "services" })
        .join(name)
        .join("Dockerfile")
}

/// A `LABEL` value: double-quoted, with `$` kept literal.
fn label_value(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A token for a shell command line: kept bare when it has only safe
/// characters, otherwise single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.=<>!~,:/+@[]".contains(c));
    if safe && !word.contains(['<', '>']) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\"'\"'"))
    }
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

fn base_view(
    system: &System,
    build: &Build,
    header: Vec<String>,
    labels: Vec<(String, String)>,
) -> DockerfileView {
    DockerfileView {
        header,
        builder: build.builder.clone(),
        runtime: build.runtime.clone(),
        labels: (!labels.is_empty()).then(|| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", label_value(v)))
                .collect::<Vec<_>>()
                .join(" \\\n      ")
        }),
        workdir: build.workdir.clone().unwrap_or_else(|| "/app".into()),
        user: "65532:65532".into(),
        expose: Vec::new(),
        healthcheck: None,
        entrypoint: (!build.entrypoint.is_empty()).then(|| json_array(&build.entrypoint)),
        copy_source: true,
        packages: build.packages.iter().map(|p| shell_word(p)).collect(),
        python_version: python_version(&build.builder),
        deps_dir: "/opt/python/service".into(),
        pythonpath: String::new(),
        copy: build.copy.clone(),
        volume_dirs: Vec::new(),
        // The platform is chosen at build time (`--platform`), not here.
    }
    .with_platform_note(system)
}

impl DockerfileView {
    fn with_platform_note(mut self, system: &System) -> Self {
        self.header.push(format!(
            "Built for {} (`--platform {}`); the runtime tag is multi-arch.",
            system.platform, system.platform
        ));
        self
    }
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
    };
    Ok(text + "\n")
}

/// Every Dockerfile: base images first, then services, each with its path.
pub fn render_all(system: &System) -> Result<Vec<(PathBuf, String)>, RenderError> {
    let mut out = Vec::new();
    for image in &system.images {
        let b = &image.build;
        let mut header = vec![format!("Base image {} ({})", image.image, image.key)];
        header.extend(image.description.as_deref().map(comment));
        header.push(format!(
            "Build from the source tree: docker build --platform {} -t {} -f THIS_FILE {}",
            system.platform, image.image, b.context
        ));
        let labels = vec![
            (
                "org.opencontainers.image.title".to_string(),
                image.image.clone(),
            ),
            ("lucid-gen.system".to_string(), system.name.clone()),
        ];
        let mut view = base_view(system, b, header, labels);
        view.copy_source = false;
        view.deps_dir = "/opt/python/base".into();
        view.pythonpath = "/opt/python/base".into();
        out.push((
            dockerfile_path(system, &image.key, true),
            render_view(b.stack, &view)?,
        ));
    }
    for s in &system.services {
        let Some(b) = &s.build else { continue };
        let mut header = vec![format!(
            "Service {} (phase {}, plane {})",
            s.name, system.phases[s.phase].name, system.planes[s.plane].name
        )];
        header.extend(s.description.as_deref().map(comment));
        if let Some(base) = b.runtime_base {
            header.push(format!(
                "Build base image {} first.",
                system.images[base].image
            ));
        }
        header.push(format!(
            "Build from the source tree: docker build --platform {} -t {} -f THIS_FILE {}",
            system.platform, s.image, b.context
        ));
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
        let mut view = base_view(system, b, header, labels);
        view.user = s.user.clone();
        let base_is_python = b
            .runtime_base
            .is_some_and(|i| system.images[i].build.stack == Stack::Python);
        view.pythonpath = if base_is_python {
            format!("{}:/opt/python/service:/opt/python/base", view.workdir)
        } else {
            format!("{}:/opt/python/service", view.workdir)
        };
        view.volume_dirs = s
            .volumes
            .iter()
            .map(|v| shell_word(&format!("/volumes{}", v.target)))
            .collect();
        view.expose = s
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.container.0,
                    match p.protocol {
                        Protocol::Tcp => "tcp",
                        Protocol::Udp => "udp",
                    }
                )
            })
            .collect();
        view.healthcheck = s.health.as_ref().map(|h| {
            format!(
                "--interval={} --timeout={} --start-period={} --retries={} CMD {}",
                h.interval,
                h.timeout,
                h.start_period,
                h.retries,
                json_array(&probe_command(s).unwrap_or_default())
            )
        });
        out.push((
            dockerfile_path(system, &s.name, false),
            render_view(b.stack, &view)?,
        ));
    }
    Ok(out)
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

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("fastapi==0.115.6"), "fastapi==0.115.6");
        assert_eq!(
            shell_word("uvicorn[standard]==0.30"),
            "uvicorn[standard]==0.30"
        );
        assert_eq!(shell_word("a>=1"), "'a>=1'");
        assert_eq!(label_value("a \"b\" $c"), "\"a \\\"b\\\" \\$c\"");
    }
}
