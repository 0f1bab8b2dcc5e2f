//! Checks several sections share: references resolved with a "did you
//! mean", Docker names, labels, linter exceptions and port numbers.

use indexmap::IndexMap;

use crate::diagnostic::Rule;

use super::location::At;
use super::merge::Section;
use super::names::{self, suggest};
use super::Validator;

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
                self.error_at_key(
                    Rule::SecurityException,
                    &here,
                    format!("`{rule}` is not a linter rule id"),
                    "write the id the linter reports, e.g. `CL-0019`",
                );
            }
            if reason.trim().len() < 8 {
                self.error(Rule::SecurityException, &here, format!("the exception to {rule} needs a reason"), "state in a sentence why the finding is accepted; it is written next to the exception");
            }
        }
        exceptions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
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
                self.error_at_key(
                    Rule::InvalidName,
                    &At {
                        file: at.file,
                        path: at.path.key(key.as_str()),
                    },
                    format!("label key `{key}` has characters Docker does not allow"),
                    "use reverse-DNS style keys such as `org.example.team`",
                );
            }
            if value.contains('\0') {
                self.error(
                    Rule::EnvValue,
                    &At {
                        file: at.file,
                        path: at.path.key(key.as_str()),
                    },
                    format!("label `{key}` holds a NUL byte"),
                    "remove the NUL byte",
                );
            }
        }
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// A volume name: a Docker name YAML reads as a string.
    pub(super) fn check_volume_name(&mut self, name: &str, at: &At) {
        if !names::is_docker_name(name) {
            self.error(
                Rule::InvalidName,
                at,
                format!("volume name `{name}` is not a valid Docker name"),
                "use letters, digits, `_`, `.` and `-`",
            );
        } else if let Some(what) = names::yaml_misread(name) {
            self.error(
                Rule::InvalidName,
                at,
                format!("volume name `{name}` reads as {what} in YAML, not as a name"),
                YAML_NAME_HELP,
            );
        }
    }

    pub(super) fn check_name(&mut self, kind: &str, name: &str, at: &At) {
        if !names::is_docker_name(name) {
            self.error_at_key(
                Rule::InvalidName,
                at,
                format!("{kind} name `{name}` is not a valid Docker name"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 63 characters",
            );
        } else if let Some(what) = names::yaml_misread(name) {
            self.error_at_key(
                Rule::InvalidName,
                at,
                format!("{kind} name `{name}` reads as {what} in YAML, not as a name"),
                YAML_NAME_HELP,
            );
        }
    }

    /// Resolves `name` in `section`, reporting `rule` with a suggestion when
    /// it does not exist.
    pub(super) fn resolve<T>(
        &mut self,
        rule: Rule,
        what: &str,
        name: &str,
        section: &Section<'a, T>,
        at: &At,
    ) -> Option<usize> {
        if let Some(i) = section.get_index_of(name) {
            return Some(i);
        }
        let help = match suggest(name, section.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if section.is_empty() => format!("declare the {what} first; the model has none"),
            None if section.len() <= 8 => format!(
                "declare it, or use one of: {}",
                section
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "declare it; none of the model's {} {what}s has a similar name",
                section.len()
            ),
        };
        self.error(rule, at, format!("unknown {what} `{name}`"), help);
        None
    }
    pub(super) fn port(&mut self, value: u32, at: &At, what: &str) -> u16 {
        match u16::try_from(value) {
            Ok(port) if port > 0 => port,
            _ => {
                self.error(
                    Rule::PortRange,
                    at,
                    format!("{what} {value} is out of range"),
                    "ports go from 1 to 65535",
                );
                0
            }
        }
    }
}

/// Why a name like `true`, `null`, `off` or `123` is refused.
pub(super) const YAML_NAME_HELP: &str = "Compose files are YAML, where `true`, `yes`, `off`, `null`, `~`, numbers and dates are not strings; pick a name with a letter that makes it a word, e.g. `true-web` or `db123`";
