//! Every diagnostic kind is produced by something a test runs, and its
//! message and help are in a reviewed snapshot.
//!
//! The fixtures run in-process (`model::load_dir`, `validate::validate`),
//! as `lucid-gen check` runs them: `tests/bad/<rule>.yaml` (one per rule,
//! snapshotted through the binary by `rules.rs`) and
//! `tests/bad/kinds/<kind>.yaml`, one per kind no rule fixture produces,
//! named by the kind in kebab case (`FileTooLarge` → `file-too-large.yaml`)
//! and snapshotted here. Either is added to a copy of the `small` fixture as
//! `model/case.yaml`; a file whose first line starts with `# alone` is the
//! whole model instead.
//!
//! A few kinds no model file can produce (a file over 8 MiB, one that grows
//! while read, bytes that are not UTF-8, the secret-exposure warnings about
//! files on disk) are produced by the functions in `NO_FIXTURE`, each
//! snapshotted. `every_kind_is_exercised`
//! runs all of it and compares the kinds produced with `Kind::ALL_NAMES`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::{repo_root, Project};
use lucid_gen::diagnostic::{render, Diagnostic, Kind};
use lucid_gen::model::{self, LoadError};
use lucid_gen::{hygiene, validate};

#[test]
fn every_kind_is_exercised() {
    let mut produced = BTreeSet::new();
    let mut fixtures = fixtures_in(&repo_root().join("tests/bad"));
    fixtures.extend(fixtures_in(&repo_root().join("tests/bad/kinds")));
    for fixture in &fixtures {
        let (_project, found) = check_fixture(fixture);
        produced.extend(found.iter().map(|d| d.kind.name()));
    }
    for (_, produce) in NO_FIXTURE {
        let (_project, found) = produce();
        produced.extend(found.iter().map(|d| d.kind.name()));
    }
    let missing: Vec<String> = (Kind::ALL_NAMES.iter())
        .filter(|name| !produced.contains(*name))
        .map(|name| format!("  {name}: add tests/bad/kinds/{}.yaml", kebab(name)))
        .collect();
    assert!(
        missing.is_empty(),
        "no fixture or test produces these diagnostic kinds:\n{}\n\
         a fixture is a small model file breaking only that; run \
         `cargo test --test integration kinds::` and review its snapshot",
        missing.join("\n")
    );
}

/// Each `tests/bad/kinds/<kind>.yaml` produces its kind; the snapshot
/// holds every error and the kind's warnings as `check` prints them.
#[test]
fn every_kind_fixture_produces_its_kind() {
    insta::glob!("..", "bad/kinds/*.yaml", |path| {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let (project, found) = check_fixture(path);
        assert!(
            found.iter().any(|d| kebab(d.kind.name()) == name),
            "{name}: the fixture does not produce its kind; it gave:\n{}",
            shown(project.dir.path(), &found, |_| true)
        );
        let text = shown(project.dir.path(), &found, |d| {
            d.is_error() || kebab(d.kind.name()) == name
        });
        insta::assert_snapshot!(text);
    });
}

/// Every fixture is named after a kind, and every snapshot after a
/// fixture, so none outlives its kind.
#[test]
fn every_kind_fixture_is_named_after_a_kind() {
    let names: BTreeSet<String> = Kind::ALL_NAMES.iter().map(|n| kebab(n)).collect();
    let kinds = repo_root().join("tests/bad/kinds");
    for fixture in fixtures_in(&kinds) {
        let stem = fixture.file_stem().unwrap().to_str().unwrap();
        assert!(
            names.contains(stem),
            "{}: no diagnostic kind is called `{stem}`",
            fixture.display()
        );
    }
    let prefix = "integration__kinds__every_kind_fixture_produces_its_kind@";
    for entry in fs::read_dir(repo_root().join("tests/integration/snapshots")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(fixture) = name.strip_prefix(prefix) else {
            continue;
        };
        let fixture = fixture.trim_end_matches(".new").trim_end_matches(".snap");
        assert!(
            kinds.join(fixture).is_file(),
            "snapshot {name} has no fixture tests/bad/kinds/{fixture}; delete it"
        );
    }
}

/// `FileTooLarge` → `file-too-large`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The `*.yaml` files directly in `dir`, sorted.
fn fixtures_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    found
}

/// Loads and validates a fixture as `check` does (added to a copy of
/// `small` as `model/case.yaml`, or alone), giving every diagnostic.
fn check_fixture(fixture: &Path) -> Produced {
    let project = Project::fixture("small");
    let text = fs::read_to_string(fixture).unwrap();
    if text.starts_with("# alone") {
        fs::remove_dir_all(project.path("model")).unwrap();
        fs::create_dir(project.path("model")).unwrap();
    }
    fs::write(project.path("model/case.yaml"), text).unwrap();
    let found = load_and_validate(&project.path("model"));
    (project, found)
}

/// Every diagnostic `check` prints for the model in `dir` (warnings too).
fn load_and_validate(dir: &Path) -> Vec<Diagnostic> {
    match model::load_dir(dir) {
        Err(LoadError::Invalid(found)) => found,
        Err(io @ LoadError::Io { .. }) => panic!("{}: {io}", dir.display()),
        Ok(loaded) => match validate::validate(loaded) {
            Ok(valid) => valid.warnings,
            Err(found) => found,
        },
    }
}

