//! How the binary shows what the library returns: diagnostics (for people,
//! as JSON lines or as GitHub Actions annotations), `check`'s summary, and
//! what `all` wrote or found stale.

use std::io::IsTerminal;

use crate::cli::Format;
use lucid_gen::diagnostic::{self, Diagnostic};
use lucid_gen::failure::Failure;
use lucid_gen::generate::{self, Mode, Outcome};
use lucid_gen::workspace::Paths;

/// Prints diagnostics: for people on stderr (coloured only on a terminal,
/// and not when `NO_COLOR` is set), or as JSON lines or GitHub Actions
/// annotations on stdout.
pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic], format: Format) {
    let tool: Option<fn(&Diagnostic) -> String> = match format {
        Format::Json => Some(diagnostic::render::json),
        Format::Github => Some(diagnostic::render::github),
        Format::Human => None,
    };
    if let Some(render) = tool {
        diagnostics
            .iter()
            .for_each(|d| lucid_gen::outln!("{}", render(d)));
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for d in diagnostics {
        eprintln!("{}", diagnostic::render::human(d, color));
    }
}

pub(crate) fn check(paths: &Paths, format: Format) -> Result<(), Failure> {
    let report = generate::check(paths)?;
    print_diagnostics(&report.warnings, format);
    // With `--format json` or `github`, stdout holds only diagnostics.
    match format {
        Format::Human => lucid_gen::outln!("{}", report.summary(&paths.model)),
        Format::Json | Format::Github => eprintln!("{}", report.summary(&paths.model)),
    }
    Ok(())
}

pub(crate) fn all(
    paths: &Paths,
    check: bool,
    format: Format,
    rotate: &[String],
) -> Result<(), Failure> {
    let mode = if check { Mode::Check } else { Mode::Write };
    let report = generate::all(paths, mode, rotate)?;
    print_diagnostics(&report.warnings, format);
    let out = &paths.out;
    match report.outcome {
        Outcome::Checked { stale, note } => {
            if let Some(note) = note {
                eprintln!("note: {note}");
            }
            if stale.is_empty() {
                lucid_gen::outln!(
                    "{}: all {} files are up to date",
                    out.display(),
                    report.total
                );
                return Ok(());
            }
            lucid_gen::out!("{}", lucid_gen::write::render_diff(out, &stale));
            let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty());
            let annotate = format == Format::Github;
            let summary = summary.as_deref().map(std::path::Path::new);
            for line in generate::github_report(out, &stale, report.total, annotate, summary)? {
                lucid_gen::outln!("{line}");
            }
            return Err(Failure::Stale {
                out: out.clone(),
                stale: stale.len(),
                total: report.total,
            });
        }
        Outcome::Written { summary, generated } => {
            if !generated.is_empty() {
                lucid_gen::outln!(
                    "generated {} secret(s): {} (kept in {})",
                    generated.len(),
                    generated.join(", "),
                    paths.secrets.display()
                );
            }
            lucid_gen::outln!("{}: {summary}", out.display());
        }
    }
    Ok(())
}
