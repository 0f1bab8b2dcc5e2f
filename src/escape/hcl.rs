//! HCL strings for the buildx bake file.

use std::fmt;

/// An HCL expression: a string literal (template sequences kept literal), a
/// comma-separated list of them, or a string interpolating one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hcl(String);

impl fmt::Display for Hcl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The body of an HCL string literal, without its quotes.
fn body(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// An HCL string literal; `${` and `%{` stay literal.
pub fn hcl_str(value: &str) -> Hcl {
    Hcl(format!("\"{}\"", body(value)))
}

/// `"${VAR}/rest"`: an HCL string that interpolates the variable `var`
/// (a fixed name from the bake template) followed by the literal `rest`.
pub fn hcl_var_path(var: &'static str, rest: &str) -> Hcl {
    Hcl(format!("\"${{{var}}}/{}\"", body(rest)))
}

/// HCL string literals separated by `, ` (the inside of a list).
pub fn hcl_list(items: &[String]) -> Hcl {
    let parts: Vec<String> = items.iter().map(|i| hcl_str(i).0).collect();
    Hcl(parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_strings_keep_templates_literal() {
        assert_eq!(
            hcl_str("a\"b${c}%{d}$e").to_string(),
            "\"a\\\"b$${c}%%{d}$e\""
        );
        assert_eq!(
            hcl_var_path("DIR", "x/${y}").to_string(),
            "\"${DIR}/x/$${y}\""
        );
        assert_eq!(
            hcl_list(&["a".into(), "b".into()]).to_string(),
            "\"a\", \"b\""
        );
    }
}
