//! Crash and concurrency safety of the real binary on the Lucid model:
//! a run killed at any moment leaves every file wholly old or wholly new
//! and the secret store whole; two runs at once never interleave.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{stdout, OutputBounded, Project, BIN};
use lucid_gen::system::Encoding;

/// Temporary files of atomic writes; a killed run may leave them behind.
const TMP_PREFIX: &str = ".lucid-gen-tmp-";

const STORE: &str = ".lucid-gen/secrets.env";

/// Every regular file under `root` (relative path → bytes), leftover
/// temporary files apart; returns them and how many of those there were.
fn files(root: &Path) -> (BTreeMap<PathBuf, Vec<u8>>, usize) {
    let mut out = BTreeMap::new();
    let mut tmp = 0;
    for file in crate::common::files_under(root) {
        if is_tmp(&file) {
            tmp += 1;
        } else {
            let rel = file.strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, fs::read(&file).unwrap());
        }
    }
    (out, tmp)
}

fn is_tmp(file: &Path) -> bool {
    file.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(TMP_PREFIX))
}

/// The model's secrets: name, size in bytes, encoding.
fn declared_secrets(p: &Project) -> Vec<(String, usize, Encoding)> {
    let loaded = lucid_gen::model::load_dir(&p.path("model")).expect("the Lucid model loads");
    let system = lucid_gen::validate::validate(loaded)
        .expect("the Lucid model is valid")
        .system;
    system
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.bytes, s.encoding))
        .collect()
}

/// The store parses (every other line `NAME=value`, each name once) and
/// holds a value of the declared size for every secret. Returns it.
fn check_store(
    p: &Project,
    secrets: &[(String, usize, Encoding)],
    context: &str,
) -> BTreeMap<String, String> {
    let text = fs::read_to_string(p.path(STORE))
        .unwrap_or_else(|e| panic!("{context}: cannot read the store: {e}"));
    let mut values = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.split_once('=').unwrap_or_else(|| {
            panic!("{context}: store line {} is not NAME=value:\n{text}", i + 1)
        });
        assert!(
            values.insert(name.to_string(), value.to_string()).is_none(),
            "{context}: {name} is in the store twice"
        );
    }
    for (name, bytes, encoding) in secrets {
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("{context}: {name} is missing from the store"));
        let decoded = lucid_gen::secrets::decode(*encoding, value)
            .unwrap_or_else(|| panic!("{context}: {name} does not decode"));
        assert_eq!(
            decoded.len(),
            *bytes,
            "{context}: {name} has the wrong size"
        );
    }
    values
}

/// `model/system.yaml` with one more system label: every compose file and
/// Dockerfile changes.
fn with_extra_label(system: &str) -> String {
    let edited = system.replacen(
        "\n  labels:\n",
        "\n  labels:\n    org.example.test/crash: \"state-b\"\n",
        1,
    );
    assert_ne!(edited, system, "model/system.yaml has no `  labels:` line");
    edited
}

fn spawn_all(p: &Project, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(p.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lucid-gen")
}

/// Runs `args` to completion and returns how long it took.
fn timed(p: &Project, args: &[&str]) -> Duration {
    let started = Instant::now();
    p.run().args(args).run();
    started.elapsed()
}

/// Spawns `args`, kills it with SIGKILL after `delay`.
fn kill_after(p: &Project, args: &[&str], delay: Duration) {
    let mut child = spawn_all(p, args);
    std::thread::sleep(delay);
    let _ = child.kill(); // it may have finished already
    child.wait().unwrap();
}

/// Leftover temporary files anywhere in the project, by directory.
fn leftovers(p: &Project) -> BTreeMap<String, usize> {
    let root = p.dir.path();
    let mut out = BTreeMap::new();
    for file in crate::common::files_under(root)
        .iter()
        .filter(|f| is_tmp(f))
    {
        let dir = file.parent().unwrap().strip_prefix(root).unwrap();
        *out.entry(dir.display().to_string()).or_default() += 1;
    }
    out
}

/// The two states every file must be in: A (the model as copied) and B
/// (one more label), rendered with the same secret store, so that the
/// secret-bearing env files compare too.
struct States {
    model_a: String,
    model_b: String,
    a: BTreeMap<PathBuf, Vec<u8>>,
    b: BTreeMap<PathBuf, Vec<u8>>,
}

fn states(p: &Project) -> States {
    p.run().args(&["all"]).run();
    let model_a = p.read("model/system.yaml");
    let model_b = with_extra_label(&model_a);
    let (a, _) = files(&p.path("generated"));
    let q = Project::lucid();
    fs::create_dir_all(q.path(".lucid-gen")).unwrap();
    fs::copy(p.path(STORE), q.path(STORE)).unwrap();
    q.write("model/system.yaml", &model_b);
    q.run().args(&["all"]).run();
    let (b, _) = files(&q.path("generated"));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "A and B hold the same files"
    );
    let differing = a.iter().filter(|(k, v)| b[*k] != **v).count();
    assert!(
        differing >= 10,
        "only {differing} files differ between A and B"
    );
    States {
        model_a,
        model_b,
        a,
        b,
    }
}

