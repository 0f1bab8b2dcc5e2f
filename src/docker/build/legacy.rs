//! The legacy builder (`docker build`, no buildx): what a Dockerfile
//! needs from it ([`legacy_needs`]: the platform variables BuildKit would
//! define), the values for them, and one `docker build` command per image.

use super::Job;
use crate::docker::Cmd;

// -------------------------------------------------------------- legacy

/// Platform variables BuildKit defines by itself; the legacy builder knows
/// none of them.
const PLATFORM_ARGS: [&str; 8] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// What a Dockerfile needs from the legacy builder.
#[derive(Debug, Default, PartialEq)]
pub(super) struct LegacyNeeds {
    /// Platform variables it declares with `ARG` (and so can be given).
    pub(super) declared: Vec<&'static str>,
    /// Platform variables a `FROM` uses without a global `ARG`: the legacy
    /// builder expands them to nothing and fails.
    pub(super) unresolvable: Vec<&'static str>,
}

pub(super) fn legacy_needs(dockerfile: &str) -> LegacyNeeds {
    let mut needs = LegacyNeeds::default();
    let mut global: Vec<&str> = Vec::new();
    let mut seen_from = false;
    for line in dockerfile.lines() {
        let line = line.trim_start();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if word.eq_ignore_ascii_case("ARG") {
            let name = rest.trim().split('=').next().unwrap_or("").trim();
            if let Some(arg) = PLATFORM_ARGS.iter().find(|a| **a == name) {
                if !needs.declared.contains(arg) {
                    needs.declared.push(arg);
                }
                if !seen_from {
                    global.push(arg);
                }
            }
        } else if word.eq_ignore_ascii_case("FROM") {
            seen_from = true;
            for arg in PLATFORM_ARGS {
                let used =
                    rest.contains(&format!("${arg}")) || rest.contains(&format!("${{{arg}}}"));
                if used && !global.contains(&arg) && !needs.unresolvable.contains(&arg) {
                    needs.unresolvable.push(arg);
                }
            }
        }
    }
    needs
}

/// `os/arch[/variant]` split into the platform variables' values.
pub(super) fn platform_values(prefix: &str, platform: &str) -> Vec<(String, String)> {
    let mut parts = platform.splitn(3, '/');
    let os = parts.next().unwrap_or_default();
    let arch = parts.next().unwrap_or_default();
    let variant = parts.next().unwrap_or_default();
    vec![
        (format!("{prefix}PLATFORM"), platform.to_string()),
        (format!("{prefix}OS"), os.to_string()),
        (format!("{prefix}ARCH"), arch.to_string()),
        (format!("{prefix}VARIANT"), variant.to_string()),
    ]
}

/// The legacy builder's command for one image.
///
/// `DOCKER_BUILDKIT=0` is set on purpose. The Docker CLI (23 and later)
/// runs BuildKit only through the buildx plugin: with `DOCKER_BUILDKIT=1`
/// and no buildx it refuses outright ("BuildKit is enabled but the buildx
/// component is missing or broken"), even though the 20.10 daemon has
/// BuildKit built in. Without buildx the only builder that works is the
/// legacy one, and a `DOCKER_BUILDKIT=1` left in the user's environment
/// must not break it. The legacy builder does not define the platform
/// variables BuildKit does (`BUILDPLATFORM`, `TARGETARCH`, ...), so those
/// a Dockerfile declares with `ARG` are passed as `--build-arg`; a `FROM
/// --platform=$BUILDPLATFORM` resolves only if `ARG BUILDPLATFORM` comes
/// before the first `FROM`. `BUILDPLATFORM` is the target platform too, so
/// the builder stage runs under emulation when the host's differs: the
/// legacy builder refuses `COPY --from` a stage of another platform ("was
/// found but does not match the specified platform"), which BuildKit
/// allows. `--force-rm`: the legacy builder otherwise leaves the
/// intermediate container of a failed step behind.
pub(super) fn legacy_cmd(job: &Job, platform: &str, build_args: &[(String, String)]) -> Cmd {
    let mut cmd = Cmd::docker().env("DOCKER_BUILDKIT", "0").args([
        "build",
        "--platform",
        platform,
        "-t",
        &job.image,
    ]);
    for tag in &job.extra_tags {
        cmd = cmd.arg("-t").arg(tag);
    }
    cmd = cmd.arg("-f").arg(&job.dockerfile);
    for (k, v) in build_args {
        cmd = cmd.arg("--build-arg").arg(format!("{k}={v}"));
    }
    cmd.arg("--force-rm").arg(&job.context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_variables_the_legacy_builder_lacks() {
        let python =
            "FROM --platform=$BUILDPLATFORM python:3.11 AS builder\nARG TARGETARCH\nFROM x\n";
        assert_eq!(
            legacy_needs(python),
            LegacyNeeds {
                declared: vec!["TARGETARCH"],
                unresolvable: vec!["BUILDPLATFORM"],
            }
        );
        let fixed = "# c\nARG BUILDPLATFORM\nFROM --platform=${BUILDPLATFORM} python AS b\narg TARGETARCH=amd64\n";
        assert_eq!(
            legacy_needs(fixed),
            LegacyNeeds {
                declared: vec!["BUILDPLATFORM", "TARGETARCH"],
                unresolvable: vec![],
            }
        );
        assert_eq!(
            legacy_needs("FROM a AS up\nFROM b\nCOPY --from=up /x /y\n"),
            LegacyNeeds::default()
        );
    }

    #[test]
    fn platform_values_split_os_arch_variant() {
        assert_eq!(
            platform_values("TARGET", "linux/arm64/v8"),
            vec![
                ("TARGETPLATFORM".to_string(), "linux/arm64/v8".to_string()),
                ("TARGETOS".to_string(), "linux".to_string()),
                ("TARGETARCH".to_string(), "arm64".to_string()),
                ("TARGETVARIANT".to_string(), "v8".to_string()),
            ]
        );
    }
}
