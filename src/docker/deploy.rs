//! `lucid-gen deploy`: copies a phase's files to a remote host over SSH and
//! runs compose there.
//!
//! A deployment to one remote host, phase by phase in deploy order: make
//! the directories, copy the phase's compose file and the env files its
//! services read into the same `<compose_dir>` / `<env_dir>` layout under
//! `--dir` (so the relative `env_file` paths still resolve), then `docker
//! compose -f <file> up -d --wait` on the host. Plain `ssh` and `scp` with
//! `BatchMode=yes` (never a password prompt); env files keep their mode
//! (0600 for secret-bearing ones) through `scp -p`. Commands name files
//! only: no secret value is ever on a command line or printed.

use std::path::PathBuf;

use super::{shell_quote, Cmd, Deployment, DockerError};
use crate::plan::ComposePlan;

pub struct DeployOptions {
    /// `user@host`.
    pub host: String,
    pub phase: Option<String>,
    /// Remote directory the files are copied to.
    pub dir: String,
    pub dry_run: bool,
}

/// What one phase deploys.
struct PhaseFiles {
    name: String,
    compose: PathBuf,
    compose_file: String,
    /// Local env files, with whether each holds secrets.
    env_files: Vec<(PathBuf, bool)>,
}

pub fn run(dep: &Deployment, opts: &DeployOptions) -> Result<(), DockerError> {
    check_host(&opts.host)?;
    check_dir(&opts.dir)?;
    let plans = dep.plans(opts.phase.as_deref())?;
    let phases: Vec<PhaseFiles> = plans.iter().map(|p| phase_files(dep, p)).collect();
    for phase in &phases {
        check_local(phase)?;
    }
    let compose_dir = remote_join(&opts.dir, &dep.system.output.compose_dir);
    let env_dir = remote_join(&opts.dir, &dep.system.output.env_dir);
    for phase in &phases {
        let cmds = commands(opts, phase, &compose_dir, &env_dir);
        if opts.dry_run {
            println!("# phase {} → {}:{}", phase.name, opts.host, opts.dir);
            for cmd in &cmds {
                println!("{cmd}");
            }
            continue;
        }
        println!(
            "==> phase {}: {} to {}:{}",
            phase.name, phase.compose_file, opts.host, opts.dir
        );
        let (up, copy) = cmds.split_last().expect("at least mkdir and up");
        for cmd in copy {
            cmd.run()?;
        }
        up.run_visible()?;
    }
    if !opts.dry_run {
        println!("deploy: {} phase(s) up on {}", phases.len(), opts.host);
    }
    Ok(())
}

fn phase_files(dep: &Deployment, plan: &ComposePlan) -> PhaseFiles {
    let system = &dep.system;
    let mut env: Vec<usize> = Vec::new();
    for &s in &plan.services {
        for &e in &system.services[s].env_files {
            if !env.contains(&e) {
                env.push(e);
            }
        }
    }
    let env_dir = dep.out_dir.join(&system.output.env_dir);
    PhaseFiles {
        name: plan
            .phase
            .map(|p| system.phases[p].name.clone())
            .unwrap_or_else(|| "master".into()),
        compose: dep.compose_path(plan),
        compose_file: plan.file_name.clone(),
        env_files: env
            .iter()
            .map(|&e| {
                let f = &system.env_files[e];
                (env_dir.join(&f.file), !f.secrets.is_empty())
            })
            .collect(),
    }
}

/// mkdir, copy the compose file, copy the env files, compose up: the last
/// command is always `up`.
fn commands(
    opts: &DeployOptions,
    phase: &PhaseFiles,
    compose_dir: &str,
    env_dir: &str,
) -> Vec<Cmd> {
    let ssh = || {
        Cmd::new("ssh")
            .args(["-o", "BatchMode=yes"])
            .arg(&opts.host)
    };
    let scp = || Cmd::new("scp").args(["-o", "BatchMode=yes", "-p"]);
    let mut cmds = Vec::new();
    let mut dirs = vec![compose_dir];
    if !phase.env_files.is_empty() && env_dir != compose_dir {
        dirs.push(env_dir);
    }
    let dirs: Vec<String> = dirs.iter().map(|d| shell_quote(d).to_string()).collect();
    cmds.push(ssh().arg(format!("mkdir -p {}", dirs.join(" "))));
    cmds.push(scp().arg(&phase.compose).arg(format!(
        "{}:{compose_dir}/{}",
        scp_host(&opts.host),
        phase.compose_file
    )));
    if !phase.env_files.is_empty() {
        cmds.push(
            scp()
                .args(phase.env_files.iter().map(|(p, _)| p))
                .arg(format!("{}:{env_dir}/", scp_host(&opts.host))),
        );
    }
    cmds.push(ssh().arg(format!(
        "cd {} && docker compose -f {} up -d --wait",
        shell_quote(compose_dir),
        shell_quote(&phase.compose_file)
    )));
    cmds
}

