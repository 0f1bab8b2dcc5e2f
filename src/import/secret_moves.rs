//! Which values of an imported project are secrets, and what they become.
//!
//! A variable is a secret when its name says so (`*PASSWORD*`, `*PASSWD*`,
//! `*SECRET*`, `*TOKEN*`, `*_KEY`; not `*_FILE`/`*_PATH`/`*_DIR`, which
//! name a file, nor `*_ID`, which names a thing) and its value is not the
//! path of a mounted secret file. Every such variable becomes a model
//! secret of its own name, delivered as a variable to exactly the services
//! that had it, its value generated — unless it cannot be: a value the
//! compose file took from `${VAR}` stays the operator's (`from_env: VAR`);
//! names written with one value (two names, one password) all read one
//! operator variable; a value holding another secret's (a database URL with
//! the password in it) and that secret are operator-supplied, so they
//! agree. Compose's own `secrets:` become generated secrets mounted where
//! they were. Pure: the old values are compared here and never leave this
//! module.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::compose::{literal, Project};
use super::draft::SecretSource;

/// Literals shorter than this are not looked for inside other values
/// (a one-letter password would be "found" everywhere).
const MIN_CONTAINED: usize = 4;

/// Random bytes of every generated secret.
pub const GENERATED_BYTES: u32 = 32;

/// What becomes of the project's secrets.
#[derive(Debug, Default)]
pub struct Moves {
    /// Model secrets in the order first met: name → where its value comes
    /// from and why.
    pub secrets: IndexMap<String, MovedSecret>,
    /// (service, variable) → the secret delivered instead, as a variable.
    pub variables: BTreeMap<(String, String), String>,
    /// Compose secret key → model secret name (mounted as a file).
    pub files: BTreeMap<String, String>,
    /// Plain variables whose value equals a moved secret's old value (a
    /// database named like its password): kept, and said in the report.
    pub same_text: Vec<(String, String, String)>,
}

#[derive(Debug)]
pub struct MovedSecret {
    pub source: SecretSource,
    /// What it was: variable names or `secrets.<key>`.
    pub was: Vec<String>,
    pub services: BTreeSet<String>,
    /// Why it is operator-supplied, when it is.
    pub why_supplied: Option<String>,
    /// Services that had different values under this one name.
    pub differed: bool,
}

/// Whether a variable's name says it holds a secret.
pub fn secret_named(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    if ["_FILE", "_PATH", "_DIR", "_ID"]
        .iter()
        .any(|s| upper.ends_with(s))
    {
        return false;
    }
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN"]
        .iter()
        .any(|w| upper.contains(w))
        || upper.ends_with("_KEY")
}

/// A model secret name for a Compose secret key: an environment variable
/// name (what validation requires), upper case.
pub fn secret_name(key: &str) -> String {
    let mut name: String = (key.chars())
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert_str(0, "S_");
    }
    name
}

/// Where a service mounts each of its Compose secrets.
fn mounted_paths(project: &Project, service: &str) -> Vec<String> {
    (project.services[service].secrets.iter())
        .map(|u| secret_target(&u.source, u.target.as_deref()))
        .collect()
}

/// A Compose secret's path in the container: `target`, relative ones
/// under `/run/secrets/`, default `/run/secrets/<source>`.
pub fn secret_target(source: &str, target: Option<&str>) -> String {
    match target.map(literal) {
        Some(t) if t.starts_with('/') => t,
        Some(t) => format!("/run/secrets/{t}"),
        None => format!("/run/secrets/{}", literal(source)),
    }
}

/// Where a value came from, as Compose read it before interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `${X}`, `$X`, `${X:-default}`, ...: the operator's environment or
    /// the project's `.env`.
    Variable(String),
    /// Written in the compose file (or an env file) as text.
    Text,
}

/// The variable a raw (uninterpolated) value is exactly, if it is one.
pub fn origin(raw: Option<&str>) -> Origin {
    let Some(raw) = raw else { return Origin::Text };
    let name = match raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        Some(inner) => inner.split([':', '-', '?', '+']).next().unwrap_or(""),
        None => raw.strip_prefix('$').unwrap_or(""),
    };
    match crate::escape::is_variable_name(name) && !raw.contains("$$") {
        true => Origin::Variable(name.to_string()),
        false => Origin::Text,
    }
}

/// A service variable's value before interpolation: Compose prints the
/// environment without interpolation as written (a map, or `K=V` items).
pub fn raw_value<'a>(raw: &'a serde_json::Value, service: &str, var: &str) -> Option<&'a str> {
    match &raw["services"][service]["environment"] {
        serde_json::Value::Object(m) => m.get(var)?.as_str(),
        serde_json::Value::Array(items) => (items.iter())
            .filter_map(|i| i.as_str())
            .find_map(|i| i.strip_prefix(var)?.strip_prefix('=')),
        _ => None,
    }
}

