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

/// Every `.rs` file of the repository's source and tests, by the name of
/// its module's file (`write/mod.rs` as `write.rs`).
fn rust_sources() -> Vec<(String, String)> {
    let root = repo_root();
    let mut out = Vec::new();
    for dir in ["src", "tests", "benches"] {
        for path in crate::common::files_under(&root.join(dir)) {
            if path.extension().is_some_and(|e| e == "rs") {
                let mut name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name == "mod.rs" {
                    let dir = path.parent().unwrap().file_name().unwrap();
                    name = format!("{}.rs", dir.to_string_lossy());
                }
                out.push((name, fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

/// ARCHITECTURE.md's invariants table names, for each invariant, the test
/// that enforces it; every test it names that way (`file.rs::name`, or
/// `module::tests::name`) exists, so the table cannot go on citing a test
/// that was renamed or removed.
#[test]
fn every_test_the_invariants_table_names_exists() {
    let text = fs::read_to_string(repo_root().join("ARCHITECTURE.md")).unwrap();
    let table = text
        .split("## Invariants")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("ARCHITECTURE.md has an Invariants section");
    let sources = rust_sources();
    let mut cited = 0;
    let mut missing = Vec::new();
    for span in table.split('`').skip(1).step_by(2) {
        let parts: Vec<&str> = span.split("::").collect();
        let (Some(first), Some(name)) = (parts.first(), parts.last()) else {
            continue;
        };
        let is_ident = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if parts.len() < 2 || !is_ident(name) || name.contains('*') {
            continue;
        }
        // `file.rs::name` names a file; `a::b::tests::name` its last module.
        let file = match first.strip_suffix(".rs") {
            Some(f) => format!("{}.rs", f.rsplit('/').next().unwrap()),
            None if parts.contains(&"tests") => {
                format!("{}.rs", parts[parts.len() - 3])
            }
            None => continue,
        };
        cited += 1;
        let defined = sources
            .iter()
            .any(|(n, src)| *n == file && src.contains(&format!("fn {name}(")));
        if !defined {
            missing.push(format!("{span} (no `fn {name}` in any {file})"));
        }
    }
    assert!(cited >= 20, "the invariants table cites only {cited} tests");
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's invariants table names tests that do not exist:\n{}",
        missing.join("\n")
    );
}
