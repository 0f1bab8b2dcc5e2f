//! The stand-in node: a container built from Debian packages
//! (openssh-server, docker.io, iptables, ca-certificates, procps) with
//! this machine's Compose v2 copied in, by `mmdebstrap` and `docker
//! import` — built once and cached by a hash of its recipe. It runs its
//! own `dockerd` (vfs storage, `--privileged` being refused here: every
//! capability but CAP_SYS_RESOURCE instead) and `sshd` on a port
//! published on loopback. Its host key and the client's key pair are made
//! per run; the client key lives in an `ssh-agent` of the test's own.
//! `pi.rs` deploys to one such node; `swarm.rs` makes a swarm of three.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{compose_available, need, unique_name, OutputBounded};
use crate::docker_tier::realserver::{run, wait_for};
/// Change to force a rebuild of the cached image (its tag hashes this).
const IMAGE_VERSION: &str = "1";
const SUITE: &str = "bookworm";
const PACKAGES: &str = "openssh-server,docker.io,iptables,ca-certificates,procps";

/// The stand-in Pi's entrypoint: its keys from `/keys`, `dockerd` (vfs),
/// then `sshd` in the foreground once the engine answers.
const START: &str = r#"#!/bin/sh
set -e
mkdir -p /run/sshd
install -m 600 /keys/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
install -m 644 /keys/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
install -m 600 -o deploy -g deploy /keys/authorized_keys /home/deploy/.ssh/authorized_keys
install -d -o deploy -g deploy /srv/lucid
dockerd --storage-driver vfs >/var/log/dockerd.log 2>&1 &
i=0
until docker version >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 240 ] || exit 1; sleep 0.5
done
exec /usr/sbin/sshd -D -e -h /etc/ssh/ssh_host_ed25519_key
"#;

pub fn host_platform() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    }
}

pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The Compose v2 plugin this machine's docker CLI runs.
fn compose_plugin() -> PathBuf {
    let out = run(Command::new("docker").args([
        "info",
        "--format",
        "{{range .ClientInfo.Plugins}}{{if eq .Name \"compose\"}}{{.Path}}{{end}}{{end}}",
    ]));
    PathBuf::from(text(&out))
}

/// The stand-in Pi image, built once per recipe and reused.
fn pi_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        need(compose_available(), "Docker Engine with Compose v2");
        let compose = text(&run(
            Command::new("docker").args(["compose", "version", "--short"])
        ));
        let key = lucid_gen::docker::standin::fnv(&[
            PACKAGES.as_bytes(),
            SUITE.as_bytes(),
            host_platform().as_bytes(),
            IMAGE_VERSION.as_bytes(),
            compose.as_bytes(),
            START.as_bytes(),
        ]);
        let tag = format!("lucid-gen-standin-pi:{key}");
        if run(Command::new("docker").args(["image", "inspect", &tag]))
            .status
            .success()
        {
            return tag;
        }
        build_pi_image(&tag);
        tag
    })
}

/// The swarm node image: the stand-in Pi with this machine's `docker` CLI
/// first on PATH (Debian's 20.10 CLI reads stack files only up to compose
/// file version 3.9; the stack files are 3.13), built once per CLI.
pub fn swarm_node_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let base = pi_image();
        let cli = (std::env::split_paths(&std::env::var_os("PATH").unwrap()))
            .map(|d| d.join("docker"))
            .find(|p| p.is_file())
            .expect("docker on PATH");
        let version = text(&run(Command::new("docker").args([
            "version",
            "--format",
            "{{.Client.Version}}",
        ])));
        let key = lucid_gen::docker::standin::fnv(&[base.as_bytes(), version.as_bytes()]);
        let tag = format!("lucid-gen-standin-node:{key}");
        if run(Command::new("docker").args(["image", "inspect", &tag]))
            .status
            .success()
        {
            return tag;
        }
        let dir = tempfile::tempdir().unwrap();
        fs::copy(&cli, dir.path().join("docker")).unwrap();
        fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {base}\nCOPY docker /usr/local/bin/docker\n"),
        )
        .unwrap();
        let out = run(Command::new("docker")
            .args(["build", "-q", "-t", &tag])
            .arg(dir.path()));
        assert!(
            out.status.success(),
            "building {tag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tag
    })
}

