//! Really built, really run: every generated Dockerfile of the three
//! systems (Lucid, noderr, ConsensusNet) built with Docker against the
//! local equivalents of their upstream images (`bases.rs`), with a small
//! application per stack written here at the build context the model
//! names; then every phase brought up from its generated compose file,
//! each service judged by its own generated health check (`docker compose
//! up --wait`).
//!
//! What runs, per service: the image built from its generated Dockerfile
//! (with the test application); or, for a published image or a build
//! whose upstream image cannot be had here, the real program from
//! Debian's packages ([`REAL`]: the generated definition with only
//! `image:` swapped, and the upstream image's entrypoint and user said
//! again where Debian's paths differ); or, where no package has the
//! program (MongoDB, Elasticsearch, Consul, Grafana), lucid-gen's own
//! stand-in. The override also sets each health check's `interval` to 2s
//! (the model's 30s would make every dependency wait half a minute); the
//! check's command, timeout, retries and start period stay the generated
//! ones. The tests print what was built, what could not be and why, and
//! which program each service ran.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lucid_gen::system::{Probe, Stack, System};

use crate::common::{docker_stack, repo_root, unique_name, Project};
use crate::docker_tier::bases::{self, put, Arch, Upstreams};
use crate::docker_tier::realserver::run;

/// The three systems of this repository.
#[derive(Clone, Copy)]
enum Sys {
    Lucid,
    Noderr,
    ConsensusNet,
}

impl Sys {
    fn model(self) -> PathBuf {
        match self {
            Sys::Lucid => repo_root().join("model"),
            Sys::Noderr => repo_root().join("examples/noderr/model"),
            Sys::ConsensusNet => repo_root().join("examples/consensusnet/model"),
        }
    }
}

/// The services run from Debian's packages instead of an image that
/// cannot be had here, and where the upstream image's program or user is
/// not where Debian has it, what the override says instead: (system,
/// service, entrypoint, command, user). An empty entrypoint keeps the
/// generated one (or the Dockerfile's `ENTRYPOINT`, said again, since a
/// compose file does not hold it); `None` user keeps the generated one.
/// The README's "Really built, really run" table shows the same.
type RealProgram = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Option<&'static str>,
);

const REAL: [RealProgram; 8] = [
    // redis:7.2-bookworm's /usr/local/bin/redis-server: a link to Debian's.
    ("lucid", "lucid-redis", &[], &[], None),
    // btcpayserver/tor's /usr/bin/tor → /usr/local/bin/tor: a link to Debian's.
    ("lucid", "lucid-tor-proxy", &[], &[], None),
    // Ubuntu's /usr/sbin/xrdp is Debian's path too.
    ("lucid", "lucid-xrdp-integration", &[], &[], None),
    // prom/prometheus's /bin/prometheus, copied to /usr/local/bin: Debian's
    // is /usr/bin/prometheus. The server image's /prometheus is `nobody`'s
    // (the generated image makes it 65532's).
    (
        "lucid",
        "lucid-prometheus",
        &[
            "/usr/bin/prometheus",
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=15d",
        ],
        &[],
        Some("65534:65534"),
    ),
    // redis:7.2-alpine and nginx:1.27-alpine: the model's entrypoints
    // find Debian's redis-server and nginx on PATH.
    ("consensusnet", "redis", &[], &[], None),
    ("consensusnet", "nginx", &[], &[], None),
    // prom/prometheus runs /bin/prometheus with these flags as `nobody`.
    (
        "noderr",
        "prometheus",
        &["/usr/bin/prometheus"],
        &[
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
        ],
        Some("65534:65534"),
    ),
    // prom/node-exporter runs /bin/node_exporter as `nobody`.
    (
        "noderr",
        "node-exporter",
        &["/usr/bin/prometheus-node-exporter"],
        &[],
        Some("65534:65534"),
    ),
];

/// Services whose generated health check cannot pass here whatever the
/// program does, and what the test checks instead.
const OFFLINE: [(&str, &str); 1] = [(
    "lucid-tor-proxy",
    "its health check resolves a name over the Tor network, which cannot be reached here: `tor_accepts_socks_from_its_own_health_check` checks tor's verdict on the health check's SOCKS connection instead",
)];

// ------------------------------------------------------------ projects

/// A test value for every variable the operator sets: operator-supplied
/// secrets, external services' addresses, `required_env`.
fn operator_env(system: &System) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for s in &system.secrets {
        if let Some(lucid_gen::system::Supplied::Env(var)) = &s.supplied {
            env.push((var.clone(), format!("test-{}", var.to_lowercase())));
        }
    }
    for e in &system.externals {
        env.push((e.host_env.clone(), format!("{}.invalid", e.name)));
        if let lucid_gen::system::ExternalPort::Env(var) = &e.port {
            env.push((var.clone(), "5432".into()));
        }
    }
    for tag in &system.extra_tags {
        for var in tag.vars() {
            env.push((var.to_string(), "realrun".into()));
        }
    }
    for s in &system.services {
        // Compose reads each from the variable the model names (`from`).
        for name in s.required_env.iter().map(|r| &r.from) {
            env.push((
                name.clone(),
                format!("test-{}-{}", name.to_lowercase(), s.name),
            ));
        }
    }
    env.sort();
    env.dedup_by(|a, b| a.0 == b.0);
    env
}

fn load(model: &Path) -> System {
    let loaded = lucid_gen::model::load_dir(model).unwrap();
    lucid_gen::validate::validate(loaded).unwrap().system
}

/// A scratch copy of the system's model, generated with `all`.
struct Scratch {
    p: Project,
    system: System,
    env: Vec<(String, String)>,
    /// The system's own source tree in this repository (the model's
    /// parent: ConsensusNet's `requirements.txt`), which the test
    /// applications take such files from.
    sources: PathBuf,
}

fn scratch(sys: Sys) -> Scratch {
    let p = Project::from_model(&sys.model());
    let system = load(&p.path("model"));
    // The operator's files: ConsensusNet's TLS certificate and key.
    if system
        .secrets
        .iter()
        .any(|s| matches!(s.supplied, Some(lucid_gen::system::Supplied::File(_))))
    {
        crate::common::operator_tls(p.dir.path());
    }
    let env = operator_env(&system);
    let mut all = p.run().args(&["all"]);
    for (k, v) in &env {
        all = all.env(k, v);
    }
    all.run();
    let sources = sys.model().parent().unwrap().to_path_buf();
    Scratch {
        p,
        system,
        env,
        sources,
    }
}

// ------------------------------------------------- test applications

/// Python distribution names as Python spells them for comparison.
fn dist_key(name: &str) -> String {
    name.to_lowercase().replace(['_', '.'], "-")
}

/// The requirements a pip requirements file lists (comments, options and
/// `--hash` lines left out).
fn requirements_in(text: &str) -> Vec<String> {
    (text.lines())
        .map(|l| {
            l.split('#')
                .next()
                .unwrap()
                .trim()
                .trim_end_matches('\\')
                .trim()
        })
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .map(str::to_string)
        .collect()
}

