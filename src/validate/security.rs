//! A service's `security` block: writable root, tmpfs, added capabilities,
//! root user and pids limit, each exception with a reason.

use crate::diagnostic::Rule;
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
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        if let Some(r) = &sec.writable_root {
            if !reason_ok(r) {
                self.error(
                    Rule::SecurityException,
                    &sub("writable_root"),
                    format!("`{name}`: writable_root needs a reason"),
                    REASON_HELP,
                );
            }
        }
        let tmpfs = sec
            .tmpfs
            .clone()
            .unwrap_or_else(|| vec!["/tmp".to_string()]);
        for (i, t) in tmpfs.iter().enumerate() {
            if !names::is_container_path(t) {
                self.error(
                    Rule::InvalidPath,
                    &At {
                        file: at.file,
                        path: at.path.key("tmpfs").index(i),
                    },
                    format!("tmpfs `{t}` must be an absolute path"),
                    "e.g. `/tmp`",
                );
            }
        }
        let cap_add = self.cap_add(name, sec, at);
        self.run_as_root(name, s, at, user_at);
        let pids_limit = sec.pids_limit.unwrap_or(256);
        if pids_limit == 0 {
            self.error(
                Rule::InvalidResource,
                &sub("pids_limit"),
                "pids_limit must be at least 1".into(),
                "the default is 256",
            );
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
                self.error_at_key(
                    Rule::SecurityException,
                    &cap_at,
                    format!(
                        "`{name}` may not add back {bare}: it amounts to a privileged container"
                    ),
                    "add the narrow capability the service really needs",
                );
            } else if !names::CAPABILITIES.contains(&bare) {
                self.error_at_key(
                    Rule::SecurityException,
                    &cap_at,
                    format!("`{cap}` is not a Linux capability"),
                    "use a name such as NET_BIND_SERVICE (see capabilities(7)), with or without one `CAP_` prefix",
                );
            } else if cap_add.iter().any(|(c, _): &(String, String)| c == bare) {
                self.error_at_key(
                    Rule::DuplicateDefinition,
                    &cap_at,
                    format!("capability {bare} of `{name}` is added twice (as `{cap}`)"),
                    "list each capability once",
                );
            }
            if !reason_ok(reason) {
                self.error(
                    Rule::SecurityException,
                    &cap_at,
                    format!("capability {bare} of `{name}` needs a reason"),
                    REASON_HELP,
                );
            }
            cap_add.push((bare.to_string(), reason.clone()));
        }
        cap_add
    }

    /// Root only with a stated reason, and a reason only for root.
    fn run_as_root(&mut self, name: &str, s: &raw::ServiceDef, at: &At, user_at: &At) {
        let sec = &s.security;
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        let is_root = s.user.as_deref().is_some_and(names::is_root_user);
        match (&sec.run_as_root, is_root) {
            (None, true) => self.error(
                Rule::SecurityException,
                user_at,
                format!("`{name}` runs as root without a stated reason"),
                "run as a non-root user, or set `security.run_as_root` to the reason",
            ),
            (Some(r), true) if !reason_ok(r) => self.error(
                Rule::SecurityException,
                &sub("run_as_root"),
                format!("`{name}`: run_as_root needs a reason"),
                REASON_HELP,
            ),
            (Some(_), false) => self.error(
                Rule::SecurityException,
                &sub("run_as_root"),
                format!("`{name}` states a reason to run as root but its user is not root"),
                "remove `run_as_root`, or set `user: \"0\"`",
            ),
            _ => {}
        }
        if let Some(r) = &sec.host_ports {
            if !reason_ok(r) {
                self.error(
                    Rule::SecurityException,
                    &sub("host_ports"),
                    format!("`{name}`: host_ports needs a reason"),
                    REASON_HELP,
                );
            }
        }
    }
}

/// Whether an exception's reason is a sentence rather than a placeholder.
fn reason_ok(reason: &str) -> bool {
    reason.trim().len() >= 8
}

const REASON_HELP: &str =
    "state the reason in a sentence; it is written into the compose file next to the exception";
