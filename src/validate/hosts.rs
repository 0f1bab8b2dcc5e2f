//! The `hosts` section: machines the system is deployed to over SSH. An
//! address, user and directory a remote shell and `ssh` take as they are
//! (plain characters, never an option), exactly one pinned host key (a
//! fingerprint or a known_hosts file; there is no "accept any key"), a
//! platform, a disk minimum and a deadline Docker's own syntax reads, and
//! phases that exist.

use std::net::Ipv6Addr;

use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::{DeployHost, HostKeyPin, System};

use super::common::Ref;
use super::location::{p, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

/// Releases kept on a host unless it says otherwise.
const KEEP_RELEASES: u32 = 5;
/// Seconds a phase may take to become healthy unless the host says.
const DEADLINE_SECS: u64 = 600;

impl<'a> Validator<'a> {
    /// Every host, resolved against the built system (phases, platform).
    pub(super) fn hosts(&mut self, m: &Merged<'a>, sys: &System) -> Vec<DeployHost> {
        let mut out = Vec::new();
        for (name, d) in &m.hosts {
            self.check_name("host", name, &d.here());
            let h = d.def;
            let at = |k: &str| d.at(&p().key(k));
            self.ssh_destination(d);
            if !is_remote_dir(&h.directory) {
                let value = h.directory.clone();
                self.report(&at("directory"), Kind::HostDirectory { value });
            }
            let port = match h.port {
                Some(port) => self.port(port, &at("port"), "the SSH port"),
                None => 22,
            };
            let platform = h.platform.clone().unwrap_or_else(|| sys.platform.clone());
            if !names::is_platform(&platform) {
                self.report(
                    &at("platform"),
                    Kind::InvalidPlatform {
                        platform: platform.clone(),
                    },
                );
            }
            let phases = match &h.phases {
                None => (0..sys.phases.len()).collect(),
                Some(list) => (list.iter().enumerate())
                    .filter_map(|(i, phase)| {
                        let at = d.at(&p().key("phases").index(i));
                        self.resolve(Ref::Phase, phase, &m.phases, &at)
                    })
                    .collect(),
            };
            if h.keep_releases == Some(0) {
                self.report(&at("keep_releases"), Kind::KeepNoRelease {});
            }
            out.push(DeployHost {
                name: name.clone(),
                description: h.description.clone(),
                address: h.address.clone(),
                user: h.user.clone(),
                port,
                directory: h.directory.trim_end_matches('/').to_string(),
                platform,
                min_free_disk: self.disk_size(d),
                pin: self.host_key_pin(name, d),
                images: h.images,
                phases,
                keep_releases: h.keep_releases.unwrap_or(KEEP_RELEASES).max(1),
                deadline_secs: self.deadline(d),
                swarm: self.swarm_node(d),
                after_deploy: h.after_deploy,
            });
        }
        out
    }

    /// The address and user: what `ssh` and the remote side take as they
    /// are; never an option (a leading `-`), never a shell word to quote.
    fn ssh_destination(&mut self, d: &Def<'a, raw::HostDef>) {
        let h = d.def;
        let address_ok = (h.address.parse::<Ipv6Addr>().is_ok())
            || (!h.address.is_empty()
                && !h.address.starts_with(['-', '.'])
                && (h.address.chars()).all(|c| c.is_ascii_alphanumeric() || ".-".contains(c)));
        if !address_ok {
            self.report(
                &d.at(&p().key("address")),
                Kind::SshDestination {
                    what: "address",
                    value: h.address.clone(),
                },
            );
        }
        let user_ok = !h.user.is_empty()
            && !h.user.starts_with(['-', '.'])
            && (h.user.chars()).all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !user_ok {
            self.report(
                &d.at(&p().key("user")),
                Kind::SshDestination {
                    what: "user",
                    value: h.user.clone(),
                },
            );
        }
    }

    /// Exactly one of `host_key` (a well-formed fingerprint) and
    /// `known_hosts`.
    fn host_key_pin(&mut self, name: &str, d: &Def<'a, raw::HostDef>) -> HostKeyPin {
        let h = d.def;
        match (&h.host_key, &h.known_hosts) {
            (Some(fp), None) => {
                if !is_fingerprint(fp) {
                    self.report(
                        &d.at(&p().key("host_key")),
                        Kind::HostKeyFingerprint { value: fp.clone() },
                    );
                }
                HostKeyPin::Fingerprint(fp.clone())
            }
            (None, Some(file)) if !file.is_empty() => HostKeyPin::KnownHosts(file.clone()),
            (fp, file) => {
                let found = match (fp, file) {
                    (Some(_), Some(_)) => "pins its host key twice (`host_key` and `known_hosts`)",
                    (None, Some(_)) => "has an empty `known_hosts`",
                    _ => "pins no host key",
                };
                self.report_at_key(
                    &d.here(),
                    Kind::HostKeyPin {
                        host: name.to_string(),
                        found,
                    },
                );
                HostKeyPin::KnownHosts(String::new())
            }
        }
    }

    /// `min_free_disk` in bytes (0 when not given).
    fn disk_size(&mut self, d: &Def<'a, raw::HostDef>) -> u64 {
        let Some(v) = &d.def.min_free_disk else {
            return 0;
        };
        match names::byte_size(v).filter(|b| *b < names::MAX_BYTES) {
            Some(bytes) => bytes as u64,
            None => {
                let value = v.clone();
                self.report(&d.at(&p().key("min_free_disk")), Kind::DiskSize { value });
                0
            }
        }
    }

    /// `deadline` in whole seconds (at least 1).
    fn deadline(&mut self, d: &Def<'a, raw::HostDef>) -> u64 {
        let Some(v) = &d.def.deadline else {
            return DEADLINE_SECS;
        };
        match names::duration_nanos(v) {
            Ok(nanos) => nanos.div_ceil(1_000_000_000).max(1),
            Err(_) => {
                let value = v.clone();
                self.report(&d.at(&p().key("deadline")), Kind::InvalidDuration { value });
                DEADLINE_SECS
            }
        }
    }
}

/// An absolute directory with plain path characters only, no `.`/`..`
/// component, not `/` itself: the remote shell, `tar` and `ln` take it as
/// it is.
fn is_remote_dir(dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').skip(1).filter(|c| !c.is_empty()).collect();
    dir.starts_with('/')
        && !parts.is_empty()
        && parts.iter().all(|c| *c != "." && *c != "..")
        && (dir.chars()).all(|c| c.is_ascii_alphanumeric() || "/._-+@%,=".contains(c))
}

/// `SHA256:` followed by 43 characters of unpadded base64.
fn is_fingerprint(fp: &str) -> bool {
    fp.strip_prefix("SHA256:").is_some_and(|b64| {
        b64.len() == 43 && (b64.chars()).all(|c| c.is_ascii_alphanumeric() || "+/".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_directories_and_fingerprints() {
        assert!(is_remote_dir("/opt/shop/production"));
        assert!(is_remote_dir("/srv/app/"));
        for bad in [
            "opt/x",
            "/",
            "/opt/../etc",
            "/opt/my dir",
            "/opt/$x",
            "~/x",
            "/a/./b",
        ] {
            assert!(!is_remote_dir(bad), "{bad}");
        }
        assert!(is_fingerprint(
            "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
        ));
        assert!(!is_fingerprint("SHA256:short"));
        assert!(!is_fingerprint("MD5:aa:bb"));
    }
}
