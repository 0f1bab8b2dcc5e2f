//! Deploying to a real host over real SSH: a stand-in Raspberry Pi.
//!
//! The stand-in Pi is a container built from Debian packages
//! (openssh-server, docker.io, iptables, ca-certificates, procps) with
//! this machine's Compose v2 copied in, by `mmdebstrap` and `docker
//! import` — built once and cached by a hash of its recipe, as
//! `realserver.rs` caches its image. It runs its own `dockerd` (vfs
//! storage, `--privileged` being refused here: every capability but
//! CAP_SYS_RESOURCE instead) and `sshd` on a port published on loopback.
//! Its host key and the client's key pair are made per run; the client key
//! lives in an `ssh-agent` of the test's own. Everything is removed when
//! the test ends.
//!
//! Lucid's stand-ins go to it with `up --host` phase by phase; `test
//! --host` checks them there; redeploys, a changed service, a broken
//! phase, `rollback`, every preflight refusal and a connection killed
//! mid-transfer follow. Each `ssh` and `docker` lucid-gen starts goes
//! through a logging shim, so no secret value on any command line is
//! asserted, not assumed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use super::standin_node::{host_platform, Pi};
use crate::common::{stderr, stdout, Project};
use crate::docker_tier::realserver::wait_for;
/// Logging shims for `ssh` and `docker` first on PATH: every command line
/// lucid-gen starts lands in `calls.log`.
struct Shims {
    dir: tempfile::TempDir,
}

impl Shims {
    fn new() -> Shims {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        for program in ["ssh", "docker", "ssh-keyscan"] {
            let real = (std::env::split_paths(&std::env::var_os("PATH").unwrap()))
                .map(|d| d.join(program))
                .find(|p| p.is_file())
                .unwrap_or_else(|| panic!("{program} is not on PATH"));
            let path = dir.path().join(program);
            fs::write(
                &path,
                format!(
                    "#!/bin/sh\nprintf '%s\\n' \"{program} $*\" >> '{}'\nexec '{}' \"$@\"\n",
                    log.display(),
                    real.display()
                ),
            )
            .unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Shims { dir }
    }

    fn path(&self) -> String {
        let path = std::env::var_os("PATH").unwrap();
        let dirs =
            std::iter::once(self.dir.path().to_path_buf()).chain(std::env::split_paths(&path));
        std::env::join_paths(dirs)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    fn calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
    }
}

/// The Lucid project deployed in this test, with its host `standin-pi`.
struct Deployment<'a> {
    p: Project,
    pi: &'a Pi,
    shims: Shims,
    outputs: Vec<String>,
}

impl Deployment<'_> {
    /// The host entry, with `extra` lines (a platform, a disk minimum…).
    fn host(&self, extra: &str) {
        self.p.write(
            "model/standin-pi.yaml",
            &format!(
                "hosts:\n  standin-pi:\n    address: 127.0.0.1\n    port: {}\n    user: deploy\n    \
                 directory: /srv/lucid\n    known_hosts: {}\n    keep_releases: 3\n    deadline: 3m\n{extra}",
                self.pi.port,
                self.pi.known_hosts().display()
            ),
        );
    }

    /// `lucid-gen ARGS` with the agent and the shims; its output kept
    /// for the secret check.
    fn run(&mut self, args: &[&str]) -> Output {
        let out = self.command(args);
        self.outputs
            .push(format!("{}{}", stdout(&out), stderr(&out)));
        out
    }

    fn command(&self, args: &[&str]) -> Output {
        self.p
            .run()
            .env(
                "SSH_AUTH_SOCK",
                &self.pi.keys.path().join("agent.sock").display().to_string(),
            )
            .env("PATH", &self.shims.path())
            .args(args)
            .status_any()
            .run()
    }

    fn up(&mut self) -> Output {
        self.run(&["up", "--host", "standin-pi", "--stand-ins"])
    }

    /// Every secret value the project holds: the store's, and every value
    /// in the generated secrets env files.
    fn secret_values(&self) -> Vec<String> {
        let mut values: Vec<String> = (self.p.read(".lucid-gen/secrets.env").lines())
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(_, v)| v.trim_matches('"').to_string())
            })
            .collect();
        for file in crate::common::files_under(&self.p.path("generated/secrets/env")) {
            let text = fs::read_to_string(file).unwrap();
            values.extend((text.lines()).filter_map(|l| {
                l.split_once('=')
                    .map(|(_, v)| v.trim_matches('"').to_string())
            }));
        }
        values.retain(|v| v.len() >= 8);
        assert!(!values.is_empty());
        values
    }

    /// Edits a model file: `from` must occur in the block of `service`.
    fn edit_service(&self, file: &str, service: &str, from: &str, to: &str) {
        let text = self.p.read(file);
        let at = text
            .find(&format!("  {service}:\n"))
            .unwrap_or_else(|| panic!("no {service} in {file}"));
        let offset = text[at..]
            .find(from)
            .unwrap_or_else(|| panic!("no {from:?} in {service}"));
        let mut edited = text.clone();
        edited.replace_range(at + offset..at + offset + from.len(), to);
        self.p.write(file, &edited);
    }
}

