//! Syntax checks for single values: names, image references, durations,
//! sizes. Pure functions, each returning whether the value is acceptable.

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

/// Environment variable names as POSIX shells and Compose accept them.
pub fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
pub fn is_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// Byte sizes as Compose takes them: `512m`, `1g`, `1.5gb`, `1024`.
pub fn is_byte_size(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let number_len = lower
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .count();
    let (number, unit) = lower.split_at(number_len);
    number.parse::<f64>().is_ok_and(|n| n > 0.0)
        && matches!(unit, "" | "b" | "k" | "kb" | "m" | "mb" | "g" | "gb")
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

/// A Linux capability name without its `CAP_` prefix.
pub fn is_capability(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
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
}