/// Every file is wholly A's or wholly B's, none missing, none extra.
/// Returns how many files are B's.
fn check_whole(p: &Project, s: &States, context: &str) -> usize {
    let (now, _) = files(&p.path("generated"));
    let mut problems = Vec::new();
    for (rel, bytes) in &now {
        match (s.a.get(rel), s.b.get(rel)) {
            (None, None) => problems.push(format!("{} is neither in A nor in B", rel.display())),
            (a, b) if a != Some(bytes) && b != Some(bytes) => problems.push(format!(
                "{} is neither A's nor B's version ({} bytes)",
                rel.display(),
                bytes.len()
            )),
            _ => {}
        }
    }
    for rel in s.a.keys() {
        if !now.contains_key(rel) {
            problems.push(format!("{} is missing", rel.display()));
        }
    }
    assert!(problems.is_empty(), "{context}:\n{}", problems.join("\n"));
    now.iter()
        .filter(|(rel, bytes)| s.b.get(*rel) == Some(*bytes) && s.a.get(*rel) != Some(*bytes))
        .count()
}

/// Every secret-bearing file (as `generated/.gitignore` lists them) and
/// the store are private: 0600, or for a file containers mount, 0444 in
/// a directory of mode 0700.
fn check_private(p: &Project, context: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mode_of = |rel: &str| fs::metadata(p.path(rel)).unwrap().permissions().mode() & 0o777;
    let ignored = p.read("generated/.gitignore");
    let private = ignored
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(|l| format!("generated{l}"))
        .chain([STORE.to_string()]);
    for rel in private {
        let mode = mode_of(&rel);
        if mode == 0o444 {
            let dir = rel.rsplit_once('/').unwrap().0;
            let dir_mode = mode_of(dir);
            assert_eq!(
                dir_mode, 0o700,
                "{context}: {dir} (of {rel}) has mode {dir_mode:o}"
            );
        } else {
            assert_eq!(mode, 0o600, "{context}: {rel} has mode {mode:o}");
        }
    }
}

