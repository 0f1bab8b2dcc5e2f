//! Diagnostics: every problem lucid-gen reports, about a model or about
//! where its secrets are kept.
//!
//! A [`Diagnostic`] is `{ location, kind }`. The [`Kind`] carries the data of
//! the problem; its message, help, [`Rule`] and [`Severity`] are fixed per
//! kind (in `kind.rs`), never chosen where the problem is found. Every
//! model string shown is passed through [`escape_control`], so a model cannot
//! drive the terminal. Rules are a closed enum: one name per rule, stable
//! across releases, listed in the README.

#[macro_use]
mod kind_macro;
mod kind;
pub mod render;
mod rule;

use std::fmt::{self, Write as _};
use std::path::PathBuf;

pub use crate::escape::escape_control;
pub use kind::Kind;
pub use rule::Rule;

/// Where a problem is: a file, and a 1-based line and column in it, with
/// the text of that line when the file was readable (to show it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub line_text: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        write!(f, "{}:{}:{}", escape_control(&file), self.line, self.col)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found: where, and what (with its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Option<Location>,
    pub kind: Kind,
}

impl Diagnostic {
    pub fn new(kind: Kind) -> Self {
        Diagnostic {
            location: None,
            kind,
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn rule(&self) -> Rule {
        self.kind.rule()
    }

    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// The message, model strings escaped.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// How to fix it, model strings escaped.
    pub fn help(&self) -> String {
        self.kind.help()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

impl Diagnostic {
    /// The first line: `path:line:col: error[rule]: message`.
    pub fn header(&self) -> String {
        let mut out = String::new();
        if let Some(location) = &self.location {
            let _ = write!(out, "{location}: ");
        }
        let level = self.severity().name();
        let _ = write!(out, "{level}[{}]: {}", self.rule(), self.kind);
        out
    }
}

/// The short form, without the source line: the header, then
/// `  help: ...` on the next line.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  help: {}", self.header(), self.help())
    }
}

/// Sorts diagnostics by file, line and column so output is stable, errors of
/// one place before its warnings.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_cached_key(|d| (d.location.clone(), d.severity(), d.rule(), d.message()));
}

/// A value shown in a message: its text with control characters escaped.
struct Shown<T>(T);

impl<T: fmt::Display> fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_control(&self.0.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(escape_control("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\u{d}");
        assert_eq!(escape_control("plain `name` é"), "plain `name` é");
        assert_eq!(escape_control("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(escape_control("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn every_interpolated_value_is_shown_safely() {
        let d = Diagnostic::new(Kind::InvalidDockerName {
            what: "service",
            name: "web\u{1b}[31m".into(),
        });
        assert!(!d.message().contains('\u{1b}'), "{}", d.message());
        assert!(d.message().contains("web\\u{1b}[31m"), "{}", d.message());
    }

    #[test]
    fn every_kind_is_named_after_its_variant() {
        let d = Diagnostic::new(Kind::NoServices {});
        assert_eq!(d.kind.name(), "NoServices");
        assert!(Kind::ALL_NAMES.contains(&"NoServices"));
        assert!(Kind::ALL_NAMES.contains(&"SecretFileTracked"));
        let mut names = Kind::ALL_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL_NAMES.len());
    }

    #[test]
    fn rule_names_are_unique_and_kebab_case() {
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        assert!(names.iter().all(|n| n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
    }
}