/// One variable of one service with its old value and where it came from.
type Found = (String, String, String, Origin);

/// Decides every move. `raw` is the project as Compose printed it
/// without interpolation.
pub fn plan(project: &Project, raw: &serde_json::Value) -> Moves {
    let mut moves = Moves::default();
    let raw_of = |service: &str, var: &str| origin(raw_value(raw, service, var));
    let mut named: Vec<Found> = Vec::new();
    for (service, s) in &project.services {
        let mounted = mounted_paths(project, service);
        for (var, value) in &s.environment {
            let value = value.as_deref().map(literal).unwrap_or_default();
            let is_path = value.starts_with("/run/secrets/") || mounted.contains(&value);
            if secret_named(var) && !is_path {
                let from = raw_of(service, var);
                named.push((service.clone(), var.clone(), value, from));
            }
        }
    }
    let derived = derived_variables(project, &named);
    let all: Vec<&Found> = named.iter().chain(&derived).collect();
    let supplied = supplied_sources(&all, &derived);
    for (service, var, value, _) in &all {
        let first_value = (all.iter())
            .find(|(_, v, _, _)| v == var)
            .map(|(_, _, x, _)| x.as_str());
        let entry = moves
            .secrets
            .entry(var.clone())
            .or_insert_with(|| MovedSecret {
                source: SecretSource::Generated(GENERATED_BYTES),
                was: vec![var.clone()],
                services: BTreeSet::new(),
                why_supplied: None,
                differed: false,
            });
        entry.services.insert(service.clone());
        entry.differed |= first_value != Some(value.as_str());
        if let Some((source, why)) = supplied.get(var) {
            entry.source = source.clone();
            entry.why_supplied = Some(why.clone());
        }
        (moves.variables).insert((service.clone(), var.clone()), var.clone());
    }
    same_text(project, &all, &mut moves);
    compose_secrets(project, &mut moves);
    moves
}

/// Plain variables whose value contains a secret-named variable's old
/// value (`mysql://root:PASSWORD@db/x`): secrets too.
fn derived_variables(project: &Project, named: &[Found]) -> Vec<Found> {
    let mut out = Vec::new();
    for (service, s) in &project.services {
        for (var, value) in &s.environment {
            let value = value.as_deref().map(literal).unwrap_or_default();
            let is_named = named.iter().any(|(sv, v, _, _)| sv == service && v == var);
            let holds = named.iter().any(|(_, _, l, _)| {
                l.len() >= MIN_CONTAINED && value != *l && value.contains(l.as_str())
            });
            if !is_named && holds {
                out.push((service.clone(), var.clone(), value, Origin::Text));
            }
        }
    }
    out
}

