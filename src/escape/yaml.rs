//! YAML scalars for compose files and the compose linter's config.

use std::fmt;

use super::{double_quoted, Unrepresentable};

/// A YAML scalar (plain or double-quoted) or flow sequence that reads back
/// as exactly the string(s) it was made from, under YAML 1.1 and 1.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yaml(String);

impl fmt::Display for Yaml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A YAML double-quoted scalar holding exactly `value`.
pub fn yaml_str(value: &str) -> Yaml {
    Yaml(double_quoted(value, |c| match c {
        // C0, DEL and C1 controls (NEL would silently become a space).
        c if c.is_control() => Some(format!("\\x{:02x}", c as u32)),
        // Line separators and non-characters YAML refuses raw.
        '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
            Some(format!("\\u{:04x}", c as u32))
        }
        _ => None,
    }))
}

/// A YAML scalar for a compose file, where `$` starts an interpolation and
/// is written `$$` to stay literal.
pub fn compose_str(value: &str) -> Yaml {
    yaml_str(&value.replace('$', "$$"))
}

/// The text a compose value stands for, the inverse of [`compose_str`]'s
/// doubling: Compose prints a literal `$` as `$$` (`docker compose config`
/// output), and `import` reads that output back.
pub fn compose_text(value: &str) -> String {
    value.replace("$$", "$")
}

/// A compose value Compose fills from the environment it runs in:
/// `${NAME:?message}`, which refuses to start (and `config` fails) when
/// NAME is unset or empty. Refused unless NAME is a name Compose
/// interpolates (`[A-Za-z_][A-Za-z0-9_]*`); braces and `$` are dropped from
/// the message, which has no escape for them.
pub fn compose_required_variable(name: &str, message: &str) -> Result<Yaml, Unrepresentable> {
    if !super::is_variable_name(name) {
        return Err(Unrepresentable(
            "Compose interpolates only names of letters, digits and `_`, not starting with a digit",
        ));
    }
    let message: String = message
        .chars()
        .filter(|c| !matches!(c, '{' | '}' | '$'))
        .collect();
    Ok(yaml_str(&format!("${{{name}:?{message}}}")))
}

/// A path under a directory Compose takes from the environment:
/// `${NAME:?message}/path`, the path's own `$` doubled so Compose keeps it.
pub fn compose_variable_path(
    name: &str,
    message: &str,
    path: &str,
) -> Result<Yaml, Unrepresentable> {
    // Checks the name; the message loses the characters it cannot hold.
    compose_required_variable(name, message)?;
    let message: String = (message.chars())
        .filter(|c| !matches!(c, '{' | '}' | '$'))
        .collect();
    // `.` components add nothing: `${DIR}/.` is `${DIR}`.
    let parts: Vec<String> = (path.split('/'))
        .filter(|p| !p.is_empty() && *p != ".")
        .map(|p| format!("/{}", p.replace('$', "$$")))
        .collect();
    Ok(yaml_str(&format!(
        "${{{name}:?{message}}}{}",
        parts.concat()
    )))
}

/// A container port and protocol as an `expose:` entry: single-quoted, as
/// linters expect ports (`'8080/tcp'`); digits and a fixed protocol name
/// need no escaping there.
pub fn compose_port(port: u16, protocol: &'static str) -> Yaml {
    Yaml(format!("'{port}/{protocol}'"))
}

/// A flow-style YAML sequence of compose strings.
pub fn compose_list(items: &[String]) -> Yaml {
    let parts: Vec<String> = items.iter().map(|s| compose_str(s).0).collect();
    Yaml(format!("[{}]", parts.join(", ")))
}

/// A mapping key: plain when no YAML reader could take it for anything but
/// this string, else double-quoted (`true`, `NULL`, `123`, `0x1F`, `1e3`,
/// `yes`, `~` and `.inf` are quoted; `shop-api` is not).
pub fn yaml_key(key: &str) -> Yaml {
    if is_plain_string(key) {
        Yaml(key.to_string())
    } else {
        yaml_str(key)
    }
}

/// A name or short token as a compose value (a network in a service's
/// list, a volume source, a duration): plain when unambiguous, like
/// [`yaml_key`], else a [`compose_str`].
pub fn compose_name(value: &str) -> Yaml {
    if is_plain_string(value) {
        Yaml(value.to_string())
    } else {
        compose_str(value)
    }
}

