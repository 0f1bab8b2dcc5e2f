//! `lucid-gen build` and `lucid-gen deploy`.
//!
//! Dry runs go through fake `docker`, `ssh` and `scp` programs put first on
//! PATH: they log every call, so a test sees exactly what ran (nothing, for
//! a dry run), whether buildx is "installed" is up to the test, and no
//! host is ever contacted. The real build (it fails without a Docker engine) builds
//! from a tiny local image only, since nothing can be pulled, and removes
//! every image and container it made, also when it fails.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use crate::common::{stderr, stdout, OutputBounded, Project, BIN};

/// Fake `docker`, `ssh` and `scp` in a temp dir, each appending its
/// arguments to `calls.log`. `docker buildx version` succeeds only with
/// `buildx`; every other docker call fails. ssh and scp succeed.
struct FakeTools {
    dir: tempfile::TempDir,
}

impl FakeTools {
    fn new(buildx: bool) -> FakeTools {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        let write = |name: &str, body: &str| {
            let path = dir.path().join(name);
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' \"{name} $*\" >> '{}'\n{body}\n",
                log.display()
            );
            fs::write(&path, script).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        };
        let buildx_rc = if buildx { 0 } else { 1 };
        write(
            "docker",
            &format!(
                "if [ \"$1 $2\" = 'buildx version' ]; then exit {buildx_rc}; fi\necho \"fake docker: $*\" >&2\nexit 1"
            ),
        );
        write("ssh", "exit 0");
        write("scp", "exit 0");
        FakeTools { dir }
    }

    /// Every call so far, one line each: `program args...`.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Runs lucid-gen in the project with the fakes first on PATH.
    fn run(&self, p: &Project, args: &[&str]) -> Output {
        self.run_env(p, args, &[], &[])
    }

    /// `run` with variables set and removed.
    fn run_env(&self, p: &Project, args: &[&str], set: &[(&str, &str)], unset: &[&str]) -> Output {
        let path = std::env::join_paths(
            std::iter::once(self.dir.path().to_path_buf())
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        let mut cmd = Command::new(BIN);
        for v in unset {
            cmd.env_remove(v);
        }
        let out = cmd
            .args(args)
            .current_dir(p.dir.path())
            .env("PATH", path)
            .envs(set.iter().copied())
            .output_bounded()
            .unwrap();
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        out
    }
}

/// The project directory as the binary sees it (symlinks resolved).
fn root(p: &Project) -> String {
    p.dir.path().canonicalize().unwrap().display().to_string()
}

fn small_with_sources() -> Project {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    for dir in ["src/base", "src/db", "src/api"] {
        fs::create_dir_all(p.path(dir)).unwrap();
    }
    p
}

/// The output's lines; a plan (`build --dry-run`) as `# STEP` headers
/// and its commands, without the title.
fn lines(out: &Output) -> Vec<String> {
    let text = stdout(out);
    let plan = text.starts_with("build: ");
    let step = |l: &str| {
        let (n, name) = l.trim_start().split_once(". ")?;
        (l.starts_with("  ") && n.parse::<usize>().is_ok()).then(|| format!("# {name}"))
    };
    (text.lines().enumerate())
        .filter(|(i, _)| !(plan && *i == 0))
        .map(|(_, l)| match plan {
            true => step(l).unwrap_or_else(|| l.trim().to_string()),
            false => l.to_string(),
        })
        .collect()
}

fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Secret values from the project's store.
fn secret_values(p: &Project) -> Vec<String> {
    p.read(".lucid-gen/secrets.env")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.trim().to_string()))
        .filter(|v| v.len() >= 16)
        .collect()
}

fn assert_no_secret(p: &Project, out: &Output) {
    let values = secret_values(p);
    assert!(!values.is_empty());
    for v in values {
        assert!(
            !stdout(out).contains(&v) && !stderr(out).contains(&v),
            "a secret value was printed"
        );
    }
}

// ---------------------------------------------------------------- build

