//! Quoting values for each syntax lucid-gen writes: env files (as Compose
//! v2 reads them), compose YAML and Dockerfile exec-form JSON.
//!
//! Invariant: a value either comes back byte-for-byte from
//! `docker compose config`, or is refused here with a reason — never
//! silently changed. `validate` calls [`env_file_value`] on every env value
//! so a model with an unrepresentable value never reaches rendering.

/// Why a value cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable(pub &'static str);

/// Quotes `value` for a `KEY=value` line of an env file read by Compose's
/// `env_file:`.
///
/// Always double quotes: Compose's dotenv reader turns `\\`, `\"`, `\n` and
/// `\r` back into the characters, reads `$$` as a literal `$` (a lone `$`
/// would interpolate), and keeps everything else (tabs, `#`, `'`, Unicode)
/// as written. Single quotes cannot carry a trailing `\` or a `\'`; bare
/// values are trimmed and cut at ` #`. Only NUL has no representation.
pub fn env_file_value(value: &str) -> Result<String, Unrepresentable> {
    if value.contains('\0') {
        return Err(Unrepresentable(
            "a NUL byte cannot be passed in an environment variable",
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// Free text made safe for a `#` comment line in any output: control
/// characters and line breaks become spaces, so text can never escape its
/// comment and turn into a key or an instruction.
pub fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
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

/// A YAML double-quoted scalar holding exactly `value`.
pub fn yaml_str(value: &str) -> String {
    double_quoted(value, |c| match c {
        // C0, DEL and C1 controls (NEL would silently become a space).
        c if c.is_control() => Some(format!("\\x{:02x}", c as u32)),
        // Line separators and non-characters YAML refuses raw.
        '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
            Some(format!("\\u{:04x}", c as u32))
        }
        _ => None,
    })
}

/// A YAML scalar for a compose file, where `$` starts an interpolation and
/// is written `$$` to stay literal.
pub fn compose_str(value: &str) -> String {
    yaml_str(&value.replace('$', "$$"))
}

/// A JSON string, as Dockerfile exec-form arrays take them.
pub fn json_str(value: &str) -> String {
    double_quoted(value, |c| {
        ((c as u32) < 0x20).then(|| format!("\\u{:04x}", c as u32))
    })
}

/// A JSON array of strings, e.g. `["python3", "-m", "app"]`.
pub fn json_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| json_str(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// A flow-style YAML sequence of compose strings.
pub fn compose_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| compose_str(s)).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_double_quoted_and_escaped() {
        assert_eq!(env_file_value("a b $X #c").unwrap(), "\"a b $$X #c\"");
        assert_eq!(
            env_file_value("it's \\ \"$5\"\n").unwrap(),
            "\"it's \\\\ \\\"$$5\\\"\\n\""
        );
        assert!(env_file_value("a\0b").is_err());
    }

    #[test]
    fn yaml_and_compose_strings() {
        assert_eq!(yaml_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(compose_str("${X}"), "\"$${X}\"");
        assert_eq!(
            json_array(&["a".into(), "b\"".into()]),
            "[\"a\", \"b\\\"\"]"
        );
    }
}
