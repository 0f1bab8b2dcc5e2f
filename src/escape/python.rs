//! Python string literals, for the health probes that run `python3 -c`.

/// A single-quoted Python string literal holding exactly `value`: `\` and
/// `'` escaped, every control character as `\xNN`/`\uNNNN`, so the text
/// can never end the literal and become code.
pub fn python_str(value: &str) -> String {
    single_quoted(value)
}

/// The literal both Python and JavaScript read back as `value` (`js_str`
/// shares it): U+2028/U+2029 are escaped too, as they end a JavaScript line.
pub(super) fn single_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x100 && (c.is_control()) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals() {
        assert_eq!(python_str("http://x/health"), "'http://x/health'");
        assert_eq!(python_str("a'b\\c\n"), "'a\\'b\\\\c\\x0a'");
    }
}
