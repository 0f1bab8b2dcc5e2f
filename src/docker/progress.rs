//! Progress of `build` and `up`: a bar (indicatif) on a terminal, plain
//! lines otherwise — when stderr is not a terminal or `CI` is set, so logs
//! and tests read the same lines as before.

use indicatif::{ProgressBar, ProgressStyle};

/// A count of finished steps, shown as a bar or not at all; every line
/// printed through it appears above the bar (or plainly on stdout).
pub struct Progress {
    bar: Option<ProgressBar>,
}

/// Whether to draw a bar: only on a terminal, never under CI.
pub fn fancy(stderr_is_terminal: bool, ci: Option<&str>) -> bool {
    stderr_is_terminal && ci.is_none_or(|v| v.is_empty() || v == "false" || v == "0")
}

impl Progress {
    /// `total` steps of `what` (e.g. "images", "phases").
    pub fn new(total: usize, what: &str) -> Progress {
        use std::io::IsTerminal;
        let ci = std::env::var("CI").ok();
        if !fancy(std::io::stderr().is_terminal(), ci.as_deref()) {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(total as u64);
        let template = format!("{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {what} {{wide_msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Prints `line` (above the bar on a terminal).
    pub fn line(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => crate::outln!("{line}"),
        }
    }

    /// What is running now, next to the bar.
    pub fn message(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(text.to_string());
        }
    }

    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Runs `f` with the bar hidden (a child process drawing its own
    /// output, such as `docker compose up`).
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fancy;

    #[test]
    fn a_bar_only_on_a_terminal_outside_ci() {
        assert!(fancy(true, None));
        assert!(fancy(true, Some("false")));
        assert!(!fancy(true, Some("true")));
        assert!(!fancy(true, Some("1")));
        assert!(!fancy(false, None));
    }
}
