//! What a service takes from the host, as written: `binds` (a host file or
//! directory mounted into the container), `devices` (a host device node
//! passed through) and the host ports a variant publishes. Serde types
//! only, like `raw.rs`; `validate::mounts` and `validate::variants` check
//! them.

use serde::Deserialize;

/// `services.<name>.binds[]` (and `variants.<v>.binds[]`) — a host path
/// mounted into the container, read-only unless `read_write` says why not.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindDef {
    /// The host path. Absolute (`/proc`, `/sys`) is taken as written on the
    /// host Compose runs on; relative (`src`) is inside the source tree,
    /// rendered under `${SOURCE_DIR}` as build contexts are, and never
    /// leaves it (no `..`).
    pub source: String,
    /// Mount point inside the container (never under `/run/secrets`).
    pub target: String,
    /// Why the container must write to the host path; without it the
    /// mount is read-only.
    #[serde(default)]
    pub read_write: Option<String>,
}

/// `services.<name>.variants.<v>.ports[]` — a port the service declares
/// (in `ports`, without `host`), published on the host in this variant
/// only.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPortDef {
    /// The declared container port this publishes.
    pub container: u32,
    /// Port published on the host in this variant.
    pub host: u32,
    /// The declared port's protocol; default `tcp`.
    #[serde(default)]
    pub protocol: super::raw::Protocol,
    /// Host address to bind; all addresses when absent.
    #[serde(default)]
    pub host_ip: Option<String>,
}
