//! The `env_files` and `secrets` sections, and the variable name and
//! value checks every environment shares.

use std::collections::HashMap;

use crate::diagnostic::Kind;
use crate::escape;
use crate::system::*;

use crate::model::raw;

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn env_value(&mut self, at: &At, name: &str, value: &str) {
        if let Err(escape::Unrepresentable(why)) = escape::env_file_value(value) {
            self.report(
                at,
                Kind::EnvValue {
                    name: name.to_string(),
                    why: why.to_string(),
                },
            );
        }
    }

    pub(super) fn env_name(&mut self, at: &At, name: &str) {
        // The escaper render writes the name with decides.
        if escape::env_name(name).is_err() {
            self.report_at_key(
                at,
                Kind::EnvName {
                    name: name.to_string(),
                },
            );
        }
    }

    pub(super) fn env_files(&mut self, m: &Merged<'a>) -> Vec<EnvFile> {
        let mut out = Vec::new();
        let mut file_names: HashMap<&str, At> = HashMap::new();
        for (key, d) in &m.env_files {
            let f = d.def;
            let file_at = d.at(&p().key("file"));
            if !names::is_file_name(&f.file) {
                self.report(
                    &file_at,
                    Kind::EnvFileName {
                        file: f.file.clone(),
                    },
                );
            } else if let Some(first) = file_names.insert(f.file.as_str(), file_at.clone()) {
                let loc = self.value_loc(&first);
                self.report(
                    &file_at,
                    Kind::EnvFileTwice {
                        file: f.file.clone(),
                        first_at: loc,
                    },
                );
            }
            for (name, value) in &f.vars {
                let at = d.at(&p().key("vars").key(name.as_str()));
                self.env_name(&at, name);
                self.env_value(&at, name, value);
            }
            out.push(EnvFile {
                key: key.clone(),
                file: f.file.clone(),
                description: f.description.clone(),
                vars: f.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
        }
        out
    }

    pub(super) fn secrets(&mut self, m: &Merged<'a>) -> Vec<SecretSpec> {
        let mut out = Vec::new();
        for (name, d) in &m.secrets {
            let s = d.def;
            self.env_name(&d.here(), name);
            let supplied = self.secret_source(name, d);
            let bytes = s.bytes.unwrap_or(32);
            if !(16..=4096).contains(&bytes) {
                self.report(
                    &d.at(&p().key("bytes")),
                    Kind::SecretSize {
                        name: name.clone(),
                        bytes,
                    },
                );
            }
            out.push(SecretSpec {
                name: name.clone(),
                description: s.description.clone(),
                bytes: bytes as usize,
                encoding: s.encoding.unwrap_or_default(),
                supplied,
                template: self.secret_template(m, name, d),
            });
        }
        out
    }

    /// A `template`'s parts, every problem reported at once: unparsable,
    /// no reference, a reference to an undeclared secret or to another
    /// template (itself too, so no cycle can form), literal text an env
    /// file cannot carry.
    fn secret_template(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        d: &Def<'a, raw::SecretDef>,
    ) -> Option<Vec<crate::secret_template::Part>> {
        use crate::secret_template::{parse, references, Part};
        let template = d.def.template.as_ref()?;
        let at = d.at(&p().key("template"));
        let kind = |why: String| Kind::SecretTemplate {
            name: name.to_string(),
            why,
        };
        let parts = match parse(template) {
            Ok(parts) => parts,
            Err(e) => {
                self.report(&at, kind(e.to_string()));
                return None;
            }
        };
        if references(&parts).next().is_none() {
            self.report(&at, kind("it names no secret".into()));
        }
        let mut seen = Vec::new();
        for reference in references(&parts) {
            if seen.contains(&reference) {
                continue;
            }
            seen.push(reference);
            let why = match m.secrets.get(reference) {
                None => match names::suggest(reference, m.secrets.keys().map(String::as_str)) {
                    Some(s) => format!("which is not declared (did you mean `{s}`?)"),
                    None => "which is not declared".to_string(),
                },
                Some(_) if reference == name => "itself".to_string(),
                Some(other) if other.def.template.is_some() => {
                    "another template (a template composes no template)".to_string()
                }
                Some(_) => continue,
            };
            let kind = Kind::SecretTemplateReference {
                name: name.to_string(),
                reference: reference.to_string(),
                why,
            };
            self.report(&at, kind);
        }
        for part in &parts {
            if let Part::Text(text) = part {
                self.env_value(&at, name, text);
            }
        }
        Some(parts)
    }

    /// Exactly one of `bytes`, `from_env`, `from_file` and `template`;
    /// the supplied source, if any.
    fn secret_source(&mut self, name: &str, d: &Def<'a, raw::SecretDef>) -> Option<Supplied> {
        let s = d.def;
        let given: Vec<&str> = [
            s.bytes.map(|_| "`bytes`"),
            s.from_env.as_ref().map(|_| "`from_env`"),
            s.from_file.as_ref().map(|_| "`from_file`"),
            s.template.as_ref().map(|_| "`template`"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() != 1 {
            let given = match given.as_slice() {
                [] => "none".to_string(),
                more => more.join(" and "),
            };
            let name = name.to_string();
            self.report_at_key(&d.here(), Kind::SecretValueSource { name, given });
            return None;
        }
        if s.encoding.is_some() && s.bytes.is_none() {
            let name = name.to_string();
            let source = given[0].to_string();
            let at = d.at(&p().key("encoding"));
            self.report_at_key(&at, Kind::SecretEncodingUnused { name, source });
        }
        if let Some(var) = &s.from_env {
            self.env_name(&d.at(&p().key("from_env")), var);
            return Some(Supplied::Env(var.clone()));
        }
        let path = s.from_file.as_ref()?;
        if path.is_empty() || path.contains('\0') {
            let name = name.to_string();
            self.report(&d.at(&p().key("from_file")), Kind::SecretFilePath { name });
        }
        Some(Supplied::File(path.clone()))
    }
}
