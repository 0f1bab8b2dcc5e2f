//! `all` with nothing to change trusts its stamp (`write::stamp`) and does
//! no work; every change that could change the output is still seen: a
//! hand edit (even of the same size with the mtime put back), a model edit,
//! a changed secret in the store or from the operator, a loosened mode, a
//! new lucid-gen binary.
//!
//! Whether the work was done shows in a planted leftover temporary file:
//! a run that does the work removes it first; a run trusting its stamp
//! touches nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{stdout, OutputBounded, Project, BIN};

const PLANTED: &str = "generated/.lucid-gen-tmp-planted";

fn all(p: &Project) -> String {
    stdout(&p.run().args(&["all"]).run())
}

/// Plants the leftover, runs `all`, and says whether the work was done.
fn did_the_work(p: &Project, run: impl FnOnce() -> String) -> (bool, String) {
    p.write(PLANTED, "x");
    let out = run();
    (!p.path(PLANTED).exists(), out)
}

/// Overwrites `path` with bytes of the same length and puts its mtime back.
fn edit_keeping_size_and_mtime(path: &Path) -> Vec<u8> {
    let before = fs::read(path).unwrap();
    let mtime = fs::metadata(path).unwrap().modified().unwrap();
    let mut edited = before.clone();
    edited[0] = if edited[0] == b'#' { b'%' } else { b'#' };
    fs::write(path, &edited).unwrap();
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(mtime).unwrap();
    assert_eq!(fs::metadata(path).unwrap().modified().unwrap(), mtime);
    before
}

