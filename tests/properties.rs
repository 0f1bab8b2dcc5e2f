//! Property tests with a seeded `StdRng` (no extra crates): fixed seeds and
//! bounded case counts, so CI is fast and every failure can be replayed
//! from the seed it prints.
//!
//! - The loader and validator never panic on a mutated model, point every
//!   diagnostic at a real line of a real file, and a model they accept
//!   always renders.
//! - Env values survive lucid-gen's escaping and Docker Compose's parsing
//!   byte for byte, both from env files and from inline `environment:`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::{compose_available, repo_root, require_tool, Project};
use lucid_gen::diagnostic::Rule;
use lucid_gen::escape::yaml_str;
use lucid_gen::model::{self, LoadError};
use lucid_gen::secrets::{self, SecretSource};
use lucid_gen::{render, validate};

// ------------------------------------------------------------ loader fuzz

/// Bytes that mean something to YAML, plus digits and a few letters.
const YAML_BYTES: &[u8] = b":{}[],-#&*!|>'\"%@`\t\n 0123456789?~.ax";

/// Snippets that are not single ASCII bytes.
const SNIPPETS: &[&str] = &[
    "\r",
    "\r\n",
    "é",
    "日本",
    "😀",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "\u{7f}",
    "\u{a0}",
    "\\",
    "\\x",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "<<: ",
    "---\n",
    "...\n",
    "? ",
    "\"\\u",
];

/// Scalars to put where a value was.
const VALUES: &[&str] = &[
    "~",
    "null",
    "true",
    "no",
    "0",
    "-1",
    "65536",
    "0x1F",
    "1e9",
    ".inf",
    "\"\"",
    "''",
    "[]",
    "{}",
    "[a, b]",
    "{a: 1}",
    "&x v",
    "*x",
    "!!str 1",
    "|\n  text",
    ">-\n  text",
    "a: b",
    "- x",
    "\"\\t\"",
    "18080",
    "10.91.0.0/24",
    "shop-app",
    "base",
    "edge",
];

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// One random edit of `bytes`.
fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    let pos = |rng: &mut StdRng, len: usize| rng.random_range(0..=len);
    match rng.random_range(0..11) {
        // Line edits: delete, duplicate, swap, re-indent.
        0..=3 => {
            let mut ls = lines(bytes);
            if ls.is_empty() {
                return;
            }
            let i = rng.random_range(0..ls.len());
            match rng.random_range(0..4) {
                0 => {
                    ls.remove(i);
                }
                1 => {
                    let l = ls[i].clone();
                    let j = rng.random_range(0..=ls.len());
                    ls.insert(j, l);
                }
                2 => {
                    let j = rng.random_range(0..ls.len());
                    ls.swap(i, j);
                }
                _ => {
                    if rng.random_bool(0.5) {
                        let n = rng.random_range(1..=3);
                        ls[i].splice(0..0, std::iter::repeat_n(b' ', n));
                    } else {
                        let n = ls[i].iter().take_while(|b| **b == b' ').count();
                        let cut = rng.random_range(0..=n.min(3));
                        ls[i].drain(0..cut);
                    }
                }
            }
            *bytes = ls.concat();
        }
        // Flip a byte to a YAML-significant one.
        4 => {
            if !bytes.is_empty() {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = YAML_BYTES[rng.random_range(0..YAML_BYTES.len())];
            }
        }
        // Insert a few such bytes.
        5 => {
            let at = pos(rng, bytes.len());
            let n = rng.random_range(1..=3);
            let ins: Vec<u8> = (0..n)
                .map(|_| YAML_BYTES[rng.random_range(0..YAML_BYTES.len())])
                .collect();
            bytes.splice(at..at, ins);
        }
        // Delete a short range.
        6 => {
            if !bytes.is_empty() {
                let at = rng.random_range(0..bytes.len());
                let end = (at + rng.random_range(1..=8)).min(bytes.len());
                bytes.drain(at..end);
            }
        }
        // Truncate.
        7 => {
            let at = pos(rng, bytes.len());
            bytes.truncate(at);
        }
        // Insert a multi-byte or escape snippet (maybe inside a character:
        // the loader must cope with invalid UTF-8 too).
        8 => {
            let at = pos(rng, bytes.len());
            let s = SNIPPETS[rng.random_range(0..SNIPPETS.len())];
            bytes.splice(at..at, s.bytes());
        }
        // Replace the value of a `key: value` line.
        9 => {
            let mut ls = lines(bytes);
            let candidates: Vec<usize> = (0..ls.len())
                .filter(|i| ls[*i].windows(2).any(|w| w == b": "))
                .collect();
            if candidates.is_empty() {
                return;
            }
            let i = candidates[rng.random_range(0..candidates.len())];
            let colon = ls[i].windows(2).position(|w| w == b": ").unwrap();
            let value = VALUES[rng.random_range(0..VALUES.len())];
            ls[i].truncate(colon + 2);
            ls[i].extend_from_slice(value.as_bytes());
            ls[i].push(b'\n');
            *bytes = ls.concat();
        }
        // Swap two random bytes.
        _ => {
            if bytes.len() > 1 {
                let i = rng.random_range(0..bytes.len());
                let j = rng.random_range(0..bytes.len());
                bytes.swap(i, j);
            }
        }
    }
}

