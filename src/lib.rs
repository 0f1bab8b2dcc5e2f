//! lucid-gen: one typed service model in, every env file, compose file and
//! Dockerfile of a multi-service Docker system out. See ARCHITECTURE.md.

pub mod ci;
pub mod diagnostic;
pub mod docker;
pub mod escape;
pub mod import;
pub mod model;
pub mod output;
pub mod plan;
pub mod render;
pub mod schema;
pub mod secrets;
pub mod system;
pub mod validate;
pub mod write;
