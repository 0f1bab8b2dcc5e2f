//! The closed list of rules: one stable kebab-case name per rule, the names
//! users see, grep for and find in the README.
//!
//! Adding a rule is one line in the `rules!` list below: its variant and its
//! name. `Rule::ALL` and `Rule::name` are generated from that list.

use std::fmt;

/// Declares [`Rule`], [`Rule::ALL`] and [`Rule::name`] from one list of
/// `Variant => "kebab-name"` entries, in the order of the README's rule list.
macro_rules! rules {
    ($( $variant:ident => $name:literal, )*) => {
        /// Every rule lucid-gen checks. The kebab-case name is what users see and
        /// grep for; it never changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $( $variant, )*
        }

        impl Rule {
            /// Every rule, in the order of the README's rule list.
            pub const ALL: &'static [Rule] = &[$( Rule::$variant, )*];

            /// The stable kebab-case name.
            pub fn name(self) -> &'static str {
                match self {
                    $( Rule::$variant => $name, )*
                }
            }
        }
    };
}

rules! {
    // Reading the files.
    Io => "io",
    NotUtf8 => "not-utf8",
    EmptyFile => "empty-file",
    YamlSyntax => "yaml-syntax",
    DuplicateKey => "duplicate-key",
    UnknownKey => "unknown-key",
    MissingKey => "missing-key",
    WrongType => "wrong-type",
    // The model as a whole.
    MissingSystem => "missing-system",
    DuplicateDefinition => "duplicate-definition",
    // References between parts of the model.
    UnknownPhase => "unknown-phase",
    UnknownPlane => "unknown-plane",
    UnknownNetwork => "unknown-network",
    UnknownEnvFile => "unknown-env-file",
    UnknownSecret => "unknown-secret",
    UnknownImage => "unknown-image",
    UnknownDependency => "unknown-dependency",
    DependencyCycle => "dependency-cycle",
    UnreachableDependency => "unreachable-dependency",
    LaterPhaseDependency => "later-phase-dependency",
    // Ports and networks.
    PortRange => "port-range",
    PortClash => "port-clash",
    InvalidHostIp => "invalid-host-ip",
    SubnetInvalid => "subnet-invalid",
    SubnetOverlap => "subnet-overlap",
    PlaneIsolation => "plane-isolation",
    BridgeNotIsolated => "bridge-not-isolated",
    ForbiddenTerm => "forbidden-term",
    // Secrets and environment.
    SecretNotDelivered => "secret-not-delivered",
    ConfigFile => "config-file",
    OneShot => "one-shot",
    SecretSize => "secret-size",
    EnvName => "env-name",
    EnvValue => "env-value",
    EnvConflict => "env-conflict",
    UnusedSecret => "unused-secret",
    LabelValue => "label-value",
    // Everything else about a single value.
    InvalidName => "invalid-name",
    InvalidDuration => "invalid-duration",
    InvalidResource => "invalid-resource",
    InvalidImage => "invalid-image",
    InvalidBuild => "invalid-build",
    InvalidHealthCheck => "invalid-health-check",
    InvalidPath => "invalid-path",
    NoServices => "no-services",
    EmptyPhase => "empty-phase",
    EmptyGroup => "empty-group",
    OutputCollision => "output-collision",
    SecurityException => "security-exception",
    MissingHealthCheck => "missing-health-check",
    MissingLimits => "missing-limits",
    // Variants of one model.
    Variant => "variant",
    // Machines the system is deployed to.
    Host => "host",
    // Deploying as a Docker Swarm stack.
    Swarm => "swarm",
    // Where the generated secrets are kept.
    SecretExposure => "secret-exposure",
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
