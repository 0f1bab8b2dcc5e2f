//! `lucid-gen test`'s secret and config-file checks, per container:
//!
//! * the secrets it can read — a store value found in its environment
//!   (`Config.Env`), or in a file its user may read (mode bits) under
//!   `/run/secrets`, at a declared secret file or a declared config file —
//!   are exactly the ones its service receives ([`Expected`]); the report
//!   names secrets, never values;
//! * each declared config file is present, a regular file, and readable by
//!   the container's user (mode bits against the user's uid and groups).
//!
//! Files are fetched with Docker's archive API (`docker cp CONTAINER:PATH -`,
//! a tar stream), which works on scratch images and stopped containers: no
//! shell or tool is needed inside the container.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Cmd, Deployment, DockerError};
use crate::system::{Service, System};

/// Where secret files are mounted by default.
const SECRETS_DIR: &str = "/run/secrets";

/// One row for `lucid-gen test`'s table (names only, never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: &'static str,
    pub from: String,
    pub target: String,
    pub expect: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// What the model says one service's container holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Names of the secrets the container may read, and no others.
    pub secrets: BTreeSet<String>,
    /// Absolute paths of declared config files.
    pub config_files: Vec<String>,
    /// Absolute paths of secret files delivered outside `/run/secrets`.
    pub secret_files: Vec<String>,
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
    }
}

/// What an archive entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    Other,
}

/// One entry of a `docker cp` tar stream.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub data: Vec<u8>,
}

/// Reads a tar stream (Docker's archive API output) into its entries,
/// contents included (PAX and GNU long names as the `tar` crate reads them).
pub fn parse_tar(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("bad tar entry: {e}"))?;
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink | tar::EntryType::Link => EntryKind::Link,
            _ => EntryKind::Other,
        };
        let mode = header.mode().map_err(|e| e.to_string())?;
        let uid = header.uid().map_err(|e| e.to_string())?;
        let gid = header.gid().map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        if kind == EntryKind::File {
            std::io::Read::read_to_end(&mut entry, &mut data).map_err(|e| e.to_string())?;
        }
        out.push(Entry {
            path,
            kind,
            mode,
            uid,
            gid,
            data,
        });
    }
    Ok(out)
}

/// The entries at `path` in `container` (following a link at `path`
/// itself); `None` when the path does not exist.
fn fetch(container: &str, path: &str) -> Result<Option<Vec<Entry>>, DockerError> {
    let cmd = Cmd::docker()
        .args(["cp", "-L"])
        .arg(format!("{container}:{path}"))
        .arg("-");
    let out = cmd.output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No such container:path") || stderr.contains("Could not find the file") {
            return Ok(None);
        }
        return Err(cmd.failed(&out));
    }
    parse_tar(&out.stdout)
        .map(Some)
        .map_err(|e| DockerError::Other(format!("cannot read `{cmd}` output: {e}")))
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
pub fn secrets_row(service: &str, expected: &BTreeSet<String>, found: &BTreeSet<String>) -> Row {
    let missing: Vec<&str> = expected.difference(found).map(String::as_str).collect();
    let extra: Vec<&str> = found.difference(expected).map(String::as_str).collect();
    let mut detail = Vec::new();
    if !extra.is_empty() {
        detail.push(format!("not declared but readable: {}", extra.join(", ")));
    }
    if !missing.is_empty() {
        detail.push(format!("declared but not readable: {}", missing.join(", ")));
    }
    Row {
        kind: "secrets",
        from: service.to_string(),
        target: format!("{} declared", expected.len()),
        expect: "= declared",
        ok: detail.is_empty(),
        detail: detail.join("; "),
    }
}

/// A container's user as the kernel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u64,
    pub gids: BTreeSet<u64>,
    /// Root that kept `CAP_DAC_OVERRIDE` or `CAP_DAC_READ_SEARCH`: reads
    /// any file whatever its mode.
    pub bypass: bool,
}

