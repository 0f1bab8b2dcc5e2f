//! `lucid-gen deploy`: copies a phase's files to a remote host over SSH and
//! runs compose there.
//!
//! A deployment to one remote host, phase by phase in deploy order: make
//! the directories, copy the phase's compose file and every file its
//! services read (env files, secrets env files, secret and config files)
//! into the same layout under `--dir` (so the compose file's relative paths
//! still resolve), then `docker compose -f <file> up -d --wait` on the
//! host. Plain `ssh` and `scp` with `BatchMode=yes` (never a password
//! prompt); files keep their mode through `scp -p` (0600 for secrets env
//! files, 0444 for mounted secret files), and a directory holding mounted
//! secret files is made 0700 on the host, as lucid-gen makes it here.
//! Commands name files only: no secret value is ever on a command line or
//! printed.

use std::path::PathBuf;

use super::{shell_quote, Cmd, Deployment, DockerError};
use crate::plan::ComposePlan;
use crate::render::delivery::{host_files, HostFile};

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
    /// The files its services read, relative to the output root, and the
    /// service that first needs each.
    files: Vec<HostFile>,
    owners: Vec<String>,
    /// The output root here.
    out_dir: PathBuf,
}

pub fn run(dep: &Deployment, opts: &DeployOptions) -> Result<(), DockerError> {
    check_host(&opts.host)?;
    check_dir(&opts.dir)?;
    let plans = dep.plans(opts.phase.as_deref())?;
    let phases: Vec<PhaseFiles> = plans.iter().map(|p| phase_files(dep, p)).collect();
    let compose_dir = &dep.system.output.compose_dir;
    for phase in &phases {
        check_remote_paths(opts, phase, compose_dir)?;
        check_local(phase)?;
    }
    for phase in &phases {
        let cmds = commands(opts, phase, compose_dir);
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
    let mut files: Vec<HostFile> = Vec::new();
    let mut owners = Vec::new();
    for &s in &plan.services {
        for f in host_files(system, &system.services[s]) {
            if !files.contains(&f) {
                files.push(f);
                owners.push(system.services[s].name.clone());
            }
        }
    }
    PhaseFiles {
        name: plan
            .phase
            .map(|p| system.phases[p].name.clone())
            .unwrap_or_else(|| "master".into()),
        compose: dep.compose_path(plan),
        compose_file: plan.file_name.clone(),
        files,
        owners,
        out_dir: dep.out_dir.clone(),
    }
}

/// The remote directory of a file relative to the output root.
fn remote_parent(dir: &str, rel: &std::path::Path) -> String {
    let parent = rel.parent().map(|p| p.to_string_lossy().into_owned());
    remote_join(dir, parent.as_deref().unwrap_or("."))
}

/// mkdir (0700 where mounted secrets go), copy the compose file, copy the
/// files its services read, directory by directory, compose up: the last
/// command is always `up`.
fn commands(opts: &DeployOptions, phase: &PhaseFiles, compose_dir: &str) -> Vec<Cmd> {
    let ssh = || {
        Cmd::new("ssh")
            .args(["-o", "BatchMode=yes"])
            .arg(&opts.host)
    };
    let scp = || Cmd::new("scp").args(["-o", "BatchMode=yes", "-p"]);
    let remote_compose = remote_join(&opts.dir, compose_dir);
    // Remote directory → local files, in first-use order.
    let mut by_dir: Vec<(String, Vec<PathBuf>, bool)> = Vec::new();
    for f in &phase.files {
        let dir = remote_parent(&opts.dir, &f.path);
        let local = phase.out_dir.join(&f.path);
        match by_dir.iter_mut().find(|(d, _, _)| *d == dir) {
            Some((_, files, private)) => {
                files.push(local);
                *private |= f.mounted;
            }
            None => by_dir.push((dir, vec![local], f.mounted)),
        }
    }
    let mut mkdir = vec![shell_quote(&remote_compose).to_string()];
    mkdir.extend(by_dir.iter().map(|(d, _, _)| shell_quote(d).to_string()));
    mkdir.dedup();
    let mut line = format!("mkdir -p {}", mkdir.join(" "));
    let private: Vec<String> = (by_dir.iter().filter(|(_, _, p)| *p))
        .map(|(d, _, _)| shell_quote(d).to_string())
        .collect();
    if !private.is_empty() {
        line.push_str(&format!(" && chmod 700 {}", private.join(" ")));
    }
    let mut cmds = vec![ssh().arg(line)];
    cmds.push(scp().arg(&phase.compose).arg(format!(
        "{}:{remote_compose}/{}",
        scp_host(&opts.host),
        phase.compose_file
    )));
    for (dir, files, _) in &by_dir {
        cmds.push(
            scp()
                .args(files)
                .arg(format!("{}:{dir}/", scp_host(&opts.host))),
        );
    }
    cmds.push(ssh().arg(format!(
        "cd {} && docker compose -f {} up -d --wait",
        shell_quote(&remote_compose),
        shell_quote(&phase.compose_file)
    )));
    cmds
}

/// Every file must be there, and a secrets env file must not be readable
/// by others: `scp -p` would carry that mode to the host. (Mounted secret
/// files are 0444 by design; their directory is made 0700 there.)
fn check_local(phase: &PhaseFiles) -> Result<(), DockerError> {
    use std::os::unix::fs::PermissionsExt;
    let files = std::iter::once((phase.compose.clone(), false))
        .chain((phase.files.iter()).map(|f| (phase.out_dir.join(&f.path), f.secret && !f.mounted)));
    for (path, secret) in files {
        let path = &path;
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

/// A character a path on the remote side may hold: `scp` hands its
/// destination to the remote shell under the legacy protocol (OpenSSH
/// before 9.0, or `scp -O`; CVE-2020-15778), where no quoting reaches it
/// portably, so `$(…)`, a space or a quote there would run or split.
fn is_plain_remote(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._-+@%,=".contains(c)
}

/// Every remote path the phase's `scp` commands name is plain: no model
/// text (a config target, an output directory, a file name) reaches the
/// remote shell. Refused naming the file, whose it is and why.
fn check_remote_paths(
    opts: &DeployOptions,
    phase: &PhaseFiles,
    compose_dir: &str,
) -> Result<(), DockerError> {
    let compose = remote_join(&opts.dir, compose_dir) + "/" + &phase.compose_file;
    let mut remote = vec![(
        compose,
        format!("the compose file of phase `{}`", phase.name),
    )];
    for (f, owner) in phase.files.iter().zip(&phase.owners) {
        let what = format!(
            "`{}`, read by service `{owner}`,",
            crate::escape::escape_control(&f.path.to_string_lossy())
        );
        remote.push((remote_parent(&opts.dir, &f.path), what));
    }
    for (path, what) in remote {
        if let Some(bad) = path.chars().find(|c| !is_plain_remote(*c)) {
            return Err(DockerError::Usage(format!(
                "deploy would copy {what} to `{}` on the host, but `scp` hands that path to the remote shell (CVE-2020-15778), which would act on {:?}; lucid-gen puts no such model text in a remote path\n  \
                 help: use only letters, digits and `/._-+@%,=` in the model's output directories, config file targets and file names",
                crate::escape::escape_control(&path),
                bad,
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
    let ok = !dir.is_empty() && !dir.starts_with('-') && dir.chars().all(is_plain_remote);
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
            files: vec![
                HostFile {
                    path: PathBuf::from("my env/.env"),
                    secret: false,
                    mounted: false,
                },
                HostFile {
                    path: PathBuf::from("s/files/A"),
                    secret: true,
                    mounted: true,
                },
            ],
            owners: vec!["api".into(), "db".into()],
            out_dir: PathBuf::from("out"),
        };
        let refused = check_remote_paths(&opts, &phase, "co $x").unwrap_err();
        assert!(refused.to_string().contains("CVE-2020-15778"), "{refused}");
        let cmds = commands(&opts, &phase, "co $x");
        let remote = |c: &Cmd| c.args.last().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            remote(&cmds[0]),
            "mkdir -p '/opt/shop/co $x' '/opt/shop/my env' /opt/shop/s/files && chmod 700 /opt/shop/s/files"
        );
        assert_eq!(
            remote(cmds.last().unwrap()),
            "cd '/opt/shop/co $x' && docker compose -f docker-compose.yml up -d --wait"
        );
    }
}