/// Whether `s`, written bare as a whole YAML value, reads back as the
/// string `s` under YAML 1.1 and 1.2: no indicator first, no `: ` or ` #`
/// inside, no flow punctuation, not a bool, null or number. (A generated
/// base64 or hex secret does.)
pub fn reads_back_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let indicator = ",[]{}#&*!|>'\"%@`".contains(first)
        || (matches!(first, '-' | '?' | ':') && (s.len() == 1 || s[1..].starts_with(' ')));
    let words = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
    ];
    !indicator
        && !first.is_whitespace()
        && !s.ends_with(char::is_whitespace)
        && !s.ends_with(':')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains([',', '[', ']', '{', '}'])
        && !words.iter().any(|w| w.eq_ignore_ascii_case(s))
        && !reads_as_number(s)
}

/// Whether YAML 1.1 or 1.2 could read `s` as a number (conservative: any
/// text of digits and `_ . : e + -` is one).
fn reads_as_number(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s).to_ascii_lowercase();
    let all = |rest: &str, ok: fn(char) -> bool| !rest.is_empty() && rest.chars().all(ok);
    if matches!(t.as_str(), ".inf" | ".nan") {
        return true;
    }
    if let Some(rest) = t.strip_prefix("0x") {
        return all(rest, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(rest) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0b")) {
        return all(rest, |c| c.is_ascii_digit() || c == '_');
    }
    t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || "_.:e+-".contains(c))
}

/// Whether `s` written plain reads back as the string `s` under YAML 1.1
/// (booleans `yes`/`on`/`y`, sexagesimal and `0b`/`0x` numbers) and 1.2.
/// Deliberately conservative: anything number-like is quoted.
fn is_plain_string(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let charset = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':'));
    if !charset
        || !(first.is_ascii_alphanumeric() || first == '_' || first == '/')
        || s.ends_with(':')
    {
        return false;
    }
    const WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return false;
    }
    // A digit first: a string only with a `/`, two dots, or a letter no
    // number notation uses (`30s`, `10m`, `10.0.0.1` and `10.0.0.0/8` are
    // strings; `1e3`, `0x1F`, `0o17`, `0b1`, `1.5` and `1:30` are not).
    !first.is_ascii_digit()
        || s.contains('/')
        || s.matches('.').count() >= 2
        || s.chars().any(|c| {
            c.is_ascii_alphabetic() && !matches!(c.to_ascii_lowercase(), 'a'..='f' | 'x' | 'o')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn compose_variable_paths_keep_the_path_literal_and_drop_dot_components() {
        let path = |p: &str| {
            compose_variable_path("SRC", "set SRC", p)
                .unwrap()
                .to_string()
        };
        assert_eq!(path("."), "\"${SRC:?set SRC}\"");
        assert_eq!(path("./web/app"), "\"${SRC:?set SRC}/web/app\"");
        assert_eq!(path("a$b"), "\"${SRC:?set SRC}/a$$b\"");
        assert!(compose_variable_path("A-B", "m", "x").is_err());
    }

    #[test]
    fn compose_required_variables_interpolate_only_plain_names() {
        assert_eq!(
            compose_required_variable("DB_HOST", "set DB_HOST ${x}")
                .unwrap()
                .to_string(),
            "\"${DB_HOST:?set DB_HOST x}\""
        );
        for bad in ["", "1X", "A-B", "A}B", "A B", "É"] {
            assert!(compose_required_variable(bad, "m").is_err(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn compose_text_is_what_compose_str_wrote() {
        assert_eq!(compose_text("a$$b$$$$c"), "a$b$$c");
        for text in ["$x", "$$", "a$", "${X:?y}", "plain"] {
            let written = compose_str(text).to_string();
            let inner = &written[1..written.len() - 1];
            assert_eq!(compose_text(inner), text);
        }
    }

    #[test]
    fn quoted_scalars() {
        assert_eq!(yaml_str("a\"b\\c\n").to_string(), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(compose_str("${X}").to_string(), "\"$${X}\"");
        assert_eq!(
            compose_list(&["a".into(), "$b".into()]).to_string(),
            "[\"a\", \"$$b\"]"
        );
    }

    #[test]
    fn keys_that_yaml_would_misread_are_quoted() {
        for key in [
            "true", "TRUE", "null", "NULL", "~", "yes", "On", "n", "123", "0x1F", "1e3", ".inf",
            "0o17", "1_000", "-1", "", "a b", "a: b", "a:", "#x", "1:30", "1.5",
        ] {
            assert_eq!(yaml_key(key), yaml_str(key), "{key:?}");
        }
        for key in [
            "shop-api",
            "a.b_c",
            "30s",
            "10m",
            "1h30m",
            "/data",
            "null2",
            "10.1.0.0/16",
            "10.1.0.1",
            "fd00::1",
        ] {
            assert_eq!(yaml_key(key).to_string(), key);
        }
        assert_eq!(compose_name("$x").to_string(), "\"$$x\"");
    }
}
