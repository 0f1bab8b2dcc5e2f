//! Checks several sections share: references resolved with a "did you
//! mean", Docker names, labels, linter exceptions and port numbers.

use indexmap::IndexMap;

use crate::diagnostic::Kind;

use super::location::At;
use super::merge::{Merged, Section};
use super::names::{self, suggest};
use super::Validator;
use crate::render::OWN_LABEL_PREFIX as RESERVED_LABELS;

impl<'a> Validator<'a> {
    /// Linter rules accepted with a reason: `CL-0019: "why"`.
    pub(super) fn lint_exceptions(
        &mut self,
        exceptions: &IndexMap<String, String>,
        at: &At,
    ) -> Vec<(String, String)> {
        for (rule, reason) in exceptions {
            let here = At {
                file: at.file,
                path: at.path.key(rule.as_str()),
            };
            let well_formed = rule.split_once('-').is_some_and(|(prefix, number)| {
                !prefix.is_empty()
                    && prefix.chars().all(|c| c.is_ascii_uppercase())
                    && !number.is_empty()
                    && number.chars().all(|c| c.is_ascii_digit())
            });
            if !well_formed {
                self.report_at_key(&here, Kind::InvalidLintRule { rule: rule.clone() });
            }
            if reason.trim().len() < 8 {
                self.report(&here, Kind::LintExceptionReason { rule: rule.clone() });
            }
        }
        exceptions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A service label that is also a system label: both would be keys
    /// of one `labels:` mapping, which Compose refuses.
    pub(super) fn labels_apart_from_system(
        &mut self,
        m: &Merged<'a>,
        labels: &IndexMap<String, String>,
        at: &At,
    ) {
        let Some(system) = &m.system else { return };
        for key in labels.keys().filter(|k| system.def.labels.contains_key(*k)) {
            let kind = Kind::LabelTwice { key: key.clone() };
            self.report_at_key(&at.key(key.as_str()), kind);
        }
    }

    pub(super) fn labels(
        &mut self,
        labels: &IndexMap<String, String>,
        at: &At,
    ) -> Vec<(String, String)> {
        for (key, value) in labels {
            let ok = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
            if !ok {
                self.report_at_key(
                    &At {
                        file: at.file,
                        path: at.path.key(key.as_str()),
                    },
                    Kind::InvalidLabelKey { key: key.clone() },
                );
            }
            if key.starts_with(RESERVED_LABELS) {
                let at = at.key(key.as_str());
                self.report_at_key(&at, Kind::ReservedLabel { key: key.clone() });
            }
            if value.contains('\0') {
                self.report(
                    &At {
                        file: at.file,
                        path: at.path.key(key.as_str()),
                    },
                    Kind::LabelNul { key: key.clone() },
                );
            }
        }
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub(super) fn check_name(&mut self, kind: &'static str, name: &str, at: &At) {
        if !names::is_docker_name(name) {
            self.report_at_key(
                at,
                Kind::InvalidDockerName {
                    what: kind,
                    name: name.to_string(),
                },
            );
        } else if let Some(reads_as) = names::yaml_misread(name) {
            self.report_at_key(
                at,
                Kind::YamlMisreadName {
                    what: kind,
                    name: name.to_string(),
                    reads_as,
                },
            );
        }
    }

    /// Resolves `name` in `section`, reporting it as unknown, with a
    /// suggestion, when it does not exist.
    pub(super) fn resolve<T>(
        &mut self,
        what: Ref,
        name: &str,
        section: &Section<'a, T>,
        at: &At,
    ) -> Option<usize> {
        if let Some(i) = section.get_index_of(name) {
            return Some(i);
        }
        let help = match suggest(name, section.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if section.is_empty() => {
                format!("declare the {} first; the model has none", what.name())
            }
            None if section.len() <= 8 => format!(
                "declare it, or use one of: {}",
                section
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "declare it; none of the model's {} {}s has a similar name",
                section.len(),
                what.name()
            ),
        };
        self.report(at, what.unknown(name, help));
        None
    }
    pub(super) fn port(&mut self, value: u32, at: &At, what: &'static str) -> u16 {
        match u16::try_from(value) {
            Ok(port) if port > 0 => port,
            _ => {
                self.report(at, Kind::PortRange { what, value });
                0
            }
        }
    }
}

/// What a reference names: decides the kind reported when it is unknown.
#[derive(Clone, Copy)]
pub(super) enum Ref {
    Phase,
    Plane,
    Network,
    EnvFile,
    Image,
    Service,
}

impl Ref {
    fn name(self) -> &'static str {
        match self {
            Ref::Phase => "phase",
            Ref::Plane => "plane",
            Ref::Network => "network",
            Ref::EnvFile => "env file",
            Ref::Image => "image",
            Ref::Service => "service",
        }
    }

    fn unknown(self, name: &str, hint: String) -> Kind {
        let name = name.to_string();
        match self {
            Ref::Phase => Kind::UnknownPhase { name, hint },
            Ref::Plane => Kind::UnknownPlane { name, hint },
            Ref::Network => Kind::UnknownNetwork { name, hint },
            Ref::EnvFile => Kind::UnknownEnvFile { name, hint },
            Ref::Image => Kind::UnknownImage { name, hint },
            Ref::Service => Kind::UnknownService { name, hint },
        }
    }
}
