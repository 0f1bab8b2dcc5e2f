//! Showing diagnostics to people and to tools.
//!
//! For people, like rustc: a `path:line:col: error[rule]: message` header
//! (editors jump to it), the model's line with a caret under the offending
//! value, then `help:`. annotate-snippets does the layout; colour only when
//! the output is a terminal. For tools, [`json`]: one JSON object per line;
//! for GitHub Actions, [`github`]: one workflow command per diagnostic, which
//! a pull request shows as an annotation on the model's line.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use super::{escape_control, Diagnostic, Severity};

/// `d` as a person reads it; `color` adds ANSI styles (for a terminal).
pub fn human(d: &Diagnostic, color: bool) -> String {
    let mut out = d.header();
    let level = match d.severity() {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let help = d.help();
    let mut group = Group::with_level(level.clone());
    if let Some((text, line, span)) = d.location.as_ref().and_then(source_line) {
        group = group.element(
            Snippet::source(text)
                .line_start(line)
                .annotation(AnnotationKind::Primary.span(span)),
        );
    }
    group = group.element(Level::HELP.message(help));
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    out.push('\n');
    out.push_str(&renderer.render(&[group]));
    out
}

/// `d` as one line of JSON: `rule`, `severity`, `file`, `line`, `column`
/// (null without a location), `message` and `help`.
pub fn json(d: &Diagnostic) -> String {
    let at = d.location.as_ref();
    crate::escape::json_line(&serde_json::json!({
        "rule": d.rule().name(),
        "severity": d.severity().name(),
        "file": at.map(|l| escape_control(&l.file.display().to_string()).into_owned()),
        "line": at.map(|l| l.line),
        "column": at.map(|l| l.col),
        "message": d.message(),
        "help": d.help(),
    }))
}

/// `d` as a GitHub Actions workflow command:
/// `::error file=F,line=L,col=C,title=RULE::MESSAGE` (`::warning` for a
/// warning), the help on a second line of the message.
pub fn github(d: &Diagnostic) -> String {
    let name = match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let at = d.location.as_ref();
    let file = at.map(|l| escape_control(&l.file.display().to_string()).into_owned());
    let line = at.map(|l| l.line.to_string());
    let col = at.map(|l| l.col.to_string());
    let props = [
        ("file", file.as_deref().unwrap_or("")),
        ("line", line.as_deref().unwrap_or("")),
        ("col", col.as_deref().unwrap_or("")),
        ("title", d.rule().name()),
    ];
    let message = format!("{}\nhelp: {}", d.message(), d.help());
    crate::escape::workflow_command(name, &props, &message).to_string()
}

/// The escaped text of the location's line, its number, and the byte span
/// of the token at the location's column in that escaped text.
fn source_line(at: &super::Location) -> Option<(String, usize, std::ops::Range<usize>)> {
    let raw = at.line_text.as_deref()?;
    let start = raw
        .char_indices()
        .nth(at.col.checked_sub(1)?)
        .map_or(raw.len(), |(i, _)| i);
    let len = token_len(&raw[start..]);
    let before = escape_control(&raw[..start]).len();
    let token = escape_control(&raw[start..start + len]).len();
    Some((
        escape_control(raw).into_owned(),
        at.line,
        before..before + token.max(1),
    ))
}

/// The length of the YAML token `rest` starts with: a quoted scalar up to
/// its closing quote, otherwise up to a flow separator, `: `, ` #` or the end
/// of the line, trailing spaces left out; a comment gets one caret.
fn token_len(rest: &str) -> usize {
    let mut chars = rest.char_indices();
    match chars.next() {
        None => 0,
        Some((_, '#')) => 1,
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            for (i, c) in chars {
                if c == q && !escaped {
                    return i + 1;
                }
                escaped = q == '"' && c == '\\' && !escaped;
            }
            rest.len()
        }
        Some(_) => {
            let bytes = rest.as_bytes();
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                let next = bytes.get(i + 1).copied();
                if matches!(c, ',' | ']' | '}')
                    || (c == ':' && matches!(next, None | Some(b' ')))
                    || (c == ' ' && next == Some(b'#'))
                {
                    end = i;
                    break;
                }
            }
            rest[..end].trim_end().len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Kind, Location};

    fn at(line_text: &str, col: usize) -> Location {
        Location {
            file: "model/x.yaml".into(),
            line: 12,
            col,
            line_text: Some(line_text.into()),
        }
    }

    #[test]
    fn caret_under_the_value() {
        let d = Diagnostic::new(Kind::MemorySize {
            value: "lots".into(),
        })
        .at(Some(at("    resources: { memory: lots, cpus: 0.1 }", 26)));
        assert_eq!(
            human(&d, false),
            "model/x.yaml:12:26: error[invalid-resource]: `lots` is not a memory size
   |
12 |     resources: { memory: lots, cpus: 0.1 }
   |                          ^^^^
   |
   = help: write it as Compose does: `512m`, `1g`, `1.5g`"
        );
    }

    #[test]
    fn control_characters_in_the_line_are_shown_as_codes_and_the_caret_follows() {
        let d = Diagnostic::new(Kind::InvalidDockerName {
            what: "service",
            name: "a\u{1b}b".into(),
        })
        .at(Some(at("  \"x\u{1b}y\": \u{1b}[2J", 3)));
        let text = human(&d, false);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("  \"x\\u{1b}y\": \\u{1b}[2J"), "{text}");
        assert!(text.contains("\n   |   ^^^^^^^^^^\n"), "{text}");
    }

    #[test]
    fn json_has_every_field() {
        let d = Diagnostic::new(Kind::NoServices {});
        let v: serde_json::Value = serde_json::from_str(&json(&d)).unwrap();
        assert_eq!(v["rule"], "no-services");
        assert_eq!(v["severity"], "error");
        assert!(v["file"].is_null() && v["line"].is_null() && v["column"].is_null());
        assert_eq!(v["message"], "the model defines no services");
        assert_eq!(v["help"], "add a `services:` section to a model file");
    }

    #[test]
    fn github_annotation_on_the_value() {
        let d = Diagnostic::new(Kind::MemorySize {
            value: "lots".into(),
        })
        .at(Some(at("    resources: { memory: lots, cpus: 0.1 }", 26)));
        assert_eq!(
            github(&d),
            "::error file=model/x.yaml,line=12,col=26,title=invalid-resource::`lots` is not a memory size%0Ahelp: write it as Compose does: `512m`, `1g`, `1.5g`"
        );
        let d = Diagnostic::new(Kind::NoServices {});
        assert!(github(&d).starts_with("::error title=no-services::"));
        let d = Diagnostic::new(Kind::MissingHealthCheck {
            service: "a,b".into(),
        })
        .at(Some(at("  a,b:", 3)));
        assert!(
            github(&d).starts_with(
                "::warning file=model/x.yaml,line=12,col=3,title=missing-health-check::"
            ),
            "{}",
            github(&d)
        );
    }

    #[test]
    fn tokens() {
        assert_eq!(token_len("lots, cpus: 1 }"), 4);
        assert_eq!(token_len("\"a\\\"b\" # x"), 6);
        assert_eq!(token_len("shop-api:"), 8);
        assert_eq!(token_len("18080  # port"), 5);
        assert_eq!(token_len(""), 0);
        assert_eq!(token_len("# a comment"), 1);
    }
}
