//! The fixed shell scripts lucid-gen runs on a host, and parsers of what
//! they print. Each script is a constant (no model text is ever spliced
//! into one): values arrive as positional arguments (`sh -c SCRIPT sh
//! ARG…`, every word quoted by [`super::ssh::remote_line`]), or on
//! standard input. They need a POSIX shell and GNU coreutils, `tar` and
//! util-linux's `flock` — what Debian and its derivatives have; the
//! preflight names any that is missing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::target::Bound;
use crate::system::Protocol;

/// Every socket bound on the host, from `/proc/net` (no `ss` needed).
pub const BOUND_SOCKETS: &str =
    r#"for f in tcp tcp6 udp udp6; do echo "== $f"; cat "/proc/net/$f" 2>/dev/null; done"#;

/// Prints the host's routing tables, IPv4 then IPv6, split by a line
/// `==` (a missing table prints nothing).
pub const ROUTES: &str =
    r#"cat /proc/net/route 2>/dev/null; echo ==; cat /proc/net/ipv6_route 2>/dev/null; exit 0"#;

/// Each argument's modification time, `SECONDS.NANOS` (0 when missing).
pub const MODIFIED: &str = r#"for f in "$@"; do stat -c %.9Y -- "$f" 2>/dev/null || echo 0; done"#;

/// What the preflight needs to know about the host, as `key=value` lines;
/// `$1` is the host directory.
pub const FACTS: &str = r#"d=$1
echo "arch=$(uname -m)"
for t in docker tar flock df stat cp mv ln readlink; do
  command -v "$t" >/dev/null 2>&1 || echo "missing=$t"
done
if v=$(docker version --format '{{.Server.Version}}' 2>&1); then echo "engine=$v"
else echo "engine-error=$(printf '%s' "$v" | tr '\n' ' ')"; fi
if c=$(docker compose version --short 2>&1); then echo "compose=$c"
else echo "compose-error=$(printf '%s' "$c" | tr '\n' ' ')"; fi
if root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null); then
  echo "root=$root"
  df -Pk "$root" 2>/dev/null | { read -r _; read -r _ _ _ kib _; echo "free-kib=$kib"; }
fi
docker info --format '{{range .DriverStatus}}{{index . 1}} {{end}}' 2>/dev/null \
  | grep -q io.containerd.snapshotter && echo "store=containerd"
cur=$(readlink "$d/current" 2>/dev/null) && echo "current=$cur"
ls "$d/releases" 2>/dev/null | sed 's/^/release=/'
exit 0"#;

/// Holds the host's deploy lock while standard input stays open. Prints
/// `busy` and the holder (then exits) when another deploy holds it;
/// `stale` and the dead holder's note when one stopped without
/// finishing; then `locked`. `release` on standard input removes the
/// note; a closed input (lucid-gen or the connection died) leaves it, so
/// the next deploy names the stale lock. `$1` directory, `$2` note.
pub const LOCK: &str = r#"d=$1
mkdir -p "$d" 2>/dev/null || { echo "cannot-create"; exit 0; }
exec 9>>"$d/.lock" || { echo "cannot-create"; exit 0; }
if ! flock -n 9; then echo busy; cat "$d/.lock.note" 2>/dev/null; exit 0; fi
if [ -s "$d/.lock.note" ]; then echo stale; head -n 1 "$d/.lock.note"; fi
printf '%s\n' "$2" > "$d/.lock.note"
echo locked
IFS= read -r line || line=
[ "$line" = release ] && rm -f "$d/.lock.note"
exit 0"#;

/// Starts release `$2` in `$1/releases/$2.partial`: hard links to the
/// current release's files (so unchanged files keep their times), then
/// the files named after `$2` removed (changed or gone).
pub const RELEASE_START: &str = r#"set -eu
d=$1; n=$2; shift 2
mkdir -p "$d/releases"
rm -rf "$d/releases/$n.partial"
if [ -d "$d/current/" ]; then cp -al "$d/current/." "$d/releases/$n.partial"
else mkdir "$d/releases/$n.partial"; fi
chmod 700 "$d/releases/$n.partial"
cd "$d/releases/$n.partial"
for f in "$@"; do rm -f -- "$f"; done"#;

/// Extracts the tar on standard input into release `$2`'s partial
/// directory: modes as sent, owned by the SSH user, modified now.
pub const RELEASE_EXTRACT: &str = r#"set -eu
cd "$1/releases/$2.partial"
tar -x -p -m --no-same-owner -f -"#;

/// Completes release `$2`: its directory renamed into place.
pub const RELEASE_FINISH: &str = r#"set -eu
rm -rf "$1/releases/$2"
mv "$1/releases/$2.partial" "$1/releases/$2""#;

