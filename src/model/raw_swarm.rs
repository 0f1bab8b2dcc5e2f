//! The Docker Swarm settings as written: `system.mode`, a host's
//! `swarm:` (its node role and labels) and a service's `swarm:`
//! (placement, endpoint mode, update, rollback and restart policy).
//! Serde types only, like `raw.rs`; `validate::swarm` checks them.

use indexmap::IndexMap;
use serde::Deserialize;

/// `system.mode:` — what the system is deployed with.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeployMode {
    /// Docker Compose on one engine (the default): phase and master
    /// compose files only.
    #[default]
    Compose,
    /// Docker Swarm: one stack file per phase as well (`docker stack
    /// deploy`), and the model is checked for what Swarm cannot do.
    Swarm,
}

/// `system.swarm:` — translations the model opts into for its stack
/// files; without them each construct is refused (`swarm`).
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemSwarmDef {
    /// A port published on a loopback address (`host_ip: 127.0.0.1`):
    /// `refuse` (default) or `unpublished` — left out of the stack file
    /// (Swarm cannot bind one address), reachable on the service's
    /// overlays only.
    #[serde(default)]
    pub loopback_ports: LoopbackPorts,
    /// A secret delivered as an environment variable: `refuse` (default)
    /// or `file-env` — in the stack file a Swarm secret mounted at
    /// `/run/secrets/<NAME>` and `<NAME>_FILE` naming it (every program
    /// of the system must read `<NAME>_FILE`).
    #[serde(default)]
    pub env_secrets: EnvSecrets,
}

/// `system.swarm.loopback_ports`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoopbackPorts {
    #[default]
    Refuse,
    Unpublished,
}

/// `system.swarm.env_secrets`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EnvSecrets {
    #[default]
    Refuse,
    FileEnv,
}

/// `hosts.<name>.swarm:` — the host as a Swarm node.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwarmNodeDef {
    /// `manager` or `worker`.
    pub role: NodeRole,
    /// Node labels (`docker node update --label-add`) that services'
    /// `swarm.placement` select on.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
}

/// A Swarm node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Manager,
    Worker,
}

impl NodeRole {
    pub fn name(self) -> &'static str {
        match self {
            NodeRole::Manager => "manager",
            NodeRole::Worker => "worker",
        }
    }
}

/// `services.<name>.swarm:` — how Swarm places, updates and restarts the
/// service's tasks (only with `system.mode: swarm`).
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSwarmDef {
    /// Node labels every node running a task must have, label → value
    /// (`node.labels.<label> == <value>`); some declared node must have
    /// them all.
    #[serde(default)]
    pub placement: IndexMap<String, String>,
    /// `vip` (default: one virtual IP, ports published through the
    /// ingress routing mesh) or `dnsrr` (the service name resolves to
    /// every task's address; ports published in host mode on the node
    /// running the task).
    #[serde(default)]
    pub endpoint_mode: EndpointMode,
    /// How an update replaces the tasks.
    #[serde(default)]
    pub update: Option<UpdatePolicyDef>,
    /// How a failed update is rolled back.
    #[serde(default)]
    pub rollback: Option<UpdatePolicyDef>,
    /// When a stopped task is replaced; the condition comes from the
    /// service's `restart`.
    #[serde(default)]
    pub restart: Option<RestartPolicyDef>,
    /// A one-shot job or initialisation step left out of the stack
    /// files, with the reason (written in the stack file's header): Swarm
    /// has no `service_completed_successfully` and no shared network
    /// namespace.
    #[serde(default)]
    pub leave_out: Option<String>,
}

/// How clients reach a service's tasks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointMode {
    #[default]
    Vip,
    Dnsrr,
}

impl EndpointMode {
    pub fn name(self) -> &'static str {
        match self {
            EndpointMode::Vip => "vip",
            EndpointMode::Dnsrr => "dnsrr",
        }
    }
}

/// `update:` / `rollback:` — Swarm's `update_config` / `rollback_config`.
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicyDef {
    /// Tasks replaced at once (0: all at once); default 1.
    #[serde(default)]
    pub parallelism: Option<u32>,
    /// Wait between batches (`10s`); default `0s`.
    #[serde(default)]
    pub delay: Option<String>,
    /// `stop-first` (default) or `start-first`.
    #[serde(default)]
    pub order: Option<UpdateOrder>,
    /// What a failed batch does: `rollback` (default for updates),
    /// `pause` (default for rollbacks) or `continue`.
    #[serde(default)]
    pub failure_action: Option<FailureAction>,
    /// How long a new task is watched for failure (`30s`); default `30s`.
    #[serde(default)]
    pub monitor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOrder {
    StopFirst,
    StartFirst,
}

impl UpdateOrder {
    pub fn name(self) -> &'static str {
        match self {
            UpdateOrder::StopFirst => "stop-first",
            UpdateOrder::StartFirst => "start-first",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailureAction {
    Rollback,
    Pause,
    Continue,
}

impl FailureAction {
    pub fn name(self) -> &'static str {
        match self {
            FailureAction::Rollback => "rollback",
            FailureAction::Pause => "pause",
            FailureAction::Continue => "continue",
        }
    }
}

/// `restart:` — Swarm's `restart_policy` besides its condition.
#[derive(Debug, Default, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicyDef {
    /// Wait between restarts (`5s`); default `5s`.
    #[serde(default)]
    pub delay: Option<String>,
    /// Restarts within `window` before Swarm gives up; default unlimited.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// How long a restart is watched before it counts as a success.
    #[serde(default)]
    pub window: Option<String>,
}
