//! The integration tests, one binary (as ripgrep and cargo do): one setup
//! (`common`: temp projects, the `Test` builder, the binary's path), one
//! directory walker and one Docker guard (`common::need`, `common::docker_stack`)
//! shared by every module. Run one family with `cargo test --test integration
//! <module>::`.
//!
//! Two tiers: `cargo test` runs the fast tier (no Docker engine, no linter:
//! everything the binary does on its own); `cargo test --features docker`
//! adds the Docker tier, every test whose path holds `docker_tier::` (select
//! it alone with `cargo test --features docker docker_tier::`). `bash
//! .ci/run` runs both; under `CI=true` the fast tier alone fails (see
//! `tests/tiers.rs`), so CI never passes without the Docker tests.

mod common;

// The Docker tier: families that need a Docker engine or the tools
// `.ci/install-*.sh` installs, all of whose tests do. Families that are
// mostly fast keep their Docker tests in an inner `docker_tier` module, so
// the filter `docker_tier::` selects the whole tier.
#[cfg(feature = "docker")]
mod docker_tier;

mod bad_input;
mod build_deploy;
mod build_files;
mod cli;
mod consensusnet;
mod crash;
mod diagnostics;
mod docs;
mod dry_run;
mod external;
mod gate;
mod generated;
mod groups;
mod health_probes;
mod import;
mod import_bad;
mod import_compare;
mod invariants;
mod kinds;
mod mongodb;
mod node;
mod noderr;
mod pipes;
mod properties;
mod rules;
mod saveload;
mod seeds;
mod standins;
mod tooling;
mod tour;
mod up_to_date;
mod validation;
mod workflow;
