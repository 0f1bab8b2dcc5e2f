//! Syntax checks for single values: names (and names YAML would read as
//! something else), image references, durations and sizes within what
//! Compose can hold, capabilities and spellings of root. Pure functions.

/// Service, network, volume and plane names: what Compose accepts as a
/// service name and Docker as a network or volume name.
pub fn is_docker_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && s.len() <= 63
}

/// Compose project names: lowercase letters, digits, `-` and `_`.
pub fn is_project_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A plain file name: no directory part, nothing hidden behind `..`.
pub fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A relative path that stays below its root.
pub fn is_relative_path(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains('\\')
        && s.split('/').all(|part| !part.is_empty() && part != "..")
        && s.chars().all(|c| !c.is_control())
}

/// An absolute path inside a container.
pub fn is_container_path(s: &str) -> bool {
    s.starts_with('/')
        && !s.split('/').any(|p| p == "..")
        && s.chars().all(|c| !c.is_control() && c != ',' && c != ':')
}

/// A mount point inside a container, normalised so two spellings of one
/// path compare equal (`//` and `.` components dropped, no trailing `/`),
/// or why it cannot be one.
pub fn mount_point(s: &str) -> Result<String, &'static str> {
    if !s.starts_with('/') {
        return Err("must be an absolute path inside the container");
    }
    if s.chars().any(char::is_control) {
        return Err("holds a control character (a tab or a line break)");
    }
    if s.contains(',') || s.contains(':') {
        return Err("holds `,` or `:`, which Docker's mount syntax splits on");
    }
    let parts: Vec<&str> = (s.split('/'))
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("holds `..`");
    }
    if parts.is_empty() {
        return Err("is the container's root `/`, which a mount would hide whole");
    }
    Ok(format!("/{}", parts.join("/")))
}

/// The host sockets that hand a container the host: Docker's API.
const HOST_SOCKETS: [&str; 2] = ["/var/run/docker.sock", "/run/docker.sock"];

/// A bind mount's host path, normalised: absolute as a host path,
/// relative as a path inside the source tree; or why it is neither.
pub fn bind_source(s: &str) -> Result<crate::system::BindSource, &'static str> {
    use crate::system::BindSource;
    if s.is_empty() {
        return Err("is empty");
    }
    if s.chars().any(char::is_control) {
        return Err("holds a control character (a tab or a line break)");
    }
    if s.contains('\\') {
        return Err("holds `\\`; write host paths with `/`");
    }
    let parts: Vec<&str> = (s.split('/'))
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("holds `..`, which would leave the path it names");
    }
    let joined = parts.join("/");
    if !s.starts_with('/') {
        return match joined.is_empty() {
            true => Err("is the whole source tree; name a directory inside it"),
            false => Ok(BindSource::SourceTree(joined)),
        };
    }
    let host = format!("/{joined}");
    if parts.is_empty() {
        return Err("is the host's root `/`");
    }
    if HOST_SOCKETS.contains(&host.as_str()) {
        return Err("is the Docker socket, which gives the container root on the host");
    }
    Ok(BindSource::Host(host))
}

/// Docker image references: `[host[:port]/]path[:tag][@digest]`.
pub fn is_image_ref(s: &str) -> bool {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(alg, hex)| {
            !alg.is_empty() && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !ok {
            return false;
        }
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let mut chars = tag.chars();
        let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && tag.len() <= 128;
        if !ok {
            return false;
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let host = parts.remove(0);
        let ok = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !ok {
            return false;
        }
    }
    !parts.is_empty() && parts.iter().all(|p| is_path_component(p))
}

fn is_path_component(p: &str) -> bool {
    // [a-z0-9]+ separated by '.', '_', '__' or '-'s.
    !p.is_empty()
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && p.starts_with(|c: char| c.is_ascii_alphanumeric())
        && p.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !p.contains("..")
}

/// Image tags alone.
pub fn is_tag(s: &str) -> bool {
    is_image_ref(&format!("x:{s}")) && !s.contains('/') && !s.contains(':')
}

/// Go-style durations as Compose takes them: `30s`, `1m30s`, `500ms`.
#[cfg(test)]
fn is_duration(s: &str) -> bool {
    duration_nanos(s).is_ok()
}

/// Byte sizes as Compose takes them and can hold: `512m`, `1g`, `1.5gb`.
#[cfg(test)]
fn is_byte_size(s: &str) -> bool {
    byte_size(s).is_some_and(|b| b < MAX_BYTES)
}

/// `os/arch[/variant]` as Docker names platforms.
pub fn is_platform(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// `uid[:gid]` or `name[:group]`.
pub fn is_user(s: &str) -> bool {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match s.split_once(':') {
        Some((u, g)) => part_ok(u) && part_ok(g),
        None => part_ok(s),
    }
}

/// What a YAML reader (1.1 or 1.2: PyYAML, go-yaml, serde_yaml) makes of
/// `s` written as a plain scalar, when that is not a string: `true`,
/// `NULL`, `off`, `123`, `0x1F`, `1e3`, `2024-01-02` come back as a
/// boolean, null, a number or a date, never as the name that was meant.
pub fn yaml_misread(s: &str) -> Option<&'static str> {
    // YAML 1.1's booleans as PyYAML (compose-lint) and go-yaml read
    // them; the bare `y`/`n` of the 1.1 spec are strings to both.
    const BOOLS: [&str; 18] = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
    ];
    if BOOLS.contains(&s) {
        Some("a boolean")
    } else if ["", "~", "null", "Null", "NULL"].contains(&s) {
        Some("null")
    } else if is_yaml_number(s) {
        Some("a number")
    } else if is_yaml_date(s) {
        Some("a date")
    } else {
        None
    }
}

