//! The integration tests, one binary (as ripgrep and cargo do): one setup
//! (`common`: temp projects, the `Test` builder, the binary's path), one
//! directory walker and one Docker guard (`common::need`, `common::docker_stack`)
//! shared by every module. Run one family with `cargo test --test integration
//! <module>::`.

mod common;

mod bad_input;
mod bases;
mod build_deploy;
mod cli;
mod compose;
mod consensusnet;
mod crash;
mod diagnostics;
mod docs;
mod dry_run;
mod e2e;
mod external;
mod gate;
mod generated;
mod groups;
mod health_probes;
mod import;
mod import_bad;
mod import_compare;
mod import_seeds;
mod invariants;
mod kinds;
mod mongodb;
mod node;
mod noderr;
mod pi;
mod pipes;
mod properties;
mod realrun;
mod realserver;
mod rules;
mod saveload;
mod standins;
mod tooling;
mod tour;
mod validation;
mod verify;
mod workflow;
