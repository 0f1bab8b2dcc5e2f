//! A service's `health` check: one probe, durations, retries, and a
//! program in the image that can run it.

use crate::diagnostic::Rule;
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
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        let kinds =
            usize::from(h.http.is_some()) + usize::from(h.tcp) + usize::from(h.exec.is_some());
        if kinds != 1 {
            self.error(
                Rule::InvalidHealthCheck,
                at,
                format!("health check of `{name}` sets {kinds} probes"),
                "set exactly one of `http: /path`, `tcp: true` or `exec: [command, args...]`",
            );
            return None;
        }
        for (k, v) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
        ] {
            match names::duration_nanos(v) {
                // Docker refuses health-check durations under 1 ms, and
                // reads 0 as "use the default" (30s), not as 0.
                Ok(0) if k != "start_period" => self.error(
                    Rule::InvalidDuration,
                    &sub(k),
                    format!("{k} `{v}` is zero, which Docker replaces with its default"),
                    "give the duration you mean, at least `1ms`",
                ),
                Ok(ns) if ns > 0 && ns < 1_000_000 => self.error(
                    Rule::InvalidDuration,
                    &sub(k),
                    format!("{k} `{v}` is shorter than Docker's minimum of 1ms"),
                    "use at least `1ms`",
                ),
                Ok(_) => {}
                Err(names::DurationError::Syntax) => self.error(
                    Rule::InvalidDuration,
                    &sub(k),
                    format!("`{v}` is not a duration"),
                    "write it as Compose does: `30s`, `1m30s`, `500ms`",
                ),
                Err(names::DurationError::TooLong) => self.error(
                    Rule::InvalidDuration,
                    &sub(k),
                    format!("`{v}` is longer than Compose can hold"),
                    "Compose stores durations in 64-bit nanoseconds: at most 2562047h (about 292 years)",
                ),
            }
        }
        if h.retries == 0 {
            self.error(
                Rule::InvalidHealthCheck,
                &sub("retries"),
                "retries must be at least 1".into(),
                "seed 003 uses 3",
            );
        }
        let probe = self.health_probe(name, h, s, ports, at)?;
        Some(HealthCheck {
            probe,
            interval: h.interval.clone(),
            timeout: h.timeout.clone(),
            retries: h.retries,
            start_period: h.start_period.clone(),
        })
    }

    /// The probe: a command, or an http/tcp check run by the image's Python.
    fn health_probe(
        &mut self,
        name: &str,
        h: &raw::HealthDef,
        s: &raw::ServiceDef,
        ports: &[PortMapping],
        at: &At,
    ) -> Option<Probe> {
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        if let Some(cmd) = &h.exec {
            if cmd.is_empty() || cmd[0].is_empty() {
                self.error(
                    Rule::InvalidHealthCheck,
                    &sub("exec"),
                    "the exec health check has no command".into(),
                    "give the program and its arguments, e.g. [\"redis-cli\", \"ping\"]",
                );
                return None;
            }
            return Some(Probe::Exec(cmd.clone()));
        }
        let has_probe = s.build.as_ref().is_some_and(|b| b.stack == Stack::Python);
        if !has_probe {
            self.error(
                Rule::InvalidHealthCheck,
                at,
                format!("`{name}` has no program to run an http or tcp probe with (its image has no shell or curl)"),
                "use `exec:` with a command the image has, or build it with `stack: python`, whose probe needs no shell",
            );
            return None;
        }
        let port = match h.port {
            Some(port) => self.port(port, &sub("port"), "health check port"),
            None => match ports.first() {
                Some(first) => first.container.0,
                None => {
                    self.error(
                        Rule::InvalidHealthCheck,
                        at,
                        format!("`{name}` has no port for its health check to probe"),
                        "add `port:` to the health check, or declare the service's ports",
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
                    self.error(
                        Rule::InvalidHealthCheck,
                        &sub("http"),
                        format!(
                            "health path `{path}` must start with `/` and hold no spaces or quotes"
                        ),
                        "e.g. `/health`",
                    );
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
