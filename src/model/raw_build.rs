//! How an image is built, as written: `build` of a service or of a base
//! image. Serde types only, like `raw.rs`; `validate::images` checks them.

use serde::Deserialize;

/// How an image is built: a multi-stage Dockerfile from a stack template,
/// or a hand-written Dockerfile (`dockerfile`) when no stack fits.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildDef {
    /// The template lucid-gen renders the Dockerfile from; exactly one of
    /// `stack` and `dockerfile`.
    #[serde(default)]
    pub stack: Option<Stack>,
    /// A hand-written Dockerfile, relative to `context` and inside it;
    /// lucid-gen renders none for this build and lints this one.
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// Source directory, relative to the system's source tree.
    pub context: String,
    /// Image of the builder stage (runs on the build host's platform);
    /// `node` defaults to `node:20-alpine`, the other stacks need it.
    #[serde(default)]
    pub builder: Option<String>,
    /// Runtime image: an image reference, or `image:<key>` for a base in
    /// `images`; `node` defaults to `node:20-alpine`, the other stacks need it.
    #[serde(default)]
    pub runtime: Option<String>,
    /// Packages installed in the builder stage (pinned, e.g. `fastapi==0.115.6`).
    #[serde(default)]
    pub packages: Vec<String>,
    /// `python` stack: a requirements file in the build context (relative
    /// to `context`, inside it), which the builder stage installs with
    /// `pip install -r` before `packages`; pip checks the hashes it holds.
    #[serde(default)]
    pub requirements: Option<String>,
    /// An absolute path in the image that holds the image's version (the
    /// tag it is built as, one line), for an application that reads its
    /// own version from a file.
    #[serde(default)]
    pub version_file: Option<String>,
    /// Files copied from the builder image into the runtime (`native` stack).
    #[serde(default)]
    pub copy: Vec<CopyDef>,
    /// The process the container runs (exec form).
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// `node` stack of a service: the development server (exec form, e.g.
    /// `[node, node_modules/next/dist/bin/next, dev]`). The Dockerfile
    /// gains a `dev` stage, the whole source with every dependency
    /// (devDependencies too) and `NODE_ENV=development`, which runs it; a
    /// variant with `dev_stage: true` builds and runs that stage.
    #[serde(default)]
    pub dev_entrypoint: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    /// The image carries lucid-gen's health probe program at
    /// `/usr/local/bin/probe`, which runs its `http`/`tcp` health check.
    /// `java` and `native` get it without this whenever such a check needs
    /// it; on `python` and `node` it replaces the interpreter's probe; a
    /// hand-written Dockerfile copies it in itself with `COPY
    /// --from=<namespace>/lucid-gen-probe:<tag> /probe /usr/local/bin/probe`.
    #[serde(default)]
    pub probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stack {
    /// pip installs pinned packages for the target platform into a
    /// distroless Python runtime.
    Python,
    /// A JDK builder compiles; a distroless Java runtime runs the jar.
    Java,
    /// Binaries copied from an upstream image onto a distroless base.
    Native,
    /// `npm ci` from the lockfile (and `npm run build` if the package has
    /// one), then production dependencies only in a Node.js runtime.
    Node,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyDef {
    pub from: String,
    pub to: String,
}
