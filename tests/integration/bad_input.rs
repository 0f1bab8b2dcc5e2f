//! A corpus of broken inputs. Each one must be refused with a clear error
//! that names the offending file or directory, a non-zero exit (1 for an
//! invalid model, 2 for I/O or usage), no panic, no hang, and `generated/`
//! exactly as it was before the run.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Project, BIN};

/// How long a run may sit before it counts as a hang: a guard against a
/// run that blocks forever (on a FIFO, say), never a speed bound. Speed is
/// bounded by CPU time instead (`ulimit -t`, see [`CPU_SECONDS`]), which a
/// loaded machine does not stretch.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The CPU seconds any single run may use (`ulimit -t`): a run that spins
/// (an endless read, an exponential expansion) is killed by the kernel and
/// fails its test, however busy the machine is.
const CPU_SECONDS: u32 = 10;

/// One entry of a directory tree: what `generated/` holds, symlinks and
/// empty directories included (so a run that creates a directory, or that
/// trips over a dangling link, is caught too).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    Dir(PathBuf),
    File(PathBuf, u32, Vec<u8>),
    Link(PathBuf, PathBuf),
}

fn tree(root: &Path) -> Vec<Entry> {
    use crate::common::Kind;
    let mut out: Vec<Entry> = crate::common::walk(root)
        .into_iter()
        .map(|w| {
            let mode = w.meta.permissions().mode();
            match w.kind {
                Kind::Link => Entry::Link(w.rel, fs::read_link(&w.path).unwrap()),
                Kind::Dir => Entry::Dir(w.rel),
                // A huge (sparse) file: its size stands for its bytes.
                _ if w.meta.len() > 64 << 20 => {
                    Entry::File(w.rel, mode, w.meta.len().to_le_bytes().to_vec())
                }
                // A FIFO or device: never opened (it could block).
                Kind::Other => Entry::File(w.rel, mode, b"(not a regular file)".to_vec()),
                Kind::File => Entry::File(w.rel, mode & 0o7777, fs::read(&w.path).unwrap()),
            }
        })
        .collect();
    out.sort();
    out
}

/// What one run did.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    context: String,
}

/// Runs the binary in `dir` with `args` through `sh -c`, under a CPU limit
/// of [`CPU_SECONDS`] and whatever `shell_prefix` adds (a lower `ulimit -t`,
/// `ulimit -v` for memory), and kills it after [`HANG_GUARD`].
fn run_in(dir: &Path, args: &[&str], shell_prefix: Option<&str>) -> Ran {
    let out_path = dir.join(".test-stdout");
    let err_path = dir.join(".test-stderr");
    let prefix = format!("ulimit -t {CPU_SECONDS}; {}", shell_prefix.unwrap_or(":"));
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{prefix}; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let started = Instant::now();
    let mut child = command.spawn().expect("run lucid-gen");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            child.kill().unwrap();
            child.wait().unwrap();
            let stderr = fs::read_to_string(&err_path).unwrap_or_default();
            let _ = fs::remove_file(&out_path);
            let _ = fs::remove_file(&err_path);
            panic!(
                "lucid-gen {args:?} still runs after {HANG_GUARD:?} (a hang)\n--- stderr\n{stderr}"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&fs::read(&out_path).unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&fs::read(&err_path).unwrap()).into_owned();
    fs::remove_file(&out_path).unwrap();
    fs::remove_file(&err_path).unwrap();
    let context = format!(
        "lucid-gen {args:?} in {} ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        dir.display(),
        started.elapsed()
    );
    assert!(!stderr.contains("panicked"), "panic: {context}");
    Ran {
        status: status.code(),
        stdout,
        stderr,
        context,
    }
}

/// A copy of the small fixture with a complete `generated/` to protect.
fn project() -> Project {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    p
}

/// Runs `args` and checks the refusal: exit `status` (any of them), every
/// `names` in stderr, nothing in `generated/` changed.
fn refused_with(p: &Project, args: &[&str], statuses: &[i32], names: &[&str]) -> String {
    refused_with_prefix(p, args, statuses, names, None)
}

fn refused_with_prefix(
    p: &Project,
    args: &[&str],
    statuses: &[i32],
    names: &[&str],
    shell_prefix: Option<&str>,
) -> String {
    let before = tree(&p.path("generated"));
    let ran = run_in(p.dir.path(), args, shell_prefix);
    let mut problems = Vec::new();
    if !ran.status.is_some_and(|s| statuses.contains(&s)) {
        problems.push(format!("exit status is not one of {statuses:?}"));
    }
    for name in names {
        if !ran.stderr.contains(name) {
            problems.push(format!("stderr lacks {name:?}"));
        }
    }
    let after = tree(&p.path("generated"));
    if before != after {
        let changed: Vec<String> = after
            .iter()
            .filter(|e| !before.contains(e))
            .map(|e| match e {
                Entry::Dir(p) | Entry::File(p, ..) | Entry::Link(p, _) => p.display().to_string(),
            })
            .collect();
        problems.push(format!("generated/ changed: {changed:?}"));
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        ran.context
    );
    ran.stderr
}

/// `model/<file>` holding `bytes` is an invalid model: exit 1 from both
/// `check` and `all`, each expected diagnostic (`file:line:col: error[rule]`
/// prefixes) printed.
fn invalid(p: &Project, file: &str, bytes: &[u8], expected: &[&str]) {
    fs::write(p.path(&format!("model/{file}")), bytes).unwrap();
    for command in ["check", "all"] {
        let err = refused_with(p, &[command], &[1], expected);
        assert!(err.contains("nothing was written"), "{command}: {err}");
    }
    fs::remove_file(p.path(&format!("model/{file}"))).unwrap();
}

