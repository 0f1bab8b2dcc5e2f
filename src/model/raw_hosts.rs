//! The `hosts:` section as written: machines the system is deployed to
//! over SSH (`lucid-gen up --host NAME`). Serde types only, like
//! `raw.rs`; `validate::hosts` checks them.

use serde::Deserialize;

/// `hosts.<name>:` — one machine the system is deployed to over SSH:
/// where to connect, the host key it must present, where releases live
/// and how images arrive.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Host name or IP address SSH connects to.
    pub address: String,
    /// The SSH user (it must be allowed to use the host's Docker socket).
    pub user: String,
    /// SSH port; default 22.
    #[serde(default)]
    pub port: Option<u32>,
    /// Absolute directory on the host holding the numbered releases and
    /// the `current` link, e.g. `/opt/shop`.
    pub directory: String,
    /// The host's platform, checked against its engine before anything
    /// is copied; default: the system's `platform`.
    #[serde(default)]
    pub platform: Option<String>,
    /// Free space the host's Docker root must have before a deploy
    /// (`20g`); it must also hold twice the image bytes sent.
    #[serde(default)]
    pub min_free_disk: Option<String>,
    /// The host key's SHA256 fingerprint, as `ssh-keygen -lf` prints it
    /// (`SHA256:…`). Give this or `known_hosts`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// A known_hosts file holding the host's key (`~/` is the home
    /// directory; a relative path is relative to the model directory).
    /// Give this or `host_key`.
    #[serde(default)]
    pub known_hosts: Option<String>,
    /// How images reach the host: `transfer` (default: only the layers
    /// the host lacks, over SSH, no registry) or `pull` (`docker compose
    /// pull` on the host).
    #[serde(default)]
    pub images: ImageArrival,
    /// The phases this host runs, in deploy order; default: every phase.
    #[serde(default)]
    pub phases: Option<Vec<String>>,
    /// Releases kept on the host for `rollback`; default 5.
    #[serde(default)]
    pub keep_releases: Option<u32>,
    /// How long one phase may take to become healthy before the deploy
    /// rolls back; default `10m`.
    #[serde(default)]
    pub deadline: Option<String>,
    /// The host as a Swarm node (its role and labels), in swarm mode.
    #[serde(default)]
    pub swarm: Option<super::raw_swarm::SwarmNodeDef>,
    /// Steps run on the host once every phase is up.
    #[serde(default)]
    pub after_deploy: AfterDeployDef,
}

/// `after_deploy:` — what runs on the host once a deploy's phases are up
/// and healthy: a fixed set of named steps, never a shell command from the
/// model.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterDeployDef {
    /// `docker image prune -f` there: removes dangling images (the old
    /// layers a pulled or sent tag no longer names); default false.
    #[serde(default)]
    pub prune_images: bool,
}

/// `hosts.<name>.images:` — how images reach the host.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageArrival {
    /// `docker save` of only the layers the host lacks, over SSH.
    #[default]
    Transfer,
    /// `docker compose pull` on the host, from the registry.
    Pull,
}

/// `deploy:` — the host the workflow deploys to, as repository secrets.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GithubDeployDef {
    /// Secret holding the host name or address.
    pub host_secret: String,
    /// Secret holding the SSH user.
    pub user_secret: String,
    /// Secret holding the private SSH key.
    pub key_secret: String,
    /// Secret holding the host's `known_hosts` line(s) (`ssh-keyscan HOST`).
    pub known_hosts_secret: String,
    /// Absolute directory on the host the output layout is copied to.
    pub dir: String,
    /// The variant whose compose files are deployed (one that pulls, not
    /// builds); required when the model has `variants`.
    #[serde(default)]
    pub variant: Option<String>,
    /// Steps run on the host once every phase is up.
    #[serde(default)]
    pub after_deploy: AfterDeployDef,
}
