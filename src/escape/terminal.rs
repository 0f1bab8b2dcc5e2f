//! Text shown on a terminal: model strings inside diagnostics.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as is: control characters (C0,
/// DEL, C1), the Unicode line and paragraph separators (a line break to
/// some terminals and to every JavaScript or line-based JSON reader), and
/// the bidirectional overrides that reorder what is shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Lines of text from a file (a diff of a generated file): like
/// [`escape_control`], but line breaks and tabs stay, so the text keeps
/// its shape while no escape sequence in a file reaches the terminal.
pub fn escape_control_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = (text.split('\n'))
        .map(|line| {
            (line.split('\t'))
                .map(|part| escape_control(part).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect();
    Cow::Owned(lines.join("\n"))
}

/// A JSON value as one line for tools that read line by line (`--format
/// json`, `test --json`): serde_json leaves U+2028 and U+2029 raw inside
/// strings, valid JSON but a line break to JavaScript and many line
/// readers; here they are written `\u2028` and `\u2029`.
pub fn json_line(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `text` with every control character written as a Rust escape
/// (`\u{1b}`), so a model string in a message cannot move the cursor, clear
/// the screen or hide text. Applied to every value a message interpolates.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