/// The packages a Python build's image holds: its base's, its
/// requirements file's (as written under `src`) and its own.
fn python_packages(system: &System, b: &lucid_gen::system::Build, src: &Path) -> Vec<String> {
    let mut all: Vec<String> = b
        .runtime_base
        .map(|i| system.images[i].build.packages.clone())
        .unwrap_or_default();
    if let Some(r) = &b.requirements {
        let text = std::fs::read_to_string(src.join(&b.context).join(r)).unwrap();
        all.extend(requirements_in(&text));
    }
    all.extend(b.packages.iter().cloned());
    all.into_iter()
        .map(|p| {
            let name = p.split(['=', '<', '>', '~', '!', '[', ';']).next().unwrap();
            dist_key(name.trim())
        })
        .collect()
}

/// A Python module that imports every top-level module of every listed
/// distribution (an import that fails — a native library missing in the
/// runtime — stops the program), then `tail`.
fn python_module(packages: &[String], tail: &str) -> String {
    let list = serde_json::to_string(packages).unwrap();
    format!(
        r#""""Written by lucid-gen's tests: imports what the model installs."""
import importlib
import importlib.metadata as md

PACKAGES = {list}
SKIP = {{"tests", "test", "docs", "examples", "benchmarks"}}
owners = {{}}
for module, dists in md.packages_distributions().items():
    for dist in dists:
        key = dist.lower().replace("_", "-").replace(".", "-")
        owners.setdefault(key, set()).add(module)
IMPORTED = []
for dist in PACKAGES:
    # Some wheels list files (`consul/__init__`) where modules belong.
    names = {{m.split("/")[0].removesuffix(".py") for m in owners.get(dist, ())}}
    modules = sorted(m for m in names if m.isidentifier() and not m.startswith("_") and m not in SKIP)
    if not modules:
        raise SystemExit(f"package {{dist}} is not installed")
    for module in modules:
        importlib.import_module(module)
        IMPORTED.append(module)
{tail}"#
    )
}

/// What a system's Python application reads at start, as its seed says,
/// run before it serves: ConsensusNet's (seed 004) reads OPENAI_API_KEY,
/// DATABASE_URL and REDIS_URL from its environment, and reaches Redis with
/// the URL lucid-gen composed from the generated password.
const SETTINGS: [(&str, &str); 1] = [(
    "consensusnet",
    r#"import os
import redis

assert os.environ["OPENAI_API_KEY"], "OPENAI_API_KEY is empty"
assert os.environ["PGSSLMODE"] == "require", "libpq would not insist on TLS"
assert os.environ["DATABASE_URL"], "DATABASE_URL is empty"
redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5).ping()
"#,
)];

/// `uvicorn MODULE:app`: a FastAPI app when FastAPI is installed, else a
/// bare ASGI one; `/health` answers 200.
fn asgi_tail(packages: &[String]) -> &'static str {
    if packages.iter().any(|p| p == "fastapi") {
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/health\")\n\
         def health():\n    return {\"imported\": IMPORTED}\n"
    } else {
        "async def app(scope, receive, send):\n    await send({\"type\": \"http.response.start\", \"status\": 200, \"headers\": []})\n\
         \x20   await send({\"type\": \"http.response.body\", \"body\": b\"ok\"})\n"
    }
}

/// The file a `python3 -m MODULE`, `python3 -m uvicorn MODULE:app` or
/// `uvicorn MODULE:app` entrypoint runs, relative to the context (the
/// image's `/app`), and whether it serves ASGI.
fn python_entry(entrypoint: &[String]) -> (String, bool) {
    let module_arg = |flag: usize| entrypoint.get(flag + 1).cloned().unwrap_or_default();
    let (m, module) = match entrypoint.iter().position(|a| a == "-m") {
        Some(m) => (m, module_arg(m)),
        None if entrypoint[0] == "uvicorn" => (0, "uvicorn".to_string()),
        None => panic!("no module in {entrypoint:?}"),
    };
    if module == "uvicorn" {
        let target = entrypoint[m + 1..]
            .iter()
            .find(|a| a.contains(':'))
            .unwrap();
        let module = target.split(':').next().unwrap();
        (format!("{}.py", module.replace('.', "/")), true)
    } else {
        (format!("{}.py", module.replace('.', "/")), false)
    }
}

/// A Node.js server listening on every port in `ports` (200 on every
/// path, a gauge on `/metrics`), after loading `ms` (a registry
/// dependency `npm ci` installed).
fn node_server(ports: &[u16], port_from_argv: bool) -> String {
    let ports = serde_json::to_string(ports).unwrap();
    let pick = if port_from_argv {
        "const i = process.argv.indexOf('--port');\nconst ports = [Number(process.argv[i + 1])];\n"
            .to_string()
    } else {
        format!("const ports = {ports};\n")
    };
    format!(
        "// Written by lucid-gen's tests.\nconst ms = require('ms');\nconst http = require('http');\n{pick}\
         for (const p of ports) {{\n  http.createServer((req, res) => {{\n\
         \x20   res.end(req.url === '/metrics' ? 'up_for_ms ' + ms('1s') + '\\n' : 'ok\\n');\n\
         \x20 }}).listen(p, '0.0.0.0');\n}}\n"
    )
}

/// Next.js from the npm registry, and the React it renders with: the
/// frontend's builder runs `next build`, its runtime `npm start` (`next
/// start`), its `dev` stage `next dev`.
const NEXT: [(&str, &str); 3] = [
    ("next", "14.2.9"),
    ("react", "18.3.1"),
    ("react-dom", "18.3.1"),
];

/// The page a Next.js test application serves at `/`.
fn next_page(text: &str) -> String {
    format!("// Written by lucid-gen's tests.\nexport default function Home() {{\n  return <p>{text}</p>;\n}}\n")
}

