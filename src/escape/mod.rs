//! Quoting values for every syntax lucid-gen writes, as types that say which
//! syntax a value is safe for: [`EnvValue`] and [`EnvName`] (env files as
//! Compose v2 reads them), [`Yaml`] (compose and lint YAML), [`DockerWord`],
//! [`DockerCopy`] and [`DockerJson`] (Dockerfile arguments and exec-form
//! arrays), [`Hcl`] (the bake file), [`ShellWord`] (`--dry-run` lines and
//! `RUN` arguments), [`GitignorePattern`], [`DockerignorePattern`], [`Comment`], Python string
//! and JavaScript string literals for health probes ([`python_str`],
//! [`js_str`]), model text shown on a
//! terminal ([`escape_control`]: control characters as `\u{1b}` codes), and
//! GitHub Actions workflow commands and job-summary markdown
//! ([`workflow_command`], [`markdown_code_block`]), and values in a rendered
//! workflow file ([`WorkflowValue`]: no model text opens a `${{ }}`).
//!
//! Each type's field is private to its submodule, so the only way to get one
//! is through the escape function that makes its text safe; templates hold
//! only these types (and numbers, bools and fixed `&'static str`s), never a
//! raw string from the model.
//!
//! Invariant: a value either comes back byte-for-byte from the tool that
//! reads it (`docker compose config`, `docker build`, `sh`, `git
//! check-ignore`, a JSON parser), or is refused here with a reason — never
//! silently changed. Validation calls the fallible escapers
//! ([`env_file_value`], [`docker_word`], [`docker_quoted`], [`docker_copy`],
//! [`gitignore_path`]) so that a model with an unrepresentable value never
//! reaches rendering; rendering calls them again and fails rather than
//! writing something else.
//!
//! No function outside this module quotes or escapes (a test in
//! `tests/properties.rs` greps for them).

mod config;
mod docker;
mod dockerignore;
mod env;
mod github;
mod gitignore;
mod graph;
mod hcl;
mod js;
mod python;
mod shell;
mod terminal;
mod workflow;
mod xml;
mod yaml;

use std::fmt;

pub use config::{config_value, ConfigSyntax};
pub use docker::{docker_copy, docker_quoted, docker_word, json_array, json_str};
pub use docker::{DockerCopy, DockerJson, DockerWord};
pub use dockerignore::{dockerignore_dir_anywhere, DockerignorePattern};
pub use env::{env_file_value, env_name, EnvName, EnvValue};
pub use github::{markdown_code_block, workflow_command, WorkflowCommand};
pub use gitignore::{gitignore_path, GitignorePattern};
pub use graph::{dot_id, mermaid_id, mermaid_label};
pub use hcl::{hcl_join, hcl_list, hcl_str, hcl_template, hcl_var_path, Hcl};
pub use js::js_str;
pub use python::python_str;
pub use shell::{shell_quote, shell_word, ShellWord};
pub use terminal::{escape_control, escape_control_lines, json_line};
pub use workflow::{
    workflow_expr, workflow_static, workflow_str, workflow_value, WorkflowExpr, WorkflowPiece,
    WorkflowValue,
};
pub use xml::xml_text;
pub use yaml::{
    compose_list, compose_name, compose_port, compose_required_variable, compose_str, compose_text,
    compose_variable_path, yaml_key, yaml_str, Yaml,
};

/// Why a value cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable(pub &'static str);

impl fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Free text inside a `#` comment line of any output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment(String);

impl fmt::Display for Comment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Comment {
    /// The comment's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text made safe for a `#` comment line in any output: control
/// characters and line breaks become spaces, so text can never escape its
/// comment and turn into a key or an instruction. (A comment is prose for a
/// reader, not a value: this is the one place where text is changed.)
pub fn comment(text: &str) -> Comment {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_line_break_or_control(c) {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    Comment(out.trim().to_string())
}

/// Control characters and the Unicode line breaks (NEL, LS, PS).
/// Whether `s` is a variable name as shells, Compose, bake and GitHub
/// expressions all read one: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_line_break_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Escapes shared by every double-quoted syntax lucid-gen writes: the
/// quote, the backslash and the common control characters; `other` decides
/// the rest (`None`: the character as it is).
fn double_quoted(value: &str, other: impl Fn(char) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => match other(c) {
                Some(escaped) => out.push_str(&escaped),
                None => out.push(c),
            },
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_cannot_break_their_line() {
        assert_eq!(comment(" a\nb\r\n\tc\u{2028}d ").as_str(), "a b c d");
    }
}
