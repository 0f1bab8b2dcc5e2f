//! XML 1.0 text and attribute values, for `test --junit`.

/// `text` as XML character data or a double-quoted attribute value:
/// `& < > " '` as entities; characters XML 1.0 cannot hold at all (most
/// control characters) shown as `\u{..}` text, as on a terminal.
pub fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters() {
        assert_eq!(xml_text("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(xml_text("x\u{1b}y"), "x\\u{1b}y");
    }
}
