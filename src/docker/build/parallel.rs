//! Running the builds of one step: up to `jobs` at once, each with its
//! output captured into one log, printed as each finishes; after a failure
//! no new build starts, the running ones finish, then every failure is
//! reported with the last lines of its log.

use std::fs::File;
use std::io::{Read, Seek};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::docker::progress::Progress;
use crate::docker::steps::ImageBuild;
use crate::docker::{io_error, Cmd, DockerError, ErrorKind};

/// Lines of a failed build's output shown in the error.
const TAIL_LINES: usize = 30;

/// `build`'s command with its context packed by `context::pack` (the tar
/// lives as long as the returned file) when it asks for one: `-f FILE …
/// CONTEXT` becomes `-f .lucid-gen.Dockerfile … -` with the tar on standard
/// input.
fn packed(build: &ImageBuild) -> Result<(Cmd, Option<tempfile::NamedTempFile>), DockerError> {
    let Some(p) = &build.packed else {
        return Ok((build.cmd.clone(), None));
    };
    let tar = crate::docker::context::pack(&p.context, &p.dockerfile, &p.ignore)?;
    let mut cmd = build.cmd.clone();
    if let Some(i) = cmd.args.iter().position(|a| a == "-f") {
        cmd.args[i + 1] = crate::docker::context::DOCKERFILE.into();
    }
    if let Some(last) = cmd.args.last_mut() {
        *last = "-".into();
    }
    cmd.stdin = Some(tar.path().to_path_buf());
    Ok((cmd, Some(tar)))
}

/// How one build went.
struct Outcome {
    success: bool,
    status: String,
    log: String,
    elapsed: Duration,
}

/// Runs `cmd` with stdout and stderr interleaved into one log, as a user
/// would have seen them.
fn run_logged(cmd: &Cmd) -> Result<Outcome, DockerError> {
    let start = Instant::now();
    let io = |e: std::io::Error| io_error("capture build output in", std::env::temp_dir(), e);
    let mut log = tempfile::tempfile().map_err(io)?;
    let out: File = log.try_clone().map_err(io)?;
    let err: File = log.try_clone().map_err(io)?;
    let status = cmd
        .command()?
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| cmd.not_found(e))?;
    log.rewind().map_err(io)?;
    let mut bytes = Vec::new();
    log.read_to_end(&mut bytes).map_err(io)?;
    Ok(Outcome {
        success: status.success(),
        status: status.to_string(),
        log: String::from_utf8_lossy(&bytes).into_owned(),
        elapsed: start.elapsed(),
    })
}

fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the builds of one step, up to `jobs` at once, printing each result
/// as it finishes. After a failure no new build starts; the running ones
/// finish, then every failure is reported.
pub fn run_parallel(
    builds: &[ImageBuild],
    jobs: usize,
    progress: &Progress,
) -> Result<(), DockerError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let mut failures = Vec::new();
    let mut fatal = None;
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(builds.len()) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(build) = builds.get(i) else { break };
                let result = packed(build).and_then(|(cmd, _tar)| run_logged(&cmd));
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            let job = &builds[i];
            match result {
                Ok(o) if o.success => progress.line(&format!(
                    "ok    {}  ({}, {:.1}s)",
                    job.image,
                    job.what,
                    o.elapsed.as_secs_f64()
                )),
                Ok(o) => {
                    stop.store(true, Ordering::SeqCst);
                    progress.line(&format!(
                        "FAIL  {}  ({}, {}, {:.1}s)",
                        job.image,
                        job.what,
                        o.status,
                        o.elapsed.as_secs_f64()
                    ));
                    failures.push(format!(
                        "building {} ({}) failed ({}); last lines of its output:\n{}\n  command: {}",
                        job.image,
                        job.what,
                        o.status,
                        tail(&o.log, TAIL_LINES),
                        job.cmd
                    ));
                }
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    fatal.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ErrorKind::Builds {
            failures,
            not_built: 0,
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let log: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let t = tail(&log, 30);
        assert!(t.starts_with("    line 11\n"));
        assert!(t.ends_with("    line 40"));
    }
}