#[test]
fn empty_and_blank_files() {
    let p = project();
    for text in [
        "",
        "\n",
        "   \n\t\n  \n",
        "# only a comment\n   # and another\n\n",
        "---\n# a document marker and a comment\n",
    ] {
        invalid(
            &p,
            "case.yaml",
            text.as_bytes(),
            &["model/case.yaml:1:1: error[empty-file]"],
        );
    }
}

#[test]
fn invalid_yaml() {
    let p = project();
    for (text, at) in [
        ("services: [\n", "model/case.yaml:2:1"),
        ("a: b: c\n", "model/case.yaml:1:5"),
        ("key: 'unterminated\n", "model/case.yaml:1:6"),
        ("- a\nb: c\n", "model/case.yaml:2:1"),
        ("{", "model/case.yaml:1:2"),
        ("services: \"\\q\"\n", "model/case.yaml:1:11"),
        ("&a x: *b\n", "model/case.yaml:1:7"),
    ] {
        invalid(
            &p,
            "case.yaml",
            text.as_bytes(),
            &[&format!("{at}: error[yaml-syntax]")],
        );
    }
}

#[test]
fn wrong_types_at_every_depth_are_all_reported_at_once() {
    let p = project();
    let cases = [
        ("a.yaml", "system: 5\n", "model/a.yaml:1:9"),
        ("b.yaml", "services: [a, b]\n", "model/b.yaml:1:11"),
        (
            "c.yaml",
            "secrets:\n  X:\n    bytes: lots\n    env_files: [base]\n",
            "model/c.yaml:3:12",
        ),
        (
            "d.yaml",
            "networks:\n  n:\n    plane: app\n    subnet: 10.99.0.0/24\n    internal: maybe\n",
            "model/d.yaml:5:15",
        ),
        (
            "e.yaml",
            "services:\n  x:\n    phase: base\n    plane: app\n    networks: [shop-app]\n    ports:\n      - container: abc\n",
            "model/e.yaml:7:20",
        ),
        (
            "f.yaml",
            "images:\n  i:\n    image: a/b:1\n    build:\n      stack: native\n      context: c\n      builder: b\n      runtime: r\n      copy:\n        - from: [x]\n          to: /y\n",
            "model/f.yaml:10:17",
        ),
        (
            "g.yaml",
            "secrets:\n  X:\n    bytes: 99999999999999999999999\n    env_files: [base]\n",
            "model/g.yaml:3:12",
        ),
        ("h.yaml", "- a\n- b\n", "model/h.yaml:1:1"),
        ("i.yaml", "just a string\n", "model/i.yaml:1:1"),
    ];
    for (file, text, _) in cases {
        p.write(&format!("model/{file}"), text);
    }
    let expected: Vec<String> = cases
        .iter()
        .map(|(_, _, at)| format!("{at}: error[wrong-type]"))
        .collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    let err = refused_with(&p, &["check"], &[1], &expected);
    assert!(err.contains("the model has 9 error(s)"), "{err}");
    // The message says where in the model the value is.
    assert!(err.contains("services.x.ports[0].container"), "{err}");
    assert!(err.contains("images.i.build.copy[0].from"), "{err}");
}

#[test]
fn unknown_keys_at_every_depth_are_all_reported_at_once() {
    let p = project();
    let cases = [
        ("a.yaml", "servces: {}\n", "model/a.yaml:1:1", "`servces`"),
        (
            "b.yaml",
            "system:\n  name: x\n  platform: linux/amd64\n  registry:\n    namespace: n\n    tagg: t\n",
            "model/b.yaml:6:5",
            "`tagg`",
        ),
        (
            "c.yaml",
            "services:\n  x:\n    phase: base\n    plane: app\n    networks: [shop-app]\n    helth: {}\n",
            "model/c.yaml:6:5",
            "`helth`",
        ),
        (
            "d.yaml",
            "services:\n  y:\n    phase: base\n    plane: app\n    networks: [shop-app]\n    ports:\n      - container: 1\n        hots: 2\n",
            "model/d.yaml:8:9",
            "`hots`",
        ),
        (
            "e.yaml",
            "images:\n  i:\n    image: a/b:1\n    build:\n      stack: native\n      context: c\n      builder: b\n      runtime: r\n      copy:\n        - form: /x\n          to: /y\n",
            "model/e.yaml:10:11",
            "`form`",
        ),
        (
            "f.yaml",
            "planes:\n  q:\n    isolated: true\n    bridges:\n      - service: s\n        to: app\n        resaon: r\n",
            "model/f.yaml:7:9",
            "`resaon`",
        ),
    ];
    for (file, text, _, _) in cases {
        p.write(&format!("model/{file}"), text);
    }
    let mut expected: Vec<String> = Vec::new();
    for (_, _, at, key) in cases {
        expected.push(format!("{at}: error[unknown-key]"));
        expected.push(key.to_string());
    }
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    refused_with(&p, &["check"], &[1], &expected);
    refused_with(&p, &["all"], &[1], &expected);
}

#[test]
fn duplicate_keys_in_one_file_at_every_depth() {
    let p = project();
    invalid(
        &p,
        "case.yaml",
        b"env_files:\n  z:\n    file: .env.z\n    vars:\n      A: 1\n      A: 2\n  z:\n    file: .env.y\nenv_files: {}\n",
        &[
            "model/case.yaml:6:7: error[duplicate-key]: key `A` appears twice in `env_files.z.vars`",
            "model/case.yaml:7:3: error[duplicate-key]: key `z` appears twice in `env_files`",
            "model/case.yaml:9:1: error[duplicate-key]",
            "the model has 3 error(s)",
        ],
    );
}

