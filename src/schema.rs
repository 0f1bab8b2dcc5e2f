//! The model's JSON Schema, for editors and other tools: derived (schemars)
//! from the same serde types the loader reads, so it cannot drift from them.
//!
//! One schema describes one model *file*: a [`Fragment`](crate::model::raw::Fragment),
//! where every top-level section is optional (files are merged). Unknown keys
//! are refused (`additionalProperties: false`), as the loader refuses them;
//! doc comments on the types become each key's `description`. What the
//! schema cannot say (references between sections, port clashes, ...) is
//! left to `check`.

use crate::model::raw::Fragment;

/// The schema of one model file, pretty-printed JSON ending in a newline.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(Fragment);
    schema.insert("title".into(), "lucid-gen model file".into());
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is always JSON");
    text.push('\n');
    text
}