#[test]
fn a_killed_run_leaves_every_file_whole() {
    const SEED: u64 = 0xc0ffee;
    const KILLS: usize = 40;
    let p = Project::lucid();
    let secrets = declared_secrets(&p);
    let s = states(&p);
    // How long a run that rewrites everything takes here: the kills are
    // spread over that window (and a little past it).
    p.write("model/system.yaml", &s.model_b);
    let to_b = timed(&p, &["all"]);
    p.write("model/system.yaml", &s.model_a);
    let to_a = timed(&p, &["all"]);
    let window = to_a.max(to_b).as_micros() as u64 * 12 / 10;

    let differing = s.a.iter().filter(|(k, v)| s.b[*k] != **v).count();
    let mut mixed = 0;
    let mut rng = StdRng::seed_from_u64(SEED);
    // At least KILLS kills at random delays; more (up to MAX_KILLS) until
    // one lands inside the few milliseconds of renames, which a busy
    // machine makes rare among random delays. Those later delays are
    // bisected: a kill that left every file as it was came too early, one
    // that left every file renamed too late.
    const MAX_KILLS: usize = 400;
    let (mut early, mut late) = (0, window);
    let mut all_b = false; // the files are A's after the timed runs
    let mut i = 0;
    while i < KILLS || (mixed == 0 && i < MAX_KILLS) {
        let random = i < KILLS;
        // Random kills alternate the target so every run has many files
        // to rewrite; bisected ones always target the other state.
        let to_b = if random { i % 2 == 0 } else { !all_b };
        let model = if to_b { &s.model_b } else { &s.model_a };
        p.write("model/system.yaml", model);
        let micros = match random {
            true => rng.random_range(0..=window),
            false => (early + late) / 2,
        };
        let delay = Duration::from_micros(micros);
        kill_after(&p, &["all"], delay);
        let context = format!("kill {i} after {delay:?} (seed {SEED:#x}, window {window} µs)");
        let from_b = check_whole(&p, &s, &context);
        all_b = from_b == differing;
        if from_b > 0 && from_b < differing {
            mixed += 1;
        } else if !random {
            let renamed = if to_b { from_b } else { differing - from_b };
            match renamed {
                0 => early = micros,
                _ => late = micros,
            }
            // The boundary moved with the machine's load: start again.
            if late.saturating_sub(early) < 100 {
                (early, late) = (0, window);
            }
        }
        check_store(&p, &secrets, &context);
        check_private(&p, &context);
        i += 1;
    }
    // Whole files, but a mix of A and B across files: the kills landed
    // in the middle of writing.
    assert!(
        mixed > 0,
        "no kill of {i} landed while files were being written"
    );
    eprintln!(
        "{i} killed runs: {mixed} left a mix of A and B files; temporary files left: {:?}",
        leftovers(&p)
    );

    p.write("model/system.yaml", &s.model_b);
    p.run().args(&["all"]).run();
    let (now, _) = files(&p.path("generated"));
    assert!(now == s.b, "after a complete run the files are not B's");
    p.run().args(&["all"]).stdout_has(" 0 written").run();
}

#[test]
fn two_runs_at_once_never_interleave() {
    const ROUNDS: usize = 20;
    let p = Project::lucid();
    let secrets = declared_secrets(&p);
    let model_a = p.read("model/system.yaml");
    let model_b = with_extra_label(&model_a);
    let mut refused = 0;
    for round in 0..ROUNDS {
        // Round 0 starts from nothing: no store, no generated/.
        let model = if round % 2 == 0 { &model_a } else { &model_b };
        p.write("model/system.yaml", model);
        let first = spawn_all(&p, &["all"]);
        let second = spawn_all(&p, &["all"]);
        let outs = [
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        ];
        let mut ok = 0;
        for out in &outs {
            let err = String::from_utf8_lossy(&out.stderr);
            let context = format!("round {round}: {:?}\n{}\n{err}", out.status, stdout(out));
            assert!(!err.contains("panicked"), "{context}");
            match out.status.code() {
                Some(0) => ok += 1,
                Some(2) => {
                    assert!(
                        err.contains("another lucid-gen is running here"),
                        "{context}"
                    );
                    refused += 1;
                }
                _ => panic!("unexpected exit: {context}"),
            }
        }
        assert!(ok >= 1, "round {round}: both runs were refused");
        let context = format!("round {round}");
        let store = check_store(&p, &secrets, &context);
        p.run().args(&["all"]).stdout_has(" 0 written").run();
        p.run().args(&["all", "--check"]).run();
        // The secret files hold the store's values (a secrets env file
        // as `NAME="value"`, a secret file as the value itself, Tor's torrc
        // only its hash: every secret is in one of the first two forms).
        let (now, _) = files(&p.path("generated"));
        for (name, value) in &store {
            let holders = now
                .iter()
                .filter(|(rel, bytes)| {
                    let text = String::from_utf8_lossy(bytes);
                    let file = rel.file_name().unwrap_or_default().to_string_lossy();
                    text.contains(&format!("{name}=\"{value}\""))
                        || (file == name.as_str() && text == value.as_str())
                        || text.contains(&format!("requirepass {value}"))
                })
                .count();
            assert!(
                holders > 0 || name == "TOR_PASSWORD",
                "{context}: no file holds the stored {name}"
            );
        }
    }
    eprintln!("{ROUNDS} rounds of two runs at once: {refused} run(s) refused by the lock");
}