#[test]
fn the_same_service_in_two_files() {
    let p = project();
    p.write(
        "model/more/extra.yaml",
        "services:\n  shop-db:\n    phase: base\n    plane: app\n    networks: [shop-app]\n    image: example/db:2\n",
    );
    refused_with(
        &p,
        &["all"],
        &[1],
        &[
            "model/services.yaml:2:3: error[duplicate-definition]: services entry `shop-db` is defined twice (first at model/more/extra.yaml:2:3)",
        ],
    );
}

#[test]
fn non_utf8_bytes_are_located() {
    let p = project();
    for (bytes, at) in [
        (
            &b"env_files:\n  z:\n    file: .env.\xc3\x28\n"[..],
            "model/case.yaml:3:16",
        ),
        (&b"\xff\xfee\x00n\x00v\x00"[..], "model/case.yaml:1:1"), // UTF-16 LE
        (&b"system:\n  name: \xc0\xaf\n"[..], "model/case.yaml:2:9"), // overlong
        (&b"# caf\xe9 (Latin-1)\n"[..], "model/case.yaml:1:6"),
    ] {
        invalid(
            &p,
            "case.yaml",
            bytes,
            &[&format!(
                "{at}: error[not-utf8]: model file is not valid UTF-8"
            )],
        );
    }
    // A file whose name is not UTF-8 is still named (lossily) and read.
    let name = <std::ffi::OsStr as OsStrExt>::from_bytes(b"n\xffme.yaml");
    fs::write(p.path("model").join(name), "bogus: 1\n").unwrap();
    refused_with(
        &p,
        &["check"],
        &[1],
        &["model/n\u{fffd}me.yaml:1:1: error[unknown-key]"],
    );
}

#[test]
fn a_fifty_megabyte_file_is_refused_before_parsing() {
    let p = project();
    let path = p.path("model/big.yaml");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&path).unwrap());
        f.write_all(b"env_files:\n  big:\n    file: .env.big\n    vars:\n")
            .unwrap();
        let line = format!("      V: \"{}\"\n", "x".repeat(1000));
        for _ in 0..(50 * 1024 * 1024 / line.len() + 1) {
            f.write_all(line.as_bytes()).unwrap();
        }
    }
    assert!(fs::metadata(&path).unwrap().len() >= 50 * 1024 * 1024);
    // Refused before it is parsed: within 2 CPU seconds.
    refused_with_prefix(
        &p,
        &["all"],
        &[1],
        &["model/big.yaml:1:1: error[io]: model file is", "byte limit"],
        Some("ulimit -t 2"),
    );
}

/// Each text must be refused (exit 1, the file named) within 2 CPU seconds
/// and 1 GiB of address space.
fn refused_quickly(p: &Project, texts: &[String]) {
    for text in texts {
        fs::write(p.path("model/deep.yaml"), text).unwrap();
        refused_with_prefix(
            p,
            &["all"],
            &[1],
            &["model/deep.yaml:", "error["],
            Some("ulimit -v 1048576; ulimit -t 2"),
        );
    }
}

#[test]
fn deep_flow_nesting_is_refused() {
    let n = 100_000;
    refused_quickly(
        &project(),
        &[
            format!("services: {}", "[".repeat(n)),
            format!("services: {}{}\n", "[".repeat(n), "]".repeat(n)),
            format!(
                "services: {}1{}\n",
                "{a: ".repeat(10_000),
                "}".repeat(10_000)
            ),
            format!("x: {}1{}\n", "{a: [".repeat(5_000), "]}".repeat(5_000)),
        ],
    );
}

#[test]
fn deep_block_nesting_is_refused() {
    // Compact nested block collections: two bytes a level, no brackets.
    refused_quickly(
        &project(),
        &[
            format!("services:\n  {}x\n", "- ".repeat(20_000)),
            format!("services:\n  {}x\n", "? ".repeat(20_000)),
        ],
    );
}

