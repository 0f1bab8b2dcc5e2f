//! `health.restart_when_unhealthy` on a real engine: containers whose
//! health check is made to fail (a file the probe checks is removed with
//! `docker exec`) are restarted by Docker through the compose file's
//! wrapper and are healthy again — one that stops on SIGTERM, one that
//! ignores it (SIGKILL at the next check) — while the same service
//! without the key stays unhealthy and is never restarted, and failures
//! in the start period do not count.
//!
//! The image is Debian's dash and coreutils, unpacked by `bases.rs`
//! (cached like its other images); the compose file is the one
//! `lucid-gen all` writes, started with `docker compose up -d` under a
//! project name of the test's own.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{docker_available, docker_stack, need, stdout, unique_name, Project};
use crate::docker_tier::bases::{extracted, Arch, Extracted};
use crate::docker_tier::realserver::run;
use lucid_gen::render::probe::{RESTART_NAME, RESTART_SCRIPT};

/// A shell (dash as `/bin/sh`), `test`, `sleep` and nothing else.
fn shell_image() -> String {
    extracted(&Extracted {
        name: "dash-coreutils",
        arch: Arch::host(),
        include: &["dash", "coreutils"],
        keep: &[],
        script: r#"ln -sf dash "$out/bin/sh""#.into(),
        changes: &["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        inputs: Vec::new(),
    })
}

/// One service: healthy while `/tmp/healthy` exists (its entrypoint makes
/// it unless `late`), checked every second, unhealthy after 2 failures.
fn service(name: &str, image: &str, start: &str, restart: bool, start_period: &str) -> String {
    format!(
        "  {name}:\n    phase: run\n    plane: app\n    networks: [NET]\n    image: {image}\n    \
         user: \"65532:65532\"\n    init: true\n    entrypoint: [/bin/sh, -c, \"{start}\"]\n    \
         health:\n      exec: [test, -e, /tmp/healthy]\n      interval: 1s\n      timeout: 3s\n      \
         retries: 2\n      start_period: {start_period}\n      restart_when_unhealthy: {restart}\n    \
         resources: {{ memory: 32m, cpus: 0.2 }}\n"
    )
}

fn model(system: &str, image: &str) -> String {
    let make = ": > /tmp/healthy; exec sleep infinity";
    let services = [
        service("restarts", image, make, true, "0s"),
        service(
            "stubborn",
            image,
            &format!("trap '' TERM; {make}"),
            true,
            "0s",
        ),
        service("stays", image, make, false, "0s"),
        service("late", image, "exec sleep infinity", true, "6s"),
    ]
    .concat();
    format!(
        "system:\n  name: {system}\n  platform: {platform}\n  registry: {{ namespace: example, tag: \"1\" }}\n\
         planes:\n  app:\n    description: The test's services.\n\
         networks:\n  NET:\n    plane: app\n    subnet: 10.226.26.0/24\n\
         phases:\n  run:\n    env_file: run\n    compose_file: docker-compose.run.yml\n\
         env_files:\n  run:\n    file: .env.run\n    vars: {{ UNUSED: \"1\" }}\n\
         services:\n{services}",
        platform = Arch::host().platform(),
    )
    .replace("NET", &format!("{system}-net"))
}

/// The compose project, taken down (containers and network) when dropped.
struct Up {
    project: String,
    file: std::path::PathBuf,
}

impl Up {
    fn compose(&self, args: &[&str]) -> std::process::Output {
        run(Command::new("docker")
            .args(["compose", "-p", &self.project, "-f"])
            .arg(&self.file)
            .args(args))
    }

    /// `docker inspect -f FORMAT` of the service's container.
    fn inspect(&self, service: &str, format: &str) -> String {
        let id = stdout(&self.compose(&["ps", "-aq", service]));
        let out = run(Command::new("docker").args(["inspect", "-f", format, id.trim()]));
        stdout(&out).trim().to_string()
    }

    fn status(&self, service: &str) -> (u32, String) {
        let text = self.inspect(
            service,
            "{{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
        );
        let (count, health) = text.split_once(' ').unwrap_or((&text, ""));
        (count.parse().unwrap_or(0), health.to_string())
    }

    /// Waits until `done` holds for the service's (restart count, health),
    /// at most `limit`.
    fn wait(&self, service: &str, limit: Duration, done: impl Fn(u32, &str) -> bool) {
        let started = Instant::now();
        loop {
            let (count, health) = self.status(service);
            if done(count, &health) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "{service}: still {count} restarts, {health:?} after {limit:?}; health log:\n{}",
                self.inspect(service, "{{json .State.Health}}")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The exit codes of the service's container since `since` (Unix
    /// seconds), from the engine's `die` events: 143 after SIGTERM, 137
    /// after SIGKILL (Docker's init exits as its child did).
    fn exit_codes(&self, service: &str, since: u64) -> Vec<String> {
        let id = stdout(&self.compose(&["ps", "-aq", service]));
        let until = (unix_now() + 1).to_string();
        let out = run(Command::new("docker").args([
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until,
            "--filter",
            &format!("container={}", id.trim()),
            "--filter",
            "event=die",
            "--format",
            "{{.Actor.Attributes.exitCode}}",
        ]));
        stdout(&out).lines().map(str::to_string).collect()
    }

    fn started_at(&self, service: &str) -> f64 {
        let at = self.inspect(service, "{{.State.StartedAt}}");
        let out = run(Command::new("date").args(["-d", &at, "+%s.%N"]));
        stdout(&out).trim().parse().unwrap()
    }
}

fn unix_now() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_secs())
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "--timeout", "1"]);
    }
}