/// Every file must be there, and a secret-bearing env file must not be
/// readable by others: `scp -p` would carry that mode to the host.
fn check_local(phase: &PhaseFiles) -> Result<(), DockerError> {
    use std::os::unix::fs::PermissionsExt;
    let files = std::iter::once((&phase.compose, false))
        .chain(phase.env_files.iter().map(|(p, s)| (p, *s)));
    for (path, secret) in files {
        let meta = std::fs::metadata(path).map_err(|e| {
            DockerError::Other(format!(
                "{}: {e}; run `lucid-gen all` first",
                path.display()
            ))
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if secret && mode & 0o077 != 0 {
            return Err(DockerError::Other(format!(
                "{} holds secrets but has mode {mode:03o}; `scp -p` would copy that mode to the host\n  help: chmod 600 {}",
                path.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// `user@host` as ssh takes it; never an option.
fn check_host(host: &str) -> Result<(), DockerError> {
    let ok = !host.is_empty()
        && !host.starts_with('-')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DockerError::Usage(format!(
            "--host `{host}` is not a `user@host` (letters, digits and `._-@:` only)"
        )))
    }
}

/// The remote directory goes into a remote shell line (quoted there) and
/// into an scp path (which no quoting reaches portably), so only plain path
/// characters are accepted. `~` is refused:
/// quoted it would not expand, unquoted it is a shell word.
fn check_dir(dir: &str) -> Result<(), DockerError> {
    let ok = !dir.is_empty()
        && !dir.starts_with('-')
        && dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@%,=".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DockerError::Usage(format!(
            "--dir `{dir}` must be a plain path (letters, digits and `/._-+@%,=`)\n  help: a relative path is relative to the login directory on the host, so write `app` rather than `~/app`"
        )))
    }
}

/// `dir/rel` for the remote side, skipping `.` components.
fn remote_join(dir: &str, rel: &str) -> String {
    let mut out = dir.trim_end_matches('/').to_string();
    if out.is_empty() {
        out.push('/');
    }
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(part);
    }
    out
}

/// The host part of an scp target: an IPv6 address needs brackets.
fn scp_host(host: &str) -> String {
    let (user, name) = match host.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, host),
    };
    let name = if name.contains(':') {
        format!("[{name}]")
    } else {
        name.to_string()
    };
    match user {
        Some(u) => format!("{u}@{name}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths() {
        assert_eq!(
            remote_join("/opt/shop", "configs/docker"),
            "/opt/shop/configs/docker"
        );
        assert_eq!(remote_join("/opt/shop/", "./env"), "/opt/shop/env");
        assert_eq!(remote_join("/", "env"), "/env");
        assert_eq!(remote_join("shop", "."), "shop");
    }

    #[test]
    fn hosts_and_dirs() {
        assert!(check_host("admin@192.168.1.10").is_ok());
        assert!(check_host("-oProxyCommand=x").is_err());
        assert!(check_host("admin@host;rm").is_err());
        assert!(check_dir("/opt/shop").is_ok());
        assert!(check_dir("~/shop").is_err());
        assert!(check_dir("/opt/my dir").is_err());
        assert_eq!(scp_host("admin@::1"), "admin@[::1]");
        assert_eq!(scp_host("admin@127.0.0.1"), "admin@127.0.0.1");
    }

    /// The model's output directories may hold spaces or `$`: the remote
    /// shell lines carry them as single words.
    #[test]
    fn remote_shell_lines_keep_model_directories_whole() {
        let opts = DeployOptions {
            host: "admin@host".into(),
            phase: None,
            dir: "/opt/shop".into(),
            dry_run: true,
        };
        let phase = PhaseFiles {
            name: "base".into(),
            compose: PathBuf::from("out/docker-compose.yml"),
            compose_file: "docker-compose.yml".into(),
            env_files: vec![(PathBuf::from("out/my env/.env"), false)],
        };
        let cmds = commands(&opts, &phase, "/opt/shop/co $x", "/opt/shop/my env");
        let remote = |c: &Cmd| c.args.last().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            remote(&cmds[0]),
            "mkdir -p '/opt/shop/co $x' '/opt/shop/my env'"
        );
        assert_eq!(
            remote(cmds.last().unwrap()),
            "cd '/opt/shop/co $x' && docker compose -f docker-compose.yml up -d --wait"
        );
    }
}