#[test]
fn a_yaml_bomb_is_refused_quickly() {
    let p = project();
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut typed = String::from(
        "env_files:\n  z:\n    file: .env.z\n    vars: {a: &a [x, x, x, x, x, x, x, x, x]",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    for w in names.windows(2) {
        let (prev, this) = (w[0], w[1]);
        let refs = vec![format!("*{prev}"); 9].join(", ");
        bomb.push_str(&format!("{this}: &{this} [{refs}]\n"));
        typed.push_str(&format!(", {this}: &{this} [{refs}]"));
    }
    typed.push_str("}\n");
    // Aliases expanded wherever a typed value is expected.
    let expanded = "services:\n  x:\n    phase: base\n    plane: app\n    networks: [shop-app]\n    command: &c [a, a, a, a, a, a, a, a, a, a]\n    entrypoint: *c\n    labels: {k: *c}\n";
    for text in [bomb.as_str(), typed.as_str(), expanded] {
        fs::write(p.path("model/bomb.yaml"), text).unwrap();
        // Within 2 CPU seconds: an expansion would take minutes.
        refused_with_prefix(
            &p,
            &["all"],
            &[1],
            &["model/bomb.yaml:", "error["],
            Some("ulimit -t 2"),
        );
    }
}

/// Aliases are bounded by the bytes they expand to, not only by their
/// depth and count: one long anchored string aliased ten thousand times (a
/// 0.6 MB file, 4 GB expanded; it took `check` to 7.8 GB) is refused at
/// the alias that crosses the line, within 1 GiB of address space. So is
/// an anchored mapping holding it, aliased as ten thousand env files.
#[test]
fn a_long_anchored_string_aliased_many_times_is_refused_by_size() {
    let p = project();
    let big = "a".repeat(400_000);
    let mut labels = format!("services:\n  x:\n    description: &big \"{big}\"\n    labels:\n");
    let mut env_files =
        format!("env_files:\n  z0:\n    file: .env.z0\n    vars: &vars {{A: \"{big}\"}}\n");
    for i in 1..10_000 {
        labels.push_str(&format!("      l{i}: *big\n"));
        env_files.push_str(&format!("  z{i}: {{file: .env.z{i}, vars: *vars}}\n"));
    }
    for text in [labels, env_files] {
        assert!(text.len() < 1_000_000, "{}", text.len());
        fs::write(p.path("model/bomb.yaml"), &text).unwrap();
        refused_with_prefix(
            &p,
            &["check"],
            &[1],
            &["model/bomb.yaml:", "error[yaml-syntax]", "aliases expanded"],
            Some("ulimit -v 1048576"),
        );
    }
}

#[test]
fn a_missing_or_wrong_model_directory() {
    let p = project();
    refused_with(
        &p,
        &["all", "--model", "nope"],
        &[2],
        &["cannot read model at nope"],
    );
    refused_with(
        &p,
        &["check", "--model", "nope/deeper"],
        &[2],
        &["cannot read model at nope/deeper"],
    );
    refused_with(
        &p,
        &["all", "--model", "model/system.yaml"],
        &[2],
        &["model/system.yaml", "not a directory"],
    );
}

#[test]
fn a_model_directory_without_yaml_files() {
    let p = project();
    p.write("elsewhere/README.md", "# not a model\n");
    p.write("elsewhere/model.json", "{}\n");
    p.write("elsewhere/yaml", "system: {}\n");
    p.write("elsewhere/old.yaml.bak", "system: {}\n");
    p.write("elsewhere/sub/notes.txt", "\n");
    refused_with(
        &p,
        &["all", "--model", "elsewhere"],
        &[2],
        &[
            "cannot read model at elsewhere",
            "no *.yaml or *.yml model files",
        ],
    );
}

#[test]
fn output_under_a_regular_file_is_refused() {
    let p = project();
    p.write("notes.txt", "a file\n");
    refused_with(
        &p,
        &["all", "--out", "notes.txt/out"],
        &[2],
        &["notes.txt/out"],
    );
    assert_eq!(p.read("notes.txt"), "a file\n");
}

#[test]
fn a_file_where_an_output_directory_belongs_is_named() {
    let p = project();
    fs::remove_dir_all(p.path("generated/configs")).unwrap();
    fs::write(p.path("generated/configs"), "not a directory\n").unwrap();
    // The error must name the path in the way, not only the output root.
    refused_with(&p, &["all"], &[2], &["generated/configs"]);
}

#[test]
fn an_output_directory_that_cannot_be_created_leaves_generated_untouched() {
    let p = project();
    // A change that rewrites every compose file and Dockerfile...
    let system = p.read("model/system.yaml");
    p.write(
        "model/system.yaml",
        &system.replace(
            "  name: shop\n",
            "  name: shop\n  labels:\n    extra: \"1\"\n",
        ),
    );
    // ...and a directory in the way that cannot be created (a dangling
    // link: root can write everywhere, but not through that).
    fs::remove_dir_all(p.path("generated/dockerfiles/images")).unwrap();
    symlink(
        "/nonexistent/lucid-gen-test",
        p.path("generated/dockerfiles/images"),
    )
    .unwrap();
    refused_with(&p, &["all"], &[2], &["generated/dockerfiles/images"]);
}

#[test]
fn a_directory_link_loop_inside_the_model() {
    let p = project();
    // model/sub/up → model: every file is still read once.
    fs::create_dir_all(p.path("model/sub")).unwrap();
    symlink("..", p.path("model/sub/up")).unwrap();
    symlink(".", p.path("model/self")).unwrap();
    let ran = run_in(p.dir.path(), &["check"], None);
    assert_eq!(ran.status, Some(0), "{}", ran.context);
    assert!(
        !ran.stderr.contains("duplicate-definition"),
        "{}",
        ran.context
    );
}

#[test]
fn a_directory_link_to_the_models_parent() {
    let p = project();
    // model/loop → the project, which holds model/ again: no endless walk;
    // the files it reaches through the link are named by that path.
    symlink("..", p.path("model/loop")).unwrap();
    refused_with(
        &p,
        &["all"],
        &[1],
        &["model/loop:", "outside the model directory"],
    );
}

/// Diagnostics quote only the model's own files: a link in the model
/// directory to a file (or a directory) elsewhere — a private key, say —
/// is named and refused, never read, so its text reaches no message, no
/// JSON line and no GitHub annotation.
#[test]
fn a_link_out_of_the_model_is_named_never_quoted() {
    let p = project();
    let out = outside(&p);
    let secret = "-----BEGIN PRIVATE KEY----- keymaterial0123456789";
    fs::write(out.path().join("id_key"), format!("{secret}\n")).unwrap();
    fs::write(
        out.path().join("passwd"),
        "root:x:0:0:keymaterial:/root:/bin/sh\n",
    )
    .unwrap();
    fs::create_dir_all(out.path().join("shared")).unwrap();
    fs::write(
        out.path().join("shared/x.yaml"),
        format!("system: {secret}\n"),
    )
    .unwrap();
    let cases = [
        ("model/private.yaml", out.path().join("id_key")),
        ("model/users.yml", out.path().join("passwd")),
        ("model/shared", out.path().join("shared")),
    ];
    for (link, target) in &cases {
        symlink(target, p.path(link)).unwrap();
        for format in ["human", "json", "github"] {
            let args = ["check", "--format", format];
            let ran = run_in(p.dir.path(), &args, None);
            let all = format!("{}{}", ran.stdout, ran.stderr);
            assert_eq!(ran.status, Some(1), "{}", ran.context);
            assert!(
                !all.contains("keymaterial"),
                "{link} quoted: {}",
                ran.context
            );
            assert!(
                all.contains(link) && all.contains("outside the model directory"),
                "{}",
                ran.context
            );
        }
        refused_with(&p, &["all"], &[1], &[link]);
        fs::remove_file(p.path(link)).unwrap();
    }
    // A link inside the model directory is read as before.
    fs::rename(p.path("model/services.yaml"), p.path("model/real.yaml")).unwrap();
    symlink("real.yaml", p.path("model/services.yaml")).unwrap();
    let ran = run_in(p.dir.path(), &["check"], None);
    assert_eq!(ran.status, Some(1), "{}", ran.context);
    assert!(
        ran.stderr.contains("duplicate-definition"),
        "{}",
        ran.context
    );
}

#[test]
fn file_link_loops() {
    let p = project();
    symlink("self.yaml", p.path("model/self.yaml")).unwrap();
    refused_with(&p, &["all"], &[2], &["model/self.yaml"]);
    fs::remove_file(p.path("model/self.yaml")).unwrap();
    symlink("b.yaml", p.path("model/a.yaml")).unwrap();
    symlink("a.yaml", p.path("model/b.yaml")).unwrap();
    refused_with(&p, &["all"], &[2], &["model/a.yaml"]);
    fs::remove_file(p.path("model/a.yaml")).unwrap();
    fs::remove_file(p.path("model/b.yaml")).unwrap();
    symlink("nowhere.yaml", p.path("model/dangling.yaml")).unwrap();
    refused_with(&p, &["all"], &[2], &["model/dangling.yaml"]);
}

#[test]
fn a_directory_named_like_a_model_file() {
    // What `docker run -v $PWD/model/x.yaml:...` leaves behind when the
    // file is missing: an empty directory where a model file should be.
    let p = project();
    fs::create_dir(p.path("model/x.yaml")).unwrap();
    refused_with(&p, &["all"], &[1, 2], &["model/x.yaml"]);
}

#[test]
fn a_fifo_named_like_a_model_file_does_not_hang() {
    let p = project();
    let status = Command::new("mkfifo")
        .arg(p.path("model/pipe.yaml"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    refused_with(&p, &["all"], &[1, 2], &["model/pipe.yaml"]);
}

#[test]
fn an_endless_device_is_not_read_into_memory() {
    let p = project();
    symlink("/dev/zero", p.path("model/zero.yaml")).unwrap();
    // 1 GiB of address space: the size limit must stop the read, not the
    // allocator.
    // And 2 CPU seconds: reading /dev/zero until a limit is hit is fast;
    // hashing or parsing it would not be.
    let err = refused_with_prefix(
        &p,
        &["all"],
        &[1, 2],
        &["model/zero.yaml"],
        Some("ulimit -v 1048576; ulimit -t 2"),
    );
    assert!(!err.contains("out of memory"), "{err}");
}

#[test]
fn several_documents_in_one_file() {
    let p = project();
    for (text, at) in [
        (
            "env_files:\n  z:\n    file: .env.z\n---\nfoo: 1\n",
            "model/case.yaml:4:1",
        ),
        (
            "---\nenv_files: {}\n---\nenv_files: {}\n",
            "model/case.yaml:3:1",
        ),
        ("env_files: {}\n...\nfoo: 1\n", "model/case.yaml:3:1"),
    ] {
        invalid(
            &p,
            "case.yaml",
            text.as_bytes(),
            &[&format!(
                "{at}: error[yaml-syntax]: a model file holds exactly one YAML document"
            )],
        );
    }
    // One explicit document is fine.
    p.write("model/case.yaml", "---\nenv_files: {}\n");
    p.run().args(&["check"]).run();
}

#[test]
fn tab_indentation() {
    let p = project();
    invalid(
        &p,
        "case.yaml",
        b"env_files:\n\tz:\n\t\tfile: .env.z\n",
        &["model/case.yaml:2:", "error[yaml-syntax]", "tabs"],
    );
}

#[test]
fn a_byte_order_mark_is_allowed_and_ignored() {
    let p = project();
    // YAML allows a BOM at the start of a stream: the same model with a
    // BOM on each file renders the same bytes.
    let before = tree(&p.path("generated"));
    for file in ["model/system.yaml", "model/services.yaml"] {
        let text = p.read(file);
        p.write(file, &format!("\u{feff}{text}"));
    }
    p.run().args(&["all"]).stdout_has("0 written").run();
    assert!(before == tree(&p.path("generated")));
}

#[test]
fn a_byte_order_mark_does_not_shift_columns() {
    let p = project();
    invalid(
        &p,
        "case.yaml",
        "\u{feff}system: 5\n".as_bytes(),
        &["model/case.yaml:1:9: error[wrong-type]"],
    );
}

#[test]
fn a_byte_order_mark_and_comments_only_is_an_empty_file() {
    let p = project();
    for text in ["\u{feff}", "\u{feff}\n\n", "\u{feff}# only a comment\n"] {
        invalid(
            &p,
            "case.yaml",
            text.as_bytes(),
            &["model/case.yaml:1:1: error[empty-file]"],
        );
    }
}

#[test]
fn a_byte_order_mark_adds_no_bogus_diagnostic() {
    let p = project();
    p.write("model/case.yaml", "\u{feff}env_files: {}\nenv_files: {}\n");
    let err = refused_with(
        &p,
        &["check"],
        &[1],
        &["model/case.yaml:2:1: error[duplicate-key]"],
    );
    assert!(err.contains("the model has 1 error(s)"), "{err}");
}

// The output directory is a jail: nothing inside it is followed (a link,
// a FIFO, a device, a huge file), and nothing outside it changes. Each
// case checks a sentinel: the project around `generated/` (the model,
// the store, a directory beside it) and a directory elsewhere that the
// links point at, byte for byte before and after.

/// A directory elsewhere (the links' target) with files to protect, and
/// a sentinel directory beside `generated/`.
fn outside(p: &Project) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("victim.txt"), "OUTSIDE-CONTENT\n").unwrap();
    fs::write(dir.path().join("Dockerfile"), "OUTSIDE-CONTENT\n").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/store.env"), "# a comment only\n").unwrap();
    p.write("sentinel/keep.txt", "beside the output\n");
    dir
}

/// Everything outside `generated/`: the project around it and `outside`.
fn is_stamp(path: &Path) -> bool {
    path.starts_with(".lucid-gen")
        && path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".stamp"))
}

