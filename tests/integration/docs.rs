//! The documentation holds together: every relative link in the README,
//! ARCHITECTURE.md, BENCHMARKS.md and `docs/*.md` names a file that exists
//! and, with `#anchor`, a heading of that file (GitHub's slugs).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::repo_root;

/// Every markdown file users read.
fn documents() -> Vec<PathBuf> {
    let root = repo_root();
    let mut docs: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    let mut pages: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    docs.extend(pages);
    docs
}

/// The text outside code fences and inline code.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if !fence {
            let mut code = false;
            for part in line.split('`') {
                if !code {
                    out.push_str(part);
                }
                code = !code;
            }
            out.push('\n');
        }
    }
    out
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces
/// as `-`.
fn slug(heading: &str) -> String {
    let kept: String = (heading.trim().to_lowercase().chars())
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .collect();
    kept.replace(' ', "-")
}

fn anchors(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    let mut fence = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        } else if !fence && line.starts_with('#') {
            found.push(slug(line.trim_start_matches('#')));
        }
    }
    found
}

/// `(link, target)` of every relative markdown link in `text`.
fn links(text: &str) -> Vec<String> {
    let text = prose(text);
    let mut found = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let link = &rest[..end];
        if !link.contains("://") && !link.starts_with("mailto:") && !link.is_empty() {
            found.push(link.to_string());
        }
    }
    found
}

#[test]
fn every_link_in_the_documentation_resolves() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for link in links(&text) {
            let (file, anchor) = match link.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                doc.clone()
            } else {
                dir.join(file)
            };
            let shown = doc.strip_prefix(repo_root()).unwrap().display().to_string();
            if !target.exists() {
                broken.push(format!("{shown}: ({link}): no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                if target.is_file() && !anchors(&target).iter().any(|a| a == anchor) {
                    broken.push(format!("{shown}: ({link}): no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn headings_become_github_anchors() {
    assert_eq!(slug(" `groups.<name>`"), "groupsname");
    assert_eq!(
        slug("Plan: what `up` would change"),
        "plan-what-up-would-change"
    );
    assert_eq!(
        links("see [a](docs/x.md#y) and `[b](no)` and [c](https://e.org)"),
        ["docs/x.md#y"]
    );
}