/// Whether `user` may read a file with this mode and owner.
pub fn can_read(user: &User, mode: u32, uid: u64, gid: u64) -> bool {
    if user.bypass {
        return true;
    }
    let bits = if user.uid == uid {
        mode >> 6
    } else if user.gids.contains(&gid) {
        mode >> 3
    } else {
        mode
    };
    bits & 0o4 != 0
}

/// The row for one declared config file, from what `docker cp` found.
pub fn config_file_row(service: &str, target: &str, found: Option<&Entry>, user: &User) -> Row {
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
    Row {
        kind: "config-file",
        from: service.to_string(),
        target: target.to_string(),
        expect: "readable",
        ok,
        detail,
    }
}

/// Resolves `Config.User` (`""`, `uid`, `uid:gid`, `name`, `name:group`)
/// with the container's `/etc/passwd` and `/etc/group` text where a name
/// or a missing group needs them, as Docker does (no entry: gid 0).
pub fn resolve_user(
    spec: &str,
    passwd: &str,
    group: &str,
    extra_gids: &[u64],
) -> Result<User, String> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && (f[0] == user || f[2] == user));
    let uid = match (user.parse::<u64>(), &entry) {
        (Ok(n), _) => n,
        (Err(_), Some(f)) => f[2]
            .parse()
            .map_err(|_| format!("bad /etc/passwd entry for {user}"))?,
        (Err(_), None) => return Err(format!("user {user} is not in the container's /etc/passwd")),
    };
    let gid = match grp {
        Some(g) => match g.parse::<u64>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 2 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| format!("group {g} is not in the container's /etc/group"))?,
        },
        None => entry.and_then(|f| f[3].parse().ok()).unwrap_or(0),
    };
    let mut gids: BTreeSet<u64> = extra_gids.iter().copied().collect();
    gids.insert(gid);
    Ok(User {
        uid,
        gids,
        bypass: false,
    })
}

/// Whether a root container kept a capability that bypasses file modes.
fn keeps_dac(host_config: &Value) -> bool {
    let list = |key: &str| -> Vec<String> {
        host_config[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|c| {
                c.to_ascii_uppercase()
                    .trim_start_matches("CAP_")
                    .to_string()
            })
            .collect()
    };
    let (added, dropped) = (list("CapAdd"), list("CapDrop"));
    let has = |caps: &[String], cap: &str| caps.iter().any(|c| c == "ALL" || c == cap);
    ["DAC_OVERRIDE", "DAC_READ_SEARCH"]
        .iter()
        .any(|cap| has(&added, cap) || !has(&dropped, cap))
}