/// The diagnostics `keep` selects, as `check` prints them (no colour),
/// paths relative to `root`. Asserts no control character gets through.
fn shown(root: &Path, found: &[Diagnostic], keep: impl Fn(&Diagnostic) -> bool) -> String {
    let mut sorted = found.to_vec();
    lucid_gen::diagnostic::sort(&mut sorted);
    let root = format!("{}/", root.display());
    let mut out = String::new();
    for d in sorted.iter().filter(|d| keep(d)) {
        let mut d = d.clone();
        if let Some(at) = &mut d.location {
            at.file = at
                .file
                .strip_prefix(&root)
                .unwrap_or(&at.file)
                .to_path_buf();
        }
        out.push_str(&render::human(&d, false).replace(&root, ""));
        out.push('\n');
    }
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the terminal:\n{out:?}"
    );
    out
}

// ---------------------------------------------- kinds no fixture can produce

/// The project a producer worked in (kept until its paths are shown) and
/// what lucid-gen reported there.
type Produced = (Project, Vec<Diagnostic>);

/// Makes lucid-gen report what no fixture can make it report.
type Producer = fn() -> Produced;

/// The functions producing the kinds no model file in `tests/bad/` can,
/// each with the name of its snapshot.
const NO_FIXTURE: [(&str, Producer); 6] = [
    ("a_file_over_the_limit_is_refused_unread", file_too_large),
    (
        "a_file_growing_past_the_limit_while_read_is_refused",
        file_grown_while_read,
    ),
    (
        "bytes_that_are_not_utf8_are_refused_where_they_start",
        not_utf8,
    ),
    (
        "secrets_others_can_read_or_git_tracks_are_named",
        exposed_secrets,
    ),
    (
        "a_link_out_of_the_model_is_named_not_read",
        link_outside_model,
    ),
    (
        "aliases_expanding_past_the_limit_are_refused_at_the_alias",
        aliases_too_large,
    ),
];

/// A model file that is a link to a file outside the model directory (a
/// link cannot be a committed fixture).
fn link_outside_model() -> Produced {
    let project = Project::fixture("small");
    project.write("elsewhere/notes.yaml", "services: {}\n");
    std::os::unix::fs::symlink("../elsewhere/notes.yaml", project.path("model/notes.yaml"))
        .unwrap();
    let found = load_and_validate(&project.path("model"));
    (project, found)
}

/// One 2,000-byte anchored string aliased 10,000 times: 20 MB of text once
/// expanded, from a 60 kB file (too large to commit as a fixture).
fn aliases_too_large() -> Produced {
    let project = Project::fixture("small");
    let mut text = format!(
        "env_files:\n  big:\n    file: .env.big\n    vars:\n      A: &a \"{}\"\n",
        "x".repeat(2000)
    );
    for i in 0..10_000 {
        text.push_str(&format!("      V{i}: *a\n"));
    }
    project.write("model/case.yaml", &text);
    let found = load_and_validate(&project.path("model"));
    (project, found)
}

/// What each producer made lucid-gen report, as `check` prints it.
#[test]
fn kinds_no_fixture_can_produce_are_reported_clearly() {
    for (name, produce) in NO_FIXTURE {
        let (project, found) = produce();
        insta::assert_snapshot!(name, shown(project.dir.path(), &found, |_| true));
    }
}

/// Over 8 MiB (a sparse file: the size alone decides): refused unread.
fn file_too_large() -> Produced {
    let project = Project::fixture("small");
    let file = fs::File::create(project.path("model/huge.yaml")).unwrap();
    file.set_len(model::MAX_FILE_BYTES + 1).unwrap();
    let found = load_and_validate(&project.path("model"));
    (project, found)
}

/// A file that fits when its size is checked but grows while read: no
/// file can be made to grow at that moment on cue, so the loader's own
/// reading step, `model::read_text`, gets a reader that gives one byte more
/// than the limit, as such a file's would.
fn file_grown_while_read() -> Produced {
    let project = Project::fixture("small");
    let path = project.path("model/grows.yaml");
    let grown = std::io::repeat(b'#').take(model::MAX_FILE_BYTES + 1);
    let found = model::read_text(&path, grown).unwrap().err();
    (project, found.into_iter().collect())
}

/// Bytes that are not UTF-8 (a fixture file must be text to be stored).
fn not_utf8() -> Produced {
    let project = Project::fixture("small");
    fs::write(
        project.path("model/case.yaml"),
        b"services:\n  x: \xff\xfe\n",
    )
    .unwrap();
    let found = load_and_validate(&project.path("model"));
    (project, found)
}

/// The `secret-exposure` warnings, about files a previous `all` wrote: the
/// store and a secrets env file readable by others, the directory of
/// mounted secret files open to others, the store tracked by git.
fn exposed_secrets() -> Produced {
    let project = Project::fixture("small");
    project.run().args(&["all"]).run();
    let chmod = |rel: &str, mode: u32| {
        fs::set_permissions(project.path(rel), fs::Permissions::from_mode(mode)).unwrap();
    };
    chmod(".lucid-gen/secrets.env", 0o644);
    chmod("generated/secrets/env/shop-api.env", 0o640);
    chmod("generated/secrets/files", 0o755);
    for args in [
        &["init", "-q"][..],
        &["add", "-f", ".lucid-gen/secrets.env"],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(project.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
    let model = model::load_dir(&project.path("model")).unwrap();
    let system = validate::validate(model).unwrap().system;
    let store = project.path(".lucid-gen/secrets.env");
    let found = hygiene::secret_hygiene(&store, &project.path("generated"), &system);
    (project, found)
}