/// Integers and floats in any notation YAML 1.1 or 1.2 resolves: decimal,
/// `0x`/`0o`/`0b`, old-style octal, `_` separators, exponents, base 60,
/// `.inf` and `.nan`.
fn is_yaml_number(s: &str) -> bool {
    let digits = |t: &str, ok: fn(char) -> bool| {
        t.chars().any(|c| c != '_') && t.chars().all(|c| c == '_' || ok(c))
    };
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"].contains(&unsigned) {
        return true;
    }
    for (prefix, ok) in [
        ("0x", (|c: char| c.is_ascii_hexdigit()) as fn(char) -> bool),
        ("0o", |c: char| c.is_digit(8)),
        ("0b", |c: char| c == '0' || c == '1'),
    ] {
        if let Some(rest) = unsigned.strip_prefix(prefix) {
            return digits(rest, ok);
        }
    }
    let dec = |c: char| c.is_ascii_digit();
    // Base 60 (YAML 1.1): 1:30, 190:20:30.15
    if let Some((head, tail)) = unsigned.split_once(':') {
        let (tail, fraction) = tail.split_once('.').unwrap_or((tail, "_0"));
        return digits(head, dec)
            && tail
                .split(':')
                .all(|p| !p.is_empty() && p.len() <= 2 && digits(p, dec))
            && (fraction.is_empty() || digits(fraction, dec));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() || digits(int, dec))
                && (frac.is_empty() || digits(frac, dec))
                && mantissa.chars().any(|c| c.is_ascii_digit())
        }
        None => digits(mantissa, dec),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// A YAML 1.1 timestamp's date part alone: `2024-01-02`.
fn is_yaml_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && (1..=2).contains(&parts[1].len())
        && (1..=2).contains(&parts[2].len())
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Why a duration cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not `<number><unit>...`.
    Syntax,
    /// Longer than Go's `time.Duration` (2^63-1 ns, about 292 years),
    /// which Compose parses it into.
    TooLong,
}

/// Go-style durations as Compose takes them (`30s`, `1m30s`, `500ms`), in
/// nanoseconds.
pub fn duration_nanos(s: &str) -> Result<u64, DurationError> {
    const UNITS: [(&str, u64); 6] = [
        ("ns", 1),
        ("us", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    if s.is_empty() {
        return Err(DurationError::Syntax);
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut too_long = false;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(DurationError::Syntax);
        }
        let number = &rest[..digits];
        rest = &rest[digits..];
        let Some((unit, scale)) = UNITS.iter().find(|(u, _)| rest.starts_with(u)) else {
            return Err(DurationError::Syntax);
        };
        rest = &rest[unit.len()..];
        let part = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(*scale));
        match part.and_then(|p| total.checked_add(p)) {
            Some(t) => total = t,
            None => too_long = true,
        }
    }
    if too_long || total > i64::MAX as u64 {
        Err(DurationError::TooLong)
    } else {
        Ok(total)
    }
}

/// Byte sizes as Compose takes them (`512m`, `1g`, `1.5gb`, `1024`), in
/// bytes (units are powers of 1024, as Docker counts memory); `None` when
/// malformed.
pub fn byte_size(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let number_len = lower
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .count();
    let (number, unit) = lower.split_at(number_len);
    let power = match unit {
        "" | "b" => 0,
        "k" | "kb" => 1,
        "m" | "mb" => 2,
        "g" | "gb" => 3,
        _ => return None,
    };
    let n = number.parse::<f64>().ok().filter(|n| *n > 0.0)?;
    Some(n * 1024f64.powi(power))
}

/// The most bytes Compose can hold (it parses sizes into a signed 64-bit
/// integer; beyond, the value wraps into nonsense).
pub const MAX_BYTES: f64 = 9_223_372_036_854_775_808.0; // 2^63, exclusive