/// Whether a container of `s` started at `started` (Docker's RFC 3339
/// time) still sees an older version of a secret file or secret-bearing
/// config file than the output directory holds: a bind mount keeps the
/// file it was made from, and lucid-gen replaces files by renaming (and
/// only when their bytes change), so a file written after the container
/// started is one the container does not see. (`docker cp` cannot tell: it
/// reads a bind mount's source on the host.) Compose cannot tell either:
/// the compose file did not change.
pub fn stale_mounts(dep: &Deployment, s: &Service, started: &str) -> Result<bool, DockerError> {
    let Some(started) = unix_nanos(started) else {
        return Ok(true); // unknown: recreating is the safe answer
    };
    let mounts = crate::render::delivery::mounts(&dep.system, s);
    for m in mounts.into_iter().filter(|m| m.secret) {
        let path = dep.out_dir.join(&m.path);
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| DockerError::Other(format!("cannot read {}: {e}", path.display())))?;
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

/// Nanoseconds since the epoch of an RFC 3339 UTC time as Docker writes it
/// (`2026-11-30T12:25:16.123456789Z`).
fn unix_nanos(t: &str) -> Option<u128> {
    let t = t.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|p| p.parse::<i64>());
    let (hh, mm, ss) = (h.next()?.ok()?, h.next()?.ok()?, h.next()?.ok()?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u128::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = format!("{digits:0<9}").parse::<u128>().ok()?;
    Some(secs * 1_000_000_000 + nanos)
}

/// The text of `path` in `container`, empty when absent.
fn file_text(container: &str, path: &str) -> Result<String, DockerError> {
    Ok(fetch(container, path)?
        .and_then(|e| e.into_iter().find(|e| e.kind == EntryKind::File))
        .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        .unwrap_or_default())
}

/// The user of an inspected container.
fn container_user(c: &Value, id: &str) -> Result<User, String> {
    let spec = c["Config"]["User"].as_str().unwrap_or_default();
    let extra: Vec<u64> = c["HostConfig"]["GroupAdd"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str()?.parse().ok())
        .collect();
    let numeric = spec.split(':').all(|p| p.parse::<u64>().is_ok()) && spec.contains(':');
    let (passwd, group) = if numeric {
        (String::new(), String::new())
    } else {
        let get = |p| file_text(id, p).map_err(|e| e.to_string());
        (get("/etc/passwd")?, get("/etc/group")?)
    };
    let mut user = resolve_user(spec, &passwd, &group, &extra)?;
    user.bypass = user.uid == 0 && keeps_dac(&c["HostConfig"]);
    Ok(user)
}

/// Every secret and config-file row for the given (service, container id)
/// pairs.
pub fn checks<'a>(
    dep: &Deployment,
    containers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Row>, DockerError> {
    let mut rows = Vec::new();
    for (service, id) in containers {
        if let Some(s) = dep.system.service(service) {
            let want = expected(&dep.system, s);
            rows.extend(container_rows(&s.name, &want, id, dep.secrets.iter())?);
        }
    }
    Ok(rows)
}

/// The rows for one container (running or stopped) of `service`:
/// readable secrets against `want`, then each declared config file. A
/// file counts only when the container's user may read it (mode bits), so
/// a declared secret in a file only root can read is "not readable".
pub fn container_rows<'s>(
    service: &str,
    want: &Expected,
    id: &str,
    secrets: impl IntoIterator<Item = (&'s str, &'s str)>,
) -> Result<Vec<Row>, DockerError> {
    let out = Cmd::docker().args(["inspect", id]).run()?;
    let inspected: Value = serde_json::from_str(&out)
        .map_err(|e| DockerError::Other(format!("cannot read docker inspect output: {e}")))?;
    let c = &inspected[0];
    let user = match container_user(c, id) {
        Ok(user) => user,
        Err(why) => {
            return Ok(vec![Row {
                kind: "secrets",
                from: service.to_string(),
                target: "user".into(),
                expect: "resolvable",
                ok: false,
                detail: why,
            }]);
        }
    };
    let mut files = fetch(id, SECRETS_DIR)?.unwrap_or_default();
    let mut targets: BTreeMap<&str, Option<Entry>> = BTreeMap::new();
    for path in want.config_files.iter().chain(&want.secret_files) {
        let found = fetch(id, path)?.and_then(|e| e.into_iter().next());
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
    let readable = readable_secrets(env, &files, secrets);
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

    #[test]
    fn docker_times_become_nanoseconds_since_the_epoch() {
        assert_eq!(unix_nanos("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            unix_nanos("2026-11-30T12:25:16.5Z"),
            Some(1_796_041_516_500_000_000)
        );
        assert_eq!(
            unix_nanos("2000-02-29T00:00:00.000000001Z"),
            Some(951_782_400_000_000_001)
        );
        assert_eq!(unix_nanos("0001-01-01T00:00:00Z"), None);
        assert_eq!(unix_nanos("yesterday"), None);
    }

    fn tar_of(entries: &[(&str, tar::EntryType, u32, u64, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, mode, uid, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(*mode);
            h.set_uid(*uid);
            h.set_gid(*uid + 1);
            h.set_size(data.len() as u64);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("elsewhere").unwrap();
            }
            // A name over 100 bytes needs a GNU long-name record.
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn tar_streams_give_paths_kinds_modes_owners_and_contents() {
        let long = format!("secrets/{}", "n".repeat(150));
        let bytes = tar_of(&[
            ("secrets", tar::EntryType::Directory, 0o755, 0, b""),
            (
                "secrets/API_KEY",
                tar::EntryType::Regular,
                0o444,
                65532,
                b"k3y",
            ),
            (&long, tar::EntryType::Regular, 0o400, 7, b"x"),
            ("secrets/link", tar::EntryType::Symlink, 0o777, 0, b""),
        ]);
        let e = parse_tar(&bytes).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].kind, EntryKind::Dir);
        assert_eq!(
            (e[1].path.as_str(), e[1].kind, e[1].mode, e[1].uid, e[1].gid),
            ("secrets/API_KEY", EntryKind::File, 0o444, 65532, 65533)
        );
        assert_eq!(e[1].data, b"k3y");
        assert_eq!(e[2].path, long);
        assert_eq!(e[3].kind, EntryKind::Link);
        assert!(
            parse_tar(&bytes[..700]).is_err(),
            "a cut stream is an error"
        );
    }

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
    fn mode_bits_decide_for_owner_group_and_others() {
        let user = User {
            uid: 65532,
            gids: BTreeSet::from([65532]),
            bypass: false,
        };
        assert!(can_read(&user, 0o400, 65532, 0), "owner");
        assert!(!can_read(&user, 0o400, 0, 65532), "owner-only, not ours");
        assert!(can_read(&user, 0o040, 0, 65532), "group");
        assert!(!can_read(&user, 0o440, 0, 0), "neither");
        assert!(can_read(&user, 0o444, 0, 0), "others");
        assert!(
            !can_read(&user, 0o044, 65532, 65532),
            "owner bits rule the owner"
        );
        let root = User {
            uid: 0,
            gids: BTreeSet::from([0]),
            bypass: true,
        };
        assert!(can_read(&root, 0o000, 5, 5));
    }

    #[test]
    fn users_resolve_as_docker_resolves_them() {
        let passwd = "root:x:0:0::/root:/bin/sh\nredis:x:100:101::/var/lib/redis:/bin/false\n";
        let group = "root:x:0:\nredis:x:101:\nadm:x:4:\n";
        let r = |spec| resolve_user(spec, passwd, group, &[]);
        assert_eq!(r("").unwrap().uid, 0);
        assert_eq!(r("65532:65532").unwrap().gids, BTreeSet::from([65532]));
        assert_eq!(r("redis").unwrap().gids, BTreeSet::from([101]));
        assert_eq!(r("100").unwrap().uid, 100);
        assert_eq!(r("redis:adm").unwrap().gids, BTreeSet::from([4]));
        assert_eq!(
            r("4242").unwrap().gids,
            BTreeSet::from([0]),
            "no entry: gid 0"
        );
        assert!(r("nobody").unwrap_err().contains("/etc/passwd"));
        let extra = resolve_user("1:1", "", "", &[9]).unwrap();
        assert_eq!(extra.gids, BTreeSet::from([1, 9]));
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

    #[test]
    fn root_bypasses_modes_only_while_it_keeps_a_dac_capability() {
        let hc = |v: &str| -> Value { serde_json::from_str(v).unwrap() };
        assert!(keeps_dac(&hc("{}")));
        assert!(!keeps_dac(&hc(r#"{"CapDrop":["ALL"]}"#)));
        assert!(keeps_dac(&hc(
            r#"{"CapDrop":["ALL"],"CapAdd":["CAP_DAC_OVERRIDE"]}"#
        )));
        assert!(!keeps_dac(&hc(
            r#"{"CapDrop":["dac_override","CAP_DAC_READ_SEARCH"]}"#
        )));
        assert!(
            keeps_dac(&hc(r#"{"CapDrop":["DAC_OVERRIDE"]}"#)),
            "read-search kept"
        );
    }
}
