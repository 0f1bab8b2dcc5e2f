//! Whether a running container still sees an older mounted secret file
//! than the output directory holds ([`stale_mounts`]); `up` recreates
//! such containers and `plan` says "secret rotated".

use super::target::Target;
use super::time::unix_nanos;
use super::{DockerError, Workspace};
use crate::system::Service;

/// Whether a container of `s` started at `started` (Docker's RFC 3339
/// time) still sees an older version of a secret file or secret-bearing
/// config file than the output directory holds: a bind mount keeps the
/// file it was made from, and lucid-gen replaces files by renaming (and
/// only when their bytes change), so a file written after the container
/// started is one the container does not see. (`docker cp` cannot tell: it
/// reads a bind mount's source on the host.) Compose cannot tell either:
/// the compose file did not change.
///
/// The files are read where the container runs ([`Target::files_root`]):
/// on a host, a release keeps an unchanged file's time (hard links to the
/// previous release) and gives a changed one the time it arrived.
pub fn stale_mounts(
    ws: &Workspace,
    target: &Target,
    s: &Service,
    started: &str,
) -> Result<bool, DockerError> {
    let Some(started) = unix_nanos(started) else {
        return Ok(true); // unknown: recreating is the safe answer
    };
    let root = target.files_root(ws);
    let mounts = crate::render::delivery::mounts(&ws.system, s);
    let paths: Vec<_> = (mounts.into_iter())
        .filter(|m| m.secret)
        .map(|m| root.join(&m.path))
        .collect();
    if paths.is_empty() {
        return Ok(false);
    }
    Ok(target.modified(&paths)?.into_iter().any(|t| t > started))
}