fn build_pi_image(tag: &str) {
    need(
        Command::new("mmdebstrap")
            .arg("--version")
            .output_bounded()
            .is_ok_and(|o| o.status.success()),
        "mmdebstrap (as root: bash .ci/install-docker.sh)",
    );
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("pi-start");
    fs::write(&start, START).unwrap();
    let tar = dir.path().join("rootfs.tar");
    let plugin = compose_plugin();
    assert!(
        plugin.is_file(),
        "no Compose plugin at {}",
        plugin.display()
    );
    let started = Instant::now();
    let out = run(Command::new("mmdebstrap")
        .args(["--quiet", "--variant=essential"])
        .arg(format!("--include={PACKAGES}"))
        .arg(format!(
            "--customize-hook=mkdir -p \"$1/usr/libexec/docker/cli-plugins\" && cp '{}' \"$1/usr/libexec/docker/cli-plugins/docker-compose\"",
            plugin.display()
        ))
        .arg(format!("--customize-hook=install -m 755 '{}' \"$1/usr/local/sbin/pi-start\"", start.display()))
        // Host keys are made per run, never baked into the image.
        .arg(r#"--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*"#)
        .arg(r#"--customize-hook=chroot "$1" useradd -m -s /bin/sh -G docker deploy"#)
        .arg(SUITE)
        .arg(&tar));
    assert!(
        out.status.success(),
        "mmdebstrap failed (it needs the Debian mirror):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Command::new("docker")
        .args(["import", "--platform", host_platform()])
        .args(["--change", "CMD [\"/usr/local/sbin/pi-start\"]"])
        .arg(&tar)
        .arg(tag));
    assert!(
        out.status.success(),
        "docker import failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "pi: built {tag} from Debian packages in {:.0?}",
        started.elapsed()
    );
}

/// A running stand-in Pi, its keys and the test's ssh-agent; all removed
/// when dropped.
pub struct Pi {
    pub name: String,
    pub port: u16,
    pub keys: tempfile::TempDir,
    agent: Child,
    /// `ED25519 SHA256:…` of its host key.
    pub fingerprint: String,
}

impl Drop for Pi {
    fn drop(&mut self) {
        let _ = run(Command::new("docker").args(["rm", "-f", "-v", &self.name]));
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}

fn keygen(path: &Path, comment: &str) {
    let out = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path));
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pi {
    pub fn start() -> Pi {
        Pi::start_as(pi_image(), "standin-pi", None)
    }

    /// A node of `image` with `hostname`, on the test's `network` as well
    /// when given.
    pub fn start_as(image: &str, hostname: &str, network: Option<&str>) -> Pi {
        let keys = tempfile::tempdir().unwrap();
        let mounted = keys.path().join("pi");
        fs::create_dir(&mounted).unwrap();
        keygen(&mounted.join("ssh_host_ed25519_key"), "standin-pi");
        keygen(&keys.path().join("id"), "lucid-gen-test");
        fs::copy(keys.path().join("id.pub"), mounted.join("authorized_keys")).unwrap();
        let sock = keys.path().join("agent.sock");
        let agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent");
        wait_for(Duration::from_secs(10), || match sock.exists() {
            true => Ok(()),
            false => Err("no agent socket".to_string()),
        })
        .unwrap();
        let added = run(Command::new("ssh-add")
            .env("SSH_AUTH_SOCK", &sock)
            .arg(keys.path().join("id")));
        assert!(
            added.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        let name = unique_name("lucid-gen-pi");
        let out = run(Command::new("docker")
            .args(["run", "-d", "--name", &name, "--hostname", hostname])
            .args(network.map(|n| format!("--network={n}")))
            .args(["--cap-add=ALL", "--cap-drop=SYS_RESOURCE"])
            .args([
                "--security-opt",
                "seccomp=unconfined",
                "--security-opt",
                "apparmor=unconfined",
            ])
            .args(["--security-opt", "systempaths=unconfined"])
            .args(["--tmpfs", "/run", "--tmpfs", "/var/lib/docker:exec"])
            .args(["-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"])
            .arg("-v")
            .arg(format!("{}:/keys:ro", mounted.display()))
            .args(["-p", "127.0.0.1::22", image]));
        let fingerprint = lucid_gen::docker::ssh::fingerprint(&format!(
            "x {}",
            fs::read_to_string(mounted.join("ssh_host_ed25519_key.pub")).unwrap()
        ))
        .unwrap();
        let mut pi = Pi {
            name,
            port: 0,
            keys,
            agent,
            fingerprint,
        };
        assert!(
            out.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = text(&run(
            Command::new("docker").args(["port", &pi.name, "22/tcp"])
        ));
        pi.port = port.rsplit(':').next().unwrap().parse().unwrap();
        let started = Instant::now();
        wait_for(Duration::from_secs(120), || {
            let scan = run(Command::new("ssh-keyscan").args([
                "-T",
                "2",
                "-p",
                &pi.port.to_string(),
                "127.0.0.1",
            ]));
            match text(&scan).contains("ssh-ed25519") {
                true => Ok(()),
                false => Err(format!("sshd does not answer; logs:\n{}", pi.logs())),
            }
        })
        .unwrap();
        eprintln!(
            "pi: {} answers on 127.0.0.1:{} after {:.1?}",
            pi.name,
            pi.port,
            started.elapsed()
        );
        pi.write_known_hosts(true);
        pi
    }

    pub fn logs(&self) -> String {
        let out = run(Command::new("docker").args(["logs", "--tail", "30", &self.name]));
        format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr))
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.keys.path().join("known_hosts")
    }

    /// The known_hosts file the model names: the Pi's real key, or another.
    pub fn write_known_hosts(&self, real: bool) {
        let key = match real {
            true => self.keys.path().join("pi/ssh_host_ed25519_key.pub"),
            false => self.keys.path().join("id.pub"),
        };
        let key = fs::read_to_string(key).unwrap();
        fs::write(
            self.known_hosts(),
            format!("[127.0.0.1]:{} {key}", self.port),
        )
        .unwrap();
    }

    /// `sh -c SCRIPT` in the Pi as root: stdout, or a failed test.
    pub fn sh(&self, script: &str) -> String {
        let out = run(Command::new("docker").args(["exec", &self.name, "sh", "-c", script]));
        assert!(
            out.status.success(),
            "{script}: {}{}",
            text(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        text(&out)
    }

    /// Every container on the Pi's engine: `id state`, the state one of
    /// healthy, unhealthy, starting, up or exited, sorted.
    pub fn containers(&self) -> Vec<String> {
        let out = self.sh("docker ps -a --no-trunc --format '{{.ID}} {{.Status}}'");
        let mut lines: Vec<String> = (out.lines())
            .map(|l| {
                let (id, status) = l.split_once(' ').unwrap_or((l, ""));
                let state = if status.contains("unhealthy") {
                    "unhealthy"
                } else if status.contains("starting") {
                    "starting"
                } else if status.contains("healthy") {
                    "healthy"
                } else if status.starts_with("Up") {
                    "up"
                } else {
                    "exited"
                };
                format!("{id} {state}")
            })
            .collect();
        lines.sort();
        lines
    }

    /// The release `current` names.
    pub fn current(&self) -> String {
        self.sh("readlink /srv/lucid/current || echo none")
    }
}
