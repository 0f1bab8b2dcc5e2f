//! `docs/seeds.md` stays in step with the models: every row's `where` names
//! a model file that exists and a dotted key path that exists in that YAML,
//! every row has a verdict (`met` or `different: <reason>`), and the
//! per-system counts at the top of the page match the rows below them.
//!
//! Key path rule (documented on the page): segments are separated by `.`;
//! a key that itself contains a `.` is written in square brackets
//! (`labels.[org.opencontainers.image.vendor]`); a segment that is a
//! number indexes a sequence.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_yaml::Value;

use crate::common::repo_root;

const PAGE: &str = "docs/seeds.md";

/// One row of a system's requirement table.
struct Row {
    line: usize,
    system: String,
    location: String,
    verdict: String,
}

/// The cells of a markdown table line, trimmed (`None` for other lines).
fn cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    if !line.starts_with('|') || !line.ends_with('|') || line.len() < 2 {
        return None;
    }
    Some(
        line[1..line.len() - 1]
            .split('|')
            .map(|c| c.trim().to_string())
            .collect(),
    )
}

fn is_separator(cells: &[String]) -> bool {
    cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
}

/// The page's counts table (system → met, different, total, met %) and
/// its requirement rows, or the problems found while reading it.
fn read_page(page: &str) -> (BTreeMap<String, [String; 4]>, Vec<Row>, Vec<String>) {
    let mut counts = BTreeMap::new();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut system: Option<String> = None;
    let mut header: Option<Vec<String>> = None;
    for (n, line) in page.lines().enumerate() {
        let n = n + 1;
        if let Some(h) = line.strip_prefix("## ") {
            system = Some(h.trim().to_string());
            header = None;
            continue;
        }
        let Some(cells) = cells(line) else {
            header = None;
            continue;
        };
        if is_separator(&cells) {
            continue;
        }
        let Some(head) = &header else {
            header = Some(cells.iter().map(|c| c.to_lowercase()).collect());
            continue;
        };
        if head.len() != cells.len() {
            problems.push(format!(
                "{PAGE}:{n}: {} cells, the table's header has {}",
                cells.len(),
                head.len()
            ));
            continue;
        }
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        match head.as_slice() {
            ["system", "met", "different", "total", "met %"] => {
                let key = cells[0].clone();
                let values = [
                    cells[1].clone(),
                    cells[2].clone(),
                    cells[3].clone(),
                    cells[4].clone(),
                ];
                counts.insert(key, values);
            }
            ["seed", "requirement", "where", "verdict"] => match &system {
                Some(system) => rows.push(Row {
                    line: n,
                    system: system.clone(),
                    location: cells[2].trim_matches('`').trim().to_string(),
                    verdict: cells[3].clone(),
                }),
                None => problems.push(format!(
                    "{PAGE}:{n}: a requirement row before any `## ` system heading"
                )),
            },
            _ => {}
        }
    }
    (counts, rows, problems)
}

/// Splits a dotted key path; `[a.b]` is one segment holding a dot.
fn segments(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut bracket = false;
    for ch in path.chars() {
        match ch {
            '[' if !bracket && current.is_empty() => bracket = true,
            ']' if bracket => bracket = false,
            '.' if !bracket => out.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    if bracket {
        return Err(format!("unclosed `[` in key path `{path}`"));
    }
    out.push(current);
    if out.iter().any(String::is_empty) {
        return Err(format!("empty segment in key path `{path}`"));
    }
    Ok(out)
}

/// The value at `path` in `doc`, or which segment was not there.
fn walk<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut here = doc;
    for segment in segments(path)? {
        let next = match here {
            Value::Mapping(map) => map.get(Value::String(segment.clone())),
            Value::Sequence(seq) => segment.parse::<usize>().ok().and_then(|i| seq.get(i)),
            _ => None,
        };
        here = next.ok_or_else(|| format!("no key `{segment}` (path `{path}`)"))?;
    }
    Ok(here)
}

/// Every problem with a row's `where` (`—` means the model has no place).
fn check_location(root: &Path, row: &Row) -> Option<String> {
    let at = format!("{PAGE}:{}", row.line);
    if row.location == "—" {
        return None;
    }
    let Some((file, path)) = row.location.split_once(": ") else {
        return Some(format!(
            "{at}: `where` is `{}`; write `<file>: <dotted.key.path>` or `—`",
            row.location
        ));
    };
    let text = match fs::read_to_string(root.join(file.trim())) {
        Ok(text) => text,
        Err(e) => return Some(format!("{at}: `{file}` cannot be read: {e}")),
    };
    let doc: Value = match serde_yaml::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => return Some(format!("{at}: `{file}` is not YAML: {e}")),
    };
    walk(&doc, path.trim())
        .err()
        .map(|e| format!("{at}: {file}: {e}"))
}

