//! `lucid-gen import` on bad input: a clear error naming what and where,
//! exit 1 (2 for usage), no panic, no hang, and nothing written — no model
//! directory, no staged directory left beside it.

use std::fs;
use std::path::Path;

use crate::common::Test;

/// Runs `import ARGS` in `dir` and checks the failure: `code`, stderr
/// holding every one of `says`, and nothing written.
fn refused(dir: &Path, args: &[&str], code: i32, says: &[&str]) {
    let before = listing(dir);
    let mut test = Test::new()
        .current_dir(dir)
        .args(&[&["import"][..], args].concat())
        .status(code);
    for s in says {
        test = test.stderr_has(s);
    }
    let out = test.run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "a report was printed for a failed import"
    );
    assert_eq!(
        listing(dir),
        before,
        "import wrote something in {}",
        dir.display()
    );
}

/// Every path under `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = crate::common::files_under(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    let mut dirs: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.append(&mut dirs);
    out.sort();
    out
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn a_file_that_is_not_yaml_is_refused_at_its_line() {
    let dir = project(&[("compose.yaml", "services:\n  web:\n    ports: [80, 81\n")]);
    refused(
        dir.path(),
        &["compose.yaml"],
        1,
        &["compose.yaml:", "is not valid YAML"],
    );
    let dir = project(&[("compose.yaml", "services:\n  a: 1\n  a: 2\n")]);
    refused(
        dir.path(),
        &["compose.yaml"],
        1,
        &["compose.yaml:3", "appears twice"],
    );
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("compose.yaml"), b"services:\n  w\xff: {}\n").unwrap();
    refused(dir.path(), &["compose.yaml"], 1, &["not UTF-8"]);
}

#[test]
fn a_path_outside_the_project_is_refused_before_compose_reads_it() {
    let outer = tempfile::tempdir().unwrap();
    fs::write(outer.path().join("private.env"), "TOKEN=outside\n").unwrap();
    let inner = outer.path().join("project");
    fs::create_dir(&inner).unwrap();
    let cases = [
        "services:\n  web:\n    image: nginx\n    env_file: ../private.env\n",
        "services:\n  web:\n    image: nginx\n    env_file: [{path: /etc/hostname}]\n",
        "include:\n  - ../other/compose.yaml\nservices:\n  web:\n    image: nginx\n",
        "services:\n  web:\n    extends: {file: ../base.yaml, service: web}\n",
    ];
    for text in cases {
        fs::write(inner.join("compose.yaml"), text).unwrap();
        refused(
            &inner,
            &["compose.yaml"],
            1,
            &["outside the project directory", "compose.yaml:"],
        );
    }
    // A link inside that leads outside is outside.
    std::os::unix::fs::symlink(outer.path().join("private.env"), inner.join("app.env")).unwrap();
    let text = "services:\n  web:\n    image: nginx\n    env_file: app.env\n";
    fs::write(inner.join("compose.yaml"), text).unwrap();
    refused(
        &inner,
        &["compose.yaml"],
        1,
        &["`app.env` is outside the project directory"],
    );
    // So is a path built from a variable, which import cannot check.
    let text = "services:\n  web:\n    image: nginx\n    env_file: ${ENV_FILE}\n";
    fs::write(inner.join("compose.yaml"), text).unwrap();
    refused(&inner, &["compose.yaml"], 1, &["holds a variable"]);
}

#[test]
fn a_huge_file_and_a_fifo_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let huge = fs::File::create(dir.path().join("compose.yaml")).unwrap();
    huge.set_len(100 * 1024 * 1024).unwrap();
    refused(
        dir.path(),
        &["compose.yaml"],
        1,
        &["104857600 bytes", "larger than"],
    );
    fs::remove_file(dir.path().join("compose.yaml")).unwrap();
    let fifo = dir.path().join("compose.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    refused(dir.path(), &["compose.yaml"], 1, &["not a regular file"]);
    refused(
        dir.path(),
        &["missing.yaml"],
        2,
        &["cannot read", "missing.yaml"],
    );
}

#[test]
fn import_without_files_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    refused(dir.path(), &[], 2, &["FILE"]);
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::need;

    #[test]
    fn yaml_that_is_not_compose_is_refused() {
        need(compose_available(), "docker compose");
        let dir = project(&[("compose.yaml", "- a\n- b\n")]);
        refused(dir.path(), &["compose.yaml"], 1, &["is not a compose file"]);
        let dir = project(&[("compose.yaml", "recipes:\n  cake: {eggs: 3}\n")]);
        refused(
            dir.path(),
            &["compose.yaml"],
            1,
            &["docker compose could not read", "recipes"],
        );
        let dir = project(&[("compose.yaml", "services: {}\n")]);
        refused(dir.path(), &["compose.yaml"], 1, &["define no service"]);
    }

    #[test]
    fn an_unset_required_variable_is_named() {
        need(compose_available(), "docker compose");
        let text =
            "services:\n  web:\n    image: \"nginx:${IMPORT_TEST_UNSET_TAG:?set the tag}\"\n";
        let dir = project(&[("compose.yaml", text)]);
        refused(
            dir.path(),
            &["compose.yaml"],
            1,
            &["IMPORT_TEST_UNSET_TAG", "set the tag"],
        );
    }

    #[test]
    fn a_file_that_includes_itself_is_refused() {
        need(compose_available(), "docker compose");
        let text = "include:\n  - compose.yaml\nservices:\n  web:\n    image: nginx\n";
        let dir = project(&[("compose.yaml", text)]);
        refused(
            dir.path(),
            &["compose.yaml"],
            1,
            &["docker compose could not read", "cycle"],
        );
        let text =
            "services:\n  web:\n    extends:\n      file: compose.yaml\n      service: web\n";
        let dir = project(&[("compose.yaml", text)]);
        refused(
            dir.path(),
            &["compose.yaml"],
            1,
            &["docker compose could not read"],
        );
    }

    #[test]
    fn an_existing_model_is_kept_unless_forced() {
        need(compose_available(), "docker compose");
        let text = "services:\n  web:\n    image: nginx:1.27\n";
        let dir = project(&[("compose.yaml", text), ("model/keep.yaml", "# mine\n")]);
        refused(
            dir.path(),
            &["compose.yaml"],
            2,
            &["already holds a model", "--force"],
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("model/keep.yaml")).unwrap(),
            "# mine\n"
        );
        Test::new()
            .current_dir(dir.path())
            .args(&["import", "compose.yaml", "--force"])
            .run();
        assert!(!dir.path().join("model/keep.yaml").exists());
        assert!(dir.path().join("model/system.yaml").is_file());
        let left: Vec<String> = listing(dir.path())
            .into_iter()
            .filter(|p| p.contains(".lucid-gen-import"))
            .collect();
        assert!(left.is_empty(), "staged directories left: {left:?}");
        // A link where the model belongs is never replaced through.
        let other = tempfile::tempdir().unwrap();
        fs::remove_dir_all(dir.path().join("model")).unwrap();
        std::os::unix::fs::symlink(other.path(), dir.path().join("model")).unwrap();
        refused(
            dir.path(),
            &["compose.yaml", "--force"],
            2,
            &["symbolic link"],
        );
    }
}
