//! Words for a POSIX shell: `--dry-run` and error lines a user pastes,
//! `RUN` arguments in Dockerfiles, the remote command of `deploy`.

use std::fmt;

/// A word that `sh` reads back as exactly the string it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellWord(String);

impl fmt::Display for ShellWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `word` bare when it has only characters no shell treats specially
/// (no glob `[ * ?`, no `~` or `!`, no redirection), else single-quoted with
/// `'\''` for a quote. Any string has a spelling (NUL cannot reach a
/// command line anyway).
pub fn shell_word(word: &str) -> ShellWord {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        ShellWord(word.to_string())
    } else {
        ShellWord(format!("'{}'", word.replace('\'', "'\\''")))
    }
}

/// The name `docker/` uses for [`shell_word`].
pub fn shell_quote(word: &str) -> ShellWord {
    shell_word(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        let w = |s| shell_word(s).to_string();
        assert_eq!(w("fastapi==0.115.6"), "fastapi==0.115.6");
        assert_eq!(w("uvicorn[standard]==0.30"), "'uvicorn[standard]==0.30'");
        assert_eq!(w("a>=1"), "'a>=1'");
        assert_eq!(w("it's"), "'it'\\''s'");
        assert_eq!(w(""), "''");
        assert_eq!(w("~x"), "'~x'");
    }
}
