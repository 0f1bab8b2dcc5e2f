//! One row type for every `lucid-gen test` check ([`Check`]) and its three
//! writers: the table for people ([`table`]), JSON lines for tools
//! ([`json_lines`]) and a JUnit XML report for CI dashboards ([`junit`]).

/// One row of the report: which check, from where, against what, what
/// was expected, and whether it held (names only, never a secret value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub kind: &'static str,
    pub from: String,
    pub target: String,
    pub expect: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Prints the table and the summary line; true when nothing failed.
pub fn table(checks: &[Check]) -> bool {
    let failed = checks.iter().filter(|c| !c.ok).count();
    crate::outln!(
        "{:<14} {:<34} {:<52} {:<12} RESULT",
        "CHECK",
        "FROM",
        "TARGET",
        "EXPECT"
    );
    for c in checks {
        crate::outln!(
            "{:<14} {:<34} {:<52} {:<12} {}{}",
            c.kind,
            c.from,
            c.target,
            c.expect,
            if c.ok { "ok" } else { "FAIL" },
            if c.ok || c.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.detail)
            }
        );
    }
    crate::outln!("test: {} checks, {failed} failed", checks.len());
    failed == 0
}

/// One JSON object per check on stdout (`kind`, `from`, `target`,
/// `expect`, `ok`, `detail`), the summary on stderr; true when nothing
/// failed.
pub fn json_lines(checks: &[Check]) -> bool {
    for c in checks {
        let line = serde_json::json!({
            "kind": c.kind, "from": c.from, "target": c.target,
            "expect": c.expect, "ok": c.ok, "detail": c.detail,
        });
        crate::outln!("{line}");
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    eprintln!("test: {} checks, {failed} failed", checks.len());
    failed == 0
}

/// The checks as a JUnit XML report: one `testsuite` per check family,
/// one `testcase` per check (`classname` the family, `name` from and
/// target), a `failure` with the detail for each failed one.
pub fn junit(checks: &[Check]) -> String {
    use crate::escape::xml_text;
    let mut kinds: Vec<&str> = checks.iter().map(|c| c.kind).collect();
    kinds.dedup();
    kinds.sort_unstable();
    kinds.dedup();
    let failed = checks.iter().filter(|c| !c.ok).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"lucid-gen test\" tests=\"{}\" failures=\"{failed}\" errors=\"0\">\n",
        checks.len()
    ));
    for kind in kinds {
        let family: Vec<&Check> = checks.iter().filter(|c| c.kind == kind).collect();
        let failures = family.iter().filter(|c| !c.ok).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
            xml_text(kind),
            family.len()
        ));
        for c in family {
            let name = xml_text(&format!("{} -> {} ({})", c.from, c.target, c.expect));
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{name}\"",
                xml_text(kind)
            );
            if c.ok {
                out.push_str(&format!("{open}/>\n"));
            } else {
                let message = xml_text(&c.detail);
                out.push_str(&format!(
                    "{open}>\n      <failure message=\"{message}\" type=\"{}\">{message}</failure>\n    </testcase>\n",
                    xml_text(kind)
                ));
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
