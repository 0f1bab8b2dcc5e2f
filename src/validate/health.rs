//! A service's `health` check: one probe, durations, retries, and a
//! program in the image that can run it (see `render::probe`).

use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::*;

use super::location::At;
use super::names;
use super::Validator;

impl Validator<'_> {
    pub(super) fn health(
        &mut self,
        name: &str,
        h: &raw::HealthDef,
        s: &raw::ServiceDef,
        ports: &[PortMapping],
        at: &At,
    ) -> Option<HealthCheck> {
        let sub = |k: &str| at.key(k);
        let kinds =
            usize::from(h.http.is_some()) + usize::from(h.tcp) + usize::from(h.exec.is_some());
        if kinds != 1 {
            self.report(
                at,
                Kind::HealthProbeCount {
                    service: name.to_string(),
                    count: kinds,
                },
            );
            return None;
        }
        for (k, v) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
        ] {
            let value = v.clone();
            // Docker refuses health-check durations under 1 ms, and reads
            // 0 as "use the default" (30s), not as 0.
            match names::duration_nanos(v) {
                Err(names::DurationError::Syntax) => {
                    self.report(&sub(k), Kind::InvalidDuration { value })
                }
                Err(names::DurationError::TooLong) => {
                    self.report(&sub(k), Kind::DurationTooLong { value })
                }
                Ok(0) if k != "start_period" => {
                    self.report(&sub(k), Kind::DurationZero { key: k, value })
                }
                Ok(ns) if ns > 0 && ns < 1_000_000 => {
                    self.report(&sub(k), Kind::DurationUnderMs { key: k, value })
                }
                Ok(_) => {}
            }
        }
        if h.retries == 0 {
            self.report(&sub("retries"), Kind::HealthRetries {});
        }
        if h.restart_when_unhealthy {
            self.restart_when_unhealthy(name, s, &sub("restart_when_unhealthy"));
        }
        let probe = self.health_probe(name, h, s, ports, at)?;
        Some(HealthCheck {
            probe,
            interval: h.interval.clone(),
            timeout: h.timeout.clone(),
            retries: h.retries,
            start_period: h.start_period.clone(),
            start_period_ns: names::duration_nanos(&h.start_period).unwrap_or(0),
            restart_when_unhealthy: h.restart_when_unhealthy,
        })
    }

    /// `restart_when_unhealthy`: the wrapper stops the container through
    /// PID 1 (so Docker's init must be it), the restart policy must start
    /// it again, and the image needs `/bin/sh` — which the distroless
    /// runtimes of the `python`, `java` and `native` stacks lack (a
    /// published image or a hand-written Dockerfile is the model's word).
    fn restart_when_unhealthy(&mut self, name: &str, s: &raw::ServiceDef, at: &At) {
        let service = name.to_string();
        if !s.init {
            self.report(
                at,
                Kind::HealthRestartNeedsInit {
                    service: service.clone(),
                },
            );
        }
        let restart = match s.restart {
            Some(raw::Restart::No) => Some("no"),
            Some(raw::Restart::OnFailure) => Some("on-failure"),
            Some(raw::Restart::Always | raw::Restart::UnlessStopped) | None => None,
        };
        if let Some(restart) = restart {
            self.report(
                at,
                Kind::HealthRestartPolicy {
                    service: service.clone(),
                    restart,
                },
            );
        }
        let stack = match s.build.as_ref().and_then(|b| b.stack) {
            Some(raw::Stack::Python) => Some("python"),
            Some(raw::Stack::Java) => Some("java"),
            Some(raw::Stack::Native) => Some("native"),
            Some(raw::Stack::Node) | None => None,
        };
        if let Some(stack) = stack {
            self.report(at, Kind::HealthRestartNoShell { service, stack });
        }
    }

    /// Whether a program can run an http/tcp probe in the service's image:
    /// a stack's interpreter or the probe program lucid-gen adds (any
    /// stack), or the probe program a hand-written Dockerfile copies in
    /// (`probe: true`). A published image has neither.
    fn has_prober(&mut self, name: &str, s: &raw::ServiceDef, at: &At) -> bool {
        let service = name.to_string();
        match &s.build {
            None => self.report(at, Kind::HealthNoProber { service }),
            Some(b) if b.stack.is_none() && b.dockerfile.is_some() && !b.probe => {
                self.report(at, Kind::HealthHandWritten { service })
            }
            Some(_) => return true,
        }
        false
    }

    /// The probe: a command, or an http/tcp check run by the image's
    /// interpreter or lucid-gen's probe program.
    fn health_probe(
        &mut self,
        name: &str,
        h: &raw::HealthDef,
        s: &raw::ServiceDef,
        ports: &[PortMapping],
        at: &At,
    ) -> Option<Probe> {
        let sub = |k: &str| at.key(k);
        if let Some(cmd) = &h.exec {
            if cmd.is_empty() || cmd[0].is_empty() {
                self.report(&sub("exec"), Kind::HealthExecEmpty {});
                return None;
            }
            return Some(Probe::Exec(cmd.clone()));
        }
        if !self.has_prober(name, s, at) {
            return None;
        }
        let port = match h.port {
            Some(port) => self.port(port, &sub("port"), "health check port"),
            None => match ports.first() {
                Some(first) => first.container.0,
                None => {
                    self.report(
                        at,
                        Kind::HealthNoPort {
                            service: name.to_string(),
                        },
                    );
                    return None;
                }
            },
        };
        let port = ContainerPort(port);
        let probe = match &h.http {
            Some(path) => {
                if !path.starts_with('/')
                    || path
                        .chars()
                        .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || c.is_control())
                {
                    self.report(&sub("http"), Kind::HealthPath { path: path.clone() });
                    return None;
                }
                Probe::Http {
                    port,
                    path: path.clone(),
                }
            }
            None => Probe::Tcp { port },
        };
        Some(probe)
    }
}
