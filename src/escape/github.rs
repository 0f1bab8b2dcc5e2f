//! GitHub Actions: workflow commands (`::error file=F,line=L::message`, the
//! annotations a pull request shows on the changed line) and the markdown
//! of a job summary.
//!
//! The runner splits a command at `::`, its properties at `,` and each
//! property at the first `=`, and decodes `%25`, `%0D`, `%0A` (and, in
//! properties, `%3A` and `%2C`): [`workflow_command`] encodes exactly those,
//! so a model value can neither end the command early nor start another on
//! a new line.

use std::fmt;

/// One workflow command line, every part encoded (no trailing newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand(String);

impl fmt::Display for WorkflowCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `::name key=value,...::message`. `name` and the keys are fixed words
/// (`error`, `warning`, `file`, `line`, ...); values and the message are
/// encoded. Properties with an empty value are left out.
pub fn workflow_command(name: &str, props: &[(&str, &str)], message: &str) -> WorkflowCommand {
    let mut out = format!("::{name}");
    let mut sep = ' ';
    for (key, value) in props.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(sep);
        out.push_str(key);
        out.push('=');
        out.push_str(&encode(value, true));
        sep = ',';
    }
    out.push_str("::");
    out.push_str(&encode(message, false));
    WorkflowCommand(out)
}

fn encode(text: &str, property: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// A fenced markdown code block holding `text` verbatim: the fence is one
/// backtick longer than the longest run of backticks in `text`, so no line
/// of it can close the block early.
pub fn markdown_code_block(info: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{text}{newline}{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_message_are_encoded() {
        let c = workflow_command(
            "error",
            &[("file", "a,b:c%.yaml"), ("line", "3"), ("title", "")],
            "50% done\r\nnext::line, ok: yes",
        );
        assert_eq!(
            c.to_string(),
            "::error file=a%2Cb%3Ac%25.yaml,line=3::50%25 done%0D%0Anext::line, ok: yes"
        );
    }

    #[test]
    fn no_properties() {
        assert_eq!(
            workflow_command("warning", &[], "x").to_string(),
            "::warning::x"
        );
    }

    #[test]
    fn a_fence_outlasts_backticks_in_the_text() {
        assert_eq!(markdown_code_block("diff", "a\n"), "```diff\na\n```\n");
        assert_eq!(
            markdown_code_block("", "x ```` y"),
            "`````\nx ```` y\n`````\n"
        );
    }
}
