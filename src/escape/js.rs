//! JavaScript string literals, for the health probes that run `node -e`.

/// A single-quoted JavaScript string literal holding exactly `value`.
/// JavaScript reads the same escapes as Python's single-quoted literals
/// (`\\`, `\'`, `\xNN`, `\uNNNN`), and the Python form already writes
/// U+2028/U+2029 — which end a line in JavaScript source — as `\uNNNN`,
/// so the text can never end the literal or the line and become code.
pub fn js_str(value: &str) -> String {
    super::python::single_quoted(value)
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
