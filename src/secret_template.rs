//! A secret composed from other secrets (`secrets.<NAME>.template`): the
//! template's syntax, parsed once by validation, and the value it composes
//! from the other secrets' values, derived by `secrets` on every run.
//!
//! Syntax: `${NAME}` inserts secret `NAME`'s value as it is; `${NAME:url}`
//! percent-encodes every byte outside RFC 3986's unreserved characters
//! (`A-Z a-z 0-9 - . _ ~`), so a base64 password (`/`, `+`, `=`) fits a
//! URL's userinfo. Every other character, a lone `$` too, is literal text.

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text, as written.
    Text(String),
    /// Another secret's value; `url` percent-encodes it.
    Secret { name: String, url: bool },
}

/// Why a template cannot be parsed (never holds a secret value: templates
/// hold names and literal text only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A `${` with no `}` after it.
    Unclosed,
    /// `${}` or `${:url}`.
    EmptyName,
    /// `${NAME:what}` with `what` other than `url`.
    UnknownModifier(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Unclosed => f.write_str("a `${` is never closed by `}`"),
            ParseError::EmptyName => f.write_str("a `${}` names no secret"),
            ParseError::UnknownModifier(m) => write!(
                f,
                "`:{}` is no encoding (the only one is `:url`)",
                crate::escape::escape_control(m)
            ),
        }
    }
}

/// Parses a template into its parts.
pub fn parse(template: &str) -> Result<Vec<Part>, ParseError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(ParseError::Unclosed)?;
        let inner = &after[..end];
        let (name, url) = match inner.split_once(':') {
            None => (inner, false),
            Some((name, "url")) => (name, true),
            Some((_, other)) => return Err(ParseError::UnknownModifier(other.to_string())),
        };
        if name.is_empty() {
            return Err(ParseError::EmptyName);
        }
        parts.push(Part::Secret {
            name: name.to_string(),
            url,
        });
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(parts)
}

/// The secrets a template refers to, in order, each as often as named.
pub fn references(parts: &[Part]) -> impl Iterator<Item = &str> {
    parts.iter().filter_map(|p| match p {
        Part::Secret { name, .. } => Some(name.as_str()),
        Part::Text(_) => None,
    })
}

/// The composed value; `None` when `value` knows no value for a reference
/// (validation makes every reference a declared, non-template secret).
pub fn compose<'v>(parts: &[Part], value: impl Fn(&str) -> Option<&'v str>) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Secret { name, url: false } => out.push_str(value(name)?),
            Part::Secret { name, url: true } => percent_encode(value(name)?, &mut out),
        }
    }
    Some(out)
}

/// RFC 3986 percent-encoding: every byte but the unreserved characters.
fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_text_and_the_url_encoding() {
        let parts = parse("redis://:${PW:url}@redis:6379/0?a=$b&${X}").unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Text("redis://:".into()),
                Part::Secret {
                    name: "PW".into(),
                    url: true
                },
                Part::Text("@redis:6379/0?a=$b&".into()),
                Part::Secret {
                    name: "X".into(),
                    url: false
                },
            ]
        );
        assert_eq!(references(&parts).collect::<Vec<_>>(), ["PW", "X"]);
        assert_eq!(parse("a${B").unwrap_err(), ParseError::Unclosed);
        assert_eq!(parse("${:url}").unwrap_err(), ParseError::EmptyName);
        assert_eq!(
            parse("${A:hex}").unwrap_err(),
            ParseError::UnknownModifier("hex".into())
        );
        assert!(references(&parse("no reference").unwrap()).next().is_none());
    }

    #[test]
    fn composes_and_percent_encodes_a_base64_password() {
        let parts = parse("redis://:${PW:url}@redis/0 ${PW}").unwrap();
        let value = compose(&parts, |n| (n == "PW").then_some("a+b/c=é")).unwrap();
        assert_eq!(value, "redis://:a%2Bb%2Fc%3D%C3%A9@redis/0 a+b/c=é");
        assert_eq!(compose(&parts, |_| None), None);
    }
}
