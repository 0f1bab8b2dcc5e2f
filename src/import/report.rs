//! The import report: what was mapped, what was moved to secrets (names
//! only, never a value), what the model cannot express (each at its file
//! and line), what import filled in, what lucid-gen does on purpose
//! differently, and the findings `check` raises on the imported model,
//! each with its fix. Printed for people, or as one JSON document.

use std::fmt::Write as _;

use serde::Serialize;

use super::sources::Cite;
use crate::escape::escape_control;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The compose files read, as given.
    pub files: Vec<String>,
    /// The model directory written.
    pub model: String,
    pub services: Vec<MappedService>,
    pub secrets: Vec<MovedSecret>,
    pub not_expressible: Vec<Unmapped>,
    pub filled: Vec<Filled>,
    /// Differences lucid-gen makes on purpose, and other things to know.
    pub notes: Vec<Note>,
    pub findings: Vec<Finding>,
    /// What Compose itself warned about while reading the files.
    pub compose_warnings: Vec<String>,
    /// What must be done before `lucid-gen all` can render the model.
    pub before_rendering: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MappedService {
    pub name: String,
    pub from: Option<Cite>,
    pub phase: String,
    pub plane: String,
    /// The model keys it was given.
    pub mapped: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MovedSecret {
    /// The model secret.
    pub name: String,
    /// What it was: variable names, or `secrets.<key>`.
    pub was: Vec<String>,
    pub services: Vec<String>,
    /// `variable` or the file path it is mounted at.
    pub delivered: String,
    /// How its value is made now, in words.
    pub value: String,
    /// The variable of lucid-gen's environment the operator sets it in,
    /// when it is operator-supplied.
    pub operator_variable: Option<String>,
    pub why: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Unmapped {
    pub service: Option<String>,
    /// The compose key, as a path (`services.web.container_name`).
    pub key: String,
    pub at: Option<Cite>,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct Filled {
    pub service: String,
    pub key: String,
    pub why: String,
}

#[derive(Debug, Serialize)]
pub struct Note {
    pub service: Option<String>,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Finding {
    pub severity: String,
    pub rule: String,
    /// `file:line:col` in the written model, when it has one.
    pub at: Option<String>,
    pub message: String,
    pub fix: String,
}

impl Report {
    pub fn unmapped(&mut self, service: Option<&str>, key: String, at: Option<Cite>, why: &str) {
        self.not_expressible.push(Unmapped {
            service: service.map(str::to_string),
            key,
            at,
            why: why.to_string(),
        });
    }

    pub fn note(&mut self, service: Option<&str>, text: String) {
        self.notes.push(Note {
            service: service.map(str::to_string),
            text,
        });
    }

    /// Whether `import` left the model with errors `check` refuses.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == "error")
    }

    /// One JSON document.
    /// The report as `import` prints it: JSON (one document and line) or
    /// for people.
    pub fn shown(&self, json: bool) -> String {
        match json {
            true => format!("{}\n", self.json()),
            false => self.human(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// For people; every text from the input passes `escape_control`.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "import: {} service(s) from {} -> {}",
            self.services.len(),
            escape_control(&self.files.join(", ")),
            escape_control(&self.model)
        );
        section(&mut out, "mapped", &self.services, |s| {
            let from = s
                .from
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let (phase, plane, keys) = (&s.phase, &s.plane, s.mapped.join(", "));
            format!("{}{from}: phase {phase}, plane {plane}; {keys}", s.name)
        });
        section(
            &mut out,
            "moved to secrets (old values not kept)",
            &self.secrets,
            |s| {
                let why = s.why.as_ref().map(|w| format!("; {w}")).unwrap_or_default();
                let (was, services) = (s.was.join(", "), s.services.join(", "));
                format!(
                    "{} (was {was}): {} for {services}, {}{why}",
                    s.name, s.delivered, s.value
                )
            },
        );
        section(
            &mut out,
            "not expressible in the model",
            &self.not_expressible,
            |u| {
                let at = u.at.as_ref().map(|c| format!("{c}: ")).unwrap_or_default();
                format!("{at}{}: {}", u.key, u.why)
            },
        );
        section(&mut out, "filled in by import", &self.filled, |f| {
            format!("{}.{}: {}", f.service, f.key, f.why)
        });
        let notes = "different on purpose, and worth knowing";
        section(&mut out, notes, &self.notes, |n| match &n.service {
            Some(s) => format!("{s}: {}", n.text),
            None => n.text.clone(),
        });
        section(
            &mut out,
            "findings of `check` on the model",
            &self.findings,
            |f| {
                let at = f.at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default();
                let head = format!("{at}{}[{}]: {}", f.severity, f.rule, f.message);
                [head, format!("fix: {}", f.fix)].join("\n")
            },
        );
        section(
            &mut out,
            "Compose warned",
            &self.compose_warnings,
            Clone::clone,
        );
        let before = "before `lucid-gen all`";
        section(&mut out, before, &self.before_rendering, Clone::clone);
        out
    }
}

/// A titled list, skipped when empty.
fn section<T>(out: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title} ({}):", items.len());
    for item in items {
        // Each line of an entry escaped on its own: input text never
        // reaches the terminal raw, and a line break in it shows as `\u{a}`.
        let text = line(item);
        for (i, part) in text.split('\n').enumerate() {
            let indent = if i == 0 { 2 } else { 6 };
            let _ = writeln!(out, "{:indent$}{}", "", escape_control(part));
        }
    }
}
