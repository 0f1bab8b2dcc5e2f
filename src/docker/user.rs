//! A container's user as the kernel sees it ([`User`]: uid, groups, and
//! whether root kept a capability that bypasses file modes), resolved from
//! `Config.User` as Docker does ([`resolve_user`], with the container's
//! `/etc/passwd` and `/etc/group` where a name needs them), and whether it
//! may read a file ([`can_read`]).

use std::collections::BTreeSet;

use serde_json::Value;

use super::archive::file_text;
use super::target::Target;

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

/// The user of an inspected container.
pub fn container_user(target: &Target, c: &Value, id: &str) -> Result<User, String> {
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
        let get = |p| file_text(target, id, p).map_err(|e| e.to_string());
        (get("/etc/passwd")?, get("/etc/group")?)
    };
    let mut user = resolve_user(spec, &passwd, &group, &extra)?;
    user.bypass = user.uid == 0 && keeps_dac(&c["HostConfig"]);
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

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