/// Writes a Node package (`package.json` and its lockfile, made by the
/// host's npm from the registry) at `dir`; `next` makes it a Next.js
/// application (Next and React from the registry, a page at `/`, `npm
/// run build` = `next build`, `npm start` = `next start`).
fn node_package(dir: &Path, next: bool) {
    let mut deps = String::from("\"ms\": \"2.1.3\"");
    let mut scripts = String::new();
    if next {
        for (name, version) in NEXT {
            deps.push_str(&format!(", \"{name}\": \"{version}\""));
        }
        scripts = ", \"scripts\": { \"build\": \"next build\", \"start\": \"next start\" }".into();
        put(&dir.join("pages/index.js"), &next_page("served by next"));
        // Next.js loads its config in the server process: it says on
        // stdout when the server gets SIGTERM and how it exits.
        put(
            &dir.join("next.config.js"),
            "// Written by lucid-gen's tests.\n\
             process.on('SIGTERM', () => console.log('next-server: SIGTERM'));\n\
             process.on('exit', (code) => console.log('next-server: exit ' + code));\n\
             module.exports = {};\n",
        );
    }
    put(
        &dir.join("package.json"),
        &format!(
            "{{ \"name\": \"lucid-gen-test-app\", \"version\": \"1.0.0\", \"private\": true{scripts}, \"dependencies\": {{ {deps} }} }}\n"
        ),
    );
    let out = run(Command::new("npm")
        .args([
            "install",
            "--package-lock-only",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ])
        .current_dir(dir));
    assert!(
        out.status.success(),
        "npm install --package-lock-only in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the test application of every build of `system` under `src`,
/// each requirements file the model names copied from `sources`.
fn write_apps(system: &System, src: &Path, sources: &Path) {
    // `create_dir_all` cannot make `src/.` before `src`.
    std::fs::create_dir_all(src).unwrap();
    let mut node_dirs = BTreeSet::new();
    for img in &system.images {
        let dir = src.join(&img.build.context);
        std::fs::create_dir_all(&dir).unwrap();
        if img.build.stack == Some(Stack::Node) && node_dirs.insert(dir.clone()) {
            node_package(&dir, false);
        }
    }
    for s in &system.services {
        let Some(b) = &s.build else { continue };
        let dir = src.join(&b.context);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(r) = &b.requirements {
            let from = sources.join(&b.context).join(r);
            put(&dir.join(r), &std::fs::read_to_string(&from).unwrap());
        }
        if let Some(dockerfile) = &b.dockerfile {
            write_hand_written_app(system, b, dockerfile, src, sources);
            continue;
        }
        match b.stack {
            Some(Stack::Python) => {
                let packages = python_packages(system, b, src);
                let (file, asgi) = python_entry(&b.entrypoint);
                let tail = if asgi {
                    asgi_tail(&packages)
                } else {
                    "import time\n\nwhile True:\n    time.sleep(3600)\n"
                };
                let settings = SETTINGS
                    .iter()
                    .find(|(sys, _)| *sys == system.name)
                    .map_or("", |(_, code)| *code);
                put(
                    &dir.join(file),
                    &python_module(&packages, &format!("{settings}{tail}")),
                );
            }
            Some(Stack::Node) => {
                let next = (b.entrypoint.iter())
                    .chain(&b.dev_entrypoint)
                    .any(|a| a.contains("node_modules/next/"));
                if node_dirs.insert(dir.clone()) {
                    node_package(&dir, next);
                }
                // `npm start` runs the package's own script.
                let entry = &b.entrypoint[1];
                if b.entrypoint[0] == "node" && !entry.starts_with("node_modules/") {
                    let ports: Vec<u16> = s.ports.iter().map(|p| p.container.0).collect();
                    put(&dir.join(entry), &node_server(&ports, false));
                }
            }
            _ => {}
        }
    }
}

/// The exec-form `CMD` of a Dockerfile.
fn dockerfile_cmd(text: &str) -> Vec<String> {
    let line = (text.lines().rev())
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("a CMD");
    serde_json::from_str(line).expect("an exec-form CMD")
}

/// A hand-written Dockerfile's application: the Dockerfile from the
/// system's sources, the context's `.dockerignore` and each file the
/// Dockerfile copies that the sources hold (seed 004's `requirements.txt`),
/// and for a Python image the module its `CMD` runs, importing every
/// package the requirements file lists.
fn write_hand_written_app(
    system: &System,
    b: &lucid_gen::system::Build,
    dockerfile: &str,
    src: &Path,
    sources: &Path,
) {
    let (from, dir) = (sources.join(&b.context), src.join(&b.context));
    let text = std::fs::read_to_string(from.join(dockerfile)).unwrap();
    put(&dir.join(dockerfile), &text);
    if let Ok(ignore) = std::fs::read_to_string(from.join(".dockerignore")) {
        put(&dir.join(".dockerignore"), &ignore);
    }
    let mut packages = Vec::new();
    for line in text.lines() {
        let Some(args) = line.strip_prefix("COPY ") else {
            continue;
        };
        let file = args.split_whitespace().next().unwrap();
        if from.join(file).is_file() {
            let copied = std::fs::read_to_string(from.join(file)).unwrap();
            if file.ends_with(".txt") {
                packages.extend(requirements_in(&copied).iter().map(|p| {
                    let name = p.split(['=', '<', '>', '~', '!', '[', ';']).next().unwrap();
                    dist_key(name.trim())
                }));
            }
            put(&dir.join(file), &copied);
        }
    }
    assert!(
        text.contains("FROM python:"),
        "a Python image: {dockerfile}"
    );
    let (file, asgi) = python_entry(&dockerfile_cmd(&text));
    let tail = if asgi {
        asgi_tail(&packages)
    } else {
        "import time\n\nwhile True:\n    time.sleep(3600)\n"
    };
    let settings = (SETTINGS.iter())
        .find(|(sys, _)| *sys == system.name)
        .map_or("", |(_, code)| *code);
    put(
        &dir.join(file),
        &python_module(&packages, &format!("{settings}{tail}")),
    );
}

// ---------------------------------------------------------------- build

/// One `docker build` of `lucid-gen build`'s plan.
struct Job {
    line: String,
    tag: String,
    dockerfile: PathBuf,
}

/// `lucid-gen build --dry-run`: the steps (built in order, the jobs of
/// one step at once), each job a shell line. The lines name each context
/// directory; the test's contexts hold nothing `Dockerfile.dockerignore`
/// would leave out, so sending them whole builds the same image. With
/// variants, every variant's plan (`build` builds the chosen one's
/// services), merged step by step, each image once.
fn build_plan(s: &Scratch, arch: Arch) -> Vec<Vec<Job>> {
    let mut names: Vec<Option<&str>> = (s.system.variants.iter())
        .map(|v| Some(v.name.as_str()))
        .collect();
    if names.is_empty() {
        names.push(None);
    }
    let mut steps: Vec<Vec<Job>> = Vec::new();
    for name in names {
        for (i, step) in variant_build_plan(s, arch, name).into_iter().enumerate() {
            if steps.len() <= i {
                steps.push(Vec::new());
            }
            for job in step {
                if !steps[i].iter().any(|j| j.tag == job.tag) {
                    steps[i].push(job);
                }
            }
        }
    }
    steps
}

/// `lucid-gen build --dry-run` of one variant (`None`: the model has none).
fn variant_build_plan(s: &Scratch, arch: Arch, variant: Option<&str>) -> Vec<Vec<Job>> {
    let platform = arch.platform();
    let mut args = vec![
        "build",
        "--dry-run",
        "--source",
        "src",
        "--platform",
        &platform,
    ];
    if let Some(v) = variant {
        args.extend(["--variant", v]);
    }
    let mut t = s.p.run().args(&args);
    for (k, v) in &s.env {
        t = t.env(k, v);
    }
    let out = crate::common::stdout(&t.run());
    let mut steps: Vec<Vec<Job>> = Vec::new();
    for line in out.lines() {
        // `  1. base images` opens a step; its commands are indented below.
        let line = line.trim();
        let numbered = line
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if numbered {
            steps.push(Vec::new());
            continue;
        }
        if steps.is_empty() || !line.contains("docker build ") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |flag: &str| {
            let i = words.iter().position(|w| *w == flag).unwrap();
            words[i + 1].to_string()
        };
        steps.last_mut().unwrap().push(Job {
            line: line.to_string(),
            tag: after("-t"),
            dockerfile: PathBuf::from(after("-f")),
        });
    }
    steps
}

/// The images a Dockerfile's `FROM`s name (not its own stages), each
/// with whether it is a builder stage (`--platform=$BUILDPLATFORM`).
fn froms(dockerfile: &str) -> Vec<(String, bool)> {
    let mut stages = BTreeSet::new();
    let mut out = Vec::new();
    for line in dockerfile.lines() {
        let Some(rest) = line.strip_prefix("FROM ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let builder = words[0] == "--platform=$BUILDPLATFORM";
        let image = words.iter().find(|w| !w.starts_with("--")).unwrap();
        if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
            stages.insert(words[i + 1].to_string());
        }
        if *image != "scratch" && !stages.contains(*image) {
            out.push((image.to_string(), builder));
        }
    }
    out
}

/// What one build run did.
#[derive(Default)]
struct Built {
    /// Image tags built.
    built: Vec<String>,
    /// Dockerfile (relative to the output) and why it was not built.
    not_built: Vec<(String, String)>,
    /// Tags of the other stages variant 0 runs (`dev_stage`).
    dev_stages: Vec<String>,
}

/// Builds every Dockerfile of `s` whose images are all here, in
/// `lucid-gen build`'s order, up to three at once; the others are listed
/// with the reason. A build that fails fails the test.
fn build_all(s: &Scratch, arch: Arch, wanted: &dyn Fn(&str) -> bool) -> Built {
    let mut result = Built::default();
    let generated = s.p.path("generated");
    for step in build_plan(s, arch) {
        let mut runnable = Vec::new();
        for job in step.iter().filter(|j| wanted(&j.tag)) {
            let text = std::fs::read_to_string(&job.dockerfile).unwrap();
            // A hand-written Dockerfile lies in the source tree.
            let rel = (job.dockerfile.strip_prefix(&generated))
                .or_else(|_| job.dockerfile.strip_prefix(s.p.dir.path()))
                .unwrap()
                .display()
                .to_string();
            let missing = froms(&text).into_iter().find_map(|(image, _)| {
                if result.built.contains(&image) {
                    return None;
                }
                if let Some((_, why)) = result
                    .not_built
                    .iter()
                    .find(|(_, why)| why.starts_with(&format!("FROM {image}")))
                {
                    return Some(format!("FROM {image}: {why}"));
                }
                bases::unavailable(&image).map(|why| format!("FROM {image}: {why}"))
            });
            match missing {
                Some(why) => result.not_built.push((rel, why)),
                None => runnable.push((job, rel)),
            }
        }
        let results: Vec<Result<String, String>> = std::thread::scope(|sc| {
            let handles: Vec<_> = runnable
                .chunks(3)
                .map(|chunk| {
                    sc.spawn(move || {
                        chunk
                            .iter()
                            .map(|(job, rel)| docker_build(job, rel, arch))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        for r in results {
            match r {
                Ok(tag) => result.built.push(tag),
                Err(e) => panic!("{e}"),
            }
        }
    }
    result
}

/// Builds the stage each service of variant 0 runs instead of its
/// runtime (`dev_stage`), as Compose's `build: target:` would: the planned
/// build line of its image with `--target` and the variant's tag alone.
/// The context becomes the service user's first, as a developer's
/// checkout is theirs: the variant mounts it for the server to write in.
/// Returns the tags built.
fn build_dev_stages(s: &Scratch, arch: Arch) -> Vec<String> {
    if s.system.variants.is_empty() {
        return Vec::new();
    }
    let variant = s.system.with_variant(0);
    let plan: Vec<Job> = build_plan(s, arch).into_iter().flatten().collect();
    let mut tags = Vec::new();
    for svc in &variant.services {
        let Some(b) = svc.build.as_ref() else {
            continue;
        };
        let Some(target) = b.target else { continue };
        // `build` makes the image every variant's CI pushes, under its name.
        let job = plan.iter().find(|j| j.tag == svc.image).unwrap();
        let tag = lucid_gen::tags::with_tag_suffix(&svc.image, target);
        let mut words: Vec<&str> = job.line.split(' ').collect();
        while let Some(i) = words.iter().position(|w| *w == "-t") {
            words.drain(i..i + 2);
        }
        let at = words.iter().position(|w| *w == "build").unwrap();
        words.splice(at + 1..at + 1, ["--target", target, "-t", &tag]);
        let dir = s.p.path("src").join(&b.context);
        let out = run(Command::new("chown").arg("-R").arg(&svc.user).arg(&dir));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let job = Job {
            line: words.join(" "),
            tag,
            dockerfile: job.dockerfile.clone(),
        };
        let rel = format!("{} (stage {target})", svc.name);
        tags.push(docker_build(&job, &rel, arch).unwrap_or_else(|e| panic!("{e}")));
    }
    tags
}

/// Runs one planned build line as `lucid-gen build` would (the legacy
/// builder here: for another platform than the host's its builder stage
/// runs under emulation too, see `docker::build::legacy_cmd`).
fn docker_build(job: &Job, rel: &str, arch: Arch) -> Result<String, String> {
    let line = &job.line;
    let started = Instant::now();
    let out = run(Command::new("sh").args(["-c", line]));
    if !out.status.success() {
        let log = String::from_utf8_lossy(&out.stdout);
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        return Err(format!(
            "building {rel} failed:\n{line}\n{}\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!(
        "realrun: built {} ({}) in {:.0?}",
        job.tag,
        arch.platform(),
        started.elapsed()
    );
    Ok(job.tag.clone())
}

fn report(sys: &str, arch: Arch, built: &Built) {
    eprintln!(
        "realrun: {sys} ({}): {} Dockerfile(s) built, {} not buildable here:",
        arch.platform(),
        built.built.len(),
        built.not_built.len()
    );
    for (file, why) in &built.not_built {
        eprintln!("  {file}: {why}");
    }
}

// ------------------------------------------------------------------ run

/// How a service ran, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ran {
    Built,
    Real,
    StandIn,
}

/// A compose project taken down with its volumes when dropped.
struct Up {
    project: String,
    files: Vec<PathBuf>,
    env: Vec<(String, String)>,
}

impl Up {
    fn compose(&self) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-p", &self.project]);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // Every profile on: a job run after its phase is up (profile
        // `after-up`) that the test started goes too.
        let _ = run(self
            .compose()
            .args(["--profile", "*", "down", "--volumes", "--timeout", "1"]));
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap()
}

/// The override for one phase: per service the image it runs (and for a
/// real program, [`REAL`]'s entrypoint, command and user), every health
/// check's interval 2s (`system`: the variant the phase is of). Returns it
/// and how each service runs.
fn override_for(
    (s, system): (&Scratch, &lucid_gen::system::System),
    services: &[usize],
    built: &Built,
    standins: &lucid_gen::docker::standin::StandIns,
) -> (String, Vec<(String, Ran)>) {
    let host = Arch::host().platform();
    let mut text = String::from("services:\n");
    let mut ran = Vec::new();
    for &i in services {
        let svc = &system.services[i];
        text.push_str(&format!("  {}:\n", svc.name));
        let real = REAL.iter().find(|r| r.0 == system.name && r.1 == svc.name);
        let how = if svc.build.is_some() && built.built.contains(&svc.image) {
            Ran::Built
        } else if real.is_some() {
            Ran::Real
        } else {
            Ran::StandIn
        };
        match how {
            Ran::Built => {}
            Ran::Real => {
                let (_, _, entrypoint, command, user) = real.unwrap();
                // An `http`/`tcp` check of a native build runs lucid-gen's
                // probe program, which upstream images lack too: the
                // generated Dockerfile copies it in, and so does this.
                let probe = matches!(
                    svc.health.as_ref().map(|h| &h.probe),
                    Some(Probe::Tcp { .. } | Probe::Http { .. })
                );
                let image = if probe {
                    server_with_probe(&s.p.path("generated"))
                } else {
                    bases::server().to_string()
                };
                text.push_str(&format!("    image: {image}\n"));
                let entrypoint: Vec<String> = if !entrypoint.is_empty() {
                    entrypoint.iter().map(|s| s.to_string()).collect()
                } else if svc.entrypoint.is_empty() {
                    svc.build
                        .as_ref()
                        .map(|b| b.entrypoint.clone())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                if !entrypoint.is_empty() {
                    text.push_str(&format!("    entrypoint: {}\n", json_list(&entrypoint)));
                }
                if !command.is_empty() {
                    let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
                    text.push_str(&format!("    command: {}\n", json_list(&command)));
                }
                if let Some(u) = user {
                    text.push_str(&format!("    user: \"{u}\"\n"));
                }
            }
            Ran::StandIn => {
                text.push_str(&format!("    image: {}\n", standins.images[&svc.name]));
                if svc.run_once {
                    text.push_str("    entrypoint: [\"/standin\", \"once\"]\n");
                } else {
                    text.push_str("    entrypoint: [\"/standin\", \"serve\"]\n");
                }
            }
        }
        let platform = if how == Ran::StandIn {
            &standins.platform
        } else {
            &host
        };
        // Nothing here reaches a service through the host: no fixed host
        // port (nginx's 80, a dev variant's 8000) is taken on a shared
        // engine.
        text.push_str(&format!(
            "    platform: {platform}\n    pull_policy: never\n    ports: !reset []\n"
        ));
        // The host hardware the model passes (Lucid's xrdp gets the Pi's
        // /dev/dri) is not on this machine, and neither program here uses it.
        if !svc.devices.is_empty() {
            text.push_str("    devices: !reset []\n");
        }
        if svc.health.is_some() {
            text.push_str("    healthcheck:\n      interval: 2s\n");
        }
        ran.push((svc.name.clone(), how));
    }
    (text, ran)
}

/// The server image with lucid-gen's probe program (the one `all` wrote
/// under `generated`, compiled here with the local rustc, static) at
/// `/usr/local/bin/probe`, where the generated Dockerfiles copy it.
fn server_with_probe(generated: &Path) -> String {
    let source = crate::common::files_under(generated)
        .into_iter()
        .find(|f| f.ends_with("probe/probe.rs"))
        .expect("the probe program lucid-gen wrote");
    let text = std::fs::read(&source).unwrap();
    let tag = format!(
        "lucid-gen-debian-probe:{}",
        lucid_gen::docker::standin::fnv(&[&text, bases::server().as_bytes()])
    );
    if run(Command::new("docker").args(["image", "inspect", &tag]))
        .status
        .success()
    {
        return tag;
    }
    let dir = tempfile::tempdir().unwrap();
    crate::health_probes::compile_probe(Path::new("rustc"), &source, &dir.path().join("probe"));
    put(
        &dir.path().join("Dockerfile"),
        &format!(
            "FROM {}\nCOPY probe /usr/local/bin/probe\n",
            bases::server()
        ),
    );
    let out = run(Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &tag])
        .arg(dir.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

/// The stand-ins lucid-gen would run (`up --stand-ins`) for `s`.
fn standins(s: &Scratch, variant: usize) -> lucid_gen::docker::standin::StandIns {
    // The images do not hold secrets: any values will do.
    let secrets = lucid_gen::secrets::resolve_with(
        &s.system,
        &lucid_gen::secrets::SecretSource::Seeded(0),
        &[],
        lucid_gen::secrets::WhenMissing::Placeholder,
    )
    .unwrap()
    .values;
    let system = match s.system.variants.is_empty() {
        true => s.system.clone(),
        false => s.system.with_variant(variant),
    };
    let platform = system.platform.clone();
    let ws = lucid_gen::workspace::Workspace {
        system,
        secrets,
        out_dir: s.p.path("generated"),
        model_dir: s.p.path("model"),
        variants: Vec::new(),
        warnings: Vec::new(),
    };
    lucid_gen::docker::standin::prepare(&ws, &platform).unwrap()
}

/// Every phase of `s` up from its generated compose file with the
/// override, `docker compose up --wait` on every service but the
/// [`OFFLINE`] ones (started without waiting); returns the running
/// projects (taken down when dropped) and how each service ran.
fn run_phases(s: &Scratch, built: &Built, variant: usize) -> (Vec<Up>, Vec<(String, Ran)>) {
    let standins = standins(s, variant);
    let system = match s.system.variants.is_empty() {
        true => s.system.clone(),
        false => s.system.with_variant(variant),
    };
    let prefix = unique_name(&format!("realrun-{}", system.name));
    let mut ups = Vec::new();
    let mut ran = Vec::new();
    for plan in lucid_gen::compose_files::phases_and_master(&system) {
        let Some(phase) = plan.phase else { continue };
        let (text, how) = override_for((s, &system), &plan.services, built, &standins);
        let over = s.p.path(&format!("override-{}.yml", plan.file_name));
        std::fs::write(&over, text).unwrap();
        let compose =
            s.p.path("generated")
                .join(&system.output.compose_dir)
                .join(&plan.file_name);
        // A variant that builds names the trees Compose would build from.
        let mut env = s.env.clone();
        env.push(("SOURCE_DIR".into(), s.p.path("src").display().to_string()));
        env.push((
            "GENERATED_DIR".into(),
            s.p.path("generated").display().to_string(),
        ));
        let up = Up {
            project: format!("{prefix}-{}", system.phases[phase].name),
            files: vec![compose, over],
            env,
        };
        // Jobs run once the phase is up (`after_up`) are started after it,
        // as `lucid-gen up` does: named in `up --wait`, they would end it.
        let names = |after: bool| -> Vec<&str> {
            (plan.services.iter())
                .map(|&i| &system.services[i])
                .filter(|s| s.after_up == after)
                .map(|s| s.name.as_str())
                .collect()
        };
        let (after_up, services) = (names(true), names(false));
        let (offline, waited): (Vec<&str>, Vec<&str>) = services
            .into_iter()
            .partition(|n| OFFLINE.iter().any(|(o, _)| o == n));
        let started = Instant::now();
        let out = run(up
            .compose()
            .args(["up", "-d", "--no-build", "--wait", "--wait-timeout", "240"])
            .args(&waited));
        if !out.status.success() {
            let ps = run(up.compose().args(["ps", "-a"]));
            let logs = run(up.compose().args(["logs", "--tail", "30"]));
            panic!(
                "{} phase {} did not come up healthy:\n{}\n{}\n{}",
                system.name,
                system.phases[phase].name,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&ps.stdout),
                String::from_utf8_lossy(&logs.stdout),
            );
        }
        if !offline.is_empty() {
            let out = run(up
                .compose()
                .args(["up", "-d", "--no-build", "--no-deps"])
                .args(&offline));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for job in &after_up {
            let out = run(up.compose().args(["run", "--rm", "--no-deps", job]));
            assert!(
                out.status.success(),
                "{job}, run after phase {} is up, failed: {}",
                system.phases[phase].name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprintln!(
            "realrun: {} phase {} healthy in {:.0?}",
            system.name,
            system.phases[phase].name,
            started.elapsed()
        );
        ran.extend(how);
        // Taken down last phase first: a later phase's containers hold the
        // networks an earlier phase created.
        ups.insert(0, up);
    }
    (ups, ran)
}

fn print_ran(system: &str, ran: &[(String, Ran)]) {
    eprintln!("realrun: {system}: how each service ran (all healthy by their own checks):");
    for (name, how) in ran {
        let note = OFFLINE
            .iter()
            .find(|(o, _)| o == name)
            .map(|(_, why)| format!(" (started, not awaited: {why})"))
            .unwrap_or_default();
        eprintln!("  {name}: {how:?}{note}");
    }
}

/// The running projects and the engine lock, held until they are taken
/// down: the projects drop first (fields drop in order), then the lock,
/// so no other test meets their fixed-name networks meanwhile.
type Running = (Vec<Up>, crate::common::DockerStack);

/// Builds the system for the host and brings every phase up, of each of
/// `variants` in turn (the first variant when the model has none), each
/// taken down before the next comes up (they may hold the same host
/// ports); the last stays up.
fn built_and_run(sys: Sys, variants: &[usize]) -> (Scratch, Built, Running, Vec<(String, Ran)>) {
    let _tags = Upstreams::tag(Arch::host());
    let s = scratch(sys);
    write_apps(&s.system, &s.p.path("src"), &s.sources);
    let mut built = build_all(&s, Arch::host(), &|_| true);
    built.dev_stages = build_dev_stages(&s, Arch::host());
    report(&s.system.name, Arch::host(), &built);
    let stack = docker_stack();
    let (mut ups, mut ran) = (Vec::new(), Vec::new());
    for &v in variants {
        drop(std::mem::take(&mut ups));
        let (up, how) = run_phases(&s, &built, v);
        (ups, ran) = (up, [ran, how].concat());
    }
    print_ran(&s.system.name, &ran);
    (s, built, (ups, stack), ran)
}

/// The services expected to run as built images: every service whose
/// build has a local equivalent of each image its Dockerfile names.
fn assert_ran(ran: &[(String, Ran)], want: &[(&str, Ran)]) {
    let got: BTreeMap<&str, Ran> = ran.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    for (name, how) in want {
        assert_eq!(got.get(name), Some(how), "{name}");
    }
}

#[test]
fn noderr_every_tier_built_and_healthy_with_real_prometheus_and_node_exporter() {
    // Variant `all-in-one` (the all-in-one tier alone), then `tiers`: they
    // publish the same API ports.
    let (s, built, _ups, ran) = built_and_run(Sys::Noderr, &[1, 0]);
    assert!(built.not_built.is_empty(), "{:?}", built.not_built);
    assert_eq!(built.built.len(), s.system.images.len() + 4);
    assert_ran(
        &ran,
        &[
            ("oracle", Ran::Built),
            ("guardian", Ran::Built),
            ("validator", Ran::Built),
            ("all-in-one", Ran::Built),
            ("prometheus", Ran::Real),
            ("node-exporter", Ran::Real),
            ("grafana", Ran::StandIn),
        ],
    );
    // Seed 002's "reads current version from `/app/VERSION`": every tier's
    // image holds the version it is tagged as.
    let versioned: Vec<_> = (s.system.services.iter())
        .filter_map(|x| Some((x, x.build.as_ref()?.version_file.as_ref()?)))
        .collect();
    assert_eq!(versioned.len(), 4);
    for (svc, path) in versioned {
        let out = run(Command::new("docker")
            .args(["run", "--rm", "--entrypoint", "cat", &svc.image])
            .arg(path));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}\n", lucid_gen::tags::tag(&svc.image)),
            "{} {path}: {}",
            svc.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn lucid_every_python_service_built_and_healthy_with_real_redis_tor_and_xrdp() {
    let (s, built, ups, ran) = built_and_run(Sys::Lucid, &[0]);
    let python: Vec<&str> = (s.system.services.iter())
        .filter(|svc| {
            svc.build
                .as_ref()
                .is_some_and(|b| b.stack == Some(Stack::Python))
        })
        .map(|svc| svc.name.as_str())
        .collect();
    assert_eq!(python.len(), 23);
    let want: Vec<(&str, Ran)> = python.iter().map(|n| (*n, Ran::Built)).collect();
    assert_ran(&ran, &want);
    assert_ran(
        &ran,
        &[
            ("lucid-redis", Ran::Real),
            ("lucid-tor-proxy", Ran::Real),
            ("lucid-xrdp-integration", Ran::Real),
            ("lucid-prometheus", Ran::Real),
            ("lucid-mongodb", Ran::StandIn),
            ("lucid-elasticsearch", Ran::StandIn),
            ("lucid-consul", Ran::StandIn),
        ],
    );
    // The Python base and every Python service; the native and Java
    // Dockerfiles name images no registry here has.
    assert_eq!(built.built.len(), 24, "{:?}", built.built);
    let not_built: Vec<&str> = built.not_built.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(not_built.len(), 9, "{not_built:?}");
    drop(ups);
}

#[test]
fn consensusnet_api_agents_and_frontend_built_and_healthy_with_real_redis_and_nginx() {
    let (s, built, mut running, ran) = built_and_run(Sys::ConsensusNet, &[0]);
    assert!(built.not_built.is_empty(), "{:?}", built.not_built);
    assert_eq!(built.built.len(), 3);
    assert_ran(
        &ran,
        &[
            ("api", Ran::Built),
            ("agent", Ran::Built),
            ("frontend", Ran::Built),
            ("redis", Ran::Real),
            ("nginx", Ran::Real),
        ],
    );
    nginx_serves_https_and_redirects(&running.0[0]);
    // Variant `dev` ran the frontend's `dev` stage: seed 004's `next dev`.
    assert_eq!(
        built.dev_stages,
        ["ghcr.io/hretheum/consensus.net/frontend:latest-dev"]
    );
    next_dev_serves_the_mounted_source(&s, &running.0[0]);
    // Variant `prod` next (dev taken down first): the images CI pushes,
    // the frontend's runtime stage running `next start`.
    drop(std::mem::take(&mut running.0));
    let (prod, ran) = run_phases(&s, &built, 1);
    print_ran("consensusnet (prod)", &ran);
    assert_ran(
        &ran,
        &[
            ("api", Ran::Built),
            ("agent", Ran::Built),
            ("frontend", Ran::Built),
            ("redis", Ran::Real),
            ("nginx", Ran::Real),
        ],
    );
    running.0 = prod;
    nginx_serves_https_and_redirects(&running.0[0]);
    next_start_serves_and_stops_gracefully(&running.0[0]);
}

/// What `node -e CODE` prints in the running frontend container.
fn frontend_node(up: &Up, code: &str) -> String {
    let out = run(up
        .compose()
        .args(["exec", "-T", "frontend", "node", "-e", code]));
    assert!(
        out.status.success(),
        "{code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Seed 004's production frontend, for real: the runtime image built
/// from the generated Dockerfile (`next build` in the builder) runs `next
/// start` as its main process (what the seed's `npm start` runs), with
/// NODE_ENV=production, serving the page `next build` made (it turned
/// healthy by its own check to get here); `docker compose stop` ends it
/// gracefully: the server gets SIGTERM and exits 0 itself (the test app's
/// next.config.js logs both), the container with it, not killed by Docker
/// 10 s later (exit 137). The time it took is printed, not asserted.
fn next_start_serves_and_stops_gracefully(up: &Up) {
    let node = |code: &str| frontend_node(up, code);
    assert_eq!(node("console.log(process.env.NODE_ENV)"), "production");
    let cmdline = node(
        "console.log(require('fs').readFileSync('/proc/1/cmdline', 'utf8').split('\\0').join(' '))",
    );
    // The server is PID 1 (Next.js names its process `next-server`).
    assert!(cmdline.starts_with("next-server"), "{cmdline}");
    let page = "fetch('http://127.0.0.1:3000/').then(r => r.text()).then(t => console.log(t))";
    assert!(node(page).contains("served by next"));
    let id = run(up.compose().args(["ps", "-q", "frontend"]));
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert!(!id.is_empty(), "the frontend's container");
    let started = Instant::now();
    let out = run(up.compose().args(["stop", "frontend"]));
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = run(Command::new("docker").args(["inspect", "-f", "{{.State.ExitCode}}", &id]));
    let code = String::from_utf8_lossy(&code.stdout).trim().to_string();
    let logs = run(up.compose().args(["logs", "--tail", "20", "frontend"]));
    let logs = String::from_utf8_lossy(&logs.stdout);
    eprintln!(
        "realrun: consensusnet frontend (`next start`) stopped in {took:.1?}, exit code {code}"
    );
    assert!(
        logs.contains("next-server: SIGTERM") && logs.contains("next-server: exit 0"),
        "the server did not get SIGTERM and exit 0 itself: {logs}"
    );
    // Exit 0, not 137: Docker did not have to kill it after its 10 s.
    assert_eq!(code, "0", "{logs}");
}

/// Seed 004's development frontend, for real: Next.js from the npm
/// registry run by `next dev` with NODE_ENV=development, its
/// node_modules from the image (the source tree has none), serving the
/// page from the mounted `./frontend`, writing `.next` into it, and
/// serving an edit of the page without a restart (hot reload).
fn next_dev_serves_the_mounted_source(s: &Scratch, up: &Up) {
    let node = |code: &str| frontend_node(up, code);
    let env = "console.log(process.env.NODE_ENV, process.argv0)";
    assert_eq!(node(env).split(' ').next(), Some("development"));
    let cmdline = node(
        "console.log(require('fs').readFileSync('/proc/1/cmdline', 'utf8').split('\\0').join(' '))",
    );
    assert!(
        cmdline.contains("next/dist/bin/next dev --port 3000"),
        "{cmdline}"
    );
    let version = node("console.log(require('next/package.json').version)");
    assert_eq!(version, NEXT[0].1);
    let frontend = s.p.path("src/frontend");
    assert!(!frontend.join("node_modules/next").exists());
    assert!(
        frontend.join(".next").is_dir(),
        "next dev writes .next into the mount"
    );
    let page = "fetch('http://127.0.0.1:3000/').then(r => r.text()).then(t => console.log(t))";
    assert!(node(page).contains("served by next"));
    put(
        &frontend.join("pages/index.js"),
        &next_page("edited on the host"),
    );
    crate::docker_tier::realserver::wait_for(std::time::Duration::from_secs(90), || {
        let body = node(page);
        body.contains("edited on the host")
            .then_some(())
            .ok_or(body)
    })
    .expect("next dev serves the edited page");
}

/// Real nginx with the generated config and the operator's certificate
/// (self-signed at test time) answers HTTPS, checked against that very
/// certificate, and its redirect listener (what prod publishes on 80)
/// sends clients to https.
fn nginx_serves_https_and_redirects(up: &Up) {
    let exec = |args: &[&str]| run(up.compose().args(["exec", "-T", "nginx"]).args(args));
    let out = exec(&[
        "wget",
        "-q",
        "-O",
        "-",
        "--ca-certificate=/run/secrets/TLS_CERT",
        "https://127.0.0.1:8443/healthz",
    ]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout) == "ok\n",
        "HTTPS: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = exec(&[
        "wget",
        "-S",
        "--max-redirect=0",
        "-O",
        "/dev/null",
        "http://127.0.0.1:8081/api/status?x=1",
    ]);
    let headers = String::from_utf8_lossy(&out.stderr);
    assert!(
        headers.contains(" 301 ") && headers.contains("Location: https://127.0.0.1/api/status?x=1"),
        "{headers}"
    );
}

/// What tor logs when its SOCKS policy refuses a client.
const TOR_DENIES: &str = "Denying socks connection from untrusted address";

/// Runs `torrc` in a real Tor (no network: it cannot bootstrap here, and
/// must not reach out), runs `health` in the container as Docker would,
/// and returns tor's log after tor has judged the health check's SOCKS
/// connection.
fn tor_verdict(torrc: &Path, health: &[String]) -> String {
    let name = unique_name("realrun-tor");
    let tor = ["/usr/local/bin/tor", "-f", "/etc/tor/torrc"];
    let _c = crate::docker_tier::realserver::start(
        &name,
        bases::server(),
        torrc,
        "/etc/tor/torrc",
        &tor,
    );
    let logs = || {
        let out = run(Command::new("docker").args(["logs", &name]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    crate::docker_tier::realserver::wait_for(std::time::Duration::from_secs(30), || {
        let l = logs();
        l.contains("Opened Socks listener").then_some(()).ok_or(l)
    })
    .expect("tor opens its SOCKS port");
    // The generated health check, bounded: with nowhere to resolve, an
    // accepted request waits for a circuit that never comes.
    let out = run(Command::new("docker")
        .args(["exec", &name, "timeout", "3"])
        .args(health));
    assert_ne!(out.status.code(), Some(0), "no Tor network here");
    // Tor logs a refusal as it closes the connection, before the check
    // gives up; a few seconds more for the log to reach Docker.
    let denied =
        crate::docker_tier::realserver::wait_for(std::time::Duration::from_secs(5), || {
            let l = logs();
            l.contains(TOR_DENIES).then_some(()).ok_or(l)
        });
    denied.err().unwrap_or_else(logs)
}

/// Tor's verdict on its own health check, with Lucid's generated torrc:
/// SOCKS from the health check's address (127.0.0.1) is accepted. The
/// Tor network cannot be reached here, so the check itself cannot pass
/// (it resolves a name through a circuit); what the model decides — the
/// policy — is judged from tor's log instead. Without the model's
/// `SocksPolicy accept 127.0.0.1` the same check is refused.
#[test]
fn tor_accepts_socks_from_its_own_health_check() {
    let s = scratch(Sys::Lucid);
    let tor = s.system.service("lucid-tor-proxy").unwrap();
    let Some(Probe::Exec(health)) = tor.health.as_ref().map(|h| h.probe.clone()) else {
        panic!("lucid-tor-proxy has an exec health check");
    };
    assert!(
        health.iter().any(|a| a.starts_with("127.0.0.1:")),
        "{health:?}"
    );
    let torrc = crate::common::files_under(&s.p.path("generated"))
        .into_iter()
        .find(|f| f.ends_with("etc/tor/torrc"))
        .expect("the rendered torrc");
    let text = std::fs::read_to_string(&torrc).unwrap();
    let log = tor_verdict(&torrc, &health);
    assert!(!log.contains(TOR_DENIES), "{log}");
    // The control: the policy without the health check's address.
    let dir = tempfile::tempdir().unwrap();
    let without = dir.path().join("torrc");
    let stripped: String = (text.lines())
        .filter(|l| l.trim() != "SocksPolicy accept 127.0.0.1")
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(stripped, text, "the model accepts 127.0.0.1");
    std::fs::write(&without, stripped).unwrap();
    crate::docker_tier::bases::make_readable(&without);
    let log = tor_verdict(&without, &health);
    assert!(log.contains(TOR_DENIES), "{log}");
}

/// Runs `image` as its generated Dockerfile says (user, entrypoint,
/// health check, at a 2s interval) with `env`, and waits until Docker
/// reports it healthy.
fn healthy_alone(image: &str, arch: Arch, env: &[(String, String)]) {
    let name = unique_name("realrun-alone");
    let mut cmd = Command::new("docker");
    cmd.args(["run", "-d", "--name", &name, "--platform", &arch.platform()])
        .args(["--read-only", "--tmpfs", "/tmp", "--health-interval", "2s"]);
    for (k, v) in env {
        cmd.arg("-e").arg(format!("{k}={v}"));
    }
    let out = run(cmd.arg(image));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _c = crate::docker_tier::realserver::Container(name.clone());
    let status =
        crate::docker_tier::realserver::wait_for(std::time::Duration::from_secs(180), || {
            let out = run(Command::new("docker").args([
                "inspect",
                "-f",
                "{{.State.Health.Status}}",
                &name,
            ]));
            let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (status == "healthy").then_some(()).ok_or(status)
        });
    let logs = run(Command::new("docker").args(["logs", "--tail", "30", &name]));
    assert_eq!(
        status,
        Ok(()),
        "{image} ({}) healthy by its own check:\n{}{}",
        arch.platform(),
        String::from_utf8_lossy(&logs.stdout),
        String::from_utf8_lossy(&logs.stderr)
    );
    eprintln!("realrun: {image} healthy as {}", arch.platform());
}

/// The other platform the models name: Lucid's Python base and its first
/// Python service and noderr's Node base and its first tier, built for
/// linux/arm64 under qemu emulation (pip fetching aarch64 wheels; the
/// legacy builder runs the builder stage for the target too), each started
/// under emulation and healthy by its own health check.
#[test]
fn arm64_bases_and_one_service_per_stack_build_and_turn_healthy_under_emulation() {
    let _tags = Upstreams::tag(Arch::Arm64);
    for (sys, wanted) in [
        (
            Sys::Lucid,
            [
                "pickme/lucid-base:python-distroless-arm64",
                "pickme/lucid-auth-service:latest-arm64",
            ],
        ),
        (
            Sys::Noderr,
            [
                "registry.noderr.xyz/base:1.0.0",
                "registry.noderr.xyz/oracle:1.0.0",
            ],
        ),
    ] {
        let s = scratch(sys);
        write_apps(&s.system, &s.p.path("src"), &s.sources);
        let built = build_all(&s, Arch::Arm64, &|tag| wanted.contains(&tag));
        report(&s.system.name, Arch::Arm64, &built);
        assert_eq!(built.built, wanted, "{:?}", built.not_built);
        let svc = s
            .system
            .services
            .iter()
            .find(|x| x.image == wanted[1])
            .unwrap();
        let env: Vec<(String, String)> = (svc.required_env.iter())
            .map(|r| (r.name.clone(), format!("test-{}", r.name.to_lowercase())))
            .collect();
        healthy_alone(wanted[1], Arch::Arm64, &env);
    }
}

/// Every path and every file's bytes in `image`'s layers (`docker save`).
fn layers(image: &str) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("image.tar");
    let out = run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&saved)
        .arg(image));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Vec::new();
    let mut outer = tar::Archive::new(std::fs::File::open(&saved).unwrap());
    for entry in outer.entries().unwrap() {
        let entry = entry.unwrap();
        if !entry
            .path()
            .unwrap()
            .to_string_lossy()
            .ends_with("layer.tar")
        {
            continue;
        }
        let mut layer = tar::Archive::new(entry);
        for file in layer.entries().unwrap() {
            let mut file = file.unwrap();
            let path = file.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
            found.push((path, bytes));
        }
    }
    found
}

/// What of `secret` and `.git` an image's layers hold: the paths.
fn leaks(image: &str, secret: &str) -> Vec<String> {
    layers(image)
        .into_iter()
        .filter(|(path, bytes)| {
            path.split('/').any(|c| c == ".git")
                || bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
        })
        .map(|(path, _)| path)
        .collect()
}

/// ConsensusNet laid out as seed 004's repository is: the sources at the
/// root, the output in `generated/` and the secret store in `.lucid-gen/`
/// inside it, a `.git` and `.env` files beside them, with a secret value
/// planted in each (and a `.env` under `src/`, which the seed's
/// Dockerfile.api copies whole). `lucid-gen build --source .` (the legacy
/// builder here) sends each context without what its
/// `Dockerfile.dockerignore` lists (the frontend's), or what the context's
/// own `.dockerignore` lists (the seed's hand-written Dockerfile.api and
/// Dockerfile.agent at the root): no built image holds the value, a
/// generated secret or a `.git`. A Dockerfile copying its whole context,
/// built by a plain `docker build` of the directory without its
/// `.dockerignore`, holds all of them — the check can fail.
#[test]
fn no_built_image_holds_a_planted_secret_git_or_generated_secrets() {
    let _tags = Upstreams::tag(Arch::host());
    let s = scratch(Sys::ConsensusNet);
    let root = s.p.dir.path();
    write_apps(&s.system, root, &s.sources);
    let planted = format!("planted-{}", unique_name("secret"));
    put(&root.join(".git/HEAD"), &format!("ref: {planted}\n"));
    put(&root.join(".env"), &format!("OPENAI_API_KEY={planted}\n"));
    put(
        &root.join("src/.env"),
        &format!("OPENAI_API_KEY={planted}\n"),
    );
    put(
        &root.join("frontend/.env.local"),
        &format!("TOKEN={planted}\n"),
    );
    let store = s.p.read(".lucid-gen/secrets.env");
    let redis = (store.lines())
        .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
        .unwrap()
        .to_string();
    assert!(crate::common::files_under(&root.join("generated/secrets"))
        .iter()
        .any(|f| std::fs::read_to_string(f).unwrap().contains(&redis)));
    let mut build = s.p.run().args(&["build", "--source", "."]);
    for (k, v) in &s.env {
        build = build.env(k, v);
    }
    build.run();
    let images: Vec<&str> = (s.system.services.iter())
        .filter(|svc| svc.build.is_some())
        .map(|svc| svc.image.as_str())
        .collect();
    assert_eq!(images.len(), 3);
    for image in &images {
        for secret in [planted.as_str(), redis.as_str()] {
            assert_eq!(leaks(image, secret), Vec::<String>::new(), "{image}");
        }
    }
    // The control: a Dockerfile that copies its whole context, as the
    // generated ones do (`COPY . /app`), with the whole directory as context.
    let tag = format!("{}:control", unique_name("realrun-leak"));
    // The root's `.dockerignore` (the seed Dockerfiles') moved aside.
    let control = tempfile::tempdir().unwrap();
    let dockerfile = control.path().join("Dockerfile");
    put(&dockerfile, "FROM scratch\nCOPY . /app\n");
    std::fs::rename(root.join(".dockerignore"), control.path().join("ignore")).unwrap();
    let out = run(Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &tag, "-f"])
        .arg(&dockerfile)
        .arg(root));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (found, generated) = (leaks(&tag, &planted), leaks(&tag, &redis));
    let _ = run(Command::new("docker").args(["rmi", &tag]));
    for want in ["app/.git/HEAD", "app/.env", "app/src/.env"] {
        assert!(found.iter().any(|f| f == want), "{want} in {found:?}");
    }
    for want in ["app/.lucid-gen/secrets.env", "app/generated/secrets/"] {
        assert!(
            generated.iter().any(|f| f.starts_with(want)),
            "{want} in {generated:?}"
        );
    }
}
