//! Env files as Compose v2's `env_file:` reader parses them.

use std::fmt;

use super::Unrepresentable;

/// A value quoted for a `KEY=value` line of an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvValue(String);

/// A variable name for a `KEY=value` line of an env file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvName(String);

impl fmt::Display for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Quotes `value` for a `KEY=value` line of an env file read by Compose's
/// `env_file:`.
///
/// Always double quotes: Compose's dotenv reader turns `\\`, `\"`, `\n` and
/// `\r` back into the characters, reads `$$` as a literal `$` (a lone `$`
/// would interpolate), and keeps everything else (tabs, `#`, `'`, Unicode)
/// as written. Single quotes cannot carry a trailing `\` or a `\'`; bare
/// values are trimmed and cut at ` #`. Only NUL has no representation.
pub fn env_file_value(value: &str) -> Result<EnvValue, Unrepresentable> {
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
    Ok(EnvValue(out))
}

/// A variable name as POSIX shells and Compose read it: letters, digits and
/// `_`, not starting with a digit. Anything else has no spelling.
pub fn env_name(name: &str) -> Result<EnvName, Unrepresentable> {
    if super::is_variable_name(name) {
        Ok(EnvName(name.to_string()))
    } else {
        Err(Unrepresentable(
            "an environment variable name has letters, digits and `_`, not starting with a digit",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_double_quoted_and_escaped() {
        let q = |v| env_file_value(v).unwrap().to_string();
        assert_eq!(q("a b $X #c"), "\"a b $$X #c\"");
        assert_eq!(q("it's \\ \"$5\"\n"), "\"it's \\\\ \\\"$$5\\\"\\n\"");
        assert!(env_file_value("a\0b").is_err());
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("A_1").unwrap().to_string(), "A_1");
        assert!(env_name("1A").is_err());
        assert!(env_name("A=B").is_err());
        assert!(env_name("").is_err());
    }
}