fn ok(out: &Output, what: &str) -> String {
    let all = format!("--- stdout\n{}\n--- stderr\n{}", stdout(out), stderr(out));
    assert_eq!(out.status.code(), Some(0), "{what}:\n{all}");
    stdout(out)
}

fn refused(out: &Output, what: &str, wants: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{what}: {}\n{err}", stdout(out));
    for want in wants {
        assert!(err.contains(want), "{what}: stderr lacks {want:?}:\n{err}");
    }
}

/// `images: sent N bytes … full docker save M bytes`: (N, M).
fn image_bytes(out: &str) -> (u64, u64) {
    let line = out
        .lines()
        .find(|l| l.starts_with("images: sent "))
        .unwrap_or_else(|| panic!("no images line:\n{out}"));
    let number = |after: &str| -> u64 {
        let rest = &line[line.find(after).unwrap() + after.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    (number("images: sent "), number("full docker save "))
}

/// The whole story on one stand-in Pi (it takes a while to start, so one
/// test walks through every case in order; each stage is timed).
/// The stand-in Pi's `after_deploy`: `docker image prune -f` once every
/// phase is up.
const AFTER_DEPLOY: &str = "    after_deploy:\n      prune_images: true\n";

#[test]
fn lucid_deploys_to_a_standin_pi_over_ssh() {
    let started = Instant::now();
    let pi = Pi::start();
    let mut d = Deployment {
        p: Project::lucid(),
        pi: &pi,
        shims: Shims::new(),
        outputs: Vec::new(),
    };
    d.host(&format!(
        "    platform: {}\n    min_free_disk: 1g\n{AFTER_DEPLOY}",
        host_platform()
    ));
    ok(&d.run(&["all"]), "all");
    let stage = |what: &str, t: &mut Instant| {
        eprintln!("pi: {what} in {:.1?}", t.elapsed());
        *t = Instant::now();
    };
    let mut t = Instant::now();

    preflight_refuses_before_copying_anything(&mut d);
    stage("preflight refusals", &mut t);

    // First deploy: every phase healthy, `test --host` green there.
    let first = ok(&d.up(), "first deploy");
    // The host's after_deploy step ran last, on the host's engine.
    assert!(
        first.contains("prune images: Total reclaimed space"),
        "{first}"
    );
    let (sent, full) = image_bytes(&first);
    assert!(sent > 0 && full > 0, "{first}");
    eprintln!("pi: first deploy sent {sent} bytes (full docker save {full} bytes)");
    assert_eq!(pi.current(), "releases/1");
    stage("first deploy", &mut t);
    let tested = ok(&d.run(&["test", "--host", "standin-pi"]), "test --host");
    assert!(tested.contains(" 0 failed"), "{tested}");
    assert!(tested.contains("isolation"), "{tested}");
    stage("test --host", &mut t);
    secret_files_are_private_on_the_host(&d);

    // Unchanged: nothing recreated, no image byte sent, plan says so.
    let before = pi.containers();
    let again = ok(&d.up(), "unchanged redeploy");
    assert_eq!(image_bytes(&again).0, 0, "{again}");
    assert_eq!(
        pi.containers(),
        before,
        "an unchanged redeploy recreated containers"
    );
    eprintln!("pi: unchanged redeploy sent 0 bytes and recreated 0 containers");
    ok(
        &d.run(&["plan", "--host", "standin-pi"]),
        "plan --host after an unchanged redeploy",
    );
    stage("unchanged redeploy", &mut t);

    // One service's image changes: only its new layer crosses.
    d.edit_service(
        "model/services/support.yaml",
        "lucid-payout-router",
        "http: /health",
        "exec: [/usr/local/bin/payout-health]",
    );
    ok(&d.run(&["all"]), "all");
    let changed = ok(&d.up(), "redeploy of one changed service");
    let (sent, full) = image_bytes(&changed);
    assert!(sent > 0 && sent < full, "{changed}");
    assert!(changed.contains("for 1 of "), "{changed}");
    eprintln!("pi: a changed service sent {sent} bytes (its full docker save {full} bytes)");
    let after = pi.containers();
    let recreated = after.iter().filter(|c| !before.contains(c)).count();
    assert_eq!(
        recreated, 1,
        "only the changed service is recreated:\n{before:?}\n{after:?}"
    );
    stage("changed redeploy", &mut t);

    broken_phase_rolls_back(&mut d);
    stage("broken phase and rollback", &mut t);
    killed_mid_transfer(&mut d);
    stage("killed mid-transfer", &mut t);

    // `down --host` takes every phase down there.
    ok(&d.run(&["down", "--host", "standin-pi"]), "down --host");
    assert_eq!(
        pi.containers(),
        Vec::<String>::new(),
        "down --host left containers"
    );
    stage("down --host", &mut t);

    let values = d.secret_values();
    let calls = d.shims.calls();
    assert!(
        calls.contains("ssh ") && calls.contains("docker "),
        "the shims saw nothing"
    );
    for v in &values {
        assert!(
            !calls.contains(v.as_str()),
            "a secret value was on a command line"
        );
        for out in &d.outputs {
            assert!(
                !out.contains(v.as_str()),
                "a secret value was printed:\n{out}"
            );
        }
    }
    let sessions = calls
        .lines()
        .filter(|l| l.contains("ControlMaster=yes"))
        .count();
    let commands = calls.lines().filter(|l| l.starts_with("ssh ")).count();
    eprintln!(
        "pi: {commands} ssh commands over {sessions} connections; whole test {:.0?}",
        started.elapsed()
    );
}

/// Each refusal names its cause, and nothing reaches `releases/`.
fn preflight_refuses_before_copying_anything(d: &mut Deployment) {
    let nothing_copied = |d: &Deployment| {
        assert_eq!(
            d.pi.sh("ls -A /srv/lucid | grep -v '^.lock' || true"),
            "",
            "something was copied"
        );
    };
    let fp = d.pi.fingerprint.clone();
    // An unknown host key: the known_hosts file holds none for it.
    fs::write(d.pi.known_hosts(), "").unwrap();
    refused(&d.up(), "unknown host key", &["is unknown", &fp]);
    // A changed host key: the file holds another key for it.
    d.pi.write_known_hosts(false);
    refused(&d.up(), "changed host key", &["has changed", &fp]);
    d.pi.write_known_hosts(true);
    nothing_copied(d);
    // A concurrent deploy holds the lock.
    d.pi.sh("su deploy -c 'exec 9>>/srv/lucid/.lock; flock 9; echo $$ > /tmp/holder.pid; exec sleep 600' >/dev/null 2>&1 &");
    wait_for(Duration::from_secs(10), || {
        match d
            .pi
            .sh("cat /tmp/holder.pid 2>/dev/null || true")
            .is_empty()
        {
            false => Ok(()),
            true => Err("no holder".to_string()),
        }
    })
    .unwrap();
    refused(
        &d.up(),
        "concurrent deploy",
        &["another deploy to host `standin-pi` is under way"],
    );
    d.pi.sh("kill $(cat /tmp/holder.pid); rm /tmp/holder.pid");
    // Wrong architecture, too little disk, a busy port and no Compose: all
    // named in one refusal.
    let other = match host_platform() {
        "linux/amd64" => "linux/arm64",
        _ => "linux/amd64",
    };
    d.host(&format!(
        "    platform: {other}\n    min_free_disk: 1000000g\n"
    ));
    d.pi.sh("mv /usr/libexec/docker/cli-plugins/docker-compose /root/");
    d.pi.sh("perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 1, ReuseAddr => 1) or die; open my $f, \">\", \"/tmp/port.pid\"; print $f $$; close $f; sleep 600' >/dev/null 2>&1 &");
    wait_for(Duration::from_secs(10), || {
        match d.pi.sh("cat /tmp/port.pid 2>/dev/null || true").is_empty() {
            false => Ok(()),
            true => Err("no listener".to_string()),
        }
    })
    .unwrap();
    refused(
        &d.up(),
        "wrong platform, disk, port, compose",
        &[
            &format!("but the model says {other}"),
            "below the model's minimum",
            "host port 8080/tcp on 0.0.0.0 for `lucid-api-gateway`",
            "Docker Compose v2 is missing there",
        ],
    );
    d.pi.sh("kill $(cat /tmp/port.pid); rm /tmp/port.pid; mv /root/docker-compose /usr/libexec/docker/cli-plugins/");
    d.host(&format!(
        "    platform: {}\n    min_free_disk: 1g\n{AFTER_DEPLOY}",
        host_platform()
    ));
    nothing_copied(d);
}

/// Secret-bearing files on the host: 0600, or 0444 in a 0700 directory;
/// the release directory itself 0700.
fn secret_files_are_private_on_the_host(d: &Deployment) {
    let listing =
        d.pi.sh("cd /srv/lucid/current/ && find . -printf '%m %y %p\\n'");
    let modes: std::collections::BTreeMap<&str, (&str, &str)> = (listing.lines())
        .filter_map(|l| {
            let mut w = l.splitn(3, ' ');
            let (mode, kind, path) = (w.next()?, w.next()?, w.next()?);
            Some((path.trim_start_matches("./"), (mode, kind)))
        })
        .collect();
    assert_eq!(d.pi.sh("stat -L -c %a /srv/lucid/current"), "700");
    let secrets = d.p.path("generated/secrets");
    let mut checked = 0;
    for local in crate::common::files_under(&secrets) {
        let rel = local
            .strip_prefix(d.p.path("generated"))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some((mode, _)) = modes.get(rel.as_str()) else {
            continue;
        };
        let local_mode = format!(
            "{:o}",
            fs::metadata(&local).unwrap().permissions().mode() & 0o777
        );
        assert_eq!(*mode, local_mode, "{rel}");
        match *mode {
            "600" => {}
            "444" => {
                let dir = Path::new(&rel)
                    .parent()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                assert_eq!(modes.get(dir.as_str()).map(|m| m.0), Some("700"), "{dir}");
            }
            other => panic!("{rel} has mode {other} on the host"),
        }
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} secret-bearing files found:\n{listing}"
    );
}

/// A service that never gets healthy: the deploy rolls back to the
/// previous release (healthy again) and names it; `rollback` goes back
/// one more on request.
fn broken_phase_rolls_back(d: &mut Deployment) {
    let before = d.pi.current();
    d.edit_service(
        "model/services/support.yaml",
        "lucid-payout-router",
        "exec: [/usr/local/bin/payout-health]",
        "exec: [/usr/local/bin/payout-health, \"http://lucid-payout-router:9/never\"]",
    );
    ok(&d.run(&["all"]), "all");
    let out = d.up();
    refused(
        &out,
        "a broken phase",
        &["lucid-payout-router", "rolled back to release 3"],
    );
    assert_eq!(d.pi.current(), before);
    assert!(d.pi.sh("ls /srv/lucid/releases").contains("4.failed"));
    // The model as the host runs it again, then `test --host` there.
    d.edit_service(
        "model/services/support.yaml",
        "lucid-payout-router",
        "exec: [/usr/local/bin/payout-health, \"http://lucid-payout-router:9/never\"]",
        "exec: [/usr/local/bin/payout-health]",
    );
    ok(&d.run(&["all"]), "all");
    let tested = ok(
        &d.run(&["test", "--host", "standin-pi"]),
        "test --host after the rollback",
    );
    assert!(tested.contains(" 0 failed"), "{tested}");
    let back = ok(&d.run(&["rollback", "--host", "standin-pi"]), "rollback");
    assert!(back.contains("runs release 2 again"), "{back}");
    assert!(back.contains("2 (current), 3, 4 (failed)"), "{back}");
    assert_eq!(d.pi.current(), "releases/2");
    let states = d.pi.containers();
    assert!(
        states
            .iter()
            .all(|c| !c.contains("unhealthy") && !c.contains("starting")),
        "{states:?}"
    );
}

/// The connection dies while images are being sent: the previous
/// release keeps serving, and the next deploy completes (naming the
/// stale lock the dead one left).
fn killed_mid_transfer(d: &mut Deployment) {
    let before = d.pi.containers();
    // The host's first `docker load` stalls, so the kill lands
    // mid-transfer (a second one would go through: a deploy that tried
    // again and succeeded would fail this test).
    d.pi.sh("printf '#!/bin/sh\\nif [ \"$1\" = load ] && [ ! -e /tmp/loading ]; then touch /tmp/loading; sleep 300; fi\\nexec /usr/bin/docker \"$@\"\\n' > /usr/local/bin/docker; chmod 755 /usr/local/bin/docker");
    d.edit_service(
        "model/services/support.yaml",
        "lucid-payout-router",
        "exec: [/usr/local/bin/payout-health]",
        "exec: [/usr/local/bin/payout-health-3]",
    );
    ok(&d.run(&["all"]), "all");
    let d_shared: &Deployment = d;
    let out = std::thread::scope(|s| {
        let d = d_shared;
        let deploy = s.spawn(|| d.command(&["up", "--host", "standin-pi", "--stand-ins"]));
        wait_for(Duration::from_secs(120), || {
            match d.pi.sh("test -e /tmp/loading && echo yes || true").as_str() {
                "yes" => Ok(()),
                _ => Err("no load under way".to_string()),
            }
        })
        .unwrap();
        d.pi.sh("for p in $(ps -o pid= -u deploy); do kill -9 $p 2>/dev/null || true; done");
        deploy.join().unwrap()
    });
    d.outputs.push(format!("{}{}", stdout(&out), stderr(&out)));
    assert_ne!(
        out.status.code(),
        Some(0),
        "a killed deploy succeeded:\n{}",
        stderr(&out)
    );
    assert_eq!(d.pi.current(), "releases/2", "{}", stderr(&out));
    assert_eq!(
        d.pi.containers(),
        before,
        "the previous release stopped serving"
    );
    d.pi.sh("rm -f /usr/local/bin/docker /tmp/loading");
    let done = d.up();
    let text = ok(&done, "the deploy after a killed one");
    assert!(
        stderr(&done).contains("stale deploy lock"),
        "{}",
        stderr(&done)
    );
    // Numbers are never reused: the killed deploy's 5 stays taken.
    assert!(text.contains("current → release 6"), "{text}");
    assert!(
        text.contains("prune: removed 1, 4.failed, 5.partial (kept 6, 3, 2)"),
        "{text}"
    );
}