/// What the library made of one model directory.
enum Outcome {
    Io(String),
    Invalid(Vec<lucid_gen::diagnostic::Diagnostic>),
    Valid {
        warnings: Vec<lucid_gen::diagnostic::Diagnostic>,
        rendered: Result<(), String>,
    },
}

fn pipeline(dir: &Path) -> Outcome {
    let loaded = match model::load_dir(dir) {
        Ok(loaded) => loaded,
        Err(LoadError::Io { path, error }) => {
            return Outcome::Io(format!("{}: {error}", path.display()))
        }
        Err(LoadError::Invalid(d)) => return Outcome::Invalid(d),
    };
    match validate::validate(&loaded) {
        Err(d) => Outcome::Invalid(d),
        Ok(valid) => {
            let rendered = secrets::resolve(&valid.system, &SecretSource::Seeded(1), &[])
                .map_err(|e| format!("secrets: {e}"))
                .and_then(|resolved| {
                    let a = render::render(&valid.system, &resolved.values)
                        .map_err(|e| format!("render: {e}"))?;
                    let b = render::render(&valid.system, &resolved.values)
                        .map_err(|e| format!("render: {e}"))?;
                    if a != b {
                        return Err("render is not deterministic".into());
                    }
                    Ok(())
                });
            Outcome::Valid {
                warnings: valid.warnings,
                rendered,
            }
        }
    }
}

/// The highest line number any YAML reader may count in `bytes`: every
/// `\n`, lone `\r`, NEL, LS and PS ends a line, and a position just after
/// the last break is still on a line.
fn max_line(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut breaks = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => breaks += 1,
            _ => {}
        }
    }
    breaks + 1
}

/// Diagnostics about the model as a whole, which no single place holds.
const MODEL_WIDE: [Rule; 1] = [Rule::NoServices];

/// Checks every diagnostic of one outcome; returns the violations.
fn check_outcome(outcome: &Outcome, files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    let mut problems = Vec::new();
    let diagnostics = match outcome {
        Outcome::Io(e) => {
            problems.push(format!("[I/O error on regular files] {e}"));
            return problems;
        }
        Outcome::Invalid(d) => {
            if !d.iter().any(|d| d.is_error()) {
                problems.push("[refused without an error]".into());
            }
            d
        }
        Outcome::Valid { warnings, rendered } => {
            if let Err(e) = rendered {
                problems.push(format!("[valid model failed to render] {e}"));
            }
            warnings
        }
    };
    for d in diagnostics {
        let Some(loc) = &d.location else {
            if !MODEL_WIDE.contains(&d.rule()) {
                problems.push(format!("[no location, error[{}]] {d}", d.rule()));
            }
            continue;
        };
        let Some(bytes) = files.get(&loc.file) else {
            problems.push(format!("[names a file that is not in the model] {d}"));
            continue;
        };
        if loc.line == 0 || loc.line > max_line(bytes) || loc.col == 0 {
            let ending = if bytes.ends_with(b"\n") {
                "ends with a newline"
            } else {
                "no final newline"
            };
            problems.push(format!(
                "[location outside the file, error[{}], {ending}] {} lines: {d}",
                d.rule(),
                max_line(bytes)
            ));
        }
    }
    problems
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".into())
}

