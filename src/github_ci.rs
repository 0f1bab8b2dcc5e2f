//! The GitHub Actions workflow a model may ask for (`system.ci.github`),
//! strict: [`GithubCi`] and where it deploys ([`GithubDeploy`]), and the
//! GitHub variables a tag may name ([`GITHUB_CONTEXT_VARS`]). Built by
//! `validate` (`validate/ci.rs`), read by `render/workflow.rs`.

/// GitHub's own variables the workflow writes as expressions: a tag may use
/// them as `${NAME}` (they are set in every job, so `lucid-gen build` finds
/// them there too); any other `${NAME}` is the repository variable `NAME`.
pub const GITHUB_CONTEXT_VARS: [(&str, &str); 3] = [
    ("GITHUB_SHA", "github.sha"),
    ("GITHUB_RUN_NUMBER", "github.run_number"),
    ("GITHUB_RUN_ID", "github.run_id"),
];

/// `system.ci.github`: the workflow that builds, pushes and deploys.
#[derive(Debug, Clone)]
pub struct GithubCi {
    /// Its file name under `.github/workflows/` in the output directory.
    pub workflow_file: String,
    pub name: String,
    /// Pushes to this branch run it.
    pub branch: String,
    /// The output directory, relative to the repository root.
    pub output_dir: String,
    /// The root of the build contexts, relative to the repository root.
    pub source_dir: String,
    /// The registry host every built image is pushed to.
    pub registry: String,
    /// Repository secrets holding the registry login; `None`: the job's
    /// own `GITHUB_TOKEN` as `github.actor`.
    pub login: Option<(String, String)>,
    pub deploy: Option<GithubDeploy>,
}

/// Where the workflow deploys: repository secrets naming the host and key,
/// and the directory on the host.
#[derive(Debug, Clone)]
pub struct GithubDeploy {
    pub host_secret: String,
    pub user_secret: String,
    pub key_secret: String,
    pub known_hosts_secret: String,
    pub dir: String,
    /// The variant deployed (`deploy.variant`), checked to exist and
    /// not to build once the variants are known.
    pub variant: Option<String>,
    /// Named steps run on the host once every phase is up.
    pub after_deploy: crate::model::raw::AfterDeployDef,
}
