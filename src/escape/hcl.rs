//! HCL strings for the buildx bake file.

use std::fmt;

use super::Unrepresentable;
use crate::tags::TagPart;

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

/// An HCL string of literal text and `${NAME}` interpolations (an image
/// tag read from a bake variable); NAME must be a plain identifier.
pub fn hcl_template(parts: &[TagPart]) -> Result<Hcl, Unrepresentable> {
    let mut out = String::from("\"");
    for (i, part) in parts.iter().enumerate() {
        match part {
            // `$${` would make the next variable literal text.
            TagPart::Text(t)
                if t.ends_with(['$', '%']) && matches!(parts.get(i + 1), Some(TagPart::Var(_))) =>
            {
                return Err(Unrepresentable("`$` or `%` right before a variable"));
            }
            TagPart::Text(t) => out.push_str(&body(t)),
            TagPart::Var(v) => {
                if !super::is_variable_name(v) {
                    return Err(Unrepresentable(
                        "a bake variable name is letters, digits and `_`",
                    ));
                }
                out.push_str(&format!("${{{v}}}"));
            }
        }
    }
    out.push('"');
    Ok(Hcl(out))
}

/// HCL expressions separated by `, ` (the inside of a list).
pub fn hcl_join(items: &[Hcl]) -> Hcl {
    let parts: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
    Hcl(parts.join(", "))
}

/// HCL string literals separated by `, ` (the inside of a list).
pub fn hcl_list(items: &[impl AsRef<str>]) -> Hcl {
    let parts: Vec<String> = items.iter().map(|i| hcl_str(i.as_ref()).0).collect();
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
        assert_eq!(hcl_list(&["a", "b"]).to_string(), "\"a\", \"b\"");
        let parts = [TagPart::Text("a${".into()), TagPart::Var("V_1".into())];
        assert_eq!(hcl_template(&parts).unwrap().to_string(), "\"a$${${V_1}\"");
        assert!(hcl_template(&[TagPart::Var("A}B".into())]).is_err());
        let dollar = [TagPart::Text("a$".into()), TagPart::Var("V".into())];
        assert!(hcl_template(&dollar).is_err());
    }
}
