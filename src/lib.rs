//! lucid-gen: one typed service model in, every env file, compose file and
//! Dockerfile of a multi-service Docker system out. See ARCHITECTURE.md.

pub mod allocator;
pub mod compose_files;
pub mod diagnostic;
pub mod docker;
pub mod escape;
pub mod failure;
pub mod generate;
pub mod github_ci;
pub mod hygiene;
pub mod import;
pub mod model;
pub mod output;
pub mod parallel;
pub mod regular_file;
pub mod render;
pub mod schema;
pub mod secret_template;
pub mod secrets;
pub mod stdout;
pub mod system;
pub mod tags;
pub mod validate;
pub mod workspace;
pub mod write;
