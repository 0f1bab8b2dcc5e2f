//! Values in a GitHub Actions workflow file: YAML double-quoted scalars in
//! which GitHub also evaluates every `${{ … }}`.
//!
//! Model text can never open an expression: each `${{` in it is written as
//! the expression `${{ '${{' }}`, which GitHub evaluates back to the same
//! three characters, so the value arrives exactly as written. Expressions
//! are only the few this module builds ([`WorkflowExpr`]): a fixed context
//! such as `github.sha`, or `vars.NAME` / `secrets.NAME` with NAME refused
//! unless it is a plain identifier.

use std::fmt;

use super::{yaml_str, Unrepresentable};

/// A workflow value that reads back, after YAML and GitHub's expression
/// evaluation, as exactly the pieces it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowValue(String);

impl fmt::Display for WorkflowValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An expression GitHub evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowExpr<'a> {
    /// A fixed context path written by lucid-gen, e.g. `github.sha`.
    Context(&'static str),
    /// A repository variable: `vars.NAME`.
    Var(&'a str),
    /// A repository secret: `secrets.NAME`.
    Secret(&'a str),
}

/// One piece of a workflow value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowPiece<'a> {
    Text(&'a str),
    Expr(WorkflowExpr<'a>),
}

/// Model text as a workflow value: `${{` cannot start an expression.
pub fn workflow_str(text: &str) -> WorkflowValue {
    WorkflowValue(yaml_str(&literal(text)).to_string())
}

/// Model text for a field GitHub does not evaluate (the workflow's `name`,
/// branch filters): written as is, refused when it holds `${{`, which
/// GitHub rejects there and which could not be written literally.
pub fn workflow_static(text: &str) -> Result<WorkflowValue, Unrepresentable> {
    if text.contains("${{") {
        return Err(Unrepresentable(
            "GitHub allows no `${{` in this field of a workflow",
        ));
    }
    Ok(WorkflowValue(yaml_str(text).to_string()))
}

/// Text and expressions in order, as one workflow value.
pub fn workflow_value(pieces: &[WorkflowPiece]) -> Result<WorkflowValue, Unrepresentable> {
    let mut out = String::new();
    let mut text = String::new();
    for piece in pieces {
        match piece {
            WorkflowPiece::Text(t) => text.push_str(t),
            WorkflowPiece::Expr(e) => {
                out.push_str(&literal(&std::mem::take(&mut text)));
                out.push_str(&expression(*e)?);
            }
        }
    }
    out.push_str(&literal(&text));
    Ok(WorkflowValue(yaml_str(&out).to_string()))
}

/// One expression as a whole value, e.g. `${{ secrets.DEPLOY_KEY }}`.
pub fn workflow_expr(e: WorkflowExpr) -> Result<WorkflowValue, Unrepresentable> {
    workflow_value(&[WorkflowPiece::Expr(e)])
}

fn expression(e: WorkflowExpr) -> Result<String, Unrepresentable> {
    let path = match e {
        WorkflowExpr::Context(path) => path.to_string(),
        WorkflowExpr::Var(name) | WorkflowExpr::Secret(name) if !super::is_variable_name(name) => {
            return Err(Unrepresentable(
                "a GitHub variable or secret name is letters, digits and `_`, not starting with a digit",
            ))
        }
        WorkflowExpr::Var(name) => format!("vars.{name}"),
        WorkflowExpr::Secret(name) => format!("secrets.{name}"),
    };
    Ok(format!("${{{{ {path} }}}}"))
}

/// Text in which each `${{` is the expression evaluating to `${{`.
fn literal(text: &str) -> String {
    text.replace("${{", "${{ '${{' }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_text_cannot_open_an_expression() {
        assert_eq!(
            workflow_str("a ${{ secrets.X }} \"b\"").to_string(),
            "\"a ${{ '${{' }} secrets.X }} \\\"b\\\"\""
        );
        assert_eq!(workflow_str("$${{{").to_string(), "\"$${{ '${{' }}{\"");
    }

    /// What GitHub makes of a value after YAML: each `${{ … }}` evaluated.
    /// The only expression model text may produce is `${{ '${{' }}`.
    fn github_reads(yaml: &str) -> String {
        let text: String = serde_yaml::from_str(yaml).unwrap();
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("${{") {
                let literal = "${{ '${{' }}";
                assert!(rest.starts_with(literal), "an expression: {text:?}");
                out.push_str("${{");
                rest = &rest[literal.len()..];
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }

    #[test]
    fn every_short_text_reads_back_exactly() {
        const ALPHABET: [char; 9] = ['$', '{', '}', ' ', '\'', '"', '\\', '\n', 'é'];
        // Every text of up to five of these characters.
        let mut cases = vec![String::new()];
        let mut last = cases.clone();
        for _ in 0..5 {
            last = (last.iter())
                .flat_map(|c| ALPHABET.iter().map(move |a| format!("{c}{a}")))
                .collect();
            cases.extend(last.iter().cloned());
        }
        assert_eq!(cases.len(), 66_430);
        for text in &cases {
            assert_eq!(&github_reads(&workflow_str(text).to_string()), text);
        }
    }

    #[test]
    fn pieces_join_text_and_expressions() {
        let v = workflow_value(&[
            WorkflowPiece::Text("img:v"),
            WorkflowPiece::Expr(WorkflowExpr::Var("VERSION")),
            WorkflowPiece::Text("-"),
            WorkflowPiece::Expr(WorkflowExpr::Context("github.sha")),
        ])
        .unwrap();
        assert_eq!(
            v.to_string(),
            "\"img:v${{ vars.VERSION }}-${{ github.sha }}\""
        );
        // Text split around a would-be `${{` is joined before it is escaped.
        let v = workflow_value(&[WorkflowPiece::Text("$"), WorkflowPiece::Text("{{ x")]).unwrap();
        assert_eq!(v.to_string(), "\"${{ '${{' }} x\"");
        assert!(workflow_static("ship ${{ x }}").is_err());
        assert_eq!(
            workflow_static("a \"b\"").unwrap().to_string(),
            "\"a \\\"b\\\"\""
        );
        for bad in ["", "A.B", "A }} ${{ x", "1A"] {
            assert!(workflow_expr(WorkflowExpr::Secret(bad)).is_err(), "{bad}");
        }
    }
}
