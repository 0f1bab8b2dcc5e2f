//! The compose override `up --stand-ins` adds to a phase's compose file:
//! only the images, the health checks' timing and the entrypoints the
//! model sets differ, and host `devices` are dropped; networks, ports, env files, secrets, config files,
//! dependencies and health-check commands stay the generated ones (but
//! for `restart_when_unhealthy`'s wrapper, which needs a shell no stand-in
//! has: the stand-in runs the probe it wraps). Pure:
//! the images come from `docker::standin`, which writes the text.

use std::collections::BTreeMap;

use super::probe_command;
use crate::compose_files::ComposeFile;
use crate::escape::{compose_list, compose_name, yaml_key};
use crate::system::{Service, System};

/// The stand-in images of a run and how the engine runs them.
pub struct StandInImages<'a> {
    /// Service name → image.
    pub images: &'a BTreeMap<String, String>,
    /// The platform to run them as, when it is not the model's.
    pub platform: Option<&'a str>,
    /// Whether the engine honours `healthcheck.start_interval`.
    pub start_interval: bool,
}

/// The health-check timing of a stand-in run (the command stays the
/// model's). A stand-in answers at once, so the first check decides; the
/// model's own values are checked in the generated files instead. An
/// engine with `start_interval` (API 1.44, Engine 25) checks every second
/// until healthy and then at the model's interval; an older one (20.10
/// here) has one interval for both, and every check is a `docker exec`
/// costing the engine ~35 ms of CPU: at 1 s, 28 services kept a whole core
/// of a 2-core machine busy, so it gets 2 s (healthy within about 2 s of
/// starting, half the load). BENCHMARKS.md has the measurements. Its
/// timeout is 10 s, not the 3 s a stand-in needs when the machine is idle:
/// a stand-in of another architecture runs under emulation, and on a
/// stand-in Pi with a build beside it a check of an answering stand-in
/// took over 3 s, so healthy services of an unchanged redeploy were
/// reported unhealthy. A hung check is still caught, 7 s later.
pub fn fast_healthcheck(start_interval: bool) -> &'static str {
    if start_interval {
        "    healthcheck:\n      start_period: 60s\n      start_interval: 1s\n"
    } else {
        "    healthcheck:\n      interval: 2s\n      timeout: 10s\n      start_period: 10s\n"
    }
}

/// `test:` for a service whose generated check restarts it when unhealthy:
/// that wrapper needs `/bin/sh`, which a stand-in image lacks, so the
/// stand-in runs the probe it wraps (`""` for any other service).
fn plain_probe(service: &Service) -> String {
    if !service
        .health
        .as_ref()
        .is_some_and(|h| h.restart_when_unhealthy)
    {
        return String::new();
    }
    let mut test = vec!["CMD".to_string()];
    test.extend(probe_command(service).unwrap_or_default());
    format!("      test: {}\n", compose_list(&test))
}

/// The override's text for the services of `plan`.
pub fn text(system: &System, plan: &ComposeFile, standins: &StandInImages) -> String {
    let mut text = String::from(
        "# Written by `lucid-gen up --stand-ins`: only the images, the health\n\
         # checks' timing and the entrypoints the model sets (a one-shot job's stand-in\n\
         # exits 0 at once) differ from the generated compose file, and host devices\n\
         # are dropped (a stand-in uses no hardware); networks, ports,\n\
         # env files, secrets, config files, dependencies and health-check commands are\n\
         # the generated ones (a check that restarts its container when unhealthy runs\n\
         # the probe it wraps: the wrapper needs a shell, which a stand-in lacks).\n\
         # The model's own intervals are checked in the generated files; a stand-in\n\
         # answers at once, so waiting them out would prove nothing.\nservices:\n",
    );
    for &i in &plan.services {
        let service = &system.services[i];
        let name = &service.name;
        text.push_str(&format!(
            "  {}:\n    image: {}\n    pull_policy: never\n",
            yaml_key(name),
            compose_name(&standins.images[name])
        ));
        if service.health.is_some() {
            text.push_str(fast_healthcheck(standins.start_interval));
            text.push_str(&plain_probe(service));
        }
        // The model's entrypoint names a program of the real image.
        if service.run_once {
            text.push_str("    entrypoint: [\"/standin\", \"once\"]\n");
        } else if !service.entrypoint.is_empty() {
            text.push_str("    entrypoint: [\"/standin\", \"serve\"]\n");
        }
        if let Some(platform) = standins.platform {
            text.push_str(&format!("    platform: {}\n", compose_name(platform)));
        }
        // A stand-in uses no host hardware, and the machine it runs on may
        // lack the device (Compose would refuse to start the container):
        // the generated file keeps the model's devices, the override
        // resets them (`!reset`, Compose 2.24.4 and later).
        if !service.devices.is_empty() {
            text.push_str(
                "    # a stand-in uses no host hardware: the model's devices are dropped\n    \
                 devices: !reset []\n",
            );
        }
    }
    text
}

/// The override `swarm up --stand-ins` adds to a stack file (`docker
/// stack deploy -c STACK -c OVERRIDE`): the images, the health checks'
/// timing (one interval: a stack file has no `start_interval`) and the
/// entrypoints the model sets; nothing `docker stack deploy` would ignore.
pub fn stack_text(
    system: &System,
    plan: &ComposeFile,
    images: &BTreeMap<String, String>,
) -> String {
    let mut text = String::from(
        "# Written by `lucid-gen swarm up --stand-ins`: only the images, the health\n\
         # checks' timing and the entrypoints the model sets differ from the stack file.\n\
         version: \"3.13\"\nservices:\n",
    );
    for &i in &plan.services {
        let service = &system.services[i];
        let name = &service.name;
        text.push_str(&format!(
            "  {}:\n    image: {}\n",
            yaml_key(name),
            compose_name(&images[name])
        ));
        if service.health.is_some() {
            text.push_str(fast_healthcheck(false));
        }
        if !service.entrypoint.is_empty() {
            text.push_str("    entrypoint: [\"/standin\", \"serve\"]\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_shortens_only_the_timing() {
        for start_interval in [false, true] {
            let text = fast_healthcheck(start_interval);
            assert!(!text.contains("test:") && !text.contains("retries"));
            assert_eq!(text.contains("start_interval: 1s"), start_interval);
            assert_eq!(text.contains("interval: 2s"), !start_interval);
        }
    }
}
