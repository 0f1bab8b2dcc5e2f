//! Dockerfile instruction arguments and exec-form JSON arrays.
//!
//! Docker reads `WORKDIR`, `ENV`, `LABEL`, `USER`, `FROM` and `COPY`
//! arguments through its shell-like word lexer: quotes are removed, `\`
//! escapes the next character, `$` substitutes a variable. A line break can
//! never be carried (a `\` at the end of a line continues it), so values
//! with control characters are refused. `COPY` sources are also glob
//! patterns, so `* ? [ ] \` are refused there.

use std::fmt;

use super::{double_quoted, Unrepresentable};

/// One argument of a Dockerfile instruction, bare or double-quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerWord(String);

/// The arguments of a `COPY` (after its flags): `SRC DEST`, or the JSON
/// form `["SRC", "DEST"]` when either needs quoting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerCopy(String);

/// A JSON string or array of strings, as exec-form `ENTRYPOINT`, `CMD` and
/// `HEALTHCHECK CMD` take them (no variable substitution there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerJson(String);

macro_rules! display {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display!(DockerWord, DockerCopy, DockerJson);

const LINE_BREAK: Unrepresentable =
    Unrepresentable("a Dockerfile argument cannot hold a line break or other control character");

fn no_controls(value: &str) -> Result<(), Unrepresentable> {
    if value.chars().any(super::is_line_break_or_control) {
        Err(LINE_BREAK)
    } else {
        Ok(())
    }
}

/// Characters Docker's lexer and the shell both leave alone.
fn is_bare(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+,=".contains(c))
}

/// `"value"` with `\`, `"` and `$` escaped, as Docker's lexer reads it.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An instruction argument (`WORKDIR`, an `ENV` value, `USER`, an image):
/// bare when plain, else double-quoted. Refuses control characters.
pub fn docker_word(value: &str) -> Result<DockerWord, Unrepresentable> {
    no_controls(value)?;
    Ok(DockerWord(if is_bare(value) {
        value.to_string()
    } else {
        quoted(value)
    }))
}

/// A `LABEL` value: always double-quoted. Refuses control characters (a
/// description with a line break cannot be a label; it is not joined).
pub fn docker_quoted(value: &str) -> Result<DockerWord, Unrepresentable> {
    no_controls(value)?;
    Ok(DockerWord(quoted(value)))
}

/// `COPY` arguments carrying `source` and `dest` exactly: `SRC DEST` when
/// both are plain, else the JSON form with each string escaped for Docker's
/// lexer (`"a b"` → `["a b", …]`, `$x` → `\$x`). A source is a glob
/// pattern to Docker, so `* ? [ ] \` in it are refused.
pub fn docker_copy(source: &str, dest: &str) -> Result<DockerCopy, Unrepresentable> {
    no_controls(source)?;
    no_controls(dest)?;
    if source.contains(['*', '?', '[', ']', '\\']) {
        return Err(Unrepresentable(
            "a COPY source is a pattern to Docker: `* ? [ ] \\` cannot be copied literally",
        ));
    }
    if source.is_empty() || dest.is_empty() {
        return Err(Unrepresentable("a COPY path cannot be empty"));
    }
    if is_bare(source) && is_bare(dest) {
        return Ok(DockerCopy(format!("{source} {dest}")));
    }
    let lexed = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if matches!(c, '\\' | '"' | '$' | '\'') {
                out.push('\\');
            }
            out.push(c);
        }
        json(&out)
    };
    Ok(DockerCopy(format!("[{}, {}]", lexed(source), lexed(dest))))
}

fn json(value: &str) -> String {
    double_quoted(value, |c| {
        ((c as u32) < 0x20).then(|| format!("\\u{:04x}", c as u32))
    })
}

/// A JSON string.
pub fn json_str(value: &str) -> DockerJson {
    DockerJson(json(value))
}

/// A JSON array of strings, e.g. `["python3", "-m", "app"]`.
pub fn json_array(items: &[String]) -> DockerJson {
    let parts: Vec<String> = items.iter().map(|s| json(s)).collect();
    DockerJson(format!("[{}]", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_bare_or_quoted_never_changed() {
        let w = |s| docker_word(s).unwrap().to_string();
        assert_eq!(w("/app"), "/app");
        assert_eq!(w("/a b/$x\"'\\"), "\"/a b/\\$x\\\"'\\\\\"");
        assert!(docker_word("a\nb").is_err());
        assert_eq!(
            docker_quoted("a \"b\" $c").unwrap().to_string(),
            "\"a \\\"b\\\" \\$c\""
        );
        assert!(docker_quoted("line\nbreak").is_err());
    }

    #[test]
    fn copy_uses_the_json_form_when_needed() {
        let c = |a, b| docker_copy(a, b).unwrap().to_string();
        assert_eq!(c(".", "/app"), ". /app");
        assert_eq!(c("a b $x \"q\"", "/x"), r#"["a b \\$x \\\"q\\\"", "/x"]"#);
        assert!(docker_copy("*.jar", "/x").is_err());
        assert_eq!(
            json_array(&["a".into(), "b\"".into()]).to_string(),
            "[\"a\", \"b\\\"\"]"
        );
    }
}