/// Points `$1/current` at release `$2`: a new link renamed over the old
/// one, so `current` is always one whole release.
pub const SWITCH: &str = r#"set -eu
ln -sfn "releases/$2" "$1/current.new"
mv -T "$1/current.new" "$1/current""#;

/// Removes `$1/current` (a first release that failed: the host is left
/// as it was) and marks release `$2` failed.
pub const UNSWITCH: &str = r#"set -eu
rm -f "$1/current"
rm -rf "$1/releases/$2.failed"
mv "$1/releases/$2" "$1/releases/$2.failed""#;

/// Marks release `$2` failed (it is never a rollback target).
pub const MARK_FAILED: &str = r#"set -eu
rm -rf "$1/releases/$2.failed"
mv "$1/releases/$2" "$1/releases/$2.failed""#;

/// The manifest of the release at `$1/$2` (`current`, `releases/3`);
/// nothing when there is none.
pub const MANIFEST: &str = r#"cat "$1/$2/.lucid-gen/release.json" 2>/dev/null
exit 0"#;

/// Removes the releases named after `$1` (directory names under
/// `releases/`).
pub const PRUNE: &str = r#"set -eu
cd "$1/releases"; shift
for r in "$@"; do rm -rf -- "$r"; done"#;

/// Every image on the host: its ID and its layers' diff IDs, in order.
pub const HOST_LAYERS: &str = r#"ids=$(docker image ls -aq --no-trunc | sort -u)
[ -z "$ids" ] || docker image inspect --format '{{.Id}} {{range .RootFS.Layers}}{{.}} {{end}}' $ids"#;

/// `SECONDS.NANOS` as nanoseconds (0 when unreadable).
pub fn parse_nanos(line: &str) -> u128 {
    let (secs, frac) = line.trim().split_once('.').unwrap_or((line.trim(), "0"));
    let secs: u128 = secs.parse().unwrap_or(0);
    let frac = format!("{:0<9}", frac.get(..9).unwrap_or(frac));
    secs * 1_000_000_000 + frac.parse::<u128>().unwrap_or(0)
}

/// The bound sockets in `/proc/net/{tcp,tcp6,udp,udp6}` as
/// [`BOUND_SOCKETS`] prints them: TCP listeners, every bound UDP socket.
pub fn parse_bound(text: &str) -> Vec<Bound> {
    let mut out = Vec::new();
    let mut table = "";
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            table = name;
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
            continue;
        };
        let protocol = match table {
            "tcp" | "tcp6" if *state == "0A" => Protocol::Tcp,
            "udp" | "udp6" if *state == "07" => Protocol::Udp,
            _ => continue,
        };
        let Some((ip, port)) = local.split_once(':') else {
            continue;
        };
        let (Some(ip), Ok(port)) = (proc_ip(ip), u16::from_str_radix(port, 16)) else {
            continue;
        };
        out.push(Bound { protocol, ip, port });
    }
    out
}

/// An address as `/proc/net` writes it: 32-bit words in host (little
/// endian) order, in hex.
fn proc_ip(hex: &str) -> Option<IpAddr> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    match words.as_slice() {
        [w] => Some(IpAddr::V4(Ipv4Addr::from(w.swap_bytes()))),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// `key=value` lines: every value of `key`, in order.
pub fn values<'a>(facts: &'a str, key: &str) -> Vec<&'a str> {
    (facts.lines())
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The first value of `key`.
pub fn value<'a>(facts: &'a str, key: &str) -> Option<&'a str> {
    values(facts, key).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_sockets_are_read() {
        let text = "== tcp\n  sl  local_address rem_address   st\n\
           0: 00000000:1F90 00000000:0000 0A 00000000:00000000\n\
           1: 0100007F:0050 00000000:0000 0A 0\n\
           2: 0100007F:0051 0100007F:1234 01 0\n\
           == tcp6\n 0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 0\n\
           == udp\n 0: 00000000:0035 00000000:0000 07 0\n";
        let bound = parse_bound(text);
        let show: Vec<String> = (bound.iter())
            .map(|b| format!("{:?} {} {}", b.protocol, b.ip, b.port))
            .collect();
        assert_eq!(
            show,
            [
                "Tcp 0.0.0.0 8080",
                "Tcp 127.0.0.1 80",
                "Tcp ::1 443",
                "Udp 0.0.0.0 53"
            ]
        );
    }

    #[test]
    fn times_and_facts() {
        assert_eq!(parse_nanos("12.5"), 12_500_000_000);
        assert_eq!(parse_nanos("1.000000001\n"), 1_000_000_001);
        assert_eq!(parse_nanos("0"), 0);
        let facts = "arch=aarch64\nrelease=1\nrelease=2\n";
        assert_eq!(value(facts, "arch"), Some("aarch64"));
        assert_eq!(values(facts, "release"), ["1", "2"]);
    }
}
