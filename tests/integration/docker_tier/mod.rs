//! The Docker tier's whole families: each test here starts containers,
//! builds images or runs a linter, so it needs a Docker engine, Compose v2
//! and the tools `.ci/install-*.sh` installs. Compiled only with
//! `--features docker`; `common::need` makes each fail, never skip, when
//! what it needs is missing.

pub mod bases;
pub mod compose;
pub mod e2e;
pub mod import_seeds;
pub mod pi;
pub mod realrun;
pub mod realserver;
pub mod restart_unhealthy;
pub mod stack;
pub mod standin_node;
pub mod swarm;
pub mod swarm_quick;
pub mod verify;
