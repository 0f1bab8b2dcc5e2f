//! What validation keeps of a raw service once it is built: the few
//! fields that other services' checks and the whole-model rules read
//! (names they resolve, ports a config file points at, where a service
//! sits, what its one-shot and swarm settings are).
//!
//! Memory: a raw service is converted and then dropped, one at a time
//! (`services`), so the raw model and the built one are not alive together
//! at 10,000 services. Every rule that reads a raw service after that reads
//! a [`ServiceFacts`]; a field missing here is a compile error, not a rule
//! that silently sees an empty value.

use crate::model::raw::{self, PortDef, ServiceSwarmDef};

/// The part of a raw service kept for the whole validation run.
#[derive(Debug)]
pub(super) struct ServiceFacts {
    pub(super) plane: String,
    pub(super) networks: Vec<String>,
    pub(super) ports: Vec<PortDef>,
    pub(super) depends_on: Vec<String>,
    /// The service lists its env files (else its phase's apply).
    pub(super) lists_env_files: bool,
    /// The service names a published image (else it is built).
    pub(super) names_image: bool,
    pub(super) build: Option<BuildFacts>,
    pub(super) run_once: bool,
    pub(super) initializes: Option<String>,
    pub(super) after_up: bool,
    pub(super) security: SecurityFacts,
    pub(super) swarm: Option<Box<ServiceSwarmDef>>,
    pub(super) only_in_variants: Option<Vec<String>>,
}

/// The images and files a build names, as written.
#[derive(Debug)]
pub(super) struct BuildFacts {
    pub(super) builder: Option<String>,
    pub(super) runtime: Option<String>,
    pub(super) dockerfile: Option<String>,
    pub(super) requirements: Option<String>,
}

/// The stated reasons the whole-model rules accept.
#[derive(Debug)]
pub(super) struct SecurityFacts {
    pub(super) host_ports: Option<String>,
}

impl ServiceFacts {
    pub(super) fn of(s: &raw::ServiceDef) -> ServiceFacts {
        ServiceFacts {
            plane: s.plane.clone(),
            networks: s.networks.clone(),
            ports: s.ports.clone(),
            depends_on: s.depends_on.clone(),
            lists_env_files: s.env_files.is_some(),
            names_image: s.image.is_some(),
            build: s.build.as_ref().map(|b| BuildFacts {
                builder: b.builder.clone(),
                runtime: b.runtime.clone(),
                dockerfile: b.dockerfile.clone(),
                requirements: b.requirements.clone(),
            }),
            run_once: s.run_once,
            initializes: s.initializes.clone(),
            after_up: s.after_up,
            security: SecurityFacts {
                host_ports: s.security.host_ports.clone(),
            },
            swarm: s.swarm.clone(),
            only_in_variants: s.only_in_variants.clone(),
        }
    }
}