fn around(p: &Project, outside: &Path) -> (Vec<Entry>, Vec<Entry>) {
    let project = tree(p.dir.path())
        .into_iter()
        .filter(|e| {
            let (Entry::Dir(path) | Entry::File(path, ..) | Entry::Link(path, _)) = e;
            // The up-to-date stamp beside the store is lucid-gen's own
            // record of a clean run (`write::stamp`), like the run lock.
            !path.starts_with("generated") && !is_stamp(path)
        })
        .collect();
    (project, tree(outside))
}

/// Runs `args`; checks the exit status is one of `statuses`, every one of
/// `names` is printed (stdout or stderr), and nothing outside `generated/`
/// changed.
fn jailed(p: &Project, outside: &Path, args: &[&str], statuses: &[i32], names: &[&str]) -> Ran {
    let before = around(p, outside);
    let ran = run_in(p.dir.path(), args, None);
    let printed = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.status.is_some_and(|s| statuses.contains(&s)),
        "exit status not in {statuses:?}: {}",
        ran.context
    );
    for name in names {
        assert!(
            printed.contains(name),
            "output lacks {name:?}: {}",
            ran.context
        );
    }
    assert!(
        around(p, outside) == before,
        "something outside generated/ changed: {}",
        ran.context
    );
    ran
}

