//! How `check` shows diagnostics: for people, the model's line with a caret
//! under the offending value and then help; with `--format json`, one JSON
//! object per diagnostic and line on stdout, for editors and CI annotations.

use crate::common::{stderr, stdout, Project};

/// A service publishing the host port another service already publishes,
/// with a control character in a value that ends up in a message.
const CLASH: &str = "services:
  shop-admin:
    phase: edge
    plane: app
    networks: [shop-app]
    image: example/admin:1
    ports:
      - container: 80
        host: 18080
  shop-other:
    phase: edge
    plane: app
    networks: [shop-app]
    image: \"example/bad\\e[31m:1\"
    health:
      exec: [/bin/probe]
    resources: { memory: 64m, cpus: 0.1 }
";

#[test]
fn json_lines_carry_rule_severity_place_message_and_help() {
    let p = Project::fixture("small");
    p.write("model/case.yaml", CLASH);
    let out = p.run().args(&["check", "--format", "json"]).status(1).run();
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let clash = lines
        .iter()
        .find(|d| d["rule"] == "port-clash")
        .expect("a port-clash diagnostic");
    assert_eq!(clash["severity"], "error");
    assert_eq!(clash["file"], "model/services.yaml");
    assert_eq!(clash["line"], 37);
    assert_eq!(clash["column"], 15);
    let message = clash["message"].as_str().unwrap();
    assert!(message.contains("host port 18080/tcp"), "{message}");
    assert!(clash["help"]
        .as_str()
        .unwrap()
        .contains("pick a free host port"));
    let image = lines
        .iter()
        .find(|d| d["rule"] == "invalid-image")
        .expect("an invalid-image diagnostic");
    assert_eq!(
        image["message"],
        "`example/bad\\u{1b}[31m:1` is not a valid image reference"
    );
    // Warnings come as JSON too; the summary is not on stdout.
    assert!(lines.iter().any(|d| d["severity"] == "warning"));
    assert!(!stdout(&out).contains("is valid"));
}

#[test]
fn json_of_a_valid_model_leaves_stdout_to_diagnostics() {
    let p = Project::fixture("small");
    let out = p.run().args(&["check", "--format", "json"]).status(0).run();
    for line in stdout(&out).lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(stderr(&out).contains("is valid"));
}

#[test]
fn people_see_the_line_and_a_caret_under_the_value() {
    let p = Project::fixture("small");
    p.write("model/case.yaml", CLASH);
    let out = p.run().args(&["check"]).status(1).run();
    let err = stderr(&out);
    let expected = "model/services.yaml:37:15: error[port-clash]: host port 18080/tcp of `shop-api` (on 127.0.0.1) is already published by `shop-admin` (on every address, model/case.yaml:9:15)
   |
37 |         host: 18080
   |               ^^^^^
   |
   = help: pick a free host port";
    assert!(err.contains(expected), "expected\n{expected}\nin\n{err}");
    // Not a terminal: no colour codes, and the model's escape is shown, not sent.
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("image: \"example/bad\\e[31m:1\""), "{err}");
}

/// One escaping path for everything printed: a line separator (U+2028,
/// U+2029) in model text is escaped on the terminal and in `--format
/// json` lines, which tools read line by line, as in GitHub annotations.
#[test]
fn line_separators_never_reach_a_line_raw() {
    let p = Project::fixture("small");
    p.write(
        "model/case.yaml",
        "services:\n  shop-x:\n    \"pha\u{2028}se\u{2029}\": edge\n",
    );
    for format in ["human", "json", "github"] {
        let out = p.run().args(&["check", "--format", format]).status(1).run();
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains(['\u{2028}', '\u{2029}']), "{format}: {all}");
        assert!(
            all.contains("u{2028}se") && all.contains("u{2029}"),
            "{format}: {all}"
        );
        if format == "json" {
            for line in stdout(&out).lines() {
                serde_json::from_str::<serde_json::Value>(line).unwrap();
            }
        }
    }
}