#[test]
fn mutated_models_never_panic_and_point_at_real_lines() {
    const SEED: u64 = 0x10c1d;
    const CASES: usize = 2_000;
    let fixture = repo_root().join("tests/fixtures/small");
    let originals: Vec<(String, Vec<u8>)> = ["system.yaml", "services.yaml"]
        .iter()
        .map(|f| (f.to_string(), fs::read(fixture.join(f)).unwrap()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    fs::create_dir(&dir).unwrap();

    let mut master = StdRng::seed_from_u64(SEED);
    let mut failures = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..CASES {
        let case_seed: u64 = master.random();
        let mut rng = StdRng::seed_from_u64(case_seed);
        // Mutate one file or both, 1 to 4 edits each.
        let which = rng.random_range(0..3);
        let mut files = BTreeMap::new();
        for (i, (name, original)) in originals.iter().enumerate() {
            let mut bytes = original.clone();
            if which == 2 || which == i {
                let edits = if rng.random_bool(0.5) {
                    1
                } else {
                    rng.random_range(2..=4)
                };
                for _ in 0..edits {
                    mutate(&mut rng, &mut bytes);
                }
            }
            let path = dir.join(name);
            fs::write(&path, &bytes).unwrap();
            files.insert(path, bytes);
        }
        let problems = match catch_unwind(AssertUnwindSafe(|| pipeline(&dir))) {
            Err(payload) => vec![format!("[PANIC] {}", panic_message(&*payload))],
            Ok(outcome) => {
                match &outcome {
                    Outcome::Valid { .. } => valid += 1,
                    _ => invalid += 1,
                }
                check_outcome(&outcome, &files)
            }
        };
        if !problems.is_empty() {
            let inputs: Vec<String> = files
                .iter()
                .filter(|(p, b)| {
                    let name = p.file_name().unwrap().to_str().unwrap();
                    originals.iter().any(|(n, o)| n == name && o != *b)
                })
                .map(|(p, b)| {
                    format!(
                        "--- {} (mutated)\n{:?}",
                        p.file_name().unwrap().to_string_lossy(),
                        String::from_utf8_lossy(b)
                    )
                })
                .collect();
            let report = format!(
                "case {case} (case seed {case_seed:#x}, master seed {SEED:#x}):\n  {}\n{}",
                problems.join("\n  "),
                inputs.join("\n")
            );
            failures.push((problems, report));
        }
    }
    eprintln!("{CASES} mutated models: {valid} valid, {invalid} refused");
    assert!(
        valid > 0 && invalid > 0,
        "the mutations are not varied enough"
    );
    // One example of each kind of failure (the `[...]` tag), with counts.
    let mut kinds: BTreeMap<String, (usize, &String)> = BTreeMap::new();
    for (problems, report) in &failures {
        for problem in problems {
            let kind = problem
                .split_once("] ")
                .map_or(problem.as_str(), |(k, _)| k)
                .to_string();
            kinds.entry(kind).or_insert((0, report)).0 += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases failed, {} kind(s) of problem:\n\n{}",
        failures.len(),
        kinds.len(),
        kinds
            .iter()
            .map(|(kind, (n, report))| format!("=== {kind}] ×{n}, first seen in {report}"))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

// -------------------------------------------------------- escaping round trip

/// Characters values are drawn from: everything env files, YAML and
/// Compose treat specially, plus Unicode that likes to get lost. Never NUL.
const VALUE_CHARS: &[&str] = &[
    "'", "\"", "$", "$$", "${", "{", "}", "#", " #", "\\", "\\n", " ", "\t", "\n", "\r", "=", "`",
    "é", "✓", "日本", "😀", "\u{85}", "\u{2028}", "\u{feff}", "\u{7f}", "a", "Z", "0", "_", "-",
    ":", "%", "!", "&", "*", "|", ">", "?", "~", ",", "[", "]",
];

fn random_name(rng: &mut StdRng) -> String {
    const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
    const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";
    let mut name = String::new();
    name.push(FIRST[rng.random_range(0..FIRST.len())] as char);
    for _ in 0..rng.random_range(0..12) {
        name.push(REST[rng.random_range(0..REST.len())] as char);
    }
    name
}

fn random_value(rng: &mut StdRng) -> String {
    let n = rng.random_range(0..16);
    (0..n)
        .map(|_| VALUE_CHARS[rng.random_range(0..VALUE_CHARS.len())])
        .collect()
}

/// A model file adding env file `fuzz` with `file_vars` and a service
/// reading it, with `inline` as its own `environment:`.
fn fuzz_model(file_vars: &[(String, String)], inline: &[(String, String)]) -> String {
    let mut text = String::from("env_files:\n  fuzz:\n    file: .env.fuzz\n    vars:\n");
    for (k, v) in file_vars {
        text.push_str(&format!("      {k}: {}\n", yaml_str(v)));
    }
    text.push_str(
        "services:\n  shop-fuzz:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/fuzz:1\n    env_files: [fuzz]\n    health:\n      exec: [/bin/fuzz, --health]\n    resources: { memory: 64m, cpus: 0.1 }\n    environment:\n",
    );
    for (k, v) in inline {
        text.push_str(&format!("      {k}: {}\n", yaml_str(v)));
    }
    text
}

#[test]
fn env_values_round_trip_through_docker_compose() {
    if !require_tool(compose_available(), "docker compose") {
        return;
    }
    const SEED: u64 = 0xe5c4;
    const RUNS: usize = 5;
    const VALUES: usize = 100;
    let mut rng = StdRng::seed_from_u64(SEED);
    for run in 0..RUNS {
        let mut names = BTreeSet::new();
        let mut fresh = |rng: &mut StdRng| loop {
            let n = random_name(rng);
            if names.insert(n.clone()) {
                return n;
            }
        };
        let mut file_vars = Vec::new();
        let mut inline = Vec::new();
        for _ in 0..VALUES {
            let value = random_value(&mut rng);
            file_vars.push((fresh(&mut rng), value.clone()));
            inline.push((fresh(&mut rng), value));
        }
        let p = Project::fixture("small");
        let model = fuzz_model(&file_vars, &inline);
        p.write("model/zz-fuzz.yaml", &model);
        let context = format!("run {run} of seed {SEED:#x}; model/zz-fuzz.yaml:\n{model}");
        let out = p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
        assert!(out.status.success(), "{context}");
        let dir = p.path("generated/configs/docker");
        let out = Command::new("docker")
            .args([
                "compose",
                "-f",
                "docker-compose.master.yml",
                "config",
                "--format",
                "json",
            ])
            .current_dir(&dir)
            .output()
            .expect("run docker compose");
        assert!(
            out.status.success(),
            "docker compose config failed: {}\n{context}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let env = &config["services"]["shop-fuzz"]["environment"];
        let mut wrong = Vec::new();
        for (source, vars) in [("env file", &file_vars), ("environment", &inline)] {
            for (k, v) in vars {
                // `config` prints a loadable file: a literal `$` is `$$`.
                let got = env[k].as_str().map(|s| s.replace("$$", "$"));
                if got.as_deref() != Some(v.as_str()) {
                    wrong.push(format!("{source} {k}: wrote {v:?}, compose read {got:?}"));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} value(s) changed on the way through compose:\n{}\n\n{context}\n\n.env.fuzz:\n{}",
            wrong.len(),
            wrong.join("\n"),
            p.read("generated/configs/environment/.env.fuzz")
        );
    }
}

#[test]
fn a_nul_byte_in_a_value_is_refused() {
    let p = Project::fixture("small");
    let nul = [
        ("GOOD".to_string(), "fine".to_string()),
        ("BAD".to_string(), "a\0b".to_string()),
    ];
    p.write(
        "model/zz-fuzz.yaml",
        &fuzz_model(&nul, &[("INLINE_BAD".to_string(), "\0".to_string())]),
    );
    p.run()
        .args(&["check"])
        .status(1)
        .stderr_has("model/zz-fuzz.yaml:6:12: error[env-value]: value of `BAD` cannot be written")
        .stderr_has("model/zz-fuzz.yaml:")
        .stderr_has("error[env-value]: value of `INLINE_BAD` cannot be written")
        .stderr_has("the model has 2 error(s)")
        .run();
    assert!(!p.path("generated").exists());
}
