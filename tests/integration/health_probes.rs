//! The health probes of built images, run for real against loopback
//! listeners: the static probe program lucid-gen writes (compiled here with
//! the local rustc as its Dockerfile does) and the `node -e` command of the
//! `node` stack, each through the commands the forge and node-app fixtures
//! render. Healthy means exit 0; a 5xx status, a refused connection and a
//! server that never answers are each exit 1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread;

use crate::common::{need, repo_root, OutputBounded, Project};
use lucid_gen::secrets::{self, SecretSource};
use lucid_gen::system::System;
use lucid_gen::{model, render, validate};

fn fixture(name: &str) -> System {
    let loaded = model::load_dir(&repo_root().join("tests/fixtures").join(name)).unwrap();
    validate::validate(loaded).unwrap().system
}

/// Listeners on loopback, one per behaviour; kept open for the test.
struct Servers {
    ok: u16,
    redirect: u16,
    failing: u16,
    silent: u16,
    refused: u16,
}

/// Answers every connection with `answer` (`None`: reads and never answers).
fn serve(answer: Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer);
            match answer {
                Some(text) => {
                    let _ = stream.write_all(text.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    port
}

fn servers() -> Servers {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = closed.local_addr().unwrap().port();
    drop(closed);
    Servers {
        ok: serve(Some("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")),
        redirect: serve(Some(
            "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )),
        failing: serve(Some(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )),
        silent: serve(None),
        refused,
    }
}

/// The rendered health-check command of `service`, with its port replaced.
fn command_for(system: &System, service: &str, port: u16) -> Vec<String> {
    let s = system.service(service).unwrap();
    let command = render::probe_command(s).unwrap();
    let declared = match &s.health.as_ref().unwrap().probe {
        lucid_gen::system::Probe::Http { port, .. } | lucid_gen::system::Probe::Tcp { port } => {
            port.0.to_string()
        }
        other => panic!("{service}: not an http/tcp probe: {other:?}"),
    };
    command
        .into_iter()
        .map(|arg| arg.replace(&declared, &port.to_string()))
        .collect()
}

fn exit_code(program: &Path, args: &[String]) -> i32 {
    let out = Command::new(program).args(args).output_bounded().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.stdout.is_empty(), "a probe printed to stdout: {out:?}");
    assert!(
        err.lines().count() <= 1,
        "more than one line on failure: {err}"
    );
    out.status.code().unwrap()
}

/// Cases: (what, port, expected exit code) of an http probe.
fn http_cases(s: &Servers) -> [(&'static str, u16, i32); 5] {
    [
        ("200", s.ok, 0),
        ("302", s.redirect, 0),
        ("500", s.failing, 1),
        ("refused", s.refused, 1),
        ("never answers", s.silent, 1),
    ]
}

/// Compiles lucid-gen's probe program `source` with `rustc` into a static
/// `binary`, as its Dockerfile's builder stage does.
pub(crate) fn compile_probe(rustc: &Path, source: &Path, binary: &Path) {
    let built = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
            "-o",
        ])
        .arg(binary)
        .arg(source)
        .output_bounded()
        .unwrap();
    assert!(built.status.success(), "rustc failed: {built:?}");
}

#[test]
fn the_probe_program_lucid_gen_writes_answers_like_a_health_check() {
    let rustc = which("rustc");
    need(rustc.is_some(), "rustc (the Rust toolchain)");
    let system = fixture("forge");
    let values = secrets::resolve(&system, &SecretSource::Seeded(1), &[]).unwrap();
    let outputs = render::render(&system, &values.values).unwrap();
    let source = &outputs[&render::probe::source_path(&system)].text;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probe.rs"), source).unwrap();
    let binary = dir.path().join("probe");
    compile_probe(&rustc.unwrap(), &dir.path().join("probe.rs"), &binary);
    let s = servers();
    for (what, port, expected) in http_cases(&s) {
        let cmd = command_for(&system, "forge-hooks", port);
        assert_eq!(cmd[0], render::probe::PROBE_PATH);
        assert_eq!(
            exit_code(&binary, &cmd[1..]),
            expected,
            "http {what}: {cmd:?}"
        );
    }
    for (what, port, expected) in [("open", s.silent, 0), ("closed", s.refused, 1)] {
        let cmd = command_for(&system, "forge-search", port);
        assert_eq!(
            exit_code(&binary, &cmd[1..]),
            expected,
            "tcp {what}: {cmd:?}"
        );
    }
    for usage in [
        &["http", "80"][..],
        &["tcp", "0"],
        &["http", "80", "health"],
        &[],
    ] {
        let args: Vec<String> = usage.iter().map(|a| a.to_string()).collect();
        assert_eq!(exit_code(&binary, &args), 2, "usage {usage:?}");
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A service built under the probe image's name would replace it.
#[test]
fn a_service_named_like_the_probe_image_is_refused() {
    let p = Project::fixture("forge");
    let services = p.read("model/services.yaml");
    let renamed = services.replace("  forge-search:\n", "  lucid-gen-probe:\n");
    assert_ne!(renamed, services);
    p.write("model/services.yaml", &renamed);
    p.run()
        .args(&["check"])
        .status(1)
        .stderr_has("model/services.yaml:")
        .stderr_has("error[output-collision]: `lucid-gen-probe` would be built as `example/lucid-gen-probe:0.9`")
        .run();
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::stdout;

    impl Drop for Cleanup {
        fn drop(&mut self) {
            for c in &self.containers {
                let _ = Command::new("docker")
                    .args(["rm", "-f", c])
                    .output_bounded();
            }
            for i in &self.images {
                let _ = Command::new("docker")
                    .args(["rmi", "-f", i])
                    .output_bounded();
            }
        }
    }

    fn runs(program: &str) -> bool {
        Command::new(program)
            .arg("--version")
            .output_bounded()
            .is_ok_and(|o| o.status.success())
    }
    /// Removes the test's containers and images, also when it fails.
    struct Cleanup {
        containers: Vec<String>,
        images: Vec<String>,
    }
    /// `docker build` with the legacy builder, as `lucid-gen build` runs it
    /// without buildx.
    fn legacy_build(tag: &str, dir: &Path) {
        let out = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", tag])
            .arg(dir)
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "docker build {tag}: {out:?}");
    }
    /// Compiles a std-only program statically with the local rustc.
    fn compile_static(source: &Path, out: &Path) {
        let built = Command::new("rustc")
            .args([
                "--edition",
                "2021",
                "-O",
                "-C",
                "target-feature=+crt-static",
                "-o",
            ])
            .arg(out)
            .arg(source)
            .output_bounded()
            .unwrap();
        assert!(
            built.status.success(),
            "rustc {}: {built:?}",
            source.display()
        );
    }

    /// The health of a container once it is decided (`starting` left behind).
    fn health_once_decided(container: &str) -> String {
        for _ in 0..60 {
            let status = crate::docker_tier::e2e::docker(&[
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                container,
            ]);
            let status = status.trim().to_string();
            if status != "starting" {
                return status;
            }
            thread::sleep(std::time::Duration::from_millis(500));
        }
        "starting".to_string()
    }

    #[test]
    fn the_node_stack_probe_answers_like_a_health_check() {
        let node = which("node");
        need(
            node.is_some(),
            "node (apt-get install nodejs; the CI has it for dclint)",
        );
        let node = node.unwrap();
        let mut system = fixture("node-app");
        let s = servers();
        for (what, port, expected) in http_cases(&s) {
            let cmd = command_for(&system, "api", port);
            assert_eq!(&cmd[..2], ["node", "-e"]);
            assert_eq!(
                exit_code(&node, &cmd[1..]),
                expected,
                "http {what}: {cmd:?}"
            );
        }
        // The same service with `tcp: true`.
        let api = system
            .services
            .iter_mut()
            .find(|s| s.name == "api")
            .unwrap();
        let health = api.health.as_mut().unwrap();
        health.probe = lucid_gen::system::Probe::Tcp {
            port: lucid_gen::system::ContainerPort(3000),
        };
        for (what, port, expected) in [("open", s.silent, 0), ("closed", s.refused, 1)] {
            let cmd = command_for(&system, "api", port);
            assert_eq!(exit_code(&node, &cmd[1..]), expected, "tcp {what}: {cmd:?}");
        }
    }

    /// A hand-written Dockerfile that copies the probe in (the README's line)
    /// and says so with `build.probe: true`: its `http` check runs the probe,
    /// the probe image is written, linted and built before it, and bake hands
    /// it over as a named context. Without `probe: true` the check is refused.
    #[test]
    fn a_hand_written_dockerfile_that_copies_the_probe_in_gets_it_built_first() {
        need(runs("hadolint"), "hadolint");
        let p = Project::fixture("node-app");
        let services = p.read("model/services.yaml");
        let exec = "      exec: [/usr/local/bin/worker, --health]\n";
        let probed = services.replace(exec, "      http: /ready\n      port: 9000\n");
        let with_flag = probed.replace(
            "      dockerfile: docker/worker.Dockerfile\n",
            "      dockerfile: docker/worker.Dockerfile\n      probe: true\n",
        );
        assert!(probed != services && with_flag != probed);
        p.write("model/services.yaml", &probed);
        p.run()
            .args(&["check"])
            .status(1)
            .stderr_has("`worker` is built from a hand-written Dockerfile")
            .stderr_has("set `build.probe: true`")
            .run();
        p.write("model/services.yaml", &with_flag);
        p.run().args(&["all"]).run();
        let compose = p.read("generated/configs/docker/docker-compose.main.yml");
        let test = r#"test: ["CMD", "/usr/local/bin/probe", "http", "9000", "/ready"]"#;
        assert!(compose.contains(test), "{compose}");
        let bake = p.read("generated/docker-bake.hcl");
        let worker = &bake[bake.find("target \"worker\"").unwrap()..];
        assert!(
            worker.contains("= \"target:lucid-gen-probe\""),
            "the worker gets no probe context:\n{bake}"
        );
        assert!(
            bake.contains("group \"base-images\" {\n  targets = [\"lucid-gen-probe\"]"),
            "{bake}"
        );
        // The README's line in the hand-written Dockerfile; hadolint accepts it
        // and the probe's own Dockerfile.
        let namespace_tag = "example/lucid-gen-probe:1.0";
        assert!(bake.contains(namespace_tag), "{bake}");
        p.write(
            "src/worker/docker/worker.Dockerfile",
            &format!(
                "FROM alpine:3.20\nCOPY worker /usr/local/bin/worker\n\
                 COPY --from={namespace_tag} /probe /usr/local/bin/probe\n\
                 USER 65532:65532\nENTRYPOINT [\"/usr/local/bin/worker\"]\n"
            ),
        );
        let probe_dockerfile = p.path("generated/dockerfiles/probe/probe.Dockerfile");
        for file in [
            p.path("src/worker/docker/worker.Dockerfile"),
            probe_dockerfile,
        ] {
            let out = Command::new("hadolint")
                .arg(&file)
                .output_bounded()
                .unwrap();
            assert!(out.status.success(), "hadolint {}: {out:?}", file.display());
        }
        // `build` starts with the probe image (bake: its group; legacy: first).
        std::fs::create_dir_all(p.path("src/api")).unwrap();
        let out = p
            .run()
            .args(&["build", "--dry-run", "--source", "src"])
            .run();
        let text = stdout(&out);
        if text.contains("buildx bake") {
            assert!(text.contains(" base-images "), "{text}");
        } else {
            let first = text.lines().find(|l| l.contains("docker build")).unwrap();
            assert!(first.contains(namespace_tag), "{text}");
        }
    }

    /// `verify` on the forge fixture: hadolint accepts the probe's Dockerfile
    /// and the native and Java Dockerfiles that copy the probe in.
    #[test]
    fn verify_lints_the_probe_dockerfile_and_the_images_that_copy_it() {
        need(crate::common::compose_available(), "docker compose");
        for tool in ["hadolint", "compose-lint", "dclint"] {
            need(runs(tool), tool);
        }
        let p = Project::fixture("forge");
        p.run().args(&["all"]).run();
        let hooks = p.read("generated/dockerfiles/services/forge-hooks/Dockerfile");
        let copy = "COPY --from=example/lucid-gen-probe:0.9 /probe /usr/local/bin/probe\nUSER ";
        assert!(hooks.contains(copy), "{hooks}");
        let out = p.run().args(&["verify"]).run();
        let text = stdout(&out);
        for file in [
            "dockerfiles/probe/probe.Dockerfile",
            "dockerfiles/services/forge-hooks/Dockerfile",
            "dockerfiles/services/forge-search/Dockerfile",
        ] {
            assert!(
                text.contains(&format!("ok    generated/{file}\n")),
                "{text}"
            );
        }
        assert!(text.ends_with(" files, 0 failed\n"), "{text}");
    }

    /// The generated lines on a real engine, in images with no shell at all:
    /// a probe image holding the probe program `all` writes, a `FROM scratch`
    /// service image with the rendered `COPY --from=<probe image>` line and
    /// `HEALTHCHECK`, its server the stand-in program. Healthy when the path
    /// answers; unhealthy when the checked port is closed.
    #[test]
    fn the_probe_copied_into_a_scratch_image_makes_it_healthy() {
        need(
            crate::common::docker_available(),
            "a running Docker engine with Compose v2",
        );
        need(which("rustc").is_some(), "rustc (the Rust toolchain)");
        let p = Project::fixture("forge");
        p.run().args(&["all"]).run();
        let hooks = p.read("generated/dockerfiles/services/forge-hooks/Dockerfile");
        let line = |start: &str| {
            let found = hooks.lines().find(|l| l.starts_with(start));
            found
                .unwrap_or_else(|| panic!("no {start} in:\n{hooks}"))
                .to_string()
        };
        let (copy, healthcheck) = (
            line("COPY --from=example/lucid-gen-probe"),
            line("HEALTHCHECK"),
        );
        let name = crate::common::unique_name("i12-probe");
        let probe_tag = format!("lucid-gen-test/{name}-probe:1");
        let mut cleanup = Cleanup {
            containers: Vec::new(),
            images: vec![probe_tag.clone()],
        };
        let dir = tempfile::tempdir().unwrap();
        let probe_dir = dir.path().join("probe");
        std::fs::create_dir(&probe_dir).unwrap();
        compile_static(
            &p.path("generated/dockerfiles/probe/probe.rs"),
            &probe_dir.join("probe"),
        );
        std::fs::write(
            probe_dir.join("Dockerfile"),
            "FROM scratch\nCOPY probe /probe\n",
        )
        .unwrap();
        legacy_build(&probe_tag, &probe_dir);
        let service_dir = dir.path().join("service");
        std::fs::create_dir(&service_dir).unwrap();
        compile_static(
            &repo_root().join("src/bin/lucid-gen-standin.rs"),
            &service_dir.join("standin"),
        );
        let copy = copy.replace("example/lucid-gen-probe:0.9", &probe_tag);
        let fast = healthcheck
            .replace("--interval=30s", "--interval=1s")
            .replace("--start-period=40s", "--start-period=1s")
            .replace("--retries=3", "--retries=2");
        for (what, port, expected) in [
            ("served", "8800", "healthy"),
            ("closed", "8801", "unhealthy"),
        ] {
            let tag = format!("lucid-gen-test/{name}-{what}:1");
            cleanup.images.push(tag.clone());
            let check = fast.replace("\"8800\"", &format!("\"{port}\""));
            let dockerfile = format!(
                "FROM scratch\nCOPY standin /standin\n{copy}\nENV STANDIN_TCP_PORTS=8800\n\
                 USER 65532:65532\n{check}\nENTRYPOINT [\"/standin\", \"serve\"]\n"
            );
            std::fs::write(service_dir.join("Dockerfile"), dockerfile).unwrap();
            legacy_build(&tag, &service_dir);
            let container = format!("{name}-{what}");
            cleanup.containers.push(container.clone());
            crate::docker_tier::e2e::docker(&["run", "-d", "--name", &container, &tag]);
            assert_eq!(health_once_decided(&container), expected, "{what}");
        }
        drop(cleanup);
    }
}