#[test]
fn nothing_changed_is_trusted_and_every_change_is_seen() {
    let p = Project::fixture("small");
    assert!(all(&p).contains(" 0 unchanged"));
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(!worked && out.contains(": 0 written"), "{out}");

    // A hand edit of the same size, mtime restored: seen, replaced.
    let compose = p.path("generated/configs/docker/docker-compose.master.yml");
    let before = edit_keeping_size_and_mtime(&compose);
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(worked && out.contains(": 1 written"), "{out}");
    assert_eq!(fs::read(&compose).unwrap(), before);

    // A model edit that changes nothing rendered still re-renders.
    let model = p.read("model/system.yaml");
    p.write("model/system.yaml", &format!("{model}\n# a comment\n"));
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(worked && out.contains(": 0 written"), "{out}");

    // A secret changed in the store: the files holding it are rewritten.
    let store = p.read(".lucid-gen/secrets.env");
    let line = store
        .lines()
        .find(|l| l.contains('=') && !l.starts_with('#'));
    let (name, _) = line.unwrap().split_once('=').unwrap();
    let changed = store.replace(line.unwrap(), &format!("{name}=changed-by-hand-0123456789"));
    fs::write(p.path(".lucid-gen/secrets.env"), changed).unwrap();
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(worked && !out.contains(": 0 written"), "{out}");

    // A secret file's mode loosened by hand: put back.
    let env = (crate::common::files_under(&p.path("generated")).into_iter())
        .find(|f| fs::metadata(f).unwrap().permissions().mode() & 0o777 == 0o600)
        .expect("a secret-bearing file");
    fs::set_permissions(&env, fs::Permissions::from_mode(0o644)).unwrap();
    let (worked, _) = did_the_work(&p, || all(&p));
    assert!(worked);
    assert_eq!(
        fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The directory of mounted secret files loosened by hand: tightened.
    let mounted = p.path("generated/secrets/files");
    fs::set_permissions(&mounted, fs::Permissions::from_mode(0o755)).unwrap();
    let (worked, _) = did_the_work(&p, || all(&p));
    assert!(worked);
    assert_eq!(
        fs::metadata(&mounted).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // A stamp cut short (a full disk, say) is no stamp: the work is done.
    let stamp = (fs::read_dir(p.path(".lucid-gen")).unwrap())
        .map(|e| e.unwrap().path())
        .find(|f| f.to_string_lossy().ends_with(".stamp"))
        .expect("a stamp beside the store");
    let text = fs::read(&stamp).unwrap();
    fs::write(&stamp, &text[..text.len() / 2]).unwrap();
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(worked && out.contains(": 0 written"), "{out}");
    // ... and a whole stamp is recorded again.
    let (worked, _) = did_the_work(&p, || all(&p));
    assert!(!worked);

    // `--check` never trusts the stamp, and finds everything up to date.
    p.run()
        .args(&["all", "--check"])
        .stdout_has("are up to date")
        .run();
    let (worked, _) = did_the_work(&p, || all(&p));
    assert!(!worked);
}

#[test]
fn an_operator_secret_changed_where_it_comes_from_is_seen() {
    let p = Project::fixture("external");
    let key = p.path("keys/mail-api-key");
    let model = p.read("model/model.yaml");
    let model = model.replace("/run/keys/mail-api-key", key.to_str().unwrap());
    p.write("model/model.yaml", &model);
    p.write("keys/mail-api-key", "first-mail-key-0123456789\n");
    let run = |password: &str| {
        stdout(
            &p.run()
                .args(&["all"])
                .env("LEDGER_DB_PASSWORD", password)
                .run(),
        )
    };
    run("first-db-password-01234");
    let (worked, _) = did_the_work(&p, || run("first-db-password-01234"));
    assert!(!worked);
    let (worked, out) = did_the_work(&p, || run("second-db-password-0123"));
    assert!(worked && !out.contains(": 0 written"), "{out}");
    p.write("keys/mail-api-key", "second-mail-key-0123456789\n");
    let (worked, out) = did_the_work(&p, || run("second-db-password-0123"));
    assert!(worked && !out.contains(": 0 written"), "{out}");
}

#[test]
fn another_lucid_gen_binary_does_the_work() {
    let p = Project::fixture("small");
    let bin = p.path("bin/lucid-gen");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    fs::copy(BIN, &bin).unwrap();
    let run = || {
        let out = std::process::Command::new(&bin)
            .arg("all")
            .current_dir(p.dir.path())
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
    };
    run();
    let (worked, _) = did_the_work(&p, run);
    assert!(!worked);
    // A new build at the same path (a new file, as cargo and installers
    // put it there).
    let next = p.path("bin/lucid-gen.next");
    fs::copy(BIN, &next).unwrap();
    fs::rename(&next, &bin).unwrap();
    let (worked, out) = did_the_work(&p, run);
    assert!(worked && out.contains(": 0 written"), "{out}");
}

/// A run that does the work (the model changed) skips reading the files
/// its last stamp vouches for (`write::Known`: same `lstat`, same digest)
/// but never trusts one edited by hand, even with its size and mtime put
/// back, nor one whose new text differs.
#[test]
fn a_run_that_does_the_work_still_sees_every_hand_edit() {
    let p = Project::fixture("small");
    all(&p);
    all(&p);
    let compose = p.path("generated/configs/docker/docker-compose.master.yml");
    let before = edit_keeping_size_and_mtime(&compose);
    let model = p.read("model/system.yaml");
    p.write("model/system.yaml", &format!("{model}\n# a comment\n"));
    p.run()
        .args(&["all", "--check"])
        .status(1)
        .stdout_has("+++ b/configs/docker/docker-compose.master.yml")
        .run();
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(worked && out.contains(": 1 written"), "{out}");
    assert_eq!(fs::read(&compose).unwrap(), before);

    // A model edit that changes one file's text: only it is written.
    let model = p.read("model/system.yaml");
    let changed = model.replacen("description: ", "description: Changed. ", 1);
    assert_ne!(changed, model, "the fixture has a description to change");
    p.write("model/system.yaml", &changed);
    let (worked, out) = did_the_work(&p, || all(&p));
    assert!(worked && !out.contains(": 0 written"), "{out}");
    p.run()
        .args(&["all", "--check"])
        .stdout_has("are up to date")
        .run();
}
