//! A service's `required_env` entries as written: what the variable is,
//! or `{ what, from }` when Compose reads it from another name. Serde
//! types only, like `raw.rs`; `validate::required_env` checks them.

use serde::Deserialize;

/// One `required_env` entry: what the variable is, and where Compose reads
/// it from (the same name unless `from` names another).
#[derive(Debug, Clone)]
pub struct RequiredEnvDef {
    pub what: String,
    pub from: Option<String>,
}

/// The long form of a `required_env` entry.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RequiredEnvMap {
    /// What the variable is (Compose's message while it is unset).
    what: String,
    /// The variable the operator sets where Compose runs; the container
    /// receives its value under the entry's own name.
    #[serde(default)]
    from: Option<String>,
}

/// The schema of a `required_env` entry: what it is, or the long form.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum RequiredEnvSchema {
    /// What the variable is; the operator sets it under the same name.
    What(String),
    Full(RequiredEnvMap),
}

impl schemars::JsonSchema for RequiredEnvDef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RequiredEnvDef".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RequiredEnvSchema::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for RequiredEnvDef {
    /// `what it is`, or `{ what: ..., from: OTHER_NAME }`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RequiredEnvDef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("what the variable is, or a map with `what` and `from`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RequiredEnvDef, E> {
                Ok(RequiredEnvDef {
                    what: v.to_string(),
                    from: None,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<RequiredEnvDef, A::Error> {
                let m =
                    RequiredEnvMap::deserialize(serde::de::value::MapAccessDeserializer::new(a))?;
                Ok(RequiredEnvDef {
                    what: m.what,
                    from: m.from,
                })
            }
        }
        d.deserialize_any(V)
    }
}