#[test]
fn a_linked_directory_inside_the_output_is_never_followed() {
    let p = project();
    let out = outside(&p);
    let dir = p.path("generated/dockerfiles/services/shop-api");
    fs::remove_dir_all(&dir).unwrap();
    symlink(out.path(), &dir).unwrap();
    let name = "generated/dockerfiles/services/shop-api";
    for args in [
        &["all", "--check"][..],
        &["all"],
        &["secrets", "rotate", "API_TOKEN"],
    ] {
        let ran = jailed(
            &p,
            out.path(),
            args,
            &[2],
            &[name, "symbolic link", "remove it"],
        );
        assert!(!ran.stdout.contains("OUTSIDE-CONTENT"), "{}", ran.context);
    }
    assert!(fs::symlink_metadata(&dir).unwrap().file_type().is_symlink());
}

#[test]
fn a_manifest_line_through_a_link_deletes_nothing_outside() {
    let p = project();
    let out = outside(&p);
    symlink(out.path(), p.path("generated/escape")).unwrap();
    let manifest = p.read("generated/.lucid-gen-manifest");
    p.write(
        "generated/.lucid-gen-manifest",
        &format!("{manifest}escape/victim.txt\n"),
    );
    for args in [&["all", "--check"][..], &["all"]] {
        jailed(
            &p,
            out.path(),
            args,
            &[2],
            &["generated/escape", "symbolic link"],
        );
    }
    assert!(out.path().join("victim.txt").is_file());
}

#[test]
fn manifest_lines_leaving_the_output_are_refused() {
    let p = project();
    let out = outside(&p);
    let manifest = p.read("generated/.lucid-gen-manifest");
    let victim = out.path().join("victim.txt");
    for line in [
        "../sentinel/keep.txt",
        victim.to_str().unwrap(),
        "configs/../../sentinel/keep.txt",
        "./sentinel",
        "secret ../sentinel/keep.txt",
        &format!("file {}", victim.display()),
    ] {
        p.write(
            "generated/.lucid-gen-manifest",
            &format!("{manifest}{line}\n"),
        );
        for args in [&["all", "--check"][..], &["all"]] {
            jailed(
                &p,
                out.path(),
                args,
                &[2],
                &[".lucid-gen-manifest", "line ", "delete that line"],
            );
        }
    }
}

#[test]
fn a_generated_file_replaced_by_a_link_or_a_fifo_is_replaced_never_followed() {
    let p = project();
    let out = outside(&p);
    let path = p.path("generated/docker-bake.hcl");
    let good = fs::read(&path).unwrap();
    let make: [(&str, &dyn Fn()); 3] = [
        ("a symbolic link", &|| symlink("/dev/zero", &path).unwrap()),
        ("a symbolic link", &|| {
            symlink(out.path().join("victim.txt"), &path).unwrap()
        }),
        ("a FIFO", &|| {
            let status = Command::new("mkfifo").arg(&path).status().unwrap();
            assert!(status.success());
        }),
    ];
    for (kind, make) in make {
        fs::remove_file(&path).unwrap();
        make();
        let ran = jailed(
            &p,
            out.path(),
            &["all", "--check"],
            &[1],
            &["generated/docker-bake.hcl", kind, "not a regular file"],
        );
        assert!(!ran.stdout.contains("OUTSIDE-CONTENT"), "{}", ran.context);
        jailed(&p, out.path(), &["all"], &[0], &["1 written"]);
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(fs::read(&path).unwrap(), good);
    }
}

