//! A service's `security` block: writable root, tmpfs, added capabilities,
//! root user and pids limit, each exception with a reason.

use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::*;

use super::location::At;
use super::names;
use super::Validator;

impl Validator<'_> {
    pub(super) fn security(
        &mut self,
        name: &str,
        s: &raw::ServiceDef,
        at: &At,
        user_at: &At,
    ) -> Security {
        let sec = &s.security;
        let sub = |k: &str| at.key(k);
        if let Some(r) = &sec.writable_root {
            if !reason_ok(r) {
                self.report(
                    &sub("writable_root"),
                    Kind::WritableRootReason {
                        service: name.to_string(),
                    },
                );
            }
        }
        let tmpfs = sec
            .tmpfs
            .clone()
            .unwrap_or_else(|| vec!["/tmp".to_string()]);
        for (i, t) in tmpfs.iter().enumerate() {
            let tat = At {
                file: at.file,
                path: at.path.key("tmpfs").index(i),
            };
            self.mount_point("tmpfs", t, &tat);
        }
        let cap_add = self.cap_add(name, sec, at);
        self.run_as_root(name, s, at, user_at);
        let pids_limit = sec.pids_limit.unwrap_or(256);
        if pids_limit == 0 {
            self.report(&sub("pids_limit"), Kind::PidsLimit {});
        }
        Security {
            writable_root: sec.writable_root.clone(),
            tmpfs,
            cap_add,
            run_as_root: sec.run_as_root.clone(),
            pids_limit,
        }
    }

    /// Added capabilities, each a real one, never a privileged container,
    /// each with a reason.
    fn cap_add(&mut self, name: &str, sec: &raw::SecurityDef, at: &At) -> Vec<(String, String)> {
        let mut cap_add = Vec::new();
        for (cap, reason) in &sec.cap_add {
            let cap_at = At {
                file: at.file,
                path: at.path.key("cap_add").key(cap.as_str()),
            };
            // Docker ignores case and one `CAP_` prefix: judge the
            // capability it would grant, not the spelling.
            let bare = names::normalize_capability(cap);
            let bare = bare.as_str();
            if matches!(bare, "ALL" | "SYS_ADMIN") {
                self.report_at_key(
                    &cap_at,
                    Kind::PrivilegedCapability {
                        service: name.to_string(),
                        cap: bare.to_string(),
                    },
                );
            } else if !names::CAPABILITIES.contains(&bare) {
                self.report_at_key(&cap_at, Kind::UnknownCapability { cap: cap.clone() });
            } else if cap_add.iter().any(|(c, _): &(String, String)| c == bare) {
                self.report_at_key(
                    &cap_at,
                    Kind::CapabilityTwice {
                        service: name.to_string(),
                        cap: bare.to_string(),
                        spelled: cap.clone(),
                    },
                );
            }
            if !reason_ok(reason) {
                self.report(
                    &cap_at,
                    Kind::CapabilityReason {
                        service: name.to_string(),
                        cap: bare.to_string(),
                    },
                );
            }
            cap_add.push((bare.to_string(), reason.clone()));
        }
        cap_add
    }

    /// Root only with a stated reason, and a reason only for root.
    fn run_as_root(&mut self, name: &str, s: &raw::ServiceDef, at: &At, user_at: &At) {
        let sec = &s.security;
        let sub = |k: &str| at.key(k);
        let is_root = s.user.as_deref().is_some_and(names::is_root_user);
        match (&sec.run_as_root, is_root) {
            (None, true) => self.report(
                user_at,
                Kind::RootWithoutReason {
                    service: name.to_string(),
                },
            ),
            (Some(r), true) if !reason_ok(r) => self.report(
                &sub("run_as_root"),
                Kind::RootReason {
                    service: name.to_string(),
                },
            ),
            (Some(_), false) => self.report(
                &sub("run_as_root"),
                Kind::RootReasonNotRoot {
                    service: name.to_string(),
                },
            ),
            _ => {}
        }
        if sec.host_ports.as_deref().is_some_and(|r| !reason_ok(r)) {
            self.report(
                &sub("host_ports"),
                Kind::HostPortsReason {
                    service: name.to_string(),
                },
            );
        }
    }
}

/// Whether an exception's reason is a sentence rather than a placeholder.
pub(super) fn reason_ok(reason: &str) -> bool {
    reason.trim().len() >= 8
}
