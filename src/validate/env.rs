//! The `env_files` and `secrets` sections, and the variable name and
//! value checks every environment shares.

use std::collections::HashMap;

use crate::diagnostic::Rule;
use crate::escape;
use crate::system::*;

use super::location::{p, At};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn env_value(&mut self, at: &At, name: &str, value: &str) {
        if let Err(escape::Unrepresentable(why)) = escape::env_file_value(value) {
            self.error(
                Rule::EnvValue,
                at,
                format!("value of `{name}` cannot be written: {why}"),
                "remove the character from the value",
            );
        }
    }

    pub(super) fn env_name(&mut self, at: &At, name: &str) {
        if !names::is_env_name(name) {
            self.error_at_key(
                Rule::EnvName,
                at,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
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
                self.error(
                    Rule::InvalidPath,
                    &file_at,
                    format!("env file name `{}` must be a plain file name", f.file),
                    "use a name like `.env.foundation`",
                );
            } else if let Some(first) = file_names.insert(f.file.as_str(), file_at.clone()) {
                let loc = self.value_loc(&first);
                self.error(
                    Rule::DuplicateDefinition,
                    &file_at,
                    format!(
                        "two env files are both written to `{}` (first at {loc})",
                        f.file
                    ),
                    "give each env file its own `file`",
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
                secrets: Vec::new(),
            });
        }
        out
    }

    pub(super) fn secrets(&mut self, m: &Merged<'a>) -> Vec<SecretSpec> {
        let mut out = Vec::new();
        for (name, d) in &m.secrets {
            let s = d.def;
            self.env_name(&d.here(), name);
            if !(16..=4096).contains(&s.bytes) {
                self.error(
                    Rule::SecretSize,
                    &d.at(&p().key("bytes")),
                    format!("secret `{name}` has {} bytes; it needs 16 to 4096", s.bytes),
                    "16 bytes (128 bits) is the least that resists guessing; seed 001 uses 32 or 64",
                );
            }
            let mut env_files = Vec::new();
            for (i, file) in s.env_files.iter().enumerate() {
                let at = d.at(&p().key("env_files").index(i));
                if let Some(idx) =
                    self.resolve(Rule::UnknownEnvFile, "env file", file, &m.env_files, &at)
                {
                    if m.env_files[idx].def.vars.contains_key(name) {
                        let loc =
                            self.key_loc(&m.env_files[idx].at(&p().key("vars").key(name.as_str())));
                        self.error(
                            Rule::EnvConflict,
                            &at,
                            format!(
                                "env file `{file}` already has a plain variable `{name}` ({loc})"
                            ),
                            "remove the plain variable; the secret fills it",
                        );
                    }
                    env_files.push(idx);
                }
            }
            out.push(SecretSpec {
                name: name.clone(),
                description: s.description.clone(),
                bytes: s.bytes as usize,
                encoding: s.encoding,
                env_files,
            });
        }
        out
    }
}
