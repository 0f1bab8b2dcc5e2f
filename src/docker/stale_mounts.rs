//! Whether a running container still sees an older mounted secret file
//! than the output directory holds ([`stale_mounts`]); `up` recreates
//! such containers and `plan` says "secret rotated".

use super::time::unix_nanos;
use super::{io_error, DockerError, Workspace};
use crate::system::Service;

/// Whether a container of `s` started at `started` (Docker's RFC 3339
/// time) still sees an older version of a secret file or secret-bearing
/// config file than the output directory holds: a bind mount keeps the
/// file it was made from, and lucid-gen replaces files by renaming (and
/// only when their bytes change), so a file written after the container
/// started is one the container does not see. (`docker cp` cannot tell: it
/// reads a bind mount's source on the host.) Compose cannot tell either:
/// the compose file did not change.
pub fn stale_mounts(ws: &Workspace, s: &Service, started: &str) -> Result<bool, DockerError> {
    let Some(started) = unix_nanos(started) else {
        return Ok(true); // unknown: recreating is the safe answer
    };
    let mounts = crate::render::delivery::mounts(&ws.system, s);
    for m in mounts.into_iter().filter(|m| m.secret) {
        let path = ws.out_dir.join(&m.path);
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| io_error("read", &path, e))?;
        let since = modified
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        if since > started {
            return Ok(true);
        }
    }
    Ok(false)
}
