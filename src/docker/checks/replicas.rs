//! Replicated services in `lucid-gen test`: every container of a service,
//! by its Compose replica number, and the rows that say whether as many
//! run as the model declares and whether each one is up.

use super::report::Check;
use crate::docker::inventory::Container;
use crate::system::Service;

/// How a report names a container: the service, and the replica number
/// when the service runs several.
pub fn shown(s: &Service, c: &Container) -> String {
    match s.replicas {
        1 => s.name.clone(),
        _ => format!("{}#{}", s.name, c.number),
    }
}

/// As many containers as the service declares replicas, all running.
pub fn replicas_check(s: &Service, list: &[Container]) -> Check {
    let running = list.iter().filter(|c| c.running).count();
    Check {
        kind: "replicas",
        from: "-".into(),
        target: s.name.clone(),
        expect: "as declared",
        ok: list.len() == s.replicas as usize && (s.run_once || running == list.len()),
        detail: format!(
            "{} containers ({running} running) of {} declared",
            list.len(),
            s.replicas
        ),
    }
}

/// A long-running container: running, and healthy when it has a check.
pub fn running_check(s: &Service, c: &Container) -> Check {
    let healthy = s.health.is_none() || c.health.as_deref() == Some("healthy");
    Check {
        kind: "running",
        from: "-".into(),
        target: shown(s, c),
        expect: if s.health.is_some() {
            "healthy"
        } else {
            "running"
        },
        ok: c.running && healthy,
        detail: c.health.clone().unwrap_or_else(|| {
            if c.running {
                "running".into()
            } else {
                "stopped".into()
            }
        }),
    }
}