fn check_verdict(row: &Row) -> Option<String> {
    let at = format!("{PAGE}:{}", row.line);
    if row.verdict == "met" {
        return None;
    }
    match row.verdict.strip_prefix("different:") {
        Some(reason) if !reason.trim().is_empty() => None,
        _ => Some(format!(
            "{at}: verdict `{}`; write `met` or `different: <reason>`",
            row.verdict
        )),
    }
}

/// The counts a system's rows add up to, as the page writes them.
fn tally(rows: &[Row], system: &str) -> [String; 4] {
    let mine: Vec<&Row> = rows.iter().filter(|r| r.system == system).collect();
    let met = mine.iter().filter(|r| r.verdict == "met").count();
    let total = mine.len();
    let percent = (met * 100 + total / 2).checked_div(total).unwrap_or(0);
    [
        met.to_string(),
        (total - met).to_string(),
        total.to_string(),
        format!("{percent}%"),
    ]
}

/// Every problem with the page, each at its line.
fn problems(root: &Path, page: &str) -> Vec<String> {
    let (counts, rows, mut problems) = read_page(page);
    if counts.is_empty() {
        problems.push(format!(
            "{PAGE}: no counts table (`| system | met | different | total | met % |`)"
        ));
    }
    if rows.is_empty() {
        problems.push(format!(
            "{PAGE}: no requirement rows (`| seed | requirement | where | verdict |`)"
        ));
    }
    for row in &rows {
        problems.extend(check_location(root, row));
        problems.extend(check_verdict(row));
    }
    for (system, written) in &counts {
        let actual = tally(&rows, system);
        if *written != actual {
            problems.push(format!(
                "{PAGE}: counts for {system} say {written:?}; the rows say {actual:?}"
            ));
        }
    }
    let mut systems: Vec<&String> = rows.iter().map(|r| &r.system).collect();
    systems.dedup();
    for system in systems {
        if !counts.contains_key(system) {
            problems.push(format!(
                "{PAGE}: `## {system}` has rows but no line in the counts table"
            ));
        }
    }
    problems
}

fn page() -> String {
    fs::read_to_string(repo_root().join(PAGE)).unwrap()
}

#[test]
fn every_row_names_an_existing_model_key_and_the_counts_add_up() {
    let found = problems(&repo_root(), &page());
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The first requirement row whose `where` names a file, and the page.
fn first_located_row(page: &str) -> (usize, String) {
    let (_, rows, _) = read_page(page);
    let row = rows
        .iter()
        .find(|r| r.location != "—")
        .expect("a row with a location");
    (
        row.line,
        page.lines().nth(row.line - 1).unwrap().to_string(),
    )
}

fn replace_line(page: &str, n: usize, line: &str) -> String {
    let mut lines: Vec<&str> = page.lines().collect();
    lines[n - 1] = line;
    lines.join("\n")
}

#[test]
fn a_missing_key_a_missing_file_a_missing_verdict_and_wrong_counts_are_caught() {
    let root = repo_root();
    let page = page();
    let (n, line) = first_located_row(&page);
    let cells = cells(&line).unwrap();
    let location = cells[2].trim_matches('`').to_string();
    let (file, path) = location.split_once(": ").unwrap();

    let no_key = line.replacen(path, &format!("{path}.no-such-key"), 1);
    let found = problems(&root, &replace_line(&page, n, &no_key));
    assert!(
        found.iter().any(|p| p.contains("no key `no-such-key`")),
        "{found:?}"
    );

    let no_file = line.replacen(file, "model/no-such-file.yaml", 1);
    let found = problems(&root, &replace_line(&page, n, &no_file));
    assert!(
        found.iter().any(|p| p.contains("cannot be read")),
        "{found:?}"
    );

    let verdict = &cells[3];
    let no_verdict = line.replacen(&format!("| {verdict} |"), "|  |", 1);
    let found = problems(&root, &replace_line(&page, n, &no_verdict));
    assert!(found.iter().any(|p| p.contains("verdict ``")), "{found:?}");
    // A verdict dropped also changes nothing in the counts but the verdict
    // itself; a row dropped changes the counts.
    let dropped: String = page
        .lines()
        .enumerate()
        .filter(|(i, _)| i + 1 != n)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let found = problems(&root, &dropped);
    assert!(found.iter().any(|p| p.contains("counts for")), "{found:?}");
}

#[test]
fn key_paths_split_on_dots_and_brackets_keep_a_dotted_key_whole() {
    assert_eq!(segments("a.b.0").unwrap(), ["a", "b", "0"]);
    assert_eq!(
        segments("labels.[org.opencontainers.image.vendor]").unwrap(),
        ["labels", "org.opencontainers.image.vendor"]
    );
    assert!(segments("a..b").is_err());
    assert!(segments("a.[b").is_err());
}
