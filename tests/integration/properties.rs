//! Property tests with a seeded `StdRng` (no extra crates): fixed seeds and
//! bounded case counts, so CI is fast and every failure can be replayed
//! from the seed it prints.
//!
//! - The loader and validator never panic on a mutated model, point every
//!   diagnostic at a real line of a real file, and a model they accept
//!   always renders.
//! - Env values survive lucid-gen's escaping and Docker Compose's parsing
//!   byte for byte, both from env files and from inline `environment:`.
//! - Every escaper of `lucid_gen::escape` round-trips through the real
//!   reader of its syntax: YAML keys and names through `docker compose
//!   config`, shell words through `sh`, gitignore patterns through `git
//!   check-ignore`, JSON through serde_json, Dockerfile arguments through
//!   `docker build` and hadolint.
//! - Every secret-bearing file of every fixture model is git-ignored, and
//!   nothing else is.
//! - No quoting or escaping function exists outside `src/escape/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{need, repo_root, OutputBounded, Project};
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
    match validate::validate(loaded) {
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

// ------------------------------------------------------------ escapers

/// A random string over `alphabet` (pieces, so multi-byte ones stay whole).
fn random_from(rng: &mut StdRng, alphabet: &[&str], max: usize) -> String {
    let n = rng.random_range(0..=max);
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}

#[test]
fn shell_words_round_trip_through_sh() {
    const SEED: u64 = 0x5e11;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut words: Vec<String> = (0..400)
        .map(|_| random_from(&mut rng, VALUE_CHARS, 12))
        .collect();
    words.extend(["", "~", "~root", "*", "[a]", "!x", "a b", "'", "-n"].map(String::from));
    let script: Vec<String> = words
        .iter()
        .map(|w| lucid_gen::escape::shell_word(w).to_string())
        .collect();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s\\0' {}", script.join(" ")))
        .current_dir(tempfile::tempdir().unwrap().path())
        .output_bounded()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(String::from)
        .collect();
    assert_eq!(got, words, "seed {SEED:#x}");
}

#[test]
fn json_arrays_round_trip_through_serde_json() {
    const SEED: u64 = 0x150;
    let mut rng = StdRng::seed_from_u64(SEED);
    for _ in 0..200 {
        let items: Vec<String> = (0..rng.random_range(0..5))
            .map(|_| random_from(&mut rng, VALUE_CHARS, 10) + "\u{1}\u{1f}")
            .collect();
        let text = lucid_gen::escape::json_array(&items).to_string();
        let back: Vec<String> = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{text}: {e} (seed {SEED:#x})");
        });
        assert_eq!(back, items, "seed {SEED:#x}");
    }
}

/// Characters gitignore treats specially, and ordinary ones.
const NAME_PIECES: &[&str] = &[
    "a", "B", "0", ".", "-", "_", " ", "  ", "[", "]", "*", "?", "!", "#", "\\", "é", "{", "}", "^",
];

/// `gitignore_path` matches exactly its own file: of many files with
/// glob-like names, `git check-ignore` ignores exactly the chosen half.
#[test]
fn gitignore_patterns_match_exactly_their_file() {
    need(git_available(), "git");
    const SEED: u64 = 0x6170;
    let mut rng = StdRng::seed_from_u64(SEED);
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    let mut files = BTreeSet::new();
    while files.len() < 300 {
        let dir = format!("d{}", random_from(&mut rng, NAME_PIECES, 3));
        let name = format!("f{}", random_from(&mut rng, NAME_PIECES, 6));
        files.insert(format!("{dir}/{name}"));
    }
    let mut ignored = BTreeSet::new();
    let mut gitignore = String::new();
    for (i, f) in files.iter().enumerate() {
        let path = repo.path().join(f);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "x").unwrap();
        if i % 2 == 0 {
            // Spelled the way a model might: `./` and `x/../` in front.
            let spelled = if i % 4 == 0 {
                format!("./{f}")
            } else {
                format!("zz/../{f}")
            };
            let pattern = lucid_gen::escape::gitignore_path(Path::new(&spelled)).unwrap();
            gitignore.push_str(&format!("{pattern}\n"));
            ignored.insert(f.clone());
        }
    }
    fs::write(repo.path().join(".gitignore"), &gitignore).unwrap();
    let got = check_ignore(repo.path(), files.iter().map(String::as_str));
    assert_eq!(got, ignored, "seed {SEED:#x}; .gitignore:\n{gitignore}");
}