#[test]
fn a_killed_rotation_never_truncates_the_store() {
    const SEED: u64 = 0x5ec2e7;
    const KILLS: usize = 40;
    let p = Project::lucid();
    let secrets = declared_secrets(&p);
    let name = secrets
        .iter()
        .map(|s| s.0.as_str())
        .find(|n| *n == "JWT_SECRET")
        .unwrap_or(&secrets[0].0)
        .to_string();
    p.run().args(&["all"]).run();
    let window = timed(&p, &["secrets", "rotate", &name]).as_micros() as u64 * 12 / 10;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut rotated = 0;
    let mut last = check_store(&p, &secrets, "before")[&name].clone();
    for i in 0..KILLS {
        let delay = Duration::from_micros(rng.random_range(0..=window));
        kill_after(&p, &["secrets", "rotate", &name], delay);
        let context = format!("kill {i} after {delay:?} (seed {SEED:#x}, window {window} µs)");
        let store = check_store(&p, &secrets, &context);
        if store[&name] != last {
            rotated += 1;
            last = store[&name].clone();
        }
    }
    eprintln!(
        "{KILLS} killed rotations: the store changed {rotated} time(s); temporary files left: {:?}",
        leftovers(&p)
    );
    // A complete run afterwards puts the stored value in every env file.
    p.run().args(&["all"]).run();
    let store = check_store(&p, &secrets, "after");
    let (now, _) = files(&p.path("generated"));
    let line = format!("{name}=\"{}\"", store[&name]);
    assert!(
        now.values()
            .any(|b| String::from_utf8_lossy(b).contains(&line)),
        "no env file holds the stored {name}"
    );
    for (rel, bytes) in &now {
        let text = String::from_utf8_lossy(bytes);
        for l in text.lines().filter(|l| l.starts_with(&format!("{name}="))) {
            assert_eq!(l, line, "{} holds a stale {name}", rel.display());
        }
    }
}

#[test]
fn temporary_files_of_a_killed_run_never_leak_a_secret() {
    // A run killed between creating and renaming a temporary secrets env
    // file leaves it, holding secret values, next to the real one. The next
    // complete run must remove it, or `generated/.gitignore` must ignore
    // it: the README has `generated/` committed.
    const SEED: u64 = 0x1eaf;
    let p = Project::lucid();
    let secrets = declared_secrets(&p);
    let name = secrets[0].0.clone();
    p.run().args(&["all"]).run();
    let window = timed(&p, &["secrets", "rotate", &name]).as_micros() as u64 * 12 / 10;
    let mut rng = StdRng::seed_from_u64(SEED);
    let env_dir = p.path("generated/secrets/env");
    let mut attempts = 0;
    while files(&env_dir).1 == 0 {
        attempts += 1;
        assert!(
            attempts <= 400,
            "no kill left a temporary env file in 400 attempts"
        );
        let delay = Duration::from_micros(rng.random_range(window / 3..=window));
        kill_after(&p, &["secrets", "rotate", &name], delay);
    }
    p.run().args(&["all"]).run();
    let store = check_store(&p, &secrets, "after a complete run");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(p.dir.path())
            .output_bounded()
            .expect("run git")
    };
    assert!(git(&["init", "-q"]).status.success());
    let mut leaks = Vec::new();
    for entry in fs::read_dir(&env_dir).unwrap() {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !file_name.starts_with(TMP_PREFIX) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        let holds_secret = store.values().any(|v| text.contains(v.as_str()));
        let rel = path
            .strip_prefix(p.dir.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let ignored = git(&["check-ignore", "-q", &rel]).status.success();
        if holds_secret && !ignored {
            leaks.push(rel);
        }
    }
    assert!(
        leaks.is_empty(),
        "after {attempts} killed rotation(s) and a complete run, these files hold secret values and \
         are not git-ignored: {leaks:?}\n.gitignore:\n{}",
        p.read("generated/.gitignore")
    );
}
