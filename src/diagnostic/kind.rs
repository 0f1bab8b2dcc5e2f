//! Every kind of diagnostic, one entry each: its data, its [`Rule`], its
//! [`Severity`], its message and its help. Rule and severity are fixed per
//! kind; messages and help are format strings over the kind's fields, each
//! field shown through [`Shown`] so control characters are escaped.
//!
//! Adding a diagnostic is one entry here, and a fixture that produces it
//! (`tests/bad/kinds/<kind>.yaml` unless a rule's fixture does; for a new
//! rule, a `rules!` line and `tests/bad/<rule>.yaml`): see "Adding a rule"
//! in ARCHITECTURE.md.

use std::fmt;

use super::{Location, Rule, Severity, Shown};

kinds! {
    // ------------------------------------------------------------ reading

    /// A link in the model directory to a file or directory outside it:
    /// named, never read (diagnostics quote only the model's own files).
    LinkOutsideModel { target: String } => Io, Error,
        "this link leads outside the model directory (to `{target}`); lucid-gen does not read it, so no message ever quotes a file that is not the model's",
        "copy the file into the model directory, or point the link at a file inside it";
    FileTooLarge { size: u64, limit: u64 } => Io, Error,
        "model file is {size} bytes, more than the {limit}-byte limit",
        "a model file describes services, not data; split it or remove what does not belong";
    FileGrew { limit: u64 } => Io, Error,
        "model file grew past the {limit}-byte limit while being read",
        "a model file describes services, not data; split it or remove what does not belong";
    NotUtf8 {} => NotUtf8, Error,
        "model file is not valid UTF-8",
        "save the file as UTF-8";
    EmptyFile {} => EmptyFile, Error,
        "model file is empty",
        "add a section such as `services:`, or delete the file";
    YamlSyntax { info: String } => YamlSyntax, Error,
        "invalid YAML: {info}",
        "fix the YAML syntax at this position (indentation, quotes, a missing `:`)";
    SecondDocument {} => YamlSyntax, Error,
        "a model file holds exactly one YAML document",
        "remove the `---` separator, or move the second document into a file of its own";
    DuplicateKey { key: String, parent: String } => DuplicateKey, Error,
        "key `{key}` appears twice in `{parent}`",
        "YAML would silently keep only the last one; remove or rename one of them";
    /// serde's message, which names the key.
    UnknownKey { message: String } => UnknownKey, Error,
        "{message}",
        "remove the key or fix its spelling; the README's model reference lists every key";
    MissingKey { message: String } => MissingKey, Error,
        "{message}",
        "add the key; the README's model reference says what it holds";
    DuplicateField { message: String } => DuplicateKey, Error,
        "{message}",
        "remove one of the two entries";
    WrongType { message: String } => WrongType, Error,
        "{message}",
        "give the value the type the model reference asks for";
    /// serde_yaml could not load a document the position walk read.
    AliasesTooLarge { limit: u64 } => YamlSyntax, Error,
        "with its aliases expanded, this file holds more than {limit} bytes of text (a YAML alias bomb?)",
        "a model file describes services, not data: write repeated values out, or alias smaller anchors";
    NotAModel { message: String } => YamlSyntax, Error,
        "invalid YAML: {message}",
        "fix the YAML in this file; of the `%` directives, the reader knows only `%YAML 1.1`, `%YAML 1.2` and `%TAG`";

    // ------------------------------------------------------ model as a whole

    MissingSystem {} => MissingSystem, Error,
        "no file of the model has a `system:` section",
        "add `system: {{ name, platform, registry: {{ namespace, tag }} }}` to one model file";
    SystemTwice { first_at: Location } => DuplicateDefinition, Error,
        "`system` is defined twice (first at {first_at})",
        "keep one `system:` section for the whole model";
    DefinedTwice { section: String, name: String, first_at: Location } => DuplicateDefinition, Error,
        "{section} entry `{name}` is defined twice (first at {first_at})",
        "each name is defined once in the whole model directory; rename or remove one";
    NoServices {} => NoServices, Error,
        "the model defines no services",
        "add a `services:` section to a model file";
    EmptyPhase { phase: String } => EmptyPhase, Error,
        "phase `{phase}` has no services",
        "put a service in it (`phase:` of a service), or remove the phase; Compose refuses a file without services";
    /// Two outputs on one path; `other_at` is ` (file:line:col)` or empty,
    /// `spelled` is `, spelled ...` when the other spells it differently.
    OutputCollision { what: String, path: String, other: String, other_at: String, spelled: String } => OutputCollision, Error,
        "the {what} would be written to `{path}`, the path of the {other}{other_at}{spelled}",
        "give one of them another file name or directory (`output.*` in `system`); paths that differ only in case or in `./` are the same file on many systems";
    /// An output's file where another output needs a directory.
    OutputOnDirectory { what: String, path: String, other: String, other_at: String, other_path: String } => OutputCollision, Error,
        "the {what} would be written to `{path}`, a directory the {other}{other_at} needs for `{other_path}`",
        "give one of them another file name or directory (`output.*` in `system`); paths that differ only in case or in `./` are the same file on many systems";
    /// A service's image or bake target is the health probe's.
    ProbeImageTaken { service: String, image: String } => OutputCollision, Error,
        "`{service}` would be built as `{image}`, the name of the health probe image lucid-gen builds for the http/tcp checks of built images",
        "rename the service or give it another `image:`";
    /// Another output directory overlapping `output.secrets_dir`.
    OutputDirsOverlap { key: &'static str, value: String, how: &'static str, secrets_dir: String } => OutputCollision, Error,
        "output.{key} `{value}` {how} output.secrets_dir `{secrets_dir}`: a plain file and a secret-bearing file could then share a path, and the secret would show in `all --check`'s diff",
        "keep output.secrets_dir apart from every other output directory, e.g. `secrets` beside `configs/files`";
    OutputTempName { what: String, path: String, part: String, prefix: &'static str } => OutputCollision, Error,
        "the {what} would be written to `{path}`, but `{part}` is a name lucid-gen keeps for its temporary files (`{prefix}*`): every run deletes such files and the output's .gitignore ignores them, directories included",
        "pick a file or directory name that does not start with `{prefix}`";

    // ------------------------------------------------------------- system

    InvalidProjectName { name: String } => InvalidName, Error,
        "system name `{name}` is not a valid Compose project name",
        "use lowercase letters, digits, `-` and `_`, starting with a letter or digit";
    InvalidPlatform { platform: String } => InvalidName, Error,
        "platform `{platform}` is not of the form os/arch",
        "write it as Docker does, e.g. `linux/arm64` or `linux/amd64`";
    InvalidNamespace { namespace: String } => InvalidImage, Error,
        "registry namespace `{namespace}` is not a valid image path",
        "use lowercase letters, digits and `-`, e.g. `example`";
    InvalidTag { tag: String } => InvalidImage, Error,
        "image tag `{tag}` is not a valid Docker tag",
        "use letters, digits, `_`, `.` and `-`, at most 128 characters";
    InvalidExtraTag { tag: String, why: &'static str } => InvalidImage, Error,
        "extra tag `{tag}` is not a valid Docker tag: {why}",
        "use letters, digits, `_`, `.` and `-`, and `${{NAME}}` for an environment variable read at build time, e.g. `1.4.0` or `${{GITHUB_SHA}}`";
    DuplicateTag { tag: String } => InvalidImage, Error,
        "tag `{tag}` is listed twice (the primary `tag` counts)",
        "list each tag once";
    CiPushRegistry { image: String, host: String, registry: String } => InvalidImage, Error,
        "the workflow pushes `{image}` to {host}, but logs in to {registry} only (the registry of `system.registry.namespace`)",
        "name every built image under the namespace's registry";
    CiNoLogin { registry: String } => InvalidImage, Error,
        "the workflow pushes to {registry}, where the job's GITHUB_TOKEN cannot log in",
        "set `username_secret` and `password_secret` under `system.ci.github`, or use a namespace on ghcr.io (`ghcr.io/OWNER/REPO`)";
    CiDeployVariantMissing { names: String } => Variant, Error,
        "`system.ci.github.deploy` names no `variant`, and the model has several ({names})",
        "add `variant: NAME` naming the one the host runs: one that pulls its images (no `build: true`), as the host has no source tree";
    CiDeployBuildingVariant { variant: String } => Variant, Error,
        "the workflow deploys variant `{variant}`, whose compose files build images from the source tree",
        "deploy a variant without `build: true`: the workflow pushes the images and the host pulls them";
    CiLoginPair { given: &'static str, missing: &'static str } => MissingKey, Error,
        "`system.ci.github` sets `{given}` but not `{missing}`",
        "give both, or neither to log in with the job's GITHUB_TOKEN";
    CiSecretName { value: String } => InvalidName, Error,
        "`{value}` is not a GitHub secret name",
        "use letters, digits and `_`, not starting with a digit or `GITHUB_`, e.g. `DEPLOY_HOST`";
    CiName { value: String } => InvalidName, Error,
        "workflow name `{value}` holds `${{{{`, which GitHub does not allow in a workflow's name",
        "write the name without `${{{{`";
    CiBranch { value: String } => InvalidName, Error,
        "branch `{value}` is not a plain git branch name",
        "use letters, digits and `._/-`, e.g. `main` (no glob characters)";
    CiPath { key: &'static str, value: String, want: &'static str } => InvalidPath, Error,
        "`system.ci.github.{key}` `{value}` must be {want}",
        "e.g. workflow_file: `deploy.yml`, output_dir: `generated`, source_dir: `.`, deploy.dir: `/opt/app`";
    OutputDirNotRelative { key: &'static str, value: String } => InvalidPath, Error,
        "output.{key} `{value}` must be a relative path inside the output directory",
        "use a path like `configs/docker`, without a leading `/` or `..`";
    MasterComposeName { key: &'static str, value: String } => InvalidPath, Error,
        "output.{key} `{value}` must be a plain file name",
        "use a name like `docker-compose.master.yml`";
    /// A secret-bearing env file whose path `.gitignore` cannot list.
    EnvPathUnwritable { path: String, why: &'static str, from: &'static str } => InvalidPath, Error,
        "`{path}` holds secrets, so `.gitignore` must list it, but it cannot: {why}",
        "remove the character from {from}";
    DockerignoreUnwritable { dir: String, why: &'static str } => InvalidPath, Error,
        "`{dir}` holds secrets, so every `Dockerfile.dockerignore` must list it, but it cannot: {why}",
        "remove the character from `output.secrets_dir`";
    ComposeFileName { file: String } => InvalidPath, Error,
        "compose file name `{file}` must be a plain `.yml` file name",
        "use a name like `docker-compose.foundation.yml`";
    ComposeFileTwice { file: String, first_at: Location } => DuplicateDefinition, Error,
        "compose file `{file}` is already written for something else ({first_at})",
        "give each phase its own compose file, distinct from the master";

    // ------------------------------------------------------------- groups

    EmptyGroup { group: String } => EmptyGroup, Error,
        "group `{group}` lists no services",
        "list the services its compose file is for under `groups.{group}.services`, or remove the group; Compose refuses a file without services";
    GroupServiceTwice { group: String, service: String } => DuplicateDefinition, Error,
        "group `{group}` lists service `{service}` twice",
        "list each service once";
    /// A group named like a phase: both would be Compose project `project`.
    GroupNamedLikePhase { group: String, project: String } => DuplicateDefinition, Error,
        "group `{group}` is named like a phase; both would deploy as Compose project `{project}`",
        "rename the group, e.g. `{group}-only`";
    GroupComposeFileTwice { file: String, first_at: Location } => DuplicateDefinition, Error,
        "compose file `{file}` is already written for something else ({first_at})",
        "give each group its own compose file, distinct from every phase's and the master";

    // ------------------------------------------------- shared by sections

    UnknownPhase { name: String, hint: String } => UnknownPhase, Error,
        "unknown phase `{name}`", "{hint}";
    UnknownPlane { name: String, hint: String } => UnknownPlane, Error,
        "unknown plane `{name}`", "{hint}";
    UnknownNetwork { name: String, hint: String } => UnknownNetwork, Error,
        "unknown network `{name}`", "{hint}";
    UnknownEnvFile { name: String, hint: String } => UnknownEnvFile, Error,
        "unknown env file `{name}`", "{hint}";
    UnknownImage { name: String, hint: String } => UnknownImage, Error,
        "unknown image `{name}`", "{hint}";
    UnknownService { name: String, hint: String } => UnknownDependency, Error,
        "unknown service `{name}`", "{hint}";
    InvalidDockerName { what: &'static str, name: String } => InvalidName, Error,
        "{what} name `{name}` is not a valid Docker name",
        "use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 63 characters";
    /// A name YAML reads as something else: `true`, `null`, `off`, `123`.
    YamlMisreadName { what: &'static str, name: String, reads_as: &'static str } => InvalidName, Error,
        "{what} name `{name}` reads as {reads_as} in YAML, not as a name",
        "Compose files are YAML, where `true`, `yes`, `off`, `null`, `~`, numbers and dates are not strings; pick a name with a letter that makes it a word, e.g. `true-web` or `db123`";
    InvalidLabelKey { key: String } => InvalidName, Error,
        "label key `{key}` has characters Docker does not allow",
        "use reverse-DNS style keys such as `org.example.team`";
    ReservedLabel { key: String } => InvalidName, Error,
        "label `{key}` starts with `lucid-gen.`, the prefix of the labels lucid-gen sets on every service; Compose refuses a label set twice",
        "give the label your own prefix, e.g. `org.example.{key}`";
    LabelTwice { key: String } => InvalidName, Error,
        "label `{key}` is also a system label, which every service carries; Compose refuses a label set twice",
        "remove it from the service, or from `system.labels`";
    LabelNul { key: String } => EnvValue, Error,
        "label `{key}` holds a NUL byte",
        "remove the NUL byte";
    InvalidLintRule { rule: String } => SecurityException, Error,
        "`{rule}` is not a linter rule id",
        "write the id the linter reports, e.g. `CL-0019`";
    LintExceptionReason { rule: String } => SecurityException, Error,
        "the exception to {rule} needs a reason",
        "state in a sentence why the finding is accepted; it is written next to the exception";
    PortRange { what: &'static str, value: u32 } => PortRange, Error,
        "{what} {value} is out of range",
        "ports go from 1 to 65535";

    // ---------------------------------------------------- planes, networks

    BridgeOtherPlane { service: String, service_plane: String, plane: String } => PlaneIsolation, Error,
        "bridge service `{service}` belongs to plane `{service_plane}`, not `{plane}`",
        "a plane can only declare its own services as bridges";
    BridgeNotIsolated { plane: String } => BridgeNotIsolated, Warning,
        "plane `{plane}` declares a bridge but is not isolated",
        "bridges only matter for `isolated: true` planes; use `may_join` otherwise";
    IsolatedMayJoin { plane: String } => PlaneIsolation, Error,
        "isolated plane `{plane}` cannot have `may_join`",
        "an isolated plane reaches other planes only through `bridges`, one service at a time";
    NetworkNameTwice { name: String, first_at: Location } => DuplicateDefinition, Error,
        "two networks are named `{name}` in Docker (first at {first_at})",
        "give each network its own `name`";
    UnknownDriver { driver: String } => InvalidName, Error,
        "unknown network driver `{driver}`",
        "use one of bridge, overlay, macvlan, ipvlan";
    GatewayOutside { gateway: String, subnet: String } => SubnetInvalid, Error,
        "gateway {gateway} is outside subnet {subnet}",
        "pick an address inside the subnet, usually its first";
    GatewayNotIp { gateway: String } => SubnetInvalid, Error,
        "gateway `{gateway}` is not an IP address",
        "write an address such as 172.20.0.1";
    SubnetNoPrefix { subnet: String } => SubnetInvalid, Error,
        "subnet `{subnet}` has no prefix length",
        "write it in CIDR notation, e.g. 172.20.0.0/16";
    SubnetAddress { addr: String, subnet: String } => SubnetInvalid, Error,
        "`{addr}` in subnet `{subnet}` is not an IP address",
        "write it in CIDR notation, e.g. 172.20.0.0/16";
    SubnetPrefix { prefix: String, subnet: String, max: u8 } => SubnetInvalid, Error,
        "prefix length `/{prefix}` of subnet `{subnet}` is out of range (0 to {max})",
        "write it in CIDR notation, e.g. 172.20.0.0/16";
    SubnetHostBits { subnet: String, prefix: u8 } => SubnetInvalid, Error,
        "subnet `{subnet}` has host bits set after the /{prefix} prefix",
        "use the network address, e.g. 172.20.0.0/16 rather than 172.20.1.0/16";
    SubnetOverlap { subnet: String, network: String, other_subnet: String, other: String, other_at: Location } => SubnetOverlap, Error,
        "subnet {subnet} of network `{network}` overlaps {other_subnet} of network `{other}` ({other_at})",
        "give each network a subnet of its own, e.g. the next free /16";

    // ------------------------------------------------ env files, secrets

    EnvName { name: String } => EnvName, Error,
        "`{name}` is not a valid environment variable name",
        "use letters, digits and `_`, not starting with a digit";
    /// A key of a service's `environment:` mapping YAML reads as a boolean or null.
    YamlMisreadEnvName { name: String, reads_as: &'static str } => EnvName, Error,
        "environment variable `{name}` reads as {reads_as} in YAML, not as a name",
        "Compose files are YAML, where `true`, `yes`, `off`, `null` and `~` are not strings; rename the variable";
    EnvValue { name: String, why: String } => EnvValue, Error,
        "value of `{name}` cannot be written: {why}",
        "remove the character from the value";
    EnvFileName { file: String } => InvalidPath, Error,
        "env file name `{file}` must be a plain file name",
        "use a name like `.env.foundation`";
    EnvFileTwice { file: String, first_at: Location } => DuplicateDefinition, Error,
        "two env files are both written to `{file}` (first at {first_at})",
        "give each env file its own `file`";
    SecretSize { name: String, bytes: u32 } => SecretSize, Error,
        "secret `{name}` has {bytes} bytes; it needs 16 to 4096",
        "16 bytes (128 bits) is the least that resists guessing; 32 or 64 is usual";
    /// A secret with none, or more than one, of `bytes`, `from_env`, `from_file`, `template`.
    SecretValueSource { name: String, given: String } => SecretSize, Error,
        "secret `{name}` needs exactly one of `bytes`, `from_env`, `from_file` and `template`; it has {given}",
        "`bytes: 32` generates and keeps a random value; `from_env: VAR` or `from_file: PATH` takes the operator's value on every `lucid-gen all`; `template: \"redis://:${{PASSWORD:url}}@redis:6379/0\"` composes one from other secrets";
    /// `encoding` on a secret whose value is not generated: it would be
    /// ignored.
    SecretEncodingUnused { name: String, source: String } => SecretSize, Error,
        "secret `{name}` sets `encoding`, but its value comes from {source}: only a generated value (`bytes`) is encoded",
        "remove `encoding`; the operator's value (or the composed one) is used as it is";
    /// A secret `template` that cannot be parsed or names no secret.
    SecretTemplate { name: String, why: String } => SecretSize, Error,
        "the template of secret `{name}` cannot compose a value: {why}",
        "name each secret as `${{NAME}}`, or `${{NAME:url}}` to percent-encode it for a URL, at least once";
    /// A secret `template` naming an undeclared secret, or another template.
    SecretTemplateReference { name: String, reference: String, why: String } => UnknownSecret, Error,
        "the template of secret `{name}` names `{reference}`, {why}",
        "a template composes declared secrets that are generated (`bytes`) or supplied (`from_env`, `from_file`); declare it so, or write its text into this template";
    /// An operator-supplied secret with an empty `from_file` path.
    SecretFilePath { name: String } => InvalidPath, Error,
        "secret `{name}` reads its value from an empty path",
        "name the file the operator keeps the value in, e.g. `from_file: /run/keys/api-key`";
    /// A service's own `environment` sets a variable that says where one of
    /// its external services is.
    EnvironmentReplacesExternal { service: String, name: String, external: String } => EnvConflict, Error,
        "`{service}` sets `{name}` in its environment, which Compose fills with where external service `{external}` is",
        "remove the variable from `environment`; the operator sets `{name}` where Compose runs";
    /// A service's required variable that something else also sets.
    RequiredEnvSetTwice { service: String, name: String, other: String } => EnvConflict, Error,
        "`{service}` requires the operator to set `{name}`, but {other} also sets it",
        "keep one: remove `{name}` from `required_env`, or from where else it is set";
    /// A variable Compose cannot interpolate.
    ComposeVariable { name: String, why: String } => EnvName, Error,
        "`{name}` cannot be filled by Compose: {why}",
        "use letters, digits and `_`, e.g. `DB_HOST`";
    /// An external service whose port is given both ways, or neither.
    ExternalPortSource { name: String } => MissingKey, Error,
        "external service `{name}` needs exactly one of `port` and `port_env`",
        "`port: 5432` fixes the port in the model; `port_env: VAR` lets the operator set it";
    EnvConflict { file: String, name: String, service: String, read_at: Location } => EnvConflict, Error,
        "env file `{file}` has a plain variable `{name}`, which `{service}` also receives as a secret ({read_at})",
        "remove the plain variable (the secret fills it in the container), or rename one of them";
    /// A service's own `environment` names a secret it receives.
    /// `NAME_FILE` set by the model where lucid-gen sets it for a
    /// `file-env` secret.
    SetsSecretFileVariable { service: String, name: String, secret: String, by: String } => EnvConflict, Error,
        "{by} sets `{name}`, but `{service}` receives secret `{secret}` as `file-env`, for which lucid-gen sets `{name}` to the mounted file; Compose refuses a variable set twice",
        "rename the variable, or deliver `{secret}` `as: file` and set `{name}` yourself";
    EnvironmentReplacesSecret { service: String, name: String } => EnvConflict, Error,
        "`{service}` sets `{name}` in its environment and also receives secret `{name}` as a variable",
        "remove the variable from `environment`; the secret fills it";

    // ------------------------------------------------------ images, builds

    InvalidImageRef { image: String } => InvalidImage, Error,
        "`{image}` is not a valid image reference",
        "write it as [registry/]name[:tag], lowercase, e.g. `example/cache:7-arm64`";
    BuildContext { context: String } => InvalidPath, Error,
        "build context `{context}` must be a relative path inside the source tree",
        "give the source directory relative to the system's source tree, without a leading `/` or `..`, e.g. `auth`";
    OwnRuntime { image: String } => InvalidBuild, Error,
        "image `{image}` cannot be its own runtime",
        "name an upstream runtime image instead";
    InvalidPackage { package: String } => InvalidBuild, Error,
        "package `{package}` is not a package specifier",
        "write a pinned requirement such as `fastapi==0.115.6`";
    CopyNotAbsolute { from: String, to: String } => InvalidPath, Error,
        "copy `{from}` → `{to}` needs absolute paths",
        "write absolute paths inside the images, e.g. `/usr/local/bin/server`";
    NativeCopiesNothing {} => InvalidBuild, Error,
        "a `native` build copies nothing from its builder",
        "list the binaries under `copy:`";
    MissingEntrypoint {} => InvalidBuild, Error,
        "a service build needs an `entrypoint`",
        "give the command the container runs, in exec form";
    StackAndDockerfile {} => InvalidBuild, Error,
        "a build gives both `stack` and `dockerfile`",
        "keep `stack` to have the Dockerfile generated, or `dockerfile` to bring a hand-written one, not both";
    NoStackNorDockerfile {} => InvalidBuild, Error,
        "a build needs a `stack` or a `dockerfile`",
        "e.g. `stack: node`, or `dockerfile: Dockerfile` for a hand-written one inside the context";
    MissingBuildImage { field: &'static str, stack: &'static str } => InvalidBuild, Error,
        "a `{stack}` build needs a `{field}` image",
        "name it, e.g. `{field}: example/{field}:1.0`; only the `node` stack has a default";
    ProbeOnBaseImage {} => InvalidBuild, Error,
        "`probe` has no effect on a base image",
        "set `probe: true` on the services built on it whose health checks need the probe program";
    DockerfileIgnores { field: &'static str } => InvalidBuild, Error,
        "`{field}` has no effect on a build with a hand-written `dockerfile`",
        "remove it: the hand-written Dockerfile decides what the image contains";
    DockerfilePath { dockerfile: String } => InvalidPath, Error,
        "dockerfile `{dockerfile}` must be a relative path inside the build context",
        "give it relative to `context`, without `..`, e.g. `Dockerfile` or `docker/app.Dockerfile`";
    /// `build.requirements` or `build.version_file`.
    BuildFilePath { field: &'static str, path: String, why: &'static str } => InvalidPath, Error,
        "{field} `{path}` cannot be used: {why}",
        "write the path without `..`, `* ? [ ] \\` or line breaks: `requirements` relative to `context` (`requirements.txt`), `version_file` absolute (`/app/VERSION`)";
    DevEntrypointNotNode {} => InvalidBuild, Error,
        "`dev_entrypoint` needs a service built by the `node` stack",
        "remove it: only the `node` stack renders a `dev` stage, and only for a service";
    DevStageWithoutDevEntrypoint { service: String, variant: String } => Variant, Error,
        "variant `{variant}` runs the `dev` stage of service `{service}`, whose build has no `dev_entrypoint`",
        "give the service's `build` a `dev_entrypoint` (the development server), or remove `dev_stage`";
    DevStageInPullingVariant { service: String, variant: String } => Variant, Error,
        "variant `{variant}` runs the `dev` stage of service `{service}` but pulls its images",
        "set `build: true` on variant `{variant}`: the `dev` stage is built from the source tree, never pushed";
    RequirementsNotPython { stack: &'static str } => InvalidBuild, Error,
        "`requirements` has no effect on a `{stack}` build",
        "remove it: only the `python` stack installs a requirements file (the `node` stack installs `package-lock.json`)";
    WorkdirNotAbsolute { workdir: String } => InvalidPath, Error,
        "workdir `{workdir}` must be an absolute path",
        "e.g. `/app`";
    /// `build.copy` that a Dockerfile `COPY` cannot carry as written.
    CopyUnwritable { from: String, to: String, why: &'static str } => InvalidPath, Error,
        "copy `{from}` → `{to}` cannot be written as a Dockerfile COPY: {why}",
        "name each path literally, without `* ? [ ] \\` or line breaks; to copy several files, copy the directory that holds them";
    WorkdirUnwritable { workdir: String, why: &'static str } => InvalidPath, Error,
        "workdir `{workdir}` cannot be written in a Dockerfile: {why}",
        "remove the character from the path, e.g. `/app`";
    /// A label or description a built service's Dockerfile carries as a `LABEL`.
    DockerfileLabel { what: String, why: &'static str } => LabelValue, Error,
        "{what} cannot be written as a LABEL of a Dockerfile: {why}",
        "write it on one line, without control characters: every built image carries it as a label";

    // ----------------------------------------------------------- services

    NoNetwork { service: String } => UnknownNetwork, Error,
        "service `{service}` is on no network",
        "list at least one network from `networks:`";
    NetworkListedTwice { network: String } => DuplicateDefinition, Error,
        "network `{network}` is listed twice",
        "list each network once";
    HostIpNotIp { ip: String } => InvalidHostIp, Error,
        "host_ip `{ip}` is not an IP address",
        "write an address such as 127.0.0.1, or leave it out to bind every address";
    HostIpUnpublished {} => InvalidHostIp, Error,
        "host_ip is set but the port is not published",
        "add `host:` or remove `host_ip:`";
    ContainerPortTwice { port: u16 } => PortClash, Error,
        "container port {port} is listed twice",
        "list each container port once";
    UnknownSecret { service: String, secret: String, hint: String } => UnknownSecret, Error,
        "service `{service}` uses secret `{secret}`, which is not declared",
        "{hint}";
    SecretNotDelivered { service: String, secret: String, target: String } => SecretNotDelivered, Error,
        "config file `{target}` of `{service}` names the file of secret `{secret}`, which `{service}` does not receive as a file",
        "add `{{ name: {secret}, as: file }}` to the service's `secrets`";
    SecretUsedTwice { service: String, secret: String } => SecretNotDelivered, Error,
        "service `{service}` lists secret `{secret}` twice",
        "list it once, with the delivery it needs (`as: env`, `file` or `file-env`)";
    SecretTargetForEnv { secret: String } => SecretNotDelivered, Error,
        "secret `{secret}` is delivered as a variable, so `target` has no meaning",
        "add `as: file`, or remove `target`";
    ConfigPlaceholder { target: String, text: String, why: String } => ConfigFile, Error,
        "config file `{target}`: `{text}` {why}",
        "placeholders are {{{{ secret NAME }}}}, {{{{ secret-file NAME }}}}, {{{{ tor-hashed-password NAME }}}}, {{{{ port SERVICE PORT }}}}, {{{{ host SERVICE }}}}, {{{{ targets PORT }}}}, {{{{ subnet NETWORK }}}}, {{{{ platform }}}}, {{{{ system }}}}; write {{{{ \"{{{{\" }}}} for a literal `{{{{`";
    TargetUnreachable { service: String, target: String, file: String } => ConfigFile, Error,
        "config file `{file}` of `{service}` lists `{target}` as a target, but the two share no network",
        "put `{target}` on a network `{service}` joins (or the other way round), or rename `{target}`'s port if it is not meant to be a target";
    /// `{{ host }}`/`{{ port }}` naming a service the file's service
    /// cannot reach.
    PlaceholderUnreachable { service: String, target: String, file: String, placeholder: String } => ConfigFile, Error,
        "config file `{file}` of `{service}` names `{target}` in `{placeholder}`, but the two share no network, so whatever reads the file could not reach it",
        "put `{target}` on a network `{service}` joins (or the other way round), or name a service it can reach";
    MountTwice { service: String, target: String, spelled: String } => ConfigFile, Error,
        "service `{service}` mounts two things at `{target}`{spelled} (config files, secret files, volumes and tmpfs mounts, compared as paths)",
        "give each mount its own path";
    /// A mount below a file mount: the file is no directory.
    MountUnderFile { service: String, target: String, file: String } => ConfigFile, Error,
        "service `{service}` mounts something at `{target}`, below the file it mounts at `{file}` (a config or secret file), which is no directory",
        "move one of the two mounts";
    /// A one-shot job no service waits for: `docker compose up --wait`
    /// fails its phase when the job's container exits.
    OneShotUnwaited { service: String, waiter: String } => OneShot, Error,
        "one-shot service `{service}` is waited for by no service: `docker compose up --wait` takes its exit (even 0) as its phase failing",
        "make the service that needs its work depend on {waiter} (in the same phase), run it once its phase is up with `after_up: true`, or run the step outside the model";
    OneShot { service: String, why: String } => OneShot, Error,
        "one-shot service `{service}` {why}",
        "a one-shot job (`run_once` or `initializes`) runs to completion: no ports, no health check, `restart` left to lucid-gen";
    /// A replicated service publishing a fixed host port: the second
    /// replica could not bind it.
    ReplicatedHostPort { service: String, replicas: u32, port: u16 } => PortClash, Error,
        "`{service}` runs {replicas} replicas but publishes host port {port}, which only one container can bind",
        "leave the port unpublished (other containers reach every replica by the service name) and publish one proxy in front of them, or run one replica";
    ZeroReplicas { service: String } => InvalidResource, Error,
        "`{service}` asks for 0 replicas",
        "give at least 1 (the default), or remove the service";
    UnknownVariant { name: String, hint: String } => Variant, Error,
        "unknown variant `{name}`: the top-level `variants` does not declare it",
        "{hint}";
    /// A variant setting a variable the service sets in every variant.
    VariantEnvironmentTwice { service: String, variant: String, name: String } => Variant, Error,
        "`{service}` sets `{name}` in its `environment` and again in variant `{variant}`",
        "set `{name}` either in `environment` (the same in every variant) or in each variant's `environment`, not both";
    VariantVolumeTwice { service: String, variant: String, target: String } => Variant, Error,
        "variant `{variant}` of `{service}` mounts a volume at `{target}`, where the service already mounts one",
        "mount each path once: in `volumes` (every variant) or in the variant's `volumes`";
    /// A variant publishing a port the service does not declare, or one
    /// it publishes in every variant already.
    VariantPort { service: String, variant: String, port: u16, why: String } => Variant, Error,
        "variant `{variant}` of `{service}` publishes container port {port}, which {why}",
        "declare the port once in the service's `ports`, without `host`, and publish it once in each variant that needs it (`variants.<variant>.ports`)";
    /// `only_in_variants` that cannot work: empty, a variant twice, or a
    /// service depending on one a variant it is in lacks.
    OnlyInVariants { service: String, why: String } => Variant, Error,
        "`only_in_variants` of `{service}` {why}",
        "list each variant the service exists in once; a service may depend only on services that exist in every variant it exists in (give the dependency the same `only_in_variants`, or drop it)";
    /// Two variants (or a variant's phase and another's) naming one file.
    VariantFileClash { variant: String, file: String, other: String } => Variant, Error,
        "variant `{variant}` writes compose file `{file}`, which variant `{other}` also writes",
        "give the variants different `compose_suffix`es (one of them may have none)";
    VariantSuffix { suffix: String } => Variant, Error,
        "compose suffix `{suffix}` cannot be part of a compose file name",
        "use letters, digits, `-` and `_`, e.g. `prod` (`docker-compose.yml` becomes `docker-compose.prod.yml`)";
    InvalidVolumeName { name: String } => InvalidName, Error,
        "volume name `{name}` is not a valid Docker name",
        "use letters, digits, `_`, `.` and `-`";
    /// A mount point (volume, config file, secret file, tmpfs) that is not
    /// one, and why.
    MountPoint { what: &'static str, target: String, why: &'static str } => InvalidPath, Error,
        "{what} `{target}` {why}",
        "write an absolute path inside the container, e.g. `/data/db` or `/etc/app/app.conf`";
    MemorySize { value: String } => InvalidResource, Error,
        "`{value}` is not a memory size",
        "write it as Compose does: `512m`, `1g`, `1.5g`";
    MemoryTooLarge { value: String } => InvalidResource, Error,
        "`{value}` is more bytes than Compose can hold",
        "Compose stores sizes in a signed 64-bit integer: at most 8589934591g";
    MemoryBelowMinimum { value: String } => InvalidResource, Error,
        "memory limit `{value}` is below Docker's minimum of 6 MiB",
        "Docker refuses to start a container with less; use at least `6m`";
    ReservationAboveLimit {} => InvalidResource, Error,
        "the memory reservation is above the memory limit",
        "Docker refuses a reservation larger than the limit; lower it or raise `memory`";
    Cpus { cpus: String } => InvalidResource, Error,
        "cpus `{cpus}` must be between 0.01 and 1024 cores",
        "Docker takes CPU shares from 0.01 of a core upwards (below, Compose's count of nano-CPUs rounds to 0, which means unlimited), e.g. `0.5` or `2`";
    DefaultImageInvalid { service: String, image: String } => InvalidImage, Error,
        "the default image of `{service}`, `{image}`, is not a valid image reference",
        "set `image:` to a valid reference, or rename the service (image paths allow single `.`, `_`, `__` and `-` runs between letters and digits)";
    InvalidUser { user: String } => InvalidName, Error,
        "user `{user}` is not `uid[:gid]` or a user name",
        "e.g. `65532:65532`";
    MissingHealthCheck { service: String } => MissingHealthCheck, Warning,
        "service `{service}` has no health check",
        "add `health:` so dependants wait for it and `up --wait` can tell it is ready";
    MissingLimits { service: String } => MissingLimits, Warning,
        "service `{service}` has no memory or CPU limit",
        "add `resources: {{ memory: 256m, cpus: 0.5 }}` so one service cannot starve the host";

    // ----------------------------------------------------------- security

    WritableRootReason { service: String } => SecurityException, Error,
        "`{service}`: writable_root needs a reason",
        "state the reason in a sentence; it is written into the compose file next to the exception";
    UnknownCapability { cap: String } => SecurityException, Error,
        "`{cap}` is not a Linux capability",
        "use a name such as NET_BIND_SERVICE (see capabilities(7)), with or without one `CAP_` prefix";
    CapabilityTwice { service: String, cap: String, spelled: String } => DuplicateDefinition, Error,
        "capability {cap} of `{service}` is added twice (as `{spelled}`)",
        "list each capability once";
    PrivilegedCapability { service: String, cap: String } => SecurityException, Error,
        "`{service}` may not add back {cap}: it amounts to a privileged container",
        "add the narrow capability the service really needs";
    CapabilityReason { service: String, cap: String } => SecurityException, Error,
        "capability {cap} of `{service}` needs a reason",
        "state the reason in a sentence; it is written into the compose file next to the exception";
    BaseImageRoot { image: String } => SecurityException, Error,
        "base image `{image}` would run as root",
        "give it a non-root `user` (or none: 65532:65532); a service that must run as root sets `user` and `security.run_as_root` itself";
    RootWithoutReason { service: String } => SecurityException, Error,
        "`{service}` runs as root without a stated reason",
        "run as a non-root user, or set `security.run_as_root` to the reason";
    RootReason { service: String } => SecurityException, Error,
        "`{service}`: run_as_root needs a reason",
        "state the reason in a sentence; it is written into the compose file next to the exception";
    RootReasonNotRoot { service: String } => SecurityException, Error,
        "`{service}` states a reason to run as root but its user is not root",
        "remove `run_as_root`, or set `user: \"0\"`";
    HostPortsReason { service: String } => SecurityException, Error,
        "`{service}`: host_ports needs a reason",
        "state the reason in a sentence";
    HostPortsReasonUnneeded { service: String } => SecurityException, Error,
        "`{service}` states a reason for host_ports but is not a service of an isolated plane publishing a host port",
        "remove `security.host_ports`; only a service of an isolated plane that publishes a host port needs it";
    BindReadWriteReason { service: String, target: String } => SecurityException, Error,
        "`{service}`: the read-write bind mount at `{target}` needs a reason",
        "state in a sentence why the container must write to the host path, or drop `read_write` to mount it read-only";
    BindIntoSecrets { service: String, target: String } => SecretExposure, Error,
        "`{service}`: bind mount target `{target}` is inside the secrets directory `/run/secrets`",
        "mount host paths elsewhere; secrets reach a container only through its `secrets` list";
    BindSource { source: String, why: &'static str } => InvalidPath, Error,
        "bind mount source `{source}` {why}",
        "give an absolute host path such as `/proc`, or a path inside the source tree without `..`, e.g. `src`";
    DevicePath { device: String } => InvalidPath, Error,
        "device `{device}` is not a path under `/dev`",
        "name the host device node, e.g. `/dev/dri` or `/dev/video0`";
    DeviceReason { service: String, device: String } => SecurityException, Error,
        "`{service}`: device `{device}` needs a reason",
        "state in a sentence why the container needs the host device";
    DeviceOnIsolatedPlane { service: String, plane: String } => PlaneIsolation, Error,
        "`{service}` of isolated plane `{plane}` is given host devices",
        "a device reaches the host around the plane's isolation: state why in `security.devices_on_isolated_plane`, or move the service";
    PidsLimit {} => InvalidResource, Error,
        "pids_limit must be at least 1",
        "the default is 256";

    // ------------------------------------------------------------- health

    HealthProbeCount { service: String, count: usize } => InvalidHealthCheck, Error,
        "health check of `{service}` sets {count} probes",
        "set exactly one of `http: /path`, `tcp: true` or `exec: [command, args...]`";
    InvalidDuration { value: String } => InvalidDuration, Error,
        "`{value}` is not a duration",
        "write it as Compose does: `30s`, `1m30s`, `500ms`";
    DurationTooLong { value: String } => InvalidDuration, Error,
        "`{value}` is longer than Compose can hold",
        "Compose stores durations in 64-bit nanoseconds: at most 2562047h (about 292 years)";
    DurationZero { key: &'static str, value: String } => InvalidDuration, Error,
        "{key} `{value}` is zero, which Docker replaces with its default",
        "give the duration you mean, at least `1ms`";
    DurationUnderMs { key: &'static str, value: String } => InvalidDuration, Error,
        "{key} `{value}` is shorter than Docker's minimum of 1ms",
        "use at least `1ms`";
    HealthRetries {} => InvalidHealthCheck, Error,
        "retries must be at least 1",
        "3 is usual";
    HealthExecEmpty {} => InvalidHealthCheck, Error,
        "the exec health check has no command",
        "give the program and its arguments, e.g. [\"redis-cli\", \"ping\"]";
    HealthNoProber { service: String } => InvalidHealthCheck, Error,
        "`{service}` runs a published image, which lucid-gen cannot add a probe program to, so it cannot run an http or tcp probe",
        "use `exec:` with the probe the image has, e.g. `exec: [curl, -f, \"http://127.0.0.1:8080/health\"]` or `exec: [pg_isready]`";
    HealthHandWritten { service: String } => InvalidHealthCheck, Error,
        "`{service}` is built from a hand-written Dockerfile, to which lucid-gen cannot add the probe program an http or tcp probe runs",
        "use `exec:` with a program the image has, or copy the probe program into the image (`COPY --from=<namespace>/lucid-gen-probe:<tag> /probe /usr/local/bin/probe`, see the README's health section) and set `build.probe: true`";
    HealthNoPort { service: String } => InvalidHealthCheck, Error,
        "`{service}` has no port for its health check to probe",
        "add `port:` to the health check, or declare the service's ports";
    HealthPath { path: String } => InvalidHealthCheck, Error,
        "health path `{path}` must start with `/` and hold no spaces or quotes",
        "e.g. `/health`";
    HealthRestartNeedsInit { service: String } => InvalidHealthCheck, Error,
        "`{service}` restarts when unhealthy but runs without `init: true`: its process is PID 1, which ignores the SIGTERM that stops it (the kernel delivers no signal to a namespace's init that has no handler for it)",
        "add `init: true` to the service: Docker's init (tini) is PID 1 and passes the signal on";
    HealthRestartPolicy { service: String, restart: &'static str } => InvalidHealthCheck, Error,
        "`{service}` restarts when unhealthy but its restart policy is `{restart}`: the stopped container would stay stopped (`on-failure` only restarts it when its process exits non-zero, which one that shuts down cleanly on SIGTERM does not)",
        "set `restart: unless-stopped` (the default) or `restart: always`";
    HealthRestartNoShell { service: String, stack: &'static str } => InvalidHealthCheck, Error,
        "`{service}` restarts when unhealthy, which runs its health check through `/bin/sh`, but the `{stack}` stack's runtime is distroless: it has no shell",
        "leave `restart_when_unhealthy` out: the check then only marks the container unhealthy (in swarm mode Swarm replaces an unhealthy task without it)";

    // ------------------------------------------------ whole-model rules

    HostPortClash { port: u16, protocol: &'static str, service: String, address: String, other: String, other_address: String, first_at: Location } => PortClash, Error,
        "host port {port}/{protocol} of `{service}` (on {address}) is already published by `{other}` (on {other_address}, {first_at})",
        "pick a free host port, bind the two to different specific `host_ip`s (no `host_ip`, `0.0.0.0` and `::` take every address), or leave one unpublished (containers reach each other by service name)";
    /// A host port reaches an isolated plane around its isolation.
    IsolatedHostPort { service: String, plane: String, port: u16 } => PlaneIsolation, Error,
        "`{service}` of isolated plane `{plane}` publishes host port {port}, which reaches the plane around its isolation",
        "leave the port unpublished, or state why the host may reach it in `security.host_ports`";
    LaterPhaseDependency { service: String, phase: String, dependency: String, dependency_phase: String } => LaterPhaseDependency, Error,
        "`{service}` (phase {phase}) depends on `{dependency}`, which is deployed later (phase {dependency_phase})",
        "move one of the two services so the dependency is deployed first, or drop the dependency";
    UnreachableDependency { service: String, dependency: String, service_networks: String, dependency_networks: String } => UnreachableDependency, Error,
        "`{service}` depends on `{dependency}` but they share no network (`{service}` is on {service_networks}; `{dependency}` on {dependency_networks})",
        "put both on a common network the plane rules allow, or drop the dependency";
    BaseImageCycle { cycle: String } => DependencyCycle, Error,
        "base images build on each other in a cycle: {cycle}",
        "none of them can be built first; let one build on a published image (`runtime: REFERENCE`) instead of `image:<key>`";
    DependencyCycle { cycle: String } => DependencyCycle, Error,
        "dependency cycle: {cycle}",
        "services in a cycle can never all start; remove one of these dependencies";
    /// A service joins a network of an isolated plane.
    JoinsIsolatedPlane { service: String, plane: String, network: String, other_plane: String } => PlaneIsolation, Error,
        "service `{service}` of plane `{plane}` joins network `{network}` of plane `{other_plane}`",
        "plane `{other_plane}` is isolated: only its own services may join `{network}`; move `{service}` to that plane or off that network";
    /// A service of an isolated plane joins another plane without a bridge.
    LeavesIsolatedPlane { service: String, plane: String, network: String, other_plane: String } => PlaneIsolation, Error,
        "service `{service}` of plane `{plane}` joins network `{network}` of plane `{other_plane}`",
        "plane `{plane}` is isolated; declare `{service}` as a bridge to `{other_plane}` under `planes.{plane}.bridges` with a reason, or remove the network";
    /// A bridged service joins a network of the bridge's plane that the
    /// bridge's `networks` does not list.
    OutsideBridge { service: String, plane: String, network: String, other_plane: String, allowed: String } => PlaneIsolation, Error,
        "service `{service}` of plane `{plane}` joins network `{network}` of plane `{other_plane}`, which its bridge does not list",
        "its bridge to `{other_plane}` (`planes.{plane}.bridges`) allows only {allowed}; add `{network}` to the bridge's `networks`, or remove the network";
    /// A bridge's `networks` names a network of another plane than `to`.
    BridgeNetworkOtherPlane { network: String, network_plane: String, to: String } => PlaneIsolation, Error,
        "bridge network `{network}` belongs to plane `{network_plane}`, not to the bridge's plane `{to}`",
        "list only networks of plane `{to}` under the bridge's `networks`";
    BridgeNoNetworks { service: String, to: String } => PlaneIsolation, Error,
        "the bridge of `{service}` to plane `{to}` lists no networks",
        "list the networks of `{to}` it may join, or drop `networks` to allow all of them";
    /// A service joins a plane its own plane's `may_join` does not list.
    JoinsUnlistedPlane { service: String, plane: String, network: String, other_plane: String } => PlaneIsolation, Error,
        "service `{service}` of plane `{plane}` joins network `{network}` of plane `{other_plane}`",
        "add `{other_plane}` to `planes.{plane}.may_join`, or remove the network";
    ForbiddenTerm { what: String, term: String, plane: String } => ForbiddenTerm, Error,
        "{what} contains `{term}`, which plane `{plane}` forbids",
        "keep `{term}` out of plane `{plane}`: rename it, or move the setting to a service or env file of another plane";
    UnusedSecret { secret: String } => UnusedSecret, Warning,
        "secret `{secret}` is declared but no service uses it",
        "list it under a service's `secrets:`, or remove it";

    // -------------------------------------------------------------- hosts

    /// A host without exactly one pinned key.
    HostKeyPin { host: String, found: &'static str } => Host, Error,
        "host `{host}` {found}",
        "give exactly one: `host_key: SHA256:...` (on the host: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) or `known_hosts: ~/.ssh/known_hosts` holding its key; lucid-gen never accepts an unknown key";
    HostKeyFingerprint { value: String } => Host, Error,
        "host key `{value}` is not a SHA256 fingerprint",
        "write it as `ssh-keygen -lf` prints it: `SHA256:` and 43 base64 characters";
    /// An address or user ssh would read as an option or a shell would split.
    SshDestination { what: &'static str, value: String } => Host, Error,
        "SSH {what} `{value}` is not a plain host name, address or user name",
        "use letters, digits, `.`, `-` (and `_` in a user name; an IPv6 address as it is, without brackets), not starting with `-` or `.`";
    SwarmOnly { what: String } => Swarm, Error,
        "{what} has Swarm settings, but the system deploys with Compose, which would ignore them",
        "set `system.mode: swarm` to deploy as a Swarm stack, or remove the setting";
    SwarmOneShot { service: String } => Swarm, Error,
        "one-shot job `{service}` cannot run in swarm mode: Swarm ignores `depends_on` and has no `service_completed_successfully`, so nothing would wait for it",
        "in swarm mode an initialisation step runs inside its target's own start (an entrypoint that is idempotent and waits for what it needs) or before the deploy; move it there, or say so with `swarm: {{ leave_out: REASON }}` (the stack file's header carries the reason), or deploy with `mode: compose`";
    SwarmSecretAsEnv { service: String, secret: String } => Swarm, Error,
        "service `{service}` receives secret `{secret}` as an environment variable, which in swarm mode stands in the service spec for anyone who can `docker service inspect`",
        "deliver it as a Swarm secret: `{{ name: {secret}, as: file }}` (or `as: file-env` when the program reads `{secret}_FILE`), or translate every such secret in the stack files with `system.swarm.env_secrets: file-env`";
    SwarmHostIp { service: String, port: u16 } => Swarm, Error,
        "port {port} of `{service}` binds one address, but Swarm publishes every port on all addresses of every node and would drop `host_ip`",
        "remove `host_ip` (and keep the port off the node's public interface with a firewall), or leave the port unpublished and reach it over the overlay network (`system.swarm.loopback_ports: unpublished` does so for every loopback port)";
    SwarmPlacement { service: String, labels: String, nodes: usize } => Swarm, Error,
        "no declared Swarm node has every label `{service}` is placed by ({labels}); of {nodes} declared node(s) none fits, so its tasks would stay pending",
        "add the labels to a host's `swarm.labels` (and to the node: `docker node update --label-add`), or change the service's `swarm.placement`";
    SwarmHostModePort { service: String, replicas: u32, port: u16 } => Swarm, Error,
        "`{service}` runs {replicas} replicas with `endpoint_mode: dnsrr`, which publishes host port {port} in host mode: two tasks on one node could not both bind it",
        "use `endpoint_mode: vip` (ports through the ingress routing mesh), leave the port unpublished, or run one replica";
    SwarmOverlayNotEncrypted { network: String, plane: String } => Swarm, Error,
        "network `{network}` of isolated plane `{plane}` is an overlay sent in clear between Swarm nodes",
        "add `encrypted: true` to the network (IPsec between nodes), as every isolated plane's overlay needs";
    SwarmNetworkDriver { network: String, driver: String } => Swarm, Error,
        "network `{network}` uses driver `{driver}`, which a Swarm stack cannot span nodes with",
        "use `bridge` (rendered as an overlay in the stack files) or `overlay`";
    SwarmSecretOwner { service: String, why: String } => Swarm, Error,
        "service `{service}` mounts secret or config files, which Swarm delivers with mode 0400 owned by the service's numeric uid and gid, but {why}",
        "give the service `user: \"UID:GID\"` (numbers, the ones its program runs as), so only that user can read its secrets";
    SwarmNetworkSetting { network: String, what: &'static str } => Swarm, Error,
        "network `{network}` has {what}, which a Swarm stack file cannot carry (`docker stack deploy` refuses it)",
        "remove it in swarm mode (a gateway at the subnet's first address, Docker's own choice, is accepted and left to Swarm): Swarm picks the overlay's gateway itself, and its stack files have no IPv6 overlays; use an IPv4 subnet";
    SwarmLeaveOut { service: String } => Swarm, Error,
        "`{service}` is left out of the stack files (`swarm.leave_out`), but it is no one-shot job or initialisation step: the stack would lack a service the model runs",
        "remove `swarm.leave_out`; only a `run_once` job or an `initializes` step may be left to the operator in swarm mode";
    SwarmNoManager {} => Swarm, Error,
        "no declared Swarm node is a manager: `docker stack deploy` runs on a manager",
        "give one host `swarm.role: manager`";
    HostDirectory { value: String } => Host, Error,
        "host directory `{value}` must be an absolute path of plain characters",
        "use a path like `/opt/shop`: letters, digits and `/._-+@%,=`, no `..`, not `/` itself (it holds the releases and the `current` link)";
    DiskSize { value: String } => Host, Error,
        "`{value}` is not a disk size",
        "write it like `20g`, `512m` or `1024` (bytes; units are powers of 1024)";
    KeepNoRelease {} => Host, Error,
        "keep_releases is 0",
        "keep at least 1 (the default is 5): the release running now is always kept, and `rollback` needs the ones before it";

    // --------------------------------------------------- secret storage

    SecretFileMode { file: String, mode: String } => SecretExposure, Warning,
        "{file} holds secrets but has mode {mode}",
        "chmod 600 {file}";
    SecretDirMode { dir: String, mode: String } => SecretExposure, Warning,
        "{dir} holds secret files containers mount (mode 0444) but has mode {mode}",
        "chmod 700 {dir}";
    SecretFileTracked { file: String } => SecretExposure, Warning,
        "{file} holds secrets but is tracked by git",
        "git rm --cached {file} and rotate every secret it held (`lucid-gen secrets rotate NAME`)";
}