/// Variables that cannot be generated, each with its operator source and
/// why: one the compose file took from the environment stays with it;
/// names written with one value read one variable (the first name); a
/// value holding another's, and that other, their own.
fn supplied_sources(all: &[&Found], derived: &[Found]) -> BTreeMap<String, (SecretSource, String)> {
    let mut out = BTreeMap::new();
    // Old text → the names written with it, in order.
    let mut by_value: IndexMap<&str, Vec<&str>> = IndexMap::new();
    for (_, var, value, from) in all.iter().copied() {
        if let Origin::Variable(x) = from {
            let why = format!("the compose file took it from ${{{x}}} (the environment or .env), so the operator supplies it");
            out.insert(var.clone(), (SecretSource::FromEnv(x.clone()), why));
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let names = by_value.entry(value.as_str()).or_default();
        if !names.contains(&var.as_str()) {
            names.push(var);
        }
    }
    for names in by_value.values().filter(|n| n.len() > 1) {
        let why = format!(
            "{} were written with one value; the model delivers a secret under its own name only, so all read the operator's {}",
            names.join(", "),
            names[0]
        );
        for n in names {
            out.insert(
                n.to_string(),
                (SecretSource::FromEnv(names[0].to_string()), why.clone()),
            );
        }
    }
    for (_, var, value, _) in derived {
        let inner: Vec<&str> = (all.iter())
            .filter(|(_, v, l, _)| {
                v != var && l.len() >= MIN_CONTAINED && value.contains(l.as_str())
            })
            .map(|(_, v, _, _)| v.as_str())
            .collect();
        let why = format!(
            "{var} holds the value of {}; supply them so that they agree",
            inner.join(", ")
        );
        for name in std::iter::once(var.as_str()).chain(inner.iter().copied()) {
            out.entry(name.to_string())
                .or_insert_with(|| (SecretSource::FromEnv(name.to_string()), why.clone()));
        }
    }
    out
}

/// Plain variables left with the very text of a moved secret.
fn same_text(project: &Project, all: &[&Found], moves: &mut Moves) {
    for (service, s) in &project.services {
        for (var, value) in &s.environment {
            let value = value.as_deref().map(literal).unwrap_or_default();
            if moves
                .variables
                .contains_key(&(service.clone(), var.clone()))
                || value.is_empty()
            {
                continue;
            }
            if let Some((_, secret, _, _)) = all.iter().find(|(_, _, l, _)| *l == value) {
                (moves.same_text).push((service.clone(), var.clone(), secret.clone()));
            }
        }
    }
}

/// Compose's `secrets:`: generated secrets, mounted where they were.
fn compose_secrets(project: &Project, moves: &mut Moves) {
    for key in project.secrets.keys() {
        let mut name = secret_name(key);
        let mut n = 2;
        while moves.secrets.contains_key(&name) {
            name = format!("{}_{n}", secret_name(key));
            n += 1;
        }
        let services: BTreeSet<String> = (project.services.iter())
            .filter(|(_, s)| s.secrets.iter().any(|u| &u.source == key))
            .map(|(name, _)| name.clone())
            .collect();
        moves.secrets.insert(
            name.clone(),
            MovedSecret {
                source: SecretSource::Generated(GENERATED_BYTES),
                was: vec![format!("secrets.{key}")],
                services,
                why_supplied: None,
                differed: false,
            },
        );
        moves.files.insert(key.clone(), name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::compose::parse;

    fn project(services: &str) -> Project {
        parse(&format!(r#"{{"name":"p","services":{services}}}"#)).unwrap()
    }

    fn plan_literal(p: &Project) -> Moves {
        plan(p, &serde_json::Value::Null)
    }

    #[test]
    fn names_that_hold_secrets() {
        for yes in [
            "POSTGRES_PASSWORD",
            "db_passwd",
            "JWT_SECRET",
            "GH_TOKEN",
            "API_KEY",
        ] {
            assert!(secret_named(yes), "{yes}");
        }
        for no in [
            "PASSWORD_FILE",
            "KEY_PATH",
            "KEYS",
            "MONKEY",
            "NFT_TOKEN_ID",
            "USER",
            "SECRETS_DIR",
        ] {
            assert!(!secret_named(no), "{no}");
        }
    }

    #[test]
    fn one_name_in_two_services_is_one_generated_secret() {
        let p = project(
            r#"{"a":{"environment":{"DB_PASSWORD":"pw1234","DB":"pw1234"}},
                "b":{"environment":{"DB_PASSWORD":"pw1234"}}}"#,
        );
        let m = plan_literal(&p);
        let s = &m.secrets["DB_PASSWORD"];
        assert_eq!(s.source, SecretSource::Generated(GENERATED_BYTES));
        assert_eq!(s.services.len(), 2);
        assert_eq!(
            m.same_text,
            [("a".into(), "DB".into(), "DB_PASSWORD".into())]
        );
    }

    #[test]
    fn shared_and_contained_values_are_supplied_by_the_operator() {
        let p = project(
            r#"{"app":{"environment":{"PG_PASSWORD":"s3cret","URL":"pg://u:s3cret@db/x"}},
                "db":{"environment":{"POSTGRES_PASSWORD":"s3cret"}}}"#,
        );
        let m = plan_literal(&p);
        let from = |n: &str| m.secrets[n].source.clone();
        assert_eq!(
            from("PG_PASSWORD"),
            SecretSource::FromEnv("PG_PASSWORD".into())
        );
        assert_eq!(
            from("POSTGRES_PASSWORD"),
            SecretSource::FromEnv("PG_PASSWORD".into())
        );
        assert_eq!(from("URL"), SecretSource::FromEnv("URL".into()));
    }

    #[test]
    fn paths_of_mounted_secrets_stay_plain() {
        let p = project(
            r#"{"a":{"environment":{"DB_PASSWORD":"/run/secrets/db"},
                 "secrets":[{"source":"db"}]}}"#,
        );
        assert!(plan_literal(&p).variables.is_empty());
    }

    #[test]
    fn values_taken_from_the_environment_stay_with_the_operator() {
        let p = project(r#"{"a":{"environment":{"A_PASSWORD":"same","B_PASSWORD":"same"}}}"#);
        let raw = serde_json::json!({"services":{"a":{"environment":
            {"A_PASSWORD":"${A_PW}","B_PASSWORD":"${B_PW:-x}"}}}});
        let m = plan(&p, &raw);
        let from = |n: &str| m.secrets[n].source.clone();
        assert_eq!(from("A_PASSWORD"), SecretSource::FromEnv("A_PW".into()));
        assert_eq!(from("B_PASSWORD"), SecretSource::FromEnv("B_PW".into()));
        assert_eq!(origin(Some("$X")), Origin::Variable("X".into()));
        assert_eq!(origin(Some("a${X}")), Origin::Text);
        assert_eq!(origin(Some("$$X")), Origin::Text);
    }

    #[test]
    fn compose_secret_keys_become_variable_names() {
        assert_eq!(secret_name("db-password"), "DB_PASSWORD");
        assert_eq!(secret_name("1key"), "S_1KEY");
    }
}