#[test]
fn an_unhealthy_container_is_restarted_only_with_the_key() {
    need(docker_available(), "Docker Engine with Compose v2");
    let image = shell_image();
    let system = unique_name("restart-unhealthy");
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write("model/system.yaml", &model(&system, &image));
    p.run().args(&["all"]).run();
    let file = p.path("generated/configs/docker/docker-compose.run.yml");
    let text = p.read("generated/configs/docker/docker-compose.run.yml");
    assert_eq!(text.matches("restart-when-unhealthy").count(), 3, "{text}");
    let _stack = docker_stack();
    let up = Up {
        project: system.clone(),
        file,
    };
    // Compose reads the wrapper and the probe back exactly, each a word
    // (its output writes a literal `$` as `$$`).
    let config = up.compose(&["config", "--format", "json"]);
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    let test: Vec<String> = (config["services"]["late"]["healthcheck"]["test"].as_array())
        .expect("a health check")
        .iter()
        .map(|w| w.as_str().unwrap().replace("$$", "$"))
        .collect();
    let want = [
        "CMD",
        "/bin/sh",
        "-c",
        RESTART_SCRIPT,
        RESTART_NAME,
        "2",
        "600",
    ];
    assert_eq!(test, [&want[..], &["test", "-e", "/tmp/healthy"]].concat());
    let since = unix_now().saturating_sub(1);
    let out = up.compose(&["up", "-d"]);
    assert!(out.status.success(), "compose up: {out:?}");
    let late_start = up.started_at("late");
    let minute = Duration::from_secs(60);
    for s in ["restarts", "stubborn", "stays"] {
        up.wait(s, minute, |_, h| h == "healthy");
    }
    for s in ["restarts", "stubborn", "stays"] {
        let out = up.compose(&["exec", "-T", s, "rm", "/tmp/healthy"]);
        assert!(out.status.success(), "rm in {s}: {out:?}");
    }
    // Restarted by Docker, and healthy again (the entrypoint makes the
    // file anew): through SIGTERM, and through SIGKILL for the one that
    // ignores SIGTERM.
    up.wait("restarts", minute, |n, h| n >= 1 && h == "healthy");
    up.wait("stubborn", minute, |n, h| n >= 1 && h == "healthy");
    assert_eq!(up.exit_codes("restarts", since)[..1], ["143"]);
    assert_eq!(up.exit_codes("stubborn", since)[..1], ["137"]);
    // Without the key: unhealthy, and still the same container start.
    up.wait("stays", minute, |_, h| h == "unhealthy");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(up.status("stays"), (0, "unhealthy".to_string()));
    // Failing from the start: not restarted within its 6 s start period
    // (2 failures at 1 s would restart it after about 2 s), then restarted.
    up.wait("late", minute, |n, _| n >= 1);
    let lived = up.started_at("late") - late_start;
    assert!(
        lived >= 6.0,
        "`late` was restarted {lived:.1}s after it started, inside its start period"
    );
}
