//! `lucid-gen test`'s secret and config-file rows, per container:
//!
//! * the secrets it can read — a store value found in its environment
//!   (`Config.Env`), or in a file its user may read (mode bits) under
//!   `/run/secrets`, at a declared secret file or a declared config file —
//!   are exactly the ones its service receives ([`Expected`]); the report
//!   names secrets, never values;
//! * each declared config file is present, a regular file, and readable by
//!   the container's user (mode bits against the user's uid and groups).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::report::Check;
use crate::docker::archive::{fetch, Entry, EntryKind};
use crate::docker::target::Target;
use crate::docker::user::{can_read, container_user, User};
use crate::docker::{inventory, DockerError, Workspace};
use crate::system::{Service, System};

/// Where secret files are mounted by default.
const SECRETS_DIR: &str = "/run/secrets";

/// What the model says one service's container holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Names of the secrets the container may read, and no others.
    pub secrets: BTreeSet<String>,
    /// Absolute paths of declared config files.
    pub config_files: Vec<String>,
    /// Absolute paths of secret files delivered outside `/run/secrets`.
    pub secret_files: Vec<String>,
    /// Secrets a composed secret it receives names (`template`): the
    /// composed value holds them, percent-encoded or not, so the container
    /// may read them but need not be found to.
    pub embedded: BTreeSet<String>,
}

/// The model's side of the check for `s`: `received_secrets` (its own
/// secrets and those its config files embed; a Tor hash is not the
/// secret), its config files and its secret files outside `/run/secrets`.
pub fn expected(system: &System, s: &Service) -> Expected {
    Expected {
        secrets: s
            .received_secrets()
            .into_iter()
            .map(|i| system.secrets[i].name.clone())
            .collect(),
        config_files: s.config_files.iter().map(|f| f.target.clone()).collect(),
        secret_files: s
            .secrets
            .iter()
            .filter_map(|u| u.delivery.target())
            .filter(|t| !t.starts_with(&format!("{SECRETS_DIR}/")))
            .map(str::to_string)
            .collect(),
        embedded: (s.received_secrets().into_iter())
            .filter_map(|i| system.secrets[i].template.as_deref())
            .flat_map(crate::secret_template::references)
            .map(str::to_string)
            .collect(),
    }
}

