//! Text shown on a terminal: model strings inside diagnostics.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as is: control characters (C0,
/// DEL, C1), the line and paragraph separators (a line break that shows as
/// nothing or a space) and the bidirectional overrides that reorder what is
/// shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
