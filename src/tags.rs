//! Image tags, strict: the extra tags every built image carries
//! ([`TagTemplate`]: literal text and `${VAR}` read from the environment at
//! build time, [`TagTemplate::resolve`]), and the parts of an image
//! reference they attach to ([`repository`], [`registry_host`]). Built by
//! `validate` (`validate/ci.rs`), read by `render` (bake file, workflow)
//! and `docker` (`build`, `save`).

/// One piece of a tag as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagPart {
    Text(String),
    /// `${NAME}`: the environment variable's value at build time.
    Var(String),
}

/// An extra tag, e.g. `1.4.0`, `${GITHUB_SHA}` or `v${VERSION}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTemplate {
    pub parts: Vec<TagPart>,
}

/// Why a tag could not be resolved at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagError {
    /// The variable is unset or empty.
    Unset(String),
    /// The value it resolved to is not a Docker tag.
    Invalid { tag: String, value: String },
}

/// Whether `tag` is a Docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_docker_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl TagTemplate {
    /// The tag as written in the model.
    pub fn written(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                TagPart::Text(t) => t.clone(),
                TagPart::Var(v) => format!("${{{v}}}"),
            })
            .collect()
    }

    /// The variables it reads, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TagPart::Var(v) => Some(v.as_str()),
            TagPart::Text(_) => None,
        })
    }

    /// The tag with every variable replaced by `lookup`'s value.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, TagError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TagPart::Text(t) => out.push_str(t),
                TagPart::Var(v) => match lookup(v).filter(|s| !s.is_empty()) {
                    Some(value) => out.push_str(&value),
                    None => return Err(TagError::Unset(v.clone())),
                },
            }
        }
        if is_docker_tag(&out) {
            Ok(out)
        } else {
            Err(TagError::Invalid {
                tag: self.written(),
                value: out,
            })
        }
    }
}

/// An image reference without its tag (and digest): `reg:5000/a/b:1` →
/// `reg:5000/a/b`. Extra tags are put on this repository.
pub fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(colon) => &image[..slash + colon],
        None => image,
    }
}

/// The tag of an image reference (`reg:5000/a/b:1` → `1`), `latest` when
/// it has none (as Docker reads it).
pub fn tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let repo = repository(image);
    match image.get(repo.len() + 1..) {
        Some(t) if !t.is_empty() => t,
        _ => "latest",
    }
}

/// The image with `-suffix` added to its tag (`a/b:1` → `a/b:1-dev`): a
/// local image built from another stage of the same Dockerfile.
pub fn with_tag_suffix(image: &str, suffix: &str) -> String {
    let image = image.split('@').next().unwrap_or(image);
    format!("{}:{}-{suffix}", repository(image), tag(image))
}

/// The registry host an image is pushed to: the first path component when
/// it looks like a host (has a `.` or `:`, or is `localhost`), else Docker
/// Hub's `docker.io`.
pub fn registry_host(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_and_hosts() {
        assert_eq!(repository("a/b:1"), "a/b");
        assert_eq!(repository("reg:5000/a/b"), "reg:5000/a/b");
        assert_eq!(repository("reg:5000/a/b:x@sha256:00"), "reg:5000/a/b");
        assert_eq!(registry_host("ghcr.io/o/r/api:1"), "ghcr.io");
        assert_eq!(registry_host("localhost/a:1"), "localhost");
        assert_eq!(registry_host("example/api:1"), "docker.io");
        assert_eq!(registry_host("api:1"), "docker.io");
        assert_eq!(
            with_tag_suffix("reg:5000/a/b:1", "dev"),
            "reg:5000/a/b:1-dev"
        );
        assert_eq!(with_tag_suffix("a/b", "dev"), "a/b:latest-dev");
    }

    #[test]
    fn tags_resolve_or_name_the_variable() {
        let t = TagTemplate {
            parts: vec![TagPart::Text("v".into()), TagPart::Var("VERSION".into())],
        };
        assert_eq!(t.written(), "v${VERSION}");
        assert_eq!(t.resolve(|_| Some("1.2".into())), Ok("v1.2".into()));
        assert_eq!(t.resolve(|_| None), Err(TagError::Unset("VERSION".into())));
        assert_eq!(
            t.resolve(|_| Some(String::new())),
            Err(TagError::Unset("VERSION".into()))
        );
        assert!(matches!(
            t.resolve(|_| Some("a/b".into())),
            Err(TagError::Invalid { .. })
        ));
        assert!(is_docker_tag("_a.b-1") && !is_docker_tag(".a") && !is_docker_tag(""));
        assert!(!is_docker_tag(&"a".repeat(129)));
    }
}
