//! `.dockerignore` lines (Docker's `patternmatcher`: Go's `filepath.Match`
//! plus `**`, `\` escaping, a leading `!` negating).

use std::fmt;

use super::Unrepresentable;

/// A `.dockerignore` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerignorePattern(String);

impl fmt::Display for DockerignorePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pattern matching the relative directory `dir` (and so everything
/// under it) at any depth of a build context: `**/` then each component
/// with `\ * ? [ ]` escaped. `.` components are dropped. Refused: `..`,
/// nothing left, an absolute path, a control character (a line break
/// would end the pattern). White space inside is kept: Docker trims only
/// the ends of a line, which start with `**/` and end in a file name here,
/// and `!` or `#` mean something only at a line's start.
pub fn dockerignore_dir_anywhere(dir: &str) -> Result<DockerignorePattern, Unrepresentable> {
    if dir.chars().any(super::is_line_break_or_control) {
        return Err(Unrepresentable(
            "a .dockerignore line cannot hold a line break or other control character",
        ));
    }
    if dir.starts_with('/') {
        return Err(Unrepresentable("the directory must be relative"));
    }
    let mut parts = Vec::new();
    for part in dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(Unrepresentable("the directory cannot climb out with `..`"));
        }
        let mut escaped = String::new();
        for c in part.chars() {
            if "\\*?[]".contains(c) {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        parts.push(escaped);
    }
    if parts.is_empty() {
        return Err(Unrepresentable("the directory names nothing"));
    }
    Ok(DockerignorePattern(format!("**/{}", parts.join("/"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_anywhere_are_escaped_or_refused() {
        let p = |s| dockerignore_dir_anywhere(s).map(|p| p.to_string());
        assert_eq!(p("secrets").unwrap(), "**/secrets");
        assert_eq!(p("./out//secrets/").unwrap(), "**/out/secrets");
        assert_eq!(p("a*b/[x]?").unwrap(), "**/a\\*b/\\[x\\]\\?");
        assert_eq!(p("back\\slash").unwrap(), "**/back\\\\slash");
        assert_eq!(p(" se/!#x  ").unwrap(), "**/ se/!#x  ");
        for bad in ["", ".", "../x", "/abs", "a\nb"] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