#[test]
fn build_dry_run_lists_base_images_then_each_phase_and_runs_nothing() {
    let p = small_with_sources();
    let fake = FakeTools::new(false);
    let r = root(&p);
    let out = fake.run(&p, &["build", "--dry-run", "--source", "src"]);
    assert_ok(&out);
    let build = |image: &str, dockerfile: &str, arch_arg: bool, context: &str| {
        format!(
            "DOCKER_BUILDKIT=0 docker build --platform linux/amd64 -t {image} -f {r}/generated/dockerfiles/{dockerfile}/Dockerfile{} --force-rm {r}/src/{context}",
            // The native stack has no TARGETARCH; its volumes stage (shop-db
            // has a volume) runs on the build platform.
            if arch_arg { " --build-arg TARGETARCH=amd64 --build-arg BUILDPLATFORM=linux/amd64" } else { " --build-arg BUILDPLATFORM=linux/amd64" }
        )
    };
    assert_eq!(
        lines(&out),
        vec![
            "# base images".to_string(),
            build("example/shop-base:1.0", "images/py", true, "base"),
            "# phase base".to_string(),
            build("example/shop-db:1.0", "services/shop-db", false, "db"),
            "# phase edge".to_string(),
            build("example/shop-api:1.0", "services/shop-api", true, "api"),
        ]
    );
    // The templates declare `ARG BUILDPLATFORM` before their first FROM,
    // so the legacy builder can build them: no warning.
    let err = stderr(&out);
    assert!(!err.contains("FROM uses $BUILDPLATFORM"), "{err}");
    // Only the probe ran: buildx. BUILDPLATFORM is the target platform (the
    // legacy builder refuses `COPY --from` a stage of another platform), so
    // the daemon's is not asked.
    assert_eq!(fake.calls(), vec!["docker buildx version"]);

    // --platform overrides the model's, including the platform variables.
    let out = fake.run(
        &p,
        &[
            "build",
            "--dry-run",
            "--source",
            "src",
            "--platform",
            "linux/arm64",
        ],
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert_eq!(text.matches("--platform linux/arm64 ").count(), 3, "{text}");
    assert_eq!(
        text.matches("--build-arg TARGETARCH=arm64 ").count(),
        2,
        "{text}"
    );
    // The target is arm64, and with the legacy builder so is the builder
    // stage (run under emulation): it cannot copy across platforms.
    assert!(
        !text.contains("linux/amd64") && !text.contains("TARGETARCH=amd64"),
        "{text}"
    );
    assert_eq!(
        text.matches("--build-arg BUILDPLATFORM=linux/arm64 ")
            .count(),
        3,
        "{text}"
    );
}

#[test]
fn build_dry_run_of_one_phase_builds_the_base_images_first() {
    let p = small_with_sources();
    let fake = FakeTools::new(false);
    let out = fake.run(
        &p,
        &["build", "--dry-run", "--source", "src", "--phase", "edge"],
    );
    assert_ok(&out);
    let l = lines(&out);
    assert_eq!(l.len(), 4, "{l:?}");
    assert_eq!(l[0], "# base images");
    assert!(l[1].contains(" -t example/shop-base:1.0 "), "{l:?}");
    assert_eq!(l[2], "# phase edge");
    assert!(l[3].contains(" -t example/shop-api:1.0 "), "{l:?}");
    assert!(!stdout(&out).contains("shop-db"));
}

#[test]
fn build_dry_run_uses_bake_when_buildx_is_installed() {
    let p = small_with_sources();
    let fake = FakeTools::new(true);
    let r = root(&p);
    let out = fake.run(&p, &["build", "--dry-run", "--source", "src"]);
    assert_ok(&out);
    assert_eq!(
        lines(&out),
        vec![
            "# buildx bake: base-images, phase-base, phase-edge".to_string(),
            format!("SOURCE_DIR={r}/src GENERATED_DIR={r}/generated docker buildx bake -f {r}/generated/docker-bake.hcl base-images phase-base phase-edge"),
        ]
    );
    let out = fake.run(
        &p,
        &[
            "build",
            "--dry-run",
            "--source",
            "src",
            "--phase",
            "edge",
            "--platform",
            "linux/arm64",
        ],
    );
    assert_ok(&out);
    assert_eq!(
        lines(&out)[1],
        format!("SOURCE_DIR={r}/src GENERATED_DIR={r}/generated docker buildx bake -f {r}/generated/docker-bake.hcl --set '*.platform=linux/arm64' base-images phase-edge")
    );
    assert_eq!(fake.calls(), vec!["docker buildx version"; 2]);
}

/// The ci fixture tags every image `1.4.0` (compose files use it), then
/// `latest`, `${GITHUB_SHA}` and `v${RELEASE}`.
fn ci_with_sources() -> Project {
    let p = Project::fixture("ci");
    p.run().args(&["all"]).run();
    for dir in ["src/base", "src/db", "src/api"] {
        fs::create_dir_all(p.path(dir)).unwrap();
    }
    p
}

const CI_IMAGES: [&str; 3] = ["base", "shop-db", "shop-api"];

#[test]
fn build_tags_every_image_with_every_tag_and_dry_run_shows_them() {
    let p = ci_with_sources();
    let env = [("GITHUB_SHA", "0123abc"), ("RELEASE", "2.0")];
    let args = ["build", "--dry-run", "--source", "src"];
    // The legacy builder: one `-t` per tag.
    let fake = FakeTools::new(false);
    let out = fake.run_env(&p, &args, &env, &[]);
    assert_ok(&out);
    let text = stdout(&out);
    for image in CI_IMAGES {
        let r = format!("ghcr.io/example/shop/{image}");
        let tags = format!("-t {r}:1.4.0 -t {r}:latest -t {r}:0123abc -t {r}:v2.0 -f ");
        assert!(text.contains(&tags), "{image}: {text}");
    }
    // Bake: the bake file holds the tags; the dry run names them.
    let fake = FakeTools::new(true);
    let out = fake.run_env(&p, &args, &env, &[]);
    assert_ok(&out);
    let text = stdout(&out);
    for image in CI_IMAGES {
        let r = format!("ghcr.io/example/shop/{image}");
        let line = format!("# {r}:1.4.0 also tagged {r}:latest, {r}:0123abc, {r}:v2.0\n");
        assert!(text.contains(&line), "{image}: {text}");
    }
    let bake = p.read("generated/docker-bake.hcl");
    assert!(bake.contains("variable \"RELEASE\" {}"), "{bake}");
    assert!(
        bake.contains("tags       = [\"ghcr.io/example/shop/shop-db:1.4.0\", \"ghcr.io/example/shop/shop-db:latest\", \"ghcr.io/example/shop/shop-db:${GITHUB_SHA}\", \"ghcr.io/example/shop/shop-db:v${RELEASE}\"]"),
        "{bake}"
    );
}

#[test]
fn build_refuses_a_tag_whose_variable_is_unset_before_anything_runs() {
    let p = ci_with_sources();
    for dry_run in [true, false] {
        let fake = FakeTools::new(false);
        let mut args = vec!["build", "--source", "src"];
        if dry_run {
            args.push("--dry-run");
        }
        let out = fake.run_env(&p, &args, &[("GITHUB_SHA", "0123abc")], &["RELEASE"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("the extra tag `v${RELEASE}` reads $RELEASE, which is not set"),
            "{err}"
        );
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());
        // A value that makes no tag is refused the same way.
        let out = fake.run_env(&p, &args, &[("GITHUB_SHA", "a/b"), ("RELEASE", "1")], &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("resolves to `a/b`"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn build_names_every_missing_context_before_building_anything() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    fs::create_dir_all(p.path("src/db")).unwrap();
    let r = root(&p);
    for dry_run in [true, false] {
        let mut args = vec!["build", "--source", "src"];
        if dry_run {
            args.push("--dry-run");
        }
        let out = p
            .run()
            .args(&args)
            .status(1)
            .stderr_has("2 build context(s) missing")
            .stderr_has(&format!(
                "base image py (example/shop-base:1.0): {r}/src/base"
            ))
            .stderr_has(&format!(
                "service shop-api (example/shop-api:1.0): {r}/src/api"
            ))
            .stderr_has("--source DIR")
            .run();
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        assert!(!stderr(&out).contains("src/db"), "{}", stderr(&out));
    }
}

#[test]
fn build_of_an_unknown_phase_is_refused() {
    let p = small_with_sources();
    p.run()
        .args(&["build", "--dry-run", "--source", "src", "--phase", "nope"])
        .status(2)
        .stderr_has("unknown phase `nope`; the model's phases are: base, edge")
        .run();
}

// --------------------------------------------------------------- deploy

/// `deploy --host NAME` is `up --host NAME`: the same plan, printed
/// without running ssh, scp or docker, and without a secret in it.
#[test]
fn deploy_is_up_on_a_host_and_its_dry_run_runs_nothing() {
    let p = Project::fixture("small");
    crate::common::add_test_host(&p);
    p.run().args(&["all"]).run();
    let fake = FakeTools::new(false);
    let deploy = fake.run(
        &p,
        &["deploy", "--host", "box", "--phase", "edge", "--dry-run"],
    );
    assert_ok(&deploy);
    let up = fake.run(&p, &["up", "--host", "box", "--phase", "edge", "--dry-run"]);
    assert_eq!(stdout(&deploy), stdout(&up));
    let text = stdout(&deploy);
    assert!(
        text.contains("ssh -p 22 deploy@127.0.0.1 'cd /srv/shop/current/configs/docker && docker compose -p shop-edge -f /srv/shop/current/configs/docker/docker-compose.edge.yml up -d --wait --wait-timeout 600'"),
        "{text}"
    );
    assert!(!text.contains("docker-compose.base.yml up"), "{text}");
    assert_no_secret(&p, &deploy);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[test]
fn deploy_refuses_unknown_hosts_and_phases() {
    let p = Project::fixture("small");
    crate::common::add_test_host(&p);
    p.run().args(&["all"]).run();
    let fake = FakeTools::new(false);
    let cases: [(&[&str], &str); 3] = [
        (
            &["--host", "box", "--phase", "nope"],
            "unknown phase `nope`; the model's phases are: base, edge",
        ),
        (
            &["--host", "nope"],
            "unknown host `nope`; the model's hosts are: box",
        ),
        (
            &["--host=-oProxyCommand=true"],
            "unknown host `-oProxyCommand=true`",
        ),
    ];
    for (args, message) in cases {
        for dry_run in [true, false] {
            let mut all = vec!["deploy"];
            all.extend_from_slice(args);
            if dry_run {
                all.push("--dry-run");
            }
            let out = fake.run(&p, &all);
            // Usage errors: exit 2, like every other usage error.
            assert_eq!(out.status.code(), Some(2), "{all:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(message), "{all:?}: {}", stderr(&out));
            assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        }
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

/// Model text reaches the host only as quoted words: every command `up
/// --host` runs there is one `ssh` shell line built by `remote_line`, no
/// `scp` destination (CVE-2020-15778) any more. A hostile config target, a
/// quote, a line break and a glob run through a real `sh` come back as the
/// same words, and nothing they name is executed.
#[test]
fn model_text_reaches_the_remote_shell_only_as_quoted_words() {
    use lucid_gen::docker::ssh::remote_line;
    use std::ffi::OsString;
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let words: Vec<String> = vec![
        format!("/etc/$(touch {})/app.conf", pwned.display()),
        format!("`touch {}`", pwned.display()),
        "/etc/a b/it's here".into(),
        "line\nbreak; touch x".into(),
        "*".into(),
    ];
    let args: Vec<OsString> = std::iter::once(OsString::from("%s\\0"))
        .chain(words.iter().map(OsString::from))
        .collect();
    let line = remote_line("printf", &args, Some(dir.path()));
    let out = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .output_bounded()
        .unwrap();
    assert!(out.status.success(), "{line}: {}", stderr(&out));
    let back: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(back, words, "{line}");
    assert!(!pwned.exists(), "the remote shell ran model text: {line}");
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::docker_available;
    use crate::common::need;
    use crate::common::unique_name;

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let filter = format!("label={}", self.label);
            let ids = |args: &[&str]| -> Vec<String> {
                stdout(&docker(args))
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            };
            let containers = ids(&["ps", "-aq", "--filter", &filter]);
            if !containers.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(containers.iter().map(String::as_str));
                docker(&args);
            }
            // Children before parents (a parent with children is only
            // untagged); a few rounds settle any order. The tags last, when
            // nothing builds on them any more.
            for _ in 0..5 {
                let images = ids(&["image", "ls", "-aq", "--filter", &filter]);
                if images.is_empty() {
                    break;
                }
                let mut args = vec!["image", "rm", "-f"];
                args.extend(images.iter().map(String::as_str));
                docker(&args);
            }
            let mut args = vec!["image", "rm", "-f"];
            args.extend(self.tags.iter().map(String::as_str));
            docker(&args);
        }
    }
    impl Drop for NetworkGuard {
        fn drop(&mut self) {
            let _ = docker(&["network", "rm", &self.0]);
        }
    }

    fn docker(args: &[&str]) -> Output {
        Command::new("docker").args(args).output_bounded().unwrap()
    }
    /// Removes the test's containers and images when dropped, also on panic:
    /// containers and images carrying the run's unique system label (the
    /// intermediate images of a failed legacy build included), then every tag.
    struct Cleanup {
        label: String,
        tags: Vec<String>,
    }
    fn labels(image: &str) -> serde_json::Value {
        let out = docker(&["image", "inspect", "--format", "{{json .Config}}", image]);
        assert!(out.status.success(), "{image}: {}", stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }
    /// Removes a Docker network when the test ends, passed or not.
    struct NetworkGuard(String);

    #[test]
    fn build_builds_every_image_from_a_local_upstream() {
        need(docker_available(), "a running Docker daemon");
        // Unique names per run, so parallel runs and leftovers cannot clash.
        let ns = unique_name("lucid-gen-test");
        let system = unique_name("localbuild");
        let p = Project::fixture("local-build");
        for file in ["model/system.yaml", "model/services.yaml"] {
            let text = p
                .read(file)
                .replace("lucid-gen-test", &ns)
                .replace("localbuild", &system);
            p.write(file, &text);
        }
        let tag = |name: &str| format!("{ns}/{name}:1");
        let cleanup = Cleanup {
            label: format!("lucid-gen.system={system}"),
            tags: ["upstream", "lb-base", "lb-one", "lb-two", "lb-three"]
                .iter()
                .map(|n| tag(n))
                .collect(),
        };

        // The upstream image every stage starts from: FROM scratch + one file.
        let up = tempfile::tempdir().unwrap();
        fs::write(up.path().join("hello.txt"), "hello\n").unwrap();
        fs::write(
            up.path().join("Dockerfile"),
            "FROM scratch\nCOPY hello.txt /hello.txt\n",
        )
        .unwrap();
        let out = docker(&[
            "build",
            "--label",
            &cleanup.label,
            "-t",
            &tag("upstream"),
            &up.path().display().to_string(),
        ]);
        assert!(out.status.success(), "upstream: {}", stderr(&out));

        p.run().args(&["all"]).run();
        for dir in ["base", "one", "two", "three"] {
            fs::create_dir_all(p.path("src").join(dir)).unwrap();
        }
        let out = p
            .run()
            .args(&["build", "--source", "src", "--jobs", "2"])
            .run();
        let text = stdout(&out);
        let at = |image: &str| {
            text.find(&format!("ok    {}", tag(image)))
                .unwrap_or_else(|| panic!("{image} not built:\n{text}"))
        };
        if !text.contains("buildx bake") {
            // Legacy builder: one line per image, base first, phase by phase.
            assert!(at("lb-base") < at("lb-one"), "{text}");
            assert!(
                at("lb-one") < at("lb-two") && at("lb-one") < at("lb-three"),
                "{text}"
            );
        }
        for (name, phase, runtime) in [
            ("lb-one", "first", tag("lb-base")),
            ("lb-two", "second", tag("lb-base")),
            ("lb-three", "second", tag("upstream")),
        ] {
            let config = labels(&tag(name));
            let l = &config["Labels"];
            assert_eq!(l["org.opencontainers.image.title"], name, "{config}");
            assert_eq!(l["org.opencontainers.image.base.name"], runtime.as_str());
            assert_eq!(l["lucid-gen.system"], system.as_str());
            assert_eq!(l["lucid-gen.phase"], phase);
            assert_eq!(l["lucid-gen.plane"], "app");
            assert_eq!(l["org.example.test"], "build");
            assert_eq!(config["User"], "65532:65532");
            assert_eq!(
                config["Entrypoint"][0],
                format!("/usr/local/bin/{}", &name[3..])
            );
        }
        let base = labels(&tag("lb-base"));
        assert_eq!(base["Labels"]["lucid-gen.system"], system.as_str());

        // A build that fails: the image is named, its output shown, the other
        // build of the phase still finishes.
        let services = p.read("model/services.yaml").replace(
            "from: /hello.txt\n          to: /usr/local/bin/three",
            "from: /missing.txt\n          to: /usr/local/bin/three",
        );
        p.write("model/services.yaml", &services);
        p.run().args(&["all"]).run();
        let out = p
            .run()
            .args(&["build", "--source", "src", "--jobs", "2"])
            .status(1)
            .run();
        let err = stderr(&out);
        if !stdout(&out).contains("buildx bake") {
            assert!(
                err.contains(&format!(
                    "building {} (service lb-three) failed",
                    tag("lb-three")
                )),
                "{err}"
            );
            assert!(err.contains("missing.txt"), "{err}");
            assert!(
                stdout(&out).contains(&format!("ok    {}", tag("lb-two"))),
                "{}",
                stdout(&out)
            );
            assert!(stdout(&out).contains(&format!("FAIL  {}", tag("lb-three"))));
        }
        // --force-rm: a failed step leaves no container behind.
        let left = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=lucid-gen.system={system}"),
        ]);
        assert!(
            stdout(&left).trim().is_empty(),
            "containers left: {}",
            stdout(&left)
        );
    }

    /// A real build with the legacy builder (or bake, where buildx is
    /// installed): every image of the local-build fixture ends up with its
    /// tag and both extra tags, one of them read from the environment.
    #[test]
    fn build_puts_every_extra_tag_on_every_image() {
        need(docker_available(), "a running Docker daemon");
        let ns = unique_name("lucid-gen-tags");
        let system = unique_name("tagbuild");
        let p = Project::fixture("local-build");
        for file in ["model/system.yaml", "model/services.yaml"] {
            let text = p
                .read(file)
                .replace("lucid-gen-test", &ns)
                .replace("localbuild", &system)
                .replace(
                    "    tag: \"1\"\n",
                    "    tag: \"1\"\n    extra_tags: [extra, \"sha-${LG_TEST_SHA}\"]\n",
                );
            p.write(file, &text);
        }
        let images = ["lb-base", "lb-one", "lb-two", "lb-three"];
        let mut tags = vec![format!("{ns}/upstream:1")];
        for image in images {
            for tag in ["1", "extra", "sha-c0ffee"] {
                tags.push(format!("{ns}/{image}:{tag}"));
            }
        }
        let cleanup = Cleanup {
            label: format!("lucid-gen.system={system}"),
            tags,
        };
        let up = tempfile::tempdir().unwrap();
        fs::write(up.path().join("hello.txt"), "hello\n").unwrap();
        fs::write(
            up.path().join("Dockerfile"),
            "FROM scratch\nCOPY hello.txt /hello.txt\n",
        )
        .unwrap();
        let out = docker(&[
            "build",
            "--label",
            &cleanup.label,
            "-t",
            &cleanup.tags[0],
            &up.path().display().to_string(),
        ]);
        assert!(out.status.success(), "upstream: {}", stderr(&out));
        p.run().args(&["all"]).run();
        for dir in ["base", "one", "two", "three"] {
            fs::create_dir_all(p.path("src").join(dir)).unwrap();
        }
        p.run()
            .env("LG_TEST_SHA", "c0ffee")
            .args(&["build", "--source", "src", "--jobs", "2"])
            .run();
        for image in images {
            let id = |tag: &str| {
                let r = format!("{ns}/{image}:{tag}");
                let out = docker(&["image", "inspect", "--format", "{{.Id}}", &r]);
                assert!(out.status.success(), "{r}: {}", stderr(&out));
                stdout(&out).trim().to_string()
            };
            let primary = id("1");
            assert_eq!(id("extra"), primary, "{image}");
            assert_eq!(id("sha-c0ffee"), primary, "{image}");
        }
    }

    /// `up` finds every clash with another stack on the same engine before
    /// anything starts: a network of the first phase that another project
    /// holds, and a host port of the second phase that is taken, each named.
    #[test]
    fn up_names_every_clash_with_another_stack_before_starting_anything() {
        let _stack = crate::common::docker_stack();
        need(docker_available(), "a running Docker daemon");
        let p = Project::fixture("small");
        let net = unique_name("shop-app");
        let project = unique_name("clash");
        // A port nobody else uses, held by this test as "another stack".
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port().to_string();
        for file in ["model/system.yaml", "model/services.yaml"] {
            let text = p
                .read(file)
                .replace("shop-app", &net)
                .replace("18080", &port);
            p.write(file, &text);
        }
        p.run().args(&["all"]).run();
        let out = docker(&[
            "network",
            "create",
            "--label",
            "com.docker.compose.project=another-stack",
            &net,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let _guard = NetworkGuard(net.clone());

        let out = p
            .run()
            .args(&["up", "--project", &project])
            .status(1)
            .stderr_has("nothing was started")
            .stderr_has(&format!(
                "docker-compose.base.yml: network `{net}` already exists and belongs to project `another-stack`"
            ))
            .stderr_has(&format!(
                "docker-compose.edge.yml: host port {port}/tcp on 127.0.0.1 for `shop-api`"
            ))
            .run();
        assert!(
            !stdout(&out).contains("==>"),
            "a phase started:\n{}",
            stdout(&out)
        );
        let started = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={project}-base"),
            "-q",
        ]);
        assert!(stdout(&started).trim().is_empty(), "{}", stdout(&started));
        drop(holder);
    }

    /// `up` refuses a network whose subnet another interface of the host
    /// already routes (here a bridge no network of the engine owns, as an
    /// engine killed mid-run leaves them): Docker would create the network
    /// and its containers would come up healthy, yet connections to them
    /// time out. Nothing starts; the message names the route, the
    /// interface and the command that removes it.
    #[test]
    fn up_refuses_a_subnet_another_interface_of_the_host_routes() {
        let _stack = crate::common::docker_stack();
        need(docker_available(), "a running Docker daemon");
        let p = Project::fixture("small");
        let project = unique_name("routed");
        p.run().args(&["all"]).run();
        // Interface names are at most 15 bytes.
        let iface = format!("lgr{:x}", std::process::id() & 0xff_ffff);
        let ip = |args: &[&str]| {
            let out = Command::new("ip").args(args).output_bounded().unwrap();
            assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
        };
        struct Remove(String);
        impl Drop for Remove {
            fn drop(&mut self) {
                let del = ["link", "del", &self.0];
                let _ = Command::new("ip").args(del).output_bounded();
            }
        }
        ip(&["link", "add", &iface, "type", "bridge"]);
        let remove = Remove(iface.clone());
        ip(&["addr", "add", "10.91.0.1/25", "dev", &iface]);
        ip(&["link", "set", &iface, "up"]);
        p.run()
            .args(&["up", "--project", &project])
            .status(1)
            .stderr_has("nothing was started")
            .stderr_has(&format!(
                "docker-compose.base.yml: network `shop-app` (10.91.0.0/24): the host already \
                 routes 10.91.0.0/25 through `{iface}`, and no network of this engine owns that \
                 interface"
            ))
            .stderr_has(&format!("`ip link del {iface}`"))
            .run();
        let projects = docker(&[
            "ps",
            "-a",
            "--format",
            "{{.Label \"com.docker.compose.project\"}}",
        ]);
        assert!(
            !stdout(&projects).lines().any(|l| l.starts_with(&project)),
            "a container was started: {}",
            stdout(&projects)
        );
        drop(remove);
    }
}