#[test]
fn a_huge_generated_file_is_not_read() {
    let p = project();
    let out = outside(&p);
    let path = p.path("generated/docker-bake.hcl");
    let good = fs::read(&path).unwrap();
    // Sparse: 64 GiB that take no disk, more than the 4 GiB the run may map.
    fs::File::create(&path).unwrap().set_len(64 << 30).unwrap();
    let before = around(&p, out.path());
    let ran = run_in(p.dir.path(), &["all", "--check"], Some("ulimit -v 4194304"));
    assert_eq!(ran.status, Some(1), "{}", ran.context);
    assert!(
        ran.stdout
            .contains("generated/docker-bake.hcl: differs (68719476736 bytes on disk, not read"),
        "{}",
        ran.context
    );
    let ran = run_in(p.dir.path(), &["all"], Some("ulimit -v 4194304"));
    assert_eq!(ran.status, Some(0), "{}", ran.context);
    assert_eq!(fs::read(&path).unwrap(), good);
    assert!(around(&p, out.path()) == before);
}

#[test]
fn a_file_that_cannot_be_deleted_is_named_and_stays_in_the_manifest() {
    let p = project();
    let out = outside(&p);
    // A change that rewrites every compose file and Dockerfile...
    let system = p.read("model/system.yaml");
    p.write(
        "model/system.yaml",
        &system.replace(
            "  name: shop\n",
            "  name: shop\n  labels:\n    extra: \"1\"\n",
        ),
    );
    // ...and a file an earlier run wrote that is now a directory, which
    // lucid-gen does not delete.
    let manifest = p.read("generated/.lucid-gen-manifest");
    p.write(
        "generated/.lucid-gen-manifest",
        &format!("{manifest}old.txt\n"),
    );
    p.write("generated/old.txt/kept", "someone's\n");
    let ran = jailed(
        &p,
        out.path(),
        &["all"],
        &[2],
        &[
            "cannot delete generated/old.txt",
            "not deleted",
            "old.txt",
            "replaced in generated (new contents): ",
            "docker-compose.base.yml",
        ],
    );
    assert!(!ran.stderr.contains("nothing in"), "{}", ran.context);
    assert!(p
        .read("generated/.lucid-gen-manifest")
        .lines()
        .any(|l| l == "file old.txt"));
    jailed(
        &p,
        out.path(),
        &["all", "--check"],
        &[1],
        &[
            "generated/old.txt: would be deleted",
            "-file old.txt",
            "2 of",
        ],
    );
    fs::remove_dir_all(p.path("generated/old.txt")).unwrap();
    jailed(&p, out.path(), &["all"], &[0], &["1 written"]);
    jailed(&p, out.path(), &["all", "--check"], &[0], &["up to date"]);
}

#[test]
fn a_failed_rotate_leaves_the_store_as_it_was() {
    let p = project();
    let store = fs::read(p.path(".lucid-gen/secrets.env")).unwrap();
    // The env files' directory is a file now: the output cannot be written.
    fs::remove_dir_all(p.path("generated/configs/environment")).unwrap();
    p.write("generated/configs/environment", "in the way\n");
    refused_with(
        &p,
        &["secrets", "rotate", "API_TOKEN"],
        &[2],
        &["generated/configs/environment"],
    );
    assert_eq!(fs::read(p.path(".lucid-gen/secrets.env")).unwrap(), store);
    let leftovers: Vec<_> = fs::read_dir(p.path(".lucid-gen"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().ends_with(".stamp"))
        .collect();
    // The store, its lock and the .gitignore keeping both out of git (and
    // the up-to-date stamp of the run before).
    assert_eq!(leftovers.len(), 3, "{leftovers:?}");
}

#[test]
fn a_store_that_is_a_link_or_a_fifo_is_refused() {
    let p = project();
    let out = outside(&p);
    let store = p.path(".lucid-gen/secrets.env");
    fs::remove_file(&store).unwrap();
    symlink(out.path().join("sub/store.env"), &store).unwrap();
    jailed(
        &p,
        out.path(),
        &["all"],
        &[2],
        &[".lucid-gen/secrets.env", "symbolic link"],
    );
    assert!(fs::symlink_metadata(&store)
        .unwrap()
        .file_type()
        .is_symlink());
    fs::remove_file(&store).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&store)
        .status()
        .unwrap()
        .success());
    jailed(
        &p,
        out.path(),
        &["all"],
        &[2],
        &[".lucid-gen/secrets.env", "a FIFO"],
    );
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Files the user names are opened only as regular files, whole-file
/// reads bounded: a `from_file:` secret, the store's lock, `load`'s lists
/// and listed tarballs that are a FIFO (an open or a read that never
/// returns) or a link to `/dev/zero` (a read that never ends) are refused
/// at once, naming the file and what it is.
#[test]
fn files_the_user_names_that_are_fifos_or_devices_are_refused_unread() {
    let p = project();
    let system = p.read("model/system.yaml");
    let key = p.path("keys/op-key");
    let system = system.replace(
        "secrets:\n",
        &format!("secrets:\n  OP_KEY:\n    from_file: {}\n", key.display()),
    );
    p.write("model/system.yaml", &system);
    let services = p.read("model/services.yaml").replace(
        "secrets: [DB_PASSWORD, API_TOKEN]",
        "secrets: [DB_PASSWORD, API_TOKEN, OP_KEY]",
    );
    p.write("model/services.yaml", &services);
    fs::create_dir_all(p.path("keys")).unwrap();
    mkfifo(&key);
    refused_with(&p, &["all"], &[2], &["keys/op-key", "a FIFO", "OP_KEY"]);
    fs::remove_file(&key).unwrap();
    symlink("/dev/zero", &key).unwrap();
    refused_with_prefix(
        &p,
        &["all"],
        &[2],
        &["keys/op-key", "a character device"],
        Some("ulimit -v 1048576"),
    );
    fs::remove_file(&key).unwrap();
    fs::write(&key, "operator-value\n").unwrap();

    // The store's lock (opened to write: a FIFO would wait for a reader).
    let lock = p.path(".lucid-gen/lock");
    let _ = fs::remove_file(&lock);
    mkfifo(&lock);
    refused_with(&p, &["all"], &[2], &[".lucid-gen/lock", "a FIFO"]);
    fs::remove_file(&lock).unwrap();
    run_in(p.dir.path(), &["all"], None);

    // `load`: each list, and a listed tarball.
    let images = p.path("images");
    fs::create_dir_all(&images).unwrap();
    let sha = "0".repeat(64);
    fs::write(images.join("SHA256SUMS"), format!("{sha}  a.tar.gz\n")).unwrap();
    let entry = format!(
        r#"{{"images": [{{"image": "example/a:1", "file": "a.tar.gz", "size": 100,
            "sha256": "{sha}", "platform": "linux/amd64", "id": "sha256:00"}}]}}"#
    );
    fs::write(images.join("images.json"), &entry).unwrap();
    symlink("/dev/zero", images.join("a.tar.gz")).unwrap();
    let load = ["load", "--dir", "images", "--dry-run"];
    refused_with(&p, &load, &[1], &["a.tar.gz", "a character device"]);
    for list in ["SHA256SUMS", "images.json"] {
        let aside = images.join("aside");
        fs::rename(images.join(list), &aside).unwrap();
        symlink("/dev/zero", images.join(list)).unwrap();
        refused_with(&p, &load, &[2], &[list, "a character device"]);
        fs::remove_file(images.join(list)).unwrap();
        mkfifo(&images.join(list));
        refused_with(&p, &load, &[2], &[list, "a FIFO"]);
        fs::remove_file(images.join(list)).unwrap();
        fs::rename(&aside, images.join(list)).unwrap();
    }
}

