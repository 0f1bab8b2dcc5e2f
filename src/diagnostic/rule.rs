//! The closed list of rules: one stable kebab-case name per rule, the names
//! users see, grep for and find in the README.

use std::fmt;

/// Every rule lucid-gen checks. The kebab-case name is what users see and
/// grep for; it never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    // Reading the files.
    Io,
    NotUtf8,
    EmptyFile,
    YamlSyntax,
    DuplicateKey,
    UnknownKey,
    MissingKey,
    WrongType,
    // The model as a whole.
    MissingSystem,
    DuplicateDefinition,
    // References between parts of the model.
    UnknownPhase,
    UnknownPlane,
    UnknownNetwork,
    UnknownEnvFile,
    UnknownSecret,
    UnknownImage,
    UnknownDependency,
    DependencyCycle,
    UnreachableDependency,
    LaterPhaseDependency,
    // Ports and networks.
    PortRange,
    PortClash,
    InvalidHostIp,
    SubnetInvalid,
    SubnetOverlap,
    PlaneIsolation,
    BridgeNotIsolated,
    ForbiddenTerm,
    // Secrets and environment.
    SecretNotDelivered,
    SecretSize,
    EnvName,
    EnvValue,
    EnvConflict,
    UnusedSecret,
    // Everything else about a single value.
    InvalidName,
    InvalidDuration,
    InvalidResource,
    InvalidImage,
    InvalidBuild,
    InvalidHealthCheck,
    InvalidPath,
    NoServices,
    SecurityException,
    MissingHealthCheck,
    MissingLimits,
    // Where the generated secrets are kept.
    SecretExposure,
}

impl Rule {
    /// Every rule, in the order of the README's rule list.
    pub const ALL: [Rule; 46] = [
        Rule::Io,
        Rule::NotUtf8,
        Rule::EmptyFile,
        Rule::YamlSyntax,
        Rule::DuplicateKey,
        Rule::UnknownKey,
        Rule::MissingKey,
        Rule::WrongType,
        Rule::MissingSystem,
        Rule::DuplicateDefinition,
        Rule::UnknownPhase,
        Rule::UnknownPlane,
        Rule::UnknownNetwork,
        Rule::UnknownEnvFile,
        Rule::UnknownSecret,
        Rule::UnknownImage,
        Rule::UnknownDependency,
        Rule::DependencyCycle,
        Rule::UnreachableDependency,
        Rule::LaterPhaseDependency,
        Rule::PortRange,
        Rule::PortClash,
        Rule::InvalidHostIp,
        Rule::SubnetInvalid,
        Rule::SubnetOverlap,
        Rule::PlaneIsolation,
        Rule::BridgeNotIsolated,
        Rule::ForbiddenTerm,
        Rule::SecretNotDelivered,
        Rule::SecretSize,
        Rule::EnvName,
        Rule::EnvValue,
        Rule::EnvConflict,
        Rule::UnusedSecret,
        Rule::InvalidName,
        Rule::InvalidDuration,
        Rule::InvalidResource,
        Rule::InvalidImage,
        Rule::InvalidBuild,
        Rule::InvalidHealthCheck,
        Rule::InvalidPath,
        Rule::NoServices,
        Rule::SecurityException,
        Rule::MissingHealthCheck,
        Rule::MissingLimits,
        Rule::SecretExposure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::Io => "io",
            Rule::NotUtf8 => "not-utf8",
            Rule::EmptyFile => "empty-file",
            Rule::YamlSyntax => "yaml-syntax",
            Rule::DuplicateKey => "duplicate-key",
            Rule::UnknownKey => "unknown-key",
            Rule::MissingKey => "missing-key",
            Rule::WrongType => "wrong-type",
            Rule::MissingSystem => "missing-system",
            Rule::DuplicateDefinition => "duplicate-definition",
            Rule::UnknownPhase => "unknown-phase",
            Rule::UnknownPlane => "unknown-plane",
            Rule::UnknownNetwork => "unknown-network",
            Rule::UnknownEnvFile => "unknown-env-file",
            Rule::UnknownSecret => "unknown-secret",
            Rule::UnknownImage => "unknown-image",
            Rule::UnknownDependency => "unknown-dependency",
            Rule::DependencyCycle => "dependency-cycle",
            Rule::UnreachableDependency => "unreachable-dependency",
            Rule::LaterPhaseDependency => "later-phase-dependency",
            Rule::PortRange => "port-range",
            Rule::PortClash => "port-clash",
            Rule::InvalidHostIp => "invalid-host-ip",
            Rule::SubnetInvalid => "subnet-invalid",
            Rule::SubnetOverlap => "subnet-overlap",
            Rule::PlaneIsolation => "plane-isolation",
            Rule::BridgeNotIsolated => "bridge-not-isolated",
            Rule::ForbiddenTerm => "forbidden-term",
            Rule::SecretNotDelivered => "secret-not-delivered",
            Rule::SecretSize => "secret-size",
            Rule::EnvName => "env-name",
            Rule::EnvValue => "env-value",
            Rule::EnvConflict => "env-conflict",
            Rule::UnusedSecret => "unused-secret",
            Rule::InvalidName => "invalid-name",
            Rule::InvalidDuration => "invalid-duration",
            Rule::InvalidResource => "invalid-resource",
            Rule::InvalidImage => "invalid-image",
            Rule::InvalidBuild => "invalid-build",
            Rule::InvalidHealthCheck => "invalid-health-check",
            Rule::InvalidPath => "invalid-path",
            Rule::NoServices => "no-services",
            Rule::SecurityException => "security-exception",
            Rule::MissingHealthCheck => "missing-health-check",
            Rule::MissingLimits => "missing-limits",
            Rule::SecretExposure => "secret-exposure",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
