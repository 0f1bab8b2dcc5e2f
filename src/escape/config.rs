//! A secret's value where a config file's `{{ secret NAME }}` placeholder
//! stands. lucid-gen does not know every config syntax, but it knows what
//! breaks them all (a line break ends the line: a new key, a new directive)
//! and, for YAML and JSON files (by their target's extension), what the
//! placeholder stands in on its line: inside a double-quoted scalar or a
//! JSON string the value is escaped (`\` and `"`), inside a single-quoted
//! scalar `'` is doubled, in a comment it is plain text; bare in YAML it
//! must read back as the same string, and bare in JSON it is refused.
//! Generated values (base64, hex) pass everywhere; what is refused is an
//! operator's value, never shown.

use std::borrow::Cow;

use super::{is_line_break_or_control, yaml, Unrepresentable};

/// The syntax of a config file, from its target's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSyntax {
    Yaml,
    Json,
    /// Any other: lines of text.
    Lines,
}

impl ConfigSyntax {
    pub fn of(target: &str) -> ConfigSyntax {
        let name = target
            .rsplit('/')
            .next()
            .unwrap_or(target)
            .to_ascii_lowercase();
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            ConfigSyntax::Yaml
        } else if name.ends_with(".json") {
            ConfigSyntax::Json
        } else {
            ConfigSyntax::Lines
        }
    }
}

/// Where on its line the placeholder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    DoubleQuoted,
    SingleQuoted,
    Comment,
    Bare,
}

/// The context after `line` (the text before the placeholder on its line).
fn context(syntax: ConfigSyntax, line: &str) -> Context {
    let mut state = Context::Bare;
    let mut escaped = false;
    let mut previous = ' ';
    for c in line.chars() {
        state = match (state, c) {
            (Context::DoubleQuoted, '\\') if !escaped => {
                escaped = true;
                previous = c;
                continue;
            }
            (Context::DoubleQuoted, '"') if !escaped => Context::Bare,
            (Context::SingleQuoted, '\'') if syntax == ConfigSyntax::Yaml => Context::Bare,
            (Context::Bare, '"') => Context::DoubleQuoted,
            (Context::Bare, '\'') if syntax == ConfigSyntax::Yaml => Context::SingleQuoted,
            (Context::Bare, '#') if syntax == ConfigSyntax::Yaml && previous.is_whitespace() => {
                Context::Comment
            }
            (state, _) => state,
        };
        escaped = false;
        previous = c;
    }
    state
}

/// `value` as it must be written after `line` in a file of `syntax`.
pub fn config_value<'v>(
    value: &'v str,
    syntax: ConfigSyntax,
    line: &str,
) -> Result<Cow<'v, str>, Unrepresentable> {
    if value.chars().any(is_line_break_or_control) {
        return Err(Unrepresentable(
            "holds a line break or another control character, which would end the line in the config file and start a new one",
        ));
    }
    if syntax == ConfigSyntax::Lines {
        return Ok(Cow::Borrowed(value));
    }
    match context(syntax, line) {
        Context::DoubleQuoted if value.contains(['\\', '"']) => Ok(Cow::Owned(
            value.replace('\\', "\\\\").replace('"', "\\\""),
        )),
        Context::SingleQuoted if value.contains('\'') => Ok(Cow::Owned(value.replace('\'', "''"))),
        Context::DoubleQuoted | Context::SingleQuoted | Context::Comment => Ok(Cow::Borrowed(value)),
        Context::Bare if syntax == ConfigSyntax::Json => Err(Unrepresentable(
            "would stand outside a JSON string; put the placeholder in double quotes",
        )),
        Context::Bare if yaml::reads_back_plain(value) => Ok(Cow::Borrowed(value)),
        Context::Bare => Err(Unrepresentable(
            "would not read back as the same text bare in YAML (it holds `: `, ` #`, a quote, a bracket or starts like a YAML indicator, or reads as a number, bool or null); put the placeholder in double quotes",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(line: &str, value: &str) -> Result<String, &'static str> {
        config_value(value, ConfigSyntax::Yaml, line)
            .map(|v| v.into_owned())
            .map_err(|e| e.0)
    }

    #[test]
    fn values_are_escaped_for_where_they_stand_or_refused() {
        assert_eq!(yaml("password: \"", "a\"b\\c").unwrap(), "a\\\"b\\\\c");
        assert_eq!(yaml("password: 'x", "it's").unwrap(), "it''s");
        assert_eq!(yaml("password: ", "c2VjcmV0+/=").unwrap(), "c2VjcmV0+/=");
        assert_eq!(yaml("# note: ", "a: b").unwrap(), "a: b");
        assert_eq!(yaml("url: \"a\\\"b", "\"").unwrap(), "\\\"");
        for bad in [
            "a: b",
            "a #b",
            "\"x\"",
            "[x]",
            "true",
            "123",
            "- x",
            "x\ny: 1",
            "a\u{2028}b",
        ] {
            assert!(yaml("password: ", bad).is_err(), "{bad:?}");
        }
        assert!(yaml("password: \"", "x\ny: 1").is_err());
        let json = |line, v| config_value(v, ConfigSyntax::Json, line).map(|v| v.into_owned());
        assert_eq!(json("{\"p\": \"", "a\"b").unwrap(), "a\\\"b");
        assert!(json("{\"p\": ", "abc").is_err());
        let lines =
            |v| config_value(v, ConfigSyntax::Lines, "requirepass ").map(|v| v.into_owned());
        assert_eq!(lines("a \"b' #c").unwrap(), "a \"b' #c");
        assert!(lines("a\nmaster yes").is_err());
        assert_eq!(ConfigSyntax::of("/etc/app/App.YML"), ConfigSyntax::Yaml);
        assert_eq!(ConfigSyntax::of("/etc/redis.conf"), ConfigSyntax::Lines);
    }
}
