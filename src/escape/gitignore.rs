//! `.gitignore` lines that match exactly one path.

use std::fmt;
use std::path::Path;

use super::Unrepresentable;

/// A `.gitignore` line matching exactly one file, relative to the directory
/// the `.gitignore` is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitignorePattern(String);

impl fmt::Display for GitignorePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pattern that ignores exactly `path` (relative to the `.gitignore`'s
/// directory), however it is spelled: `.` components and `a/..` are
/// resolved, the pattern is anchored with a leading `/` (so `#` or `!` at
/// the start mean nothing), every glob and escape character (`\ * ? [ ] !
/// #`) gets a `\`, and trailing spaces are escaped (git trims bare ones).
/// Refused: a path that leaves the directory, names nothing, is not UTF-8
/// or holds a control character (a line break would end the pattern).
pub fn gitignore_path(path: &Path) -> Result<GitignorePattern, Unrepresentable> {
    let text = path
        .to_str()
        .ok_or(Unrepresentable("a .gitignore line must be UTF-8"))?;
    if text.chars().any(super::is_line_break_or_control) {
        return Err(Unrepresentable(
            "a .gitignore line cannot hold a line break or other control character",
        ));
    }
    if text.starts_with('/') {
        return Err(Unrepresentable("an output path must be relative"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(Unrepresentable(
                    "the path leaves the output directory through `..`",
                ))?;
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(Unrepresentable("the path names no file"));
    }
    let mut out = String::with_capacity(text.len() + 8);
    for part in parts {
        out.push('/');
        let trailing = part.len() - part.trim_end_matches(' ').len();
        let (body, spaces) = part.split_at(part.len() - trailing);
        for c in body.chars() {
            if matches!(c, '\\' | '*' | '?' | '[' | ']' | '!' | '#') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str(&"\\ ".repeat(spaces.len()));
    }
    Ok(GitignorePattern(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        gitignore_path(Path::new(s)).unwrap().to_string()
    }

    #[test]
    fn patterns_are_normalised_anchored_and_escaped() {
        assert_eq!(
            p("configs/environment/.env.a"),
            "/configs/environment/.env.a"
        );
        assert_eq!(
            p("./configs/./x/../environment/.env"),
            "/configs/environment/.env"
        );
        assert_eq!(p("a[1]*?!/#b\\ "), "/a\\[1\\]\\*\\?\\!/\\#b\\\\\\ ");
        assert_eq!(p("a  /b"), "/a\\ \\ /b");
        assert!(gitignore_path(Path::new("../x")).is_err());
        assert!(gitignore_path(Path::new("a\nb")).is_err());
        assert!(gitignore_path(Path::new("/etc/x")).is_err());
        assert!(gitignore_path(Path::new("./")).is_err());
    }
}