/// A `sleep` that kept every file and directory descriptor of the test
/// process open (their close-on-exec flags cleared), as a child between
/// fork and exec does; killed when dropped. (Pipes keep their flags: one
/// of them is how `spawn` learns the exec happened.)
struct ForkedChild(std::process::Child);

impl ForkedChild {
    fn keeping_every_descriptor() -> ForkedChild {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("sleep");
        cmd.arg("60")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only fstat and fcntl (async-signal-safe) run in the child.
        unsafe {
            cmd.pre_exec(|| {
                for fd in 3..1024 {
                    let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                    let Ok(st) = rustix::fs::fstat(fd) else {
                        continue;
                    };
                    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
                    if kind.is_dir() || kind.is_file() {
                        let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty());
                    }
                }
                Ok(())
            });
        }
        ForkedChild(cmd.spawn().unwrap())
    }
}

impl Drop for ForkedChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_runs_with_different_stores_cannot_share_an_output() {
    let p = project();
    let system = p.read("model/system.yaml");
    p.write(
        "model/system.yaml",
        &system.replace(
            "  name: shop\n",
            "  name: shop\n  labels:\n    extra: \"1\"\n",
        ),
    );
    // Another run holds the output directory (its lock is on the directory
    // itself, so no lock file appears in it).
    let held = crate::common::LockHolder::hold(&p.path("generated"));
    // A child forked meanwhile (by a parallel test, say) keeps every
    // descriptor of this process until it execs: one stands here, forever
    // between fork and exec, holding them all.
    let _forked = ForkedChild::keeping_every_descriptor();
    refused_with(
        &p,
        &["all", "--secrets", "other/secrets.env"],
        &[2],
        &["another lucid-gen is running", "generated"],
    );
    held.release();
    let ran = run_in(
        p.dir.path(),
        &["all", "--secrets", "other/secrets.env"],
        None,
    );
    assert_eq!(ran.status, Some(0), "{}", ran.context);
    assert!(p
        .read("generated/configs/docker/docker-compose.base.yml")
        .contains("extra"));
}

#[test]
fn the_output_and_the_model_must_not_overlap() {
    let p = project();
    let out = outside(&p);
    for args in [
        &["all", "--out", "model"][..],
        &["all", "--out", "model/generated"],
        &["all", "--out", "./model/../model/"],
        &["all", "--check", "--out", "model/x"],
        &["secrets", "rotate", "API_TOKEN", "--out", "model/x"],
        &["all", "--out", "."],
    ] {
        jailed(
            &p,
            out.path(),
            args,
            &[2],
            &["must not overlap", "--model model --out generated"],
        );
    }
}

#[test]
fn the_loader_reads_exactly_the_extensions_the_readme_names() {
    let readme = fs::read_to_string(crate::common::repo_root().join("docs/model.md")).unwrap();
    assert!(readme.contains("A model is a directory of `*.yaml` and `*.yml` files"));
    let p = project();
    fs::rename(p.path("model/system.yaml"), p.path("model/system.yml")).unwrap();
    // Neither of these is a model file: a model spelled this way would be
    // invalid if it were read.
    p.write("model/notes.txt", "not: [a model\n");
    p.write("model/old.yaml.bak", "not: [a model\n");
    p.write("model/x.YAML", "not: [a model\n");
    crate::common::Test::new()
        .current_dir(p.dir.path())
        .args(&["check"])
        .stdout_has("is valid")
        .run();
}
