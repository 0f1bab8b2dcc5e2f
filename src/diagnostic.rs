//! Diagnostics: every problem lucid-gen reports about a model.
//!
//! A [`Diagnostic`] is `{ location, rule, severity, message, help }`. It is
//! rendered as `path:line:col: error[rule-name]: message` followed by a
//! `help:` line, the shape compilers and linters use, so editors can jump to
//! it. Rules are a closed enum: one name per rule, stable across releases,
//! listed in the README.

use std::fmt;
use std::path::PathBuf;

/// Where a problem is: a file, and a 1-based line and column in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

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
    EmptyPhase,
    OutputCollision,
    SecurityException,
    MissingHealthCheck,
    MissingLimits,
}

impl Rule {
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
            Rule::EmptyPhase => "empty-phase",
            Rule::OutputCollision => "output-collision",
            Rule::SecurityException => "security-exception",
            Rule::MissingHealthCheck => "missing-health-check",
            Rule::MissingLimits => "missing-limits",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem found in a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Option<Location>,
    pub severity: Severity,
    pub rule: Rule,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(rule: Rule, message: impl Into<String>) -> Self {
        Diagnostic {
            location: None,
            severity: Severity::Error,
            rule,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(rule: Rule, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(rule, message)
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}[{}]: {}", self.rule, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics by file, line and column so output is stable, errors of
/// one place before its warnings.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (&a.location, a.severity, a.rule, &a.message).cmp(&(
            &b.location,
            b.severity,
            b.rule,
            &b.message,
        ))
    });
}