/// Names of the secrets whose value occurs in `env`'s values or in a
/// file's contents.
pub fn readable_secrets<'a, 's>(
    env: impl IntoIterator<Item = &'a str>,
    files: &[Entry],
    secrets: impl IntoIterator<Item = (&'s str, &'s str)>,
) -> BTreeSet<String> {
    let env: Vec<&str> = env.into_iter().collect();
    secrets
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .filter(|(_, value)| {
            env.iter().any(|v| v.contains(value))
                || files.iter().any(|f| contains(&f.data, value.as_bytes()))
        })
        .map(|(name, _)| name.to_string())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The row comparing readable with expected secrets (names only).
pub fn secrets_row(service: &str, expected: &BTreeSet<String>, found: &BTreeSet<String>) -> Check {
    let missing: Vec<&str> = expected.difference(found).map(String::as_str).collect();
    let extra: Vec<&str> = found.difference(expected).map(String::as_str).collect();
    let mut detail = Vec::new();
    if !extra.is_empty() {
        detail.push(format!("not declared but readable: {}", extra.join(", ")));
    }
    if !missing.is_empty() {
        detail.push(format!("declared but not readable: {}", missing.join(", ")));
    }
    Check {
        kind: "secrets",
        from: service.to_string(),
        target: format!("{} declared", expected.len()),
        expect: "= declared",
        ok: detail.is_empty(),
        detail: detail.join("; "),
    }
}

/// The row for one declared config file, from what `docker cp` found.
pub fn config_file_row(service: &str, target: &str, found: Option<&Entry>, user: &User) -> Check {
    let (ok, detail) = match found {
        None => (false, "absent".to_string()),
        Some(e) if e.kind != EntryKind::File => (false, "not a regular file".to_string()),
        Some(e) if !can_read(user, e.mode, e.uid, e.gid) => (
            false,
            format!(
                "mode {:04o} owner {}:{}, unreadable for uid {}",
                e.mode & 0o7777,
                e.uid,
                e.gid,
                user.uid
            ),
        ),
        Some(_) => (true, String::new()),
    };
    Check {
        kind: "config-file",
        from: service.to_string(),
        target: target.to_string(),
        expect: "readable",
        ok,
        detail,
    }
}

/// Every secret and config-file row for the given (service, container id)
/// pairs.
pub fn checks<'a>(
    ws: &Workspace,
    target: &Target,
    containers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Check>, DockerError> {
    let mut rows = Vec::new();
    for (service, id) in containers {
        if let Some(s) = ws.system.service(service) {
            let want = expected(&ws.system, s);
            rows.extend(container_rows(
                target,
                &s.name,
                &want,
                id,
                ws.secrets.iter(),
            )?);
        }
    }
    Ok(rows)
}

/// The rows for one container (running or stopped) of `service`:
/// readable secrets against `want`, then each declared config file. A
/// file counts only when the container's user may read it (mode bits), so
/// a declared secret in a file only root can read is "not readable".
pub fn container_rows<'s>(
    target: &Target,
    service: &str,
    want: &Expected,
    id: &str,
    secrets: impl IntoIterator<Item = (&'s str, &'s str)>,
) -> Result<Vec<Check>, DockerError> {
    let inspected = inventory::inspect(target, &[id.to_string()])?;
    let Some(c) = inspected.first() else {
        return Ok(Vec::new());
    };
    let user = match container_user(target, c, id) {
        Ok(user) => user,
        Err(why) => {
            return Ok(vec![Check {
                kind: "secrets",
                from: service.to_string(),
                target: "user".into(),
                expect: "resolvable",
                ok: false,
                detail: why,
            }]);
        }
    };
    let mut files = fetch(target, id, SECRETS_DIR)?.unwrap_or_default();
    let mut targets: BTreeMap<&str, Option<Entry>> = BTreeMap::new();
    for path in want.config_files.iter().chain(&want.secret_files) {
        let found = fetch(target, id, path)?.and_then(|e| e.into_iter().next());
        files.extend(found.clone());
        targets.insert(path, found);
    }
    files.retain(|f| can_read(&user, f.mode, f.uid, f.gid));
    let env = c["Config"]["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|kv| kv.split_once('=').map_or("", |(_, v)| v));
    let mut readable = readable_secrets(env, &files, secrets);
    readable.retain(|n| want.secrets.contains(n) || !want.embedded.contains(n));
    let mut rows = vec![secrets_row(service, &want.secrets, &readable)];
    rows.extend(want.config_files.iter().map(|t| {
        let found = targets.get(t.as_str()).and_then(Option::as_ref);
        config_file_row(service, t, found, &user)
    }));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(data: &[u8]) -> Entry {
        Entry {
            path: "x".into(),
            kind: EntryKind::File,
            mode: 0o444,
            uid: 0,
            gid: 0,
            data: data.to_vec(),
        }
    }

    #[test]
    fn a_secret_is_readable_when_its_value_is_in_env_or_a_file() {
        let secrets = [
            ("A", "aaaa-value"),
            ("B", "bbbb-value"),
            ("C", "cccc-value"),
        ];
        let env = ["plain", "prefix aaaa-value suffix"];
        let files = [entry(b"requirepass cccc-value\n")];
        let found = readable_secrets(env, &files, secrets);
        assert_eq!(found, BTreeSet::from(["A".to_string(), "C".to_string()]));
        assert!(readable_secrets([], &[], secrets).is_empty());
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_secrets_row_names_extra_and_missing_secrets_never_values() {
        let ok = secrets_row("app", &names(&["A", "B"]), &names(&["B", "A"]));
        assert!(ok.ok, "{ok:?}");
        let bad = secrets_row("app", &names(&["A", "B"]), &names(&["B", "C"]));
        assert!(!bad.ok);
        assert_eq!(
            bad.detail,
            "not declared but readable: C; declared but not readable: A"
        );
        let none = secrets_row("db", &names(&[]), &names(&["JWT"]));
        assert!(!none.ok);
        assert_eq!(none.target, "0 declared");
    }

    #[test]
    fn config_file_rows_say_what_is_wrong() {
        let user = User {
            uid: 65532,
            gids: BTreeSet::from([65532]),
            bypass: false,
        };
        let mut e = entry(b"conf");
        assert!(config_file_row("s", "/etc/x", Some(&e), &user).ok);
        e.mode = 0o600;
        let row = config_file_row("s", "/etc/x", Some(&e), &user);
        assert!(!row.ok);
        assert_eq!(row.detail, "mode 0600 owner 0:0, unreadable for uid 65532");
        e.kind = EntryKind::Dir;
        assert_eq!(
            config_file_row("s", "/etc/x", Some(&e), &user).detail,
            "not a regular file"
        );
        assert_eq!(config_file_row("s", "/etc/x", None, &user).detail, "absent");
    }
}
