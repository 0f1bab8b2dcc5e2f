//! JavaScript string literals, for the health probes that run `node -e`.

/// A single-quoted JavaScript string literal holding exactly `value`: `\`
/// and `'` escaped, every control character and the line separators
/// U+2028/U+2029 as `\xNN`/`\uNNNN`, so the text can never end the literal
/// or the line and become code.
pub fn js_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x100 && c.is_control() => {
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
    fn javascript_literals() {
        assert_eq!(js_str("http://x/health"), "'http://x/health'");
        assert_eq!(js_str("a'b\\c\n"), "'a\\'b\\\\c\\x0a'");
        assert_eq!(js_str("a\u{2028}b"), "'a\\u2028b'");
    }
}