fn git_available() -> bool {
    Command::new("git")
        .arg("--version")
        .output_bounded()
        .is_ok_and(|o| o.status.success())
}

/// `git` in `dir`, with no user or system config in the way.
fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

fn git(dir: &Path, args: &[&str]) {
    let out = git_cmd(dir).args(args).output_bounded().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Which of `paths` (relative to `dir`) git ignores.
fn check_ignore<'a>(dir: &Path, paths: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    use std::io::Write;
    let mut child = git_cmd(dir)
        .args(["check-ignore", "--stdin", "-z"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run git check-ignore");
    let mut input = Vec::new();
    for p in paths {
        input.extend_from_slice(p.as_bytes());
        input.push(0);
    }
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    // 0: some ignored, 1: none ignored.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(String::from)
        .collect()
}

/// Every file under `dir`, relative to `base`.
fn files_under(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    out.extend(
        crate::common::files_under(dir)
            .iter()
            .map(|p| p.strip_prefix(base).unwrap().to_path_buf()),
    );
}

/// For every fixture model, the repository's model and a model whose
/// output directories are spelled with `./`, glob characters, `#`, `!`,
/// leading and trailing spaces: rendered into a git work tree, every secret-bearing
/// file (mode 0600, or 0444 in a 0700 directory) is ignored by git and every other
/// file is not.
#[test]
fn secret_env_files_are_git_ignored_for_every_fixture() {
    use std::os::unix::fs::PermissionsExt;
    need(git_available(), "git");
    let mut projects: Vec<(String, Project)> = Vec::new();
    for entry in fs::read_dir(repo_root().join("tests/fixtures")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        projects.push((name.clone(), Project::fixture(&name)));
    }
    projects.push(("model/".into(), Project::lucid()));
    let hostile = Project::fixture("small");
    let system = hostile.read("model/system.yaml").replace(
        "  platform: linux/amd64\n",
        "  platform: linux/amd64\n  output:\n    env_dir: \"./ se[c]r*e?ts/./!#env  \"\n    \
         secrets_dir: \"./ se[c]r*e?ts/./!#sec  \"\n    \
         compose_dir: \"./compose #1\"\n    dockerfile_dir: \"docker[files]\"\n",
    );
    hostile.write("model/system.yaml", &system);
    projects.push(("hostile output names".into(), hostile));
    for (name, p) in &projects {
        git(p.dir.path(), &["init", "-q"]);
        p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
        let generated = p.path("generated");
        let mut files = Vec::new();
        files_under(p.dir.path(), &generated, &mut files);
        let mode = |f: &Path| fs::metadata(f).unwrap().permissions().mode() & 0o777;
        let (secret, public): (Vec<_>, Vec<_>) = files.iter().partition(|f| {
            let path = p.dir.path().join(f);
            let m = mode(&path);
            m & 0o077 == 0 || (m == 0o444 && mode(path.parent().unwrap()) == 0o700)
        });
        assert!(!secret.is_empty(), "{name}: no secret-bearing file");
        let as_str = |v: &[&PathBuf]| -> Vec<String> {
            v.iter().map(|f| f.to_str().unwrap().to_string()).collect()
        };
        let ignored = check_ignore(
            p.dir.path(),
            as_str(&files.iter().collect::<Vec<_>>())
                .iter()
                .map(String::as_str),
        );
        for f in as_str(&secret) {
            assert!(
                ignored.contains(&f),
                "{name}: secret-bearing {f:?} is not git-ignored\n{}",
                p.read("generated/.gitignore")
            );
        }
        for f in as_str(&public) {
            assert!(
                !ignored.contains(&f),
                "{name}: {f:?} holds no secret but is git-ignored"
            );
        }
    }
}

/// Issue 9: quoting lives in one module. No function named like a quoter
/// or escaper is defined anywhere in `src/` but `src/escape/`.
#[test]
fn no_quoting_function_outside_the_escape_module() {
    let mut files = Vec::new();
    let src = repo_root().join("src");
    files_under(&src, &src, &mut files);
    let mut found = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.starts_with("escape") && f.extension().is_some_and(|e| e == "rs"))
    {
        let text = fs::read_to_string(src.join(f)).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().split("fn ").nth(1) else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let lower = name.to_lowercase();
            // `_str`/`_word` as a whole word of the name (`yaml_str`,
            // `shell_word`), not inside `_struct`; serde's and std's trait
            // methods are named by those traits, not by us.
            let words: Vec<&str> = lower.split('_').collect();
            let trait_method = lower.starts_with("visit_")
                || lower.starts_with("deserialize_")
                || lower == "from_str"
                || lower == "write_str";
            if !trait_method
                && (["quote", "escape", "label_value"]
                    .iter()
                    .any(|w| lower.contains(w))
                    || words.iter().skip(1).any(|w| *w == "str" || *w == "word"))
            {
                found.push(format!("src/{}:{}: fn {name}", f.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "quoting belongs in src/escape/:\n{}",
        found.join("\n")
    );
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::docker_available;

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
    /// Pieces of names a YAML reader might take for a number, bool or null.
    const TOKEN_PIECES: &[&str] = &[
        "0", "1", "9", "e", "E", "x", "X", "o", "b", "f", "F", ".", "_", "-", ":", "/", "+", "a",
        "s", "m", "true", "True", "null", "NULL", "yes", "No", "on", "OFF", "y", "n", "~", ".inf",
        ".nan", "0x", "0o", "0b", "1e3", "$", " ",
    ];
    /// Builds the rendered `WORKDIR` and awkward `COPY` lines for real: in a
    /// `FROM scratch` image whose context holds the copied file where the
    /// upstream image would, the file lands under its exact name.
    fn rendered_lines_build_exactly(rendered: &str) {
        need(docker_available(), "docker");
        let workdir = rendered
            .lines()
            .find(|l| l.starts_with("WORKDIR "))
            .unwrap();
        let copy = rendered
            .lines()
            .find(|l| l.contains("a b/"))
            .unwrap()
            .replace("--from=upstream ", "");
        let ctx = tempfile::tempdir().unwrap();
        fs::create_dir_all(ctx.path().join("opt/a b")).unwrap();
        fs::write(ctx.path().join("opt/a b/$x \"q\""), "exact").unwrap();
        let dockerfile = format!("FROM scratch\n{workdir}\n{copy}\n");
        fs::write(ctx.path().join("Dockerfile"), &dockerfile).unwrap();
        let (config, export) =
            build_config_and_export(ctx.path(), "lucid-gen-escape-rendered", &dockerfile);
        assert_eq!(config["WorkingDir"].as_str(), Some("/srv/my app/$HOME"));
        let tar = String::from_utf8_lossy(&export.stdout);
        assert!(tar.contains("srv/it's here/$x \"q\"\0"), "{dockerfile}");
    }
    fn hadolint_passes(dockerfile: &Path) {
        let available = Command::new("hadolint")
            .arg("--version")
            .output_bounded()
            .is_ok_and(|o| o.status.success());
        need(available, "hadolint");
        let out = Command::new("hadolint")
            .arg(dockerfile)
            .output_bounded()
            .unwrap();
        assert!(
            out.status.success(),
            "hadolint {}:\n{}\n{}",
            dockerfile.display(),
            String::from_utf8_lossy(&out.stdout),
            fs::read_to_string(dockerfile).unwrap()
        );
    }
    /// Builds `dockerfile` in `ctx` with the classic builder (offline, no
    /// buildx), and returns the image's config and a tar export of a container
    /// made from it; image and container are removed again.
    fn build_config_and_export(
        ctx: &Path,
        name: &str,
        dockerfile: &str,
    ) -> (serde_json::Value, std::process::Output) {
        let tag = format!("{name}:{}", std::process::id());
        let out = Command::new("docker")
            .args(["build", "-q", "-t", &tag, "."])
            .env("DOCKER_BUILDKIT", "0")
            .current_dir(ctx)
            .output_bounded()
            .unwrap();
        assert!(
            out.status.success(),
            "{dockerfile}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let inspect = Command::new("docker")
            .args(["image", "inspect", &tag, "--format", "{{json .Config}}"])
            .output_bounded()
            .unwrap();
        let created = Command::new("docker")
            .args(["create", &tag, "x"])
            .output_bounded()
            .unwrap();
        let id = String::from_utf8(created.stdout)
            .unwrap()
            .trim()
            .to_string();
        let export = Command::new("docker")
            .args(["export", &id])
            .output_bounded()
            .unwrap();
        Command::new("docker")
            .args(["rm", &id])
            .output_bounded()
            .unwrap();
        Command::new("docker")
            .args(["rmi", &tag])
            .output_bounded()
            .unwrap();
        (serde_json::from_slice(&inspect.stdout).unwrap(), export)
    }

    #[test]
    fn env_values_round_trip_through_docker_compose() {
        need(compose_available(), "docker compose");
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
                .output_bounded()
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

    /// `yaml_key` (mapping keys) and `compose_name` (values) read back exactly
    /// through `docker compose config`, whatever they look like.
    #[test]
    fn yaml_keys_and_names_round_trip_through_docker_compose() {
        need(compose_available(), "docker compose");
        use lucid_gen::escape::{compose_name, yaml_key};
        const SEED: u64 = 0x7a31;
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut tokens = BTreeSet::new();
        while tokens.len() < 400 {
            tokens.insert(random_from(&mut rng, TOKEN_PIECES, 4));
        }
        tokens.remove("");
        let mut file = String::from("services:\n  s:\n    image: example/s:1\n    labels:\n");
        for (i, t) in tokens.iter().enumerate() {
            file.push_str(&format!(
                "      {}: {}\n",
                yaml_key(&format!("k{i}")),
                compose_name(t)
            ));
        }
        file.push_str("    environment:\n");
        for t in &tokens {
            file.push_str(&format!("      {}: x\n", yaml_key(t)));
        }
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("compose.yml"), &file).unwrap();
        let out = Command::new("docker")
            .args([
                "compose",
                "-p",
                "escape-props",
                "-f",
                "compose.yml",
                "config",
                "--format",
                "json",
            ])
            .current_dir(dir.path())
            .output_bounded()
            .expect("run docker compose");
        assert!(
            out.status.success(),
            "{}\n{file}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let s = &config["services"]["s"];
        // `config` prints a loadable file: a literal `$` is `$$`, keys too.
        let keys: BTreeSet<String> = s["environment"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.replace("$$", "$"))
            .collect();
        for (i, t) in tokens.iter().enumerate() {
            let label = s["labels"][format!("k{i}")]
                .as_str()
                .map(|v| v.replace("$$", "$"));
            assert_eq!(
                label.as_deref(),
                Some(t.as_str()),
                "value {t:?} (seed {SEED:#x})"
            );
            assert!(
                keys.contains(t),
                "key {t:?} lost (seed {SEED:#x}): {keys:?}"
            );
        }
    }

    // ------------------------------------------------------------ Dockerfiles

    /// Random values through `docker_word` (`ENV`), `docker_quoted` (`LABEL`)
    /// and `docker_copy` (file names) come back exactly from one real build;
    /// values with control characters are refused, never changed.
    #[test]
    fn dockerfile_escapers_round_trip_through_docker_build() {
        use lucid_gen::escape::{docker_copy, docker_quoted, docker_word};
        need(docker_available(), "docker");
        const SEED: u64 = 0xd0c;
        let mut rng = StdRng::seed_from_u64(SEED);
        let ctx = tempfile::tempdir().unwrap();
        let mut dockerfile = String::from("FROM scratch\n");
        let mut values = Vec::new();
        let mut names = BTreeSet::new();
        for i in 0..40 {
            let value = random_from(&mut rng, VALUE_CHARS, 10);
            let has_control = value
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{85}' | '\u{2028}'));
            match (docker_word(&value), docker_quoted(&value)) {
                (Ok(word), Ok(quoted)) => {
                    assert!(!has_control, "{value:?} accepted");
                    dockerfile.push_str(&format!("ENV V{i}={word}\nLABEL l{i}={quoted}\n"));
                    values.push((i, value));
                }
                (Err(_), Err(_)) => assert!(has_control, "{value:?} refused"),
                other => panic!("{value:?}: {other:?}"),
            }
            let name = format!("f{}", random_from(&mut rng, NAME_PIECES, 6));
            if let Ok(copy) = docker_copy(&name, &format!("/d/{name}")) {
                if names.insert(name.clone()) {
                    fs::write(ctx.path().join(&name), "x").unwrap();
                    dockerfile.push_str(&format!("COPY {copy}\n"));
                }
            }
        }
        fs::write(ctx.path().join("Dockerfile"), &dockerfile).unwrap();
        let (config, export) =
            build_config_and_export(ctx.path(), "lucid-gen-escape-props", &dockerfile);
        let env: BTreeSet<&str> = config["Env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_str())
            .collect();
        for (i, value) in &values {
            assert!(
                env.contains(format!("V{i}={value}").as_str()),
                "ENV V{i}={value:?} (seed {SEED:#x})\n{env:?}"
            );
            assert_eq!(
                config["Labels"][format!("l{i}")].as_str(),
                Some(value.as_str()),
                "LABEL l{i} (seed {SEED:#x})"
            );
        }
        // Non-ASCII names are stored in a PAX `path=` record.
        let tar = String::from_utf8_lossy(&export.stdout);
        for name in &names {
            assert!(
                (tar.contains(&format!("d/{name}\0")) || tar.contains(&format!("path=d/{name}\n"))),
                "COPY {name:?} (seed {SEED:#x})\n{dockerfile}"
            );
        }
        assert!(
            names.len() >= 5 && values.len() >= 10,
            "{names:?} {values:?}"
        );
    }

    /// A file whose name holds a space, `$`, double and single quotes arrives
    /// in an image exactly, through `COPY`, `WORKDIR`, `ENV` and `LABEL`
    /// written by the escapers, in a real `docker build` (`FROM scratch`, no
    /// network), and hadolint reads the Dockerfile.
    #[test]
    fn dockerfile_arguments_arrive_exactly_in_a_real_build() {
        use lucid_gen::escape::{docker_copy, docker_quoted, docker_word};
        need(docker_available(), "docker");
        let name = "a b $x \"q\" it's";
        let dir_name = "/w d/$HOME/\"q\" it's \\b";
        let ctx = tempfile::tempdir().unwrap();
        fs::write(ctx.path().join(name), "exact").unwrap();
        let dockerfile = format!(
            "FROM scratch\nWORKDIR {}\nCOPY {}\nENV P={} \\\n    Q=1\nLABEL k={}\n",
            docker_word(dir_name).unwrap(),
            docker_copy(name, &format!("/dst/{name}")).unwrap(),
            docker_word(&format!("{dir_name}:/opt")).unwrap(),
            docker_quoted(name).unwrap(),
        );
        fs::write(ctx.path().join("Dockerfile"), &dockerfile).unwrap();
        hadolint_passes(&ctx.path().join("Dockerfile"));
        let (config, export) =
            build_config_and_export(ctx.path(), "lucid-gen-escape-test", &dockerfile);
        assert_eq!(
            config["WorkingDir"].as_str(),
            Some(dir_name),
            "{dockerfile}"
        );
        assert_eq!(config["Labels"]["k"].as_str(), Some(name), "{dockerfile}");
        let env: Vec<&str> = config["Env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_str())
            .collect();
        assert!(
            env.contains(&format!("P={dir_name}:/opt").as_str()),
            "{env:?}\n{dockerfile}"
        );
        // The exported file system holds the file under its exact name.
        let tar = String::from_utf8_lossy(&export.stdout);
        assert!(tar.contains(&format!("dst/{name}\0")), "{dockerfile}");
        assert!(tar.contains("exact"), "{dockerfile}");
    }

    /// A model whose build paths hold spaces, `$` and quotes renders
    /// Dockerfiles hadolint accepts, with each path carried in a form Docker
    /// reads back exactly; a description with a line break is refused, not
    /// joined, and a glob in a `COPY` source is refused, not widened.
    #[test]
    fn awkward_build_paths_are_carried_or_refused() {
        let p = Project::fixture("small");
        let services = p.read("model/services.yaml").replace(
            "        - from: /usr/lib/postgresql/16/bin/postgres\n          to: /usr/local/bin/postgres\n",
            "        - from: /usr/lib/postgresql/16/bin/postgres\n          to: /usr/local/bin/postgres\n        \
             - from: \"/opt/a b/$x \\\"q\\\"\"\n          to: \"/srv/it's here/\"\n      workdir: \"/srv/my app/$HOME\"\n",
        );
        let services = services.replace(
            "      packages: [httpx==0.28.1]\n",
            "      packages: [httpx==0.28.1, \"uvicorn[standard]==0.30\"]\n      workdir: \"/srv/it's an app\"\n",
        );
        p.write("model/services.yaml", &services);
        p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
        let python = p.path("generated/dockerfiles/services/shop-api/Dockerfile");
        let text = fs::read_to_string(&python).unwrap();
        assert!(
            text.contains("COPY [\".\", \"/srv/it\\\\'s an app\"]\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "ENV PYTHONPATH=\"/srv/it's an app:/opt/python/service:/opt/python/base\" \\\n"
            ),
            "{text}"
        );
        assert!(text.contains("      'uvicorn[standard]==0.30'\n"), "{text}");
        hadolint_passes(&python);
        let path = p.path("generated/dockerfiles/services/shop-db/Dockerfile");
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(
                r#"COPY --from=upstream ["/opt/a b/\\$x \\\"q\\\"", "/srv/it\\'s here/"]"#
            ),
            "{text}"
        );
        assert!(text.contains("WORKDIR \"/srv/my app/\\$HOME\"\n"), "{text}");
        hadolint_passes(&path);
        rendered_lines_build_exactly(&text);

        let glob = services.replace("\"/opt/a b/$x \\\"q\\\"\"", "/opt/lib/*.so");
        p.write("model/services.yaml", &glob);
        // Validation refuses it with its place (exit 1), before render would.
        p.run()
            .args(&["all", "--insecure-secret-seed", "1"])
            .status(1)
            .stderr_has("model/services.yaml:17:17: error[invalid-path]: copy `/opt/lib/*.so`")
            .stderr_has("a COPY source is a pattern")
            .run();

        p.write(
            "model/services.yaml",
            &services.replace(
                "  shop-db:\n",
                "  shop-db:\n    description: \"two\\nlines\"\n",
            ),
        );
        p.run()
            .args(&["all", "--insecure-secret-seed", "1"])
            .status(1)
            .stderr_has("model/services.yaml:3:18: error[label-value]: the description of built service `shop-db`")
            .run();
    }
}
