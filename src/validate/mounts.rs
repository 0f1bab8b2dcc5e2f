//! A service's host paths: `binds` (read-only unless a reason says
//! otherwise, never into `/run/secrets`, the source inside the source tree
//! or an absolute host path) and `devices` (each under `/dev` with a
//! reason, on an isolated plane only when that is stated too).

use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::Bind;

use super::location::At;
use super::names;
use super::security::reason_ok;
use super::Validator;

/// Where the secrets a container receives as files are mounted.
const SECRETS_DIR: &str = "/run/secrets";

impl Validator<'_> {
    /// The bind mounts of a `binds` list at `at`, each checked.
    pub(super) fn bind_list(&mut self, service: &str, at: &At, list: &[raw::BindDef]) -> Vec<Bind> {
        let mut binds = Vec::new();
        for (i, b) in list.iter().enumerate() {
            let bat = |k: &str| At {
                file: at.file,
                path: at.path.index(i).key(k),
            };
            let source = match names::bind_source(&b.source) {
                Ok(source) => Some(source),
                Err(why) => {
                    let source = b.source.clone();
                    self.report(&bat("source"), Kind::BindSource { source, why });
                    None
                }
            };
            let target = self.mount_point("bind mount target", &b.target, &bat("target"));
            if target.as_deref().is_some_and(in_secrets_dir) {
                let kind = Kind::BindIntoSecrets {
                    service: service.to_string(),
                    target: b.target.clone(),
                };
                self.report(&bat("target"), kind);
            }
            if b.read_write.as_deref().is_some_and(|r| !reason_ok(r)) {
                let kind = Kind::BindReadWriteReason {
                    service: service.to_string(),
                    target: b.target.clone(),
                };
                self.report(&bat("read_write"), kind);
            }
            if let Some(source) = source {
                binds.push(Bind {
                    source,
                    target: b.target.clone(),
                    read_write: b.read_write.clone(),
                });
            }
        }
        binds
    }

    /// The service's `devices`: host device nodes, each with its reason,
    /// and on an isolated plane only with `security.devices_on_isolated_plane`.
    pub(super) fn devices(
        &mut self,
        service: &str,
        s: &raw::ServiceDef,
        at: &At,
        isolated_plane: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut devices = Vec::new();
        for (device, reason) in &s.devices {
            let dat = at.key(device);
            let normal = names::mount_point(device).ok();
            if !normal.as_deref().is_some_and(|n| n.starts_with("/dev/")) {
                let kind = Kind::DevicePath {
                    device: device.clone(),
                };
                self.report_at_key(&dat, kind);
            }
            if !reason_ok(reason) {
                let kind = Kind::DeviceReason {
                    service: service.to_string(),
                    device: device.clone(),
                };
                self.report(&dat, kind);
            }
            devices.push((device.clone(), reason.clone()));
        }
        let stated = s.security.devices_on_isolated_plane.as_deref();
        if let (Some(plane), false, None) = (isolated_plane, devices.is_empty(), stated) {
            let kind = Kind::DeviceOnIsolatedPlane {
                service: service.to_string(),
                plane: plane.to_string(),
            };
            self.report_at_key(at, kind);
        }
        devices
    }
}

/// Whether a normalised mount point is `/run/secrets` or below it.
fn in_secrets_dir(target: &str) -> bool {
    target == SECRETS_DIR || target.starts_with(&format!("{SECRETS_DIR}/"))
}
