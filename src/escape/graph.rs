//! Graph languages: Mermaid flowcharts and Graphviz dot, for `graph`.
//!
//! Ids are built from names injectively (`mermaid_id`, `dot_id`) so any
//! model name — `end`, `true`, `a.b`, `x-y` — is a plain id no keyword or
//! edge syntax can swallow, and ids stay stable when a service is added.
//! Labels are quoted strings that hold exactly the text given.

/// A Mermaid node id: `prefix_` then the name with every character other
/// than an ASCII letter or digit written as `_xx` (its UTF-8 bytes in
/// hex), so distinct names give distinct ids and none is a keyword.
pub fn mermaid_id(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1 + name.len());
    out.push_str(prefix);
    out.push('_');
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("_{b:02x}"));
            }
        }
    }
    out
}

/// A double-quoted Mermaid label (`["..."]`, `|"..."|`) holding exactly
/// `text`: every character Mermaid's parser or its HTML rendering could
/// read as syntax (quotes, brackets, `#`, `&`, `<`, `|`, control
/// characters, ...) as a `#NNN;` entity code. Line breaks become `<br>`.
pub fn mermaid_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\n' => out.push_str("<br>"),
            c if c.is_ascii_alphanumeric() || " .:/-_@,+=".contains(c) => out.push(c),
            c if !c.is_ascii() && !c.is_control() => out.push(c),
            c => out.push_str(&format!("#{};", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A dot id: `"..."` with `"` and `\` escaped, so any name is one id.
/// Line breaks become dot's centred `\n`; other control characters are
/// dropped (dot has no way to write them).
pub fn dot_id(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_and_distinct() {
        assert_eq!(mermaid_id("s", "end"), "s_end");
        assert_eq!(mermaid_id("s", "a.b"), "s_a_2eb");
        assert_eq!(mermaid_id("s", "a_b"), "s_a_5fb");
        assert_ne!(mermaid_id("s", "a-b"), mermaid_id("s", "a_b"));
        assert_eq!(mermaid_id("s", "é"), "s__c3_a9");
    }

    #[test]
    fn labels_hold_their_text() {
        assert_eq!(mermaid_label("db 10.0.0.0/24"), "\"db 10.0.0.0/24\"");
        assert_eq!(mermaid_label("a\"]b"), "\"a#34;#93;b\"");
        assert_eq!(mermaid_label("x\ny"), "\"x<br>y\"");
        assert_eq!(dot_id("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
