//! `render_diff`: what `--check` prints for stale files — a unified diff,
//! or one line for a secret-bearing file (contents never shown), a file
//! to delete, or an entry that is not a readable regular file.

use std::path::Path;

use super::{Change, Stale};

/// A unified diff of the stale files, hiding secret-bearing contents.
pub fn render_diff(out_dir: &Path, stale: &[Stale]) -> String {
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
