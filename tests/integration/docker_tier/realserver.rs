//! Real server programs in the tests: Redis and Tor from Debian packages,
//! run with lucid-gen's generated configuration and secrets.
//!
//! The model's images cannot be pulled here, but the programs can be had:
//! [`debian_image`] is `crate::docker_tier::bases::server`, one local image made from
//! Debian's packages (about a minute, once, then reused while present). The assertions run from
//! inside the containers (`docker exec`); secrets travel on stdin, never on a
//! command line, and are never printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lucid_gen::docker::checks::secrets::{self as secret_check, container_rows, Expected};
use lucid_gen::docker::target::Target;
use lucid_gen::render::hashed_password::tor_hashed_password;

use crate::common::{docker_stack, unique_name, OutputBounded, Project};

fn host_platform() -> String {
    crate::docker_tier::bases::Arch::host().platform()
}

/// `cmd`'s output, stdin null, bounded by the suite's command limit
/// ([`crate::common::OutputBounded`]).
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.output_bounded()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// The Debian image holding the servers (`redis-server`, `redis-cli`,
/// `tor`, …): [`crate::docker_tier::bases::server`], made once and reused.
pub fn debian_image() -> &'static str {
    crate::docker_tier::bases::server()
}

/// A container removed (with its anonymous volumes) when dropped.
pub(crate) struct Container(pub(crate) String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = run(Command::new("docker").args(["rm", "-f", "-v", &self.0]));
    }
}

