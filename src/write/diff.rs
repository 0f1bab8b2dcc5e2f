//! `render_diff`: what `--check` prints for stale files — a unified diff,
//! or one line for a secret-bearing file (contents never shown), a file
//! to delete, or an entry that is not a readable regular file. For GitHub
//! Actions, `github_report`: one `::error file=...` per stale file, and
//! that diff appended to the job summary as markdown. And
//! `skip_unknowable_secrets`: without a secret store, the secret-bearing
//! files `--check` cannot know are left out.

use std::io::{self, Write as _};
use std::path::Path;

use crate::escape::{escape_control_lines, markdown_code_block, workflow_command};

use super::{Change, Stale};

/// A unified diff of the stale files, hiding secret-bearing contents; a
/// plain file's control characters (terminal escapes, say) are shown as
/// `\u{1b}` codes, never sent to the terminal or the job summary raw.
pub fn render_diff(out_dir: &Path, stale: &[Stale]) -> String {
    escape_control_lines(&unified_diff(out_dir, stale)).into_owned()
}

fn unified_diff(out_dir: &Path, stale: &[Stale]) -> String {
    let mut out = String::new();
    for s in stale {
        let shown = out_dir.join(&s.path);
        let shown = shown.display();
        if let Some(note) = &s.note {
            out.push_str(&format!("{shown}: differs ({note})\n"));
            continue;
        }
        match (s.change, s.secret) {
            (Change::Delete, _) => {
                out.push_str(&format!(
                    "{shown}: would be deleted (the model no longer produces it)\n"
                ));
            }
            (Change::Create, true) => {
                out.push_str(&format!(
                    "{shown}: would be created (holds secrets; contents not shown)\n"
                ));
            }
            (Change::Update, true) => {
                out.push_str(&format!(
                    "{shown}: differs (holds secrets; contents not shown)\n"
                ));
            }
            (_, false) => {
                let old = s.old.as_deref().unwrap_or("");
                let new = s.new.as_deref().unwrap_or("");
                let diff = similar::TextDiff::from_lines(old, new);
                let old_name = if s.old.is_some() {
                    format!("a/{}", s.path.display())
                } else {
                    "/dev/null".into()
                };
                out.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&old_name, &format!("b/{}", s.path.display()))
                        .to_string(),
                );
            }
        }
    }
    out
}

/// One GitHub Actions `::error file=<out_dir>/<path>` per stale file, so a
/// pull request shows which generated files its model change leaves stale;
/// on the first line that differs when the file is shown.
fn stale_annotations(out_dir: &Path, stale: &[Stale]) -> Vec<String> {
    stale
        .iter()
        .map(|s| {
            let shown = out_dir.join(&s.path).display().to_string();
            let what = match s.change {
                Change::Create => "is missing",
                Change::Update => "is not what the model produces",
                Change::Delete => "is no longer produced by the model",
            };
            let message =
                format!("{shown} {what}\nhelp: run `lucid-gen all` and commit the result");
            let line = first_changed_line(s)
                .map(|n| n.to_string())
                .unwrap_or_default();
            let props = [
                ("file", shown.as_str()),
                ("line", line.as_str()),
                ("title", "stale generated file"),
            ];
            workflow_command("error", &props, &message).to_string()
        })
        .collect()
}

/// The 1-based line of the file on disk where the first difference is,
/// for a file whose contents are shown (not secret-bearing, readable).
fn first_changed_line(s: &Stale) -> Option<usize> {
    if s.secret || s.note.is_some() {
        return None;
    }
    let (old, new) = (s.old.as_deref()?, s.new.as_deref()?);
    let diff = similar::TextDiff::from_lines(old, new);
    let op = diff
        .ops()
        .iter()
        .find(|op| op.tag() != similar::DiffTag::Equal)?;
    Some((op.old_range().start + 1).min(old.lines().count().max(1)))
}

/// The job summary's size limit is 1 MiB per step; a diff is cut well
/// below it.
const SUMMARY_DIFF_LIMIT: usize = 512 * 1024;

/// The markdown job summary for stale files: how many, how to accept the
/// change, and [`render_diff`]'s text (secret-bearing files named, their
/// contents never shown) in a `diff` code block.
fn step_summary(out_dir: &Path, stale: &[Stale], total: usize) -> String {
    let mut diff = render_diff(out_dir, stale);
    if diff.len() > SUMMARY_DIFF_LIMIT {
        let mut cut = SUMMARY_DIFF_LIMIT;
        while !diff.is_char_boundary(cut) {
            cut -= 1;
        }
        diff.truncate(cut);
        diff.push_str("\n... (cut: run `lucid-gen all --check` for the whole diff)\n");
    }
    format!(
        "### lucid-gen: {} of {total} files in `{}` are stale\n\n\
         The model changed but the generated files were not rewritten. To accept \
         the change, run `lucid-gen all` and commit the result.\n\n{}",
        stale.len(),
        out_dir.display(),
        markdown_code_block("diff", &diff)
    )
}

/// For GitHub Actions: the annotations to print (with `annotate`), after
/// appending the job summary to the file `summary` names, if any.
pub fn github_report(
    out_dir: &Path,
    stale: &[Stale],
    total: usize,
    annotate: bool,
    summary: Option<&Path>,
) -> io::Result<Vec<String>> {
    if let Some(path) = summary {
        append_step_summary(path, &step_summary(out_dir, stale, total))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    }
    Ok(if annotate {
        stale_annotations(out_dir, stale)
    } else {
        Vec::new()
    })
}

/// Without a secret store (a fresh clone, a CI job) the secret-bearing
/// files can neither exist nor be known: those `--check` would create are
/// left out of `stale`; the note says how many. One that exists is still
/// compared.
pub fn skip_unknowable_secrets(stale: &mut Vec<Stale>, store: &Path) -> Option<String> {
    if store.exists() {
        return None;
    }
    let before = stale.len();
    stale.retain(|s| !(s.secret && s.change == Change::Create));
    let skipped = before - stale.len();
    (skipped > 0).then(|| {
        format!(
            "{skipped} secret-bearing file(s) not checked: there is no secret store at {} (as in a fresh clone)",
            store.display()
        )
    })
}

/// Appends `markdown` to the job summary file GitHub Actions names in
/// `GITHUB_STEP_SUMMARY` (created if missing).
fn append_step_summary(path: &Path, markdown: &str) -> io::Result<()> {
    // A regular file only: a FIFO there would block the run.
    let mut file = crate::regular_file::open_for_writing(path, true)?;
    file.write_all(markdown.as_bytes())?;
    file.write_all(b"\n")
}