/// Every Linux capability (capabilities(7)), without the `CAP_` prefix.
pub const CAPABILITIES: [&str; 41] = [
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// A capability as Docker reads it: case ignored, one `CAP_` prefix
/// optional. `cap_sys_admin` and `CAP_SYS_ADMIN` are both `SYS_ADMIN`;
/// `CAP_CAP_SYS_ADMIN` stays `CAP_SYS_ADMIN`, which is no capability.
pub fn normalize_capability(s: &str) -> String {
    let upper = s.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map_or(upper.clone(), str::to_string)
}

/// Whether `user` (`uid[:gid]` or `name[:group]`) runs as uid 0: `root` in
/// any case, or a number that is 0 as the runtime parses it (`0`, `00`,
/// `-0`, `+0`), whatever the group.
pub fn is_root_user(user: &str) -> bool {
    let uid = user.split(':').next().unwrap_or(user);
    if uid.eq_ignore_ascii_case("root") {
        return true;
    }
    let digits = uid.strip_prefix(['+', '-']).unwrap_or(uid);
    !digits.is_empty() && digits.chars().all(|c| c == '0')
}

/// The closest of `candidates` to `name`, if it is close enough to be a
/// likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_normalised_and_the_root_refused() {
        assert_eq!(mount_point("/etc//app/./x/").unwrap(), "/etc/app/x");
        assert_eq!(mount_point("/data").unwrap(), "/data");
        for bad in [
            "/", "//", "/./", "relative", "/a/../b", "/a\tb", "/a:b", "/a,b",
        ] {
            assert!(mount_point(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bind_sources_stay_inside_the_source_tree_or_are_absolute() {
        use crate::system::BindSource;
        assert_eq!(
            bind_source("/proc/").unwrap(),
            BindSource::Host("/proc".into())
        );
        assert_eq!(
            bind_source("./src//app").unwrap(),
            BindSource::SourceTree("src/app".into())
        );
        for bad in [
            "",
            ".",
            "./",
            "/",
            "../x",
            "src/../../x",
            "/a/../b",
            "/var/run/docker.sock",
            "a\tb",
        ] {
            assert!(bind_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_refs() {
        for ok in [
            "mongo:7.0",
            "example/shop-db:latest-arm64",
            "gcr.io/distroless/python3-debian12:nonroot",
            "localhost:5000/a/b:1",
            "redis",
            "python:3.11-slim",
        ] {
            assert!(is_image_ref(ok), "{ok}");
        }
        for bad in ["", "Mongo:7", "a::b", "a:b c", "-a", "a/:x", "a:-x"] {
            assert!(!is_image_ref(bad), "{bad}");
        }
    }

    #[test]
    fn durations_and_sizes() {
        assert!(is_duration("30s") && is_duration("1m30s") && is_duration("500ms"));
        assert!(!is_duration("30") && !is_duration("s") && !is_duration("1 m"));
        assert!(is_byte_size("1g") && is_byte_size("512m") && is_byte_size("1.5GB"));
        assert!(!is_byte_size("lots") && !is_byte_size("0") && !is_byte_size("1t"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("shop-dbb", ["shop-db", "shop-cache"]),
            Some("shop-db")
        );
        assert_eq!(suggest("zzz", ["shop-db"]), None);
    }

    #[test]
    fn yaml_misreads() {
        for s in [
            "true",
            "TRUE",
            "null",
            "NULL",
            "~",
            "",
            "yes",
            "off",
            "NO",
            "123",
            "0x1F",
            "0o17",
            "0b101",
            "1e3",
            "1.5",
            "1_000",
            "2024-01-02",
            "1:30",
            ".inf",
            "-.INF",
            "+12",
            "017",
        ] {
            assert!(yaml_misread(s).is_some(), "{s:?}");
        }
        for s in [
            "true-web", "x123", "1a", "nullable", "0x1g", "yes.no", "1.2.3", "e3", "1e", "ab-1",
            "2024-01", "0x", "db", "tRUE", "1-2-3", "y", "N",
        ] {
            assert_eq!(yaml_misread(s), None, "{s:?}");
        }
    }

    #[test]
    fn durations_fit_go() {
        assert_eq!(duration_nanos("1m30s"), Ok(90_000_000_000));
        assert_eq!(
            duration_nanos("2562047h"),
            Ok(2_562_047 * 3_600_000_000_000)
        );
        assert_eq!(duration_nanos("9223372036854775807ns"), Ok(i64::MAX as u64));
        for long in [
            "2562048h",
            "99999999999h",
            "9223372036854775808ns",
            "99999999999999999999999s",
        ] {
            assert_eq!(duration_nanos(long), Err(DurationError::TooLong), "{long}");
        }
        assert_eq!(duration_nanos("1.5s"), Err(DurationError::Syntax));
    }

    #[test]
    fn capabilities_and_root() {
        assert_eq!(normalize_capability("cap_sys_admin"), "SYS_ADMIN");
        assert_eq!(normalize_capability("CAP_CAP_SYS_ADMIN"), "CAP_SYS_ADMIN");
        assert!(CAPABILITIES.contains(&"NET_BIND_SERVICE"));
        for root in ["0", "00", "0:0", "root:root", "0:1000", "-0", "ROOT"] {
            assert!(is_root_user(root), "{root}");
        }
        for not_root in ["1000", "10", "0100:0", "rootless", "65532:0"] {
            assert!(!is_root_user(not_root), "{not_root}");
        }
    }
}