/// `docker exec -i CONTAINER ARGS...` with `stdin` fed to the process;
/// returns (exit code, stdout).
pub(crate) fn exec_stdin(container: &str, stdin: &[u8], args: &[&str]) -> (i32, String) {
    let out = crate::common::output_bounded_with_stdin(
        Command::new("docker")
            .args(["exec", "-i", container])
            .args(args),
        stdin,
    )
    .expect("run docker exec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Tor's control port: sends `AUTHENTICATE` (with `password` in quotes,
/// or none) and returns Tor's status code for it (250 accepted, 515
/// refused). The password goes over stdin, never on a command line.
pub fn tor_authenticate(container: &str, port: u16, password: Option<&str>) -> Result<u16, String> {
    let line = match password {
        Some(p) => format!("AUTHENTICATE \"{p}\"\r\nQUIT\r\n"),
        None => "AUTHENTICATE\r\nQUIT\r\n".to_string(),
    };
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} || exit 3; cat >&3; cat <&3");
    let (code, out) = exec_stdin(container, line.as_bytes(), &["bash", "-c", &script]);
    let first = out.lines().next().unwrap_or_default();
    first
        .get(..3)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no control-port reply from {container} (exit {code}): {first:?}"))
}

/// Waits until `probe` is `Ok`, at most `limit`; returns its last result.
pub(crate) fn wait_for<T>(
    limit: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() > limit => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// Tor itself accepts what `tor_hashed_password` renders: the right
/// password authenticates (250), none and a wrong one are refused (515).
#[test]
fn real_tor_accepts_our_hashed_control_password() {
    let image = debian_image();
    let password = lucid_gen::docker::standin::fnv(&[unique_name("pw").as_bytes()]);
    let dir = tempfile::tempdir().unwrap();
    let torrc = dir.path().join("torrc");
    fs::write(
        &torrc,
        format!(
            "ControlPort 127.0.0.1:9051\nHashedControlPassword {}\nSocksPort 0\n\
             DisableNetwork 1\nDataDirectory /tmp/tor\n",
            tor_hashed_password(password.as_bytes(), *b"saltsalt")
        ),
    )
    .unwrap();
    set_mode(&torrc, 0o644);
    let name = unique_name("lucid-gen-realtor");
    let container = start(
        &name,
        image,
        &torrc,
        "/etc/tor/torrc",
        &["/usr/bin/tor", "-f", "/etc/tor/torrc"],
    );
    let right = wait_for(Duration::from_secs(30), || {
        tor_authenticate(&container.0, 9051, Some(&password))
    });
    assert_eq!(right, Ok(250), "the right password");
    assert_eq!(
        tor_authenticate(&container.0, 9051, None),
        Ok(515),
        "no password"
    );
    assert_eq!(
        tor_authenticate(&container.0, 9051, Some("wrong")),
        Ok(515),
        "a wrong password"
    );
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Starts `image` hardened as lucid-gen's services are (read-only root,
/// tmpfs `/tmp`, no capabilities, non-root, no network) with `file`
/// mounted read-only at `target`.
pub(crate) fn start(
    name: &str,
    image: &str,
    file: &Path,
    target: &str,
    command: &[&str],
) -> Container {
    let _ = run(Command::new("docker").args(["rm", "-f", name]));
    let out = run(Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--read-only",
        ])
        .args([
            "--tmpfs",
            "/tmp",
            "--cap-drop",
            "ALL",
            "--user",
            "65532:65532",
        ])
        .args(["--security-opt", "no-new-privileges:true", "-v"])
        .arg(format!("{}:{target}:ro", file.display()))
        .arg(image)
        .args(command));
    assert!(
        out.status.success(),
        "docker run {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Container(name.to_string())
}

/// What Redis answers from inside `container`: without credentials a
/// command must be refused (NOAUTH), with `password` (sent over stdin as
/// `AUTH`) it must be served. `Err` says which of the two failed.
pub fn redis_requires_password(container: &str, password: &str) -> Result<(), String> {
    let (_, anonymous) = exec_stdin(container, b"PING\n", &["redis-cli"]);
    if !anonymous.contains("NOAUTH") {
        return Err(format!(
            "an unauthenticated PING was not refused with NOAUTH: {:?}",
            anonymous.trim()
        ));
    }
    let auth = format!("AUTH {password}\nPING\n");
    let (_, authed) = exec_stdin(container, auth.as_bytes(), &["redis-cli"]);
    // Redis's reply to AUTH never echoes the password; checked anyway.
    let shown = authed.replace(password, "<password>");
    if authed.lines().map(str::trim).collect::<Vec<_>>() != ["OK", "PONG"] {
        return Err(format!(
            "the generated password was not accepted: {:?}",
            shown.trim()
        ));
    }
    Ok(())
}

/// The check above against a real Redis whose config has the password,
/// and against one whose config lost `requirepass`: the check must fail.
#[test]
fn redis_check_fails_when_requirepass_is_missing() {
    let image = debian_image();
    let password = lucid_gen::docker::standin::fnv(&[unique_name("pw").as_bytes()]);
    for (conf, should_pass) in [
        (
            format!("port 6379\nprotected-mode yes\nrequirepass {password}\n"),
            true,
        ),
        ("port 6379\nprotected-mode yes\n".to_string(), false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("redis.conf");
        fs::write(&file, conf).unwrap();
        set_mode(&file, 0o644);
        let name = unique_name("lucid-gen-realredis");
        let c = start(
            &name,
            image,
            &file,
            "/etc/redis/redis.conf",
            &["/usr/bin/redis-server", "/etc/redis/redis.conf"],
        );
        redis_answers(&c.0);
        let result = redis_requires_password(&c.0, &password);
        assert_eq!(result.is_ok(), should_pass, "{result:?}");
    }
}

/// A container of `image` that sleeps as uid 65532 with no capabilities
/// and no network, `env` as its env file and each (host file, target)
/// bind-mounted read-only.
fn sleeper(image: &str, env: &Path, mounts: &[(PathBuf, &str)]) -> Container {
    let name = unique_name("lucid-gen-realsecrets");
    let mut cmd = Command::new("docker");
    cmd.args(["run", "-d", "--name", &name, "--network", "none"])
        .args(["--user", "65532:65532", "--cap-drop", "ALL", "--env-file"])
        .arg(env);
    for (file, target) in mounts {
        cmd.arg("-v").arg(format!("{}:{target}:ro", file.display()));
    }
    let out = run(cmd.args([image, "/usr/bin/sleep", "infinity"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Container(name)
}

/// `lucid-gen test`'s secret check on a real container, running and then
/// stopped: a value in the environment, or in a file under `/run/secrets`
/// or a config file that the container's user may read, counts as
/// readable; an undeclared one fails the row by name, and so does a
/// declared one only root could read; config files are judged by
/// presence, kind and mode for the container's user.
#[test]
fn secret_check_finds_secrets_in_env_and_files_and_judges_config_modes() {
    let image = debian_image();
    let dir = tempfile::tempdir().unwrap();
    let value = |n: &str| lucid_gen::docker::standin::fnv(&[unique_name(n).as_bytes()]);
    let (a, b, c, d, e) = (value("a"), value("b"), value("c"), value("d"), value("e"));
    let put = |name: &str, text: &str, mode: u32| {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        set_mode(&path, mode);
        path
    };
    let env = put("env", &format!("A={a}\n"), 0o600);
    let mounts = [
        (put("B", &b, 0o444), "/run/secrets/B"),
        (put("E", &e, 0o400), "/run/secrets/E"),
        // D only in a file the user may not read: not readable, not counted.
        (
            put("app.conf", &format!("key {d}\n"), 0o600),
            "/etc/app/app.conf",
        ),
        (
            put("ok.conf", &format!("key {c}\n"), 0o644),
            "/etc/app/ok.conf",
        ),
    ];
    let container = sleeper(image, &env, &mounts);
    let values = [
        ("A", a.as_str()),
        ("B", &b),
        ("C", &c),
        ("D", &d),
        ("E", &e),
    ];
    let mut want = Expected {
        secrets: ["A", "B", "E"].map(String::from).into(),
        config_files: [
            "/etc/app/app.conf",
            "/etc/app/ok.conf",
            "/etc/app/none.conf",
        ]
        .map(String::from)
        .into(),
        secret_files: Vec::new(),
        embedded: Default::default(),
    };
    for state in ["running", "stopped"] {
        let rows = container_rows(&Target::LOCAL, "svc", &want, &container.0, values).unwrap();
        let shown: Vec<(&str, &str, bool, &str)> = rows
            .iter()
            .map(|r| (r.kind, r.target.as_str(), r.ok, r.detail.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "secrets",
                    "3 declared",
                    false,
                    // E is there, but only root may read it.
                    "not declared but readable: C; declared but not readable: E"
                ),
                (
                    "config-file",
                    "/etc/app/app.conf",
                    false,
                    "mode 0600 owner 0:0, unreadable for uid 65532"
                ),
                ("config-file", "/etc/app/ok.conf", true, ""),
                ("config-file", "/etc/app/none.conf", false, "absent"),
            ],
            "{state}"
        );
        run(Command::new("docker").args(["stop", "-t", "0", &container.0]));
    }
    want.secrets.insert("C".into());
    want.secrets.remove("E");
    let rows = container_rows(&Target::LOCAL, "svc", &want, &container.0, values).unwrap();
    assert!(rows[0].ok, "{:?}", rows[0]);
}

/// A model's phase brought up with `docker compose`, the generated compose
/// file plus an override that swaps only the images (for [`debian_image`]);
/// taken down with its volumes when dropped.
struct Stack {
    /// What `lucid-gen test --project` takes; the compose project is
    /// `<prefix>-<phase>`, as `lucid-gen up --project` names it.
    prefix: String,
    project: String,
    files: Vec<PathBuf>,
}

impl Stack {
    fn compose(&self) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-p", &self.project]);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        cmd
    }

    /// The container id of `service`.
    fn container(&self, service: &str) -> String {
        let out = run(self.compose().args(["ps", "-a", "-q", service]));
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!id.is_empty(), "no container for {service}");
        id
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Every profile on: a job run after its phase is up (profile
        // `after-up`) that the test started goes too.
        let _ = run(self
            .compose()
            .args(["--profile", "*", "down", "--volumes", "--timeout", "1"]));
    }
}

/// Brings up `services` (all of one phase) of project `p`, already
/// generated, from the phase's compose file with every image swapped for
/// the Debian one of the host's platform; `extra` is added to each service
/// in the override (a test that must keep a server off every network says
/// so there), `top` after the services (renamed volumes).
fn up_with_debian_images(p: &Project, services: &[&str], extra: &str, top: &str) -> Stack {
    let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
    let system = lucid_gen::validate::validate(loaded).unwrap().system;
    let plan = lucid_gen::compose_files::phases_and_master(&system)
        .into_iter()
        .filter(|plan| plan.phase.is_some())
        .find(|plan| {
            services
                .iter()
                .all(|s| plan.services.iter().any(|&i| system.services[i].name == *s))
        })
        .expect("one phase holds all the services");
    let compose = p
        .path("generated")
        .join(&system.output.compose_dir)
        .join(&plan.file_name);
    let configured = compose_config(&compose);
    let mut text = String::from("services:\n");
    for s in services {
        text.push_str(&format!(
            "  {s}:\n    image: {}\n    platform: {}\n    pull_policy: never\n{extra}",
            debian_image(),
            host_platform()
        ));
        // The host hardware the model passes (Lucid's xrdp gets the Pi's
        // /dev/dri) is not on this machine, and the probe does not use it.
        if system.service(s).is_some_and(|s| !s.devices.is_empty()) {
            text.push_str("    devices: !reset []\n");
        }
        // The generated image's ENTRYPOINT (its Dockerfile) is not in the
        // compose file: the same program and arguments, said here.
        let build = system
            .service(s)
            .and_then(|s| s.build.as_ref())
            .filter(|_| !extra.contains("entrypoint:"));
        if let Some(b) = build.filter(|_| configured["services"][s]["entrypoint"].is_null()) {
            let json = serde_json::to_string(&b.entrypoint).unwrap();
            text.push_str(&format!("    entrypoint: {json}\n"));
        }
    }
    text.push_str(top);
    let over = p.path("override.yml");
    fs::write(&over, text).unwrap();
    let prefix = unique_name("lucid-gen-realrun");
    let phase = &system.phases[plan.phase.unwrap()].name;
    let stack = Stack {
        project: format!("{prefix}-{phase}"),
        prefix,
        files: vec![compose, over],
    };
    let out = run(stack
        .compose()
        .args(["up", "-d", "--no-build", "--no-deps"])
        .args(services));
    assert!(
        out.status.success(),
        "compose up failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stack
}

/// `docker compose config --format json` of one compose file.
fn compose_config(file: &Path) -> serde_json::Value {
    let out = run(Command::new("docker")
        .args(["compose", "-f"])
        .arg(file)
        .args(["config", "--format", "json"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The secret store `lucid-gen all` wrote: name → value (never printed).
fn store(p: &Project) -> BTreeMap<String, String> {
    p.read(".lucid-gen/secrets.env")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The rendered file of `service` mounted at `target`, found in the
/// compose file's bind mounts (`docker inspect`'s `Mounts`).
fn host_file_of(container: &str, target: &str) -> PathBuf {
    let out = run(Command::new("docker").args(["inspect", container]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mounts = v[0]["Mounts"].as_array().cloned().unwrap_or_default();
    let m = mounts
        .iter()
        .find(|m| m["Destination"] == target)
        .unwrap_or_else(|| panic!("{target} is not mounted in {container}"));
    PathBuf::from(m["Source"].as_str().unwrap())
}

/// For each service: the model says it receives exactly `names` (what a
/// reader of the model expects), and `lucid-gen test`'s rows for its
/// container pass: readable secrets = those, every config file readable.
fn assert_secrets_readable(
    p: &Project,
    stack: &Stack,
    store: &BTreeMap<String, String>,
    expected: &[(&str, &[&str])],
) {
    let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
    let system = lucid_gen::validate::validate(loaded).unwrap().system;
    let values: Vec<(&str, &str)> = store
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (service, names) in expected {
        let want = secret_check::expected(&system, system.service(service).unwrap());
        let names: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
        assert_eq!(want.secrets, names, "{service} receives");
        let id = stack.container(service);
        let rows = container_rows(&Target::LOCAL, service, &want, &id, values.clone()).unwrap();
        assert_eq!(rows.len(), 1 + want.config_files.len());
        for row in rows {
            assert!(row.ok, "{service}: {row:?}");
        }
    }
}

/// `lucid-gen test` itself on the stack: every row passes on real
/// servers, with a secrets row per container and a config-file row per
/// file, and no secret value in the table.
fn lucid_gen_test_passes(p: &Project, stack: &Stack, store: &BTreeMap<String, String>) {
    let out = p
        .run()
        .args(&["test", "--project", &stack.prefix])
        .stdout_has(" 0 failed")
        .run();
    let table = crate::common::stdout(&out);
    for s in ["cache", "tor", "client"] {
        let row = table
            .lines()
            .any(|l| l.starts_with("secrets") && l.contains(s));
        assert!(row, "no secrets row for {s}:\n{table}");
    }
    for target in ["/etc/redis/redis.conf", "/etc/tor/torrc"] {
        assert!(table.contains(target), "no config-file row for {target}");
    }
    for value in store.values() {
        assert!(
            !table.contains(value.as_str()),
            "a secret value in the report"
        );
    }
}

/// Waits until Redis in `container` answers a PING (PONG or NOAUTH).
pub(crate) fn redis_answers(container: &str) {
    let answered = wait_for(Duration::from_secs(30), || {
        let (_, out) = exec_stdin(container, b"PING\n", &["redis-cli"]);
        if out.contains("PONG") || out.contains("NOAUTH") {
            Ok(())
        } else {
            Err(out)
        }
    });
    assert_eq!(answered, Ok(()), "Redis in {container} answers");
}

/// Drops `requirepass` from the rendered redis.conf mounted in
/// `container` and restarts it.
fn remove_requirepass(container: &str) {
    let conf = host_file_of(container, "/etc/redis/redis.conf");
    let text = fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("requirepass "),
        "the rendered redis.conf sets requirepass"
    );
    let broken: String = text
        .lines()
        .filter(|l| !l.starts_with("requirepass"))
        .map(|l| format!("{l}\n"))
        .collect();
    set_mode(&conf, 0o644);
    fs::write(&conf, broken).unwrap();
    let restarted = run(Command::new("docker").args(["restart", "-t", "1", container]));
    assert!(restarted.status.success());
    redis_answers(container);
}

/// The fixture `realrun` through real Redis and Tor: the generated
/// redis.conf makes Redis refuse anonymous commands and accept the
/// generated password; the generated torrc makes Tor accept exactly the
/// generated control password; each container reads only what it
/// declares; a redis.conf without `requirepass` fails the check.
#[test]
fn fixture_redis_and_tor_accept_exactly_the_generated_credentials() {
    let _stack = docker_stack();
    let p = Project::fixture("realrun");
    p.run().args(&["all"]).run();
    let store = store(&p);
    let stack = up_with_debian_images(&p, &["cache", "tor", "client"], "", "");
    let cache = stack.container("cache");
    wait_for(Duration::from_secs(30), || {
        redis_requires_password(&cache, &store["REDIS_PASSWORD"])
    })
    .expect("Redis with the generated config");
    tor_takes_only(&stack.container("tor"), &store["TOR_PASSWORD"]);
    assert_secrets_readable(
        &p,
        &stack,
        &store,
        &[
            ("cache", &["REDIS_PASSWORD"]),
            ("tor", &[]),
            ("client", &["API_KEY", "TOR_PASSWORD"]),
        ],
    );
    lucid_gen_test_passes(&p, &stack, &store);
    // Break the rendered config: the same check must now fail.
    remove_requirepass(&cache);
    assert!(redis_requires_password(&cache, &store["REDIS_PASSWORD"]).is_err());
}

/// Tor's control port (9051) in `tor` accepts `password` (250) and refuses
/// none or a wrong one (515).
fn tor_takes_only(tor: &str, password: &str) {
    let right = wait_for(Duration::from_secs(30), || {
        tor_authenticate(tor, 9051, Some(password))
    });
    assert_eq!(right, Ok(250), "the generated Tor password");
    assert_eq!(tor_authenticate(tor, 9051, None), Ok(515));
    assert_eq!(tor_authenticate(tor, 9051, Some("wrong")), Ok(515));
}

/// Lucid's own Redis and Tor, as the repository's model generates them,
/// through real Redis and Tor. The override swaps the images and, so that
/// no subnet, host port or network name is shared with another stack on
/// this engine and Tor cannot reach out, takes both off every network
/// (`network_mode: none`); the checks run inside the containers.
#[test]
fn lucid_redis_and_tor_accept_exactly_the_generated_credentials() {
    // Compose may still create the model's (fixed-name) networks.
    let _stack = docker_stack();
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let store = store(&p);
    let offline = "    network_mode: none\n    networks: !reset []\n    ports: !reset []\n";
    // Redis's volume under this run's own name, not the model's.
    let volume = format!(
        "volumes:\n  redis-data:\n    name: {}\n",
        unique_name("lucid-gen-realrun-redis")
    );
    let stack = up_with_debian_images(&p, &["lucid-redis", "lucid-tor-proxy"], offline, &volume);
    let redis = stack.container("lucid-redis");
    let checked = wait_for(Duration::from_secs(30), || {
        redis_requires_password(&redis, &store["REDIS_PASSWORD"])
    });
    assert_eq!(checked, Ok(()), "Lucid's Redis with its generated config");
    // The model's health check, run as Docker runs it, gets PONG without
    // any secret.
    let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
    let system = lucid_gen::validate::validate(loaded).unwrap().system;
    let health = system.service("lucid-redis").unwrap().health.clone();
    let Some(lucid_gen::system::Probe::Exec(argv)) = health.map(|h| h.probe) else {
        panic!("lucid-redis has an exec health check");
    };
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (code, out) = exec_stdin(&redis, b"", &argv);
    assert_eq!((code, out.trim()), (0, "PONG"), "{argv:?}");
    tor_takes_only(&stack.container("lucid-tor-proxy"), &store["TOR_PASSWORD"]);
    assert_secrets_readable(
        &p,
        &stack,
        &store,
        &[
            ("lucid-redis", &["REDIS_PASSWORD"]),
            ("lucid-tor-proxy", &[]),
        ],
    );
}

/// Every container of Lucid's generated system reads exactly the secrets
/// its service receives, and every config file is there for its user: each
/// service of each phase runs from the Debian image as a sleeper (the
/// entrypoint and command replaced, off every network, no health check, no
/// ports, dependencies or volumes), keeping its generated user, env files,
/// secrets and config files, which is what the check looks at.
#[test]
fn lucid_every_container_reads_exactly_the_secrets_it_receives() {
    // Compose may still create the model's (fixed-name) networks.
    let _stack = docker_stack();
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let store = store(&p);
    let values: Vec<(&str, &str)> = store
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
    let system = lucid_gen::validate::validate(loaded).unwrap().system;
    let sleeper = "    entrypoint: [/usr/bin/sleep, infinity]\n    command: !reset []\n\
        \x20   network_mode: none\n    networks: !reset []\n    ports: !reset []\n\
        \x20   expose: !reset []\n    depends_on: !reset {}\n    volumes: !reset []\n\
        \x20   healthcheck: { disable: true }\n    restart: \"no\"\n";
    let mut failed = Vec::new();
    let mut checked = 0;
    for plan in lucid_gen::compose_files::phases_and_master(&system) {
        if plan.phase.is_none() {
            continue;
        }
        let names: Vec<&str> = plan
            .services
            .iter()
            .map(|&i| system.services[i].name.as_str())
            .collect();
        let stack = up_with_debian_images(&p, &names, sleeper, "");
        for s in names {
            let want = secret_check::expected(&system, system.service(s).unwrap());
            let rows = container_rows(
                &Target::LOCAL,
                s,
                &want,
                &stack.container(s),
                values.clone(),
            )
            .unwrap();
            checked += 1;
            failed.extend(rows.into_iter().filter(|r| !r.ok));
        }
    }
    assert_eq!(checked, system.services.len());
    assert!(failed.is_empty(), "{failed:#?}");
}
