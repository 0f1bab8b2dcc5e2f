//! The tier notice: `cargo test` alone runs the fast tier (no Docker
//! engine, no linters); this target says so, and how to run the Docker
//! tier. Under `CI=true` a run without the Docker tier fails here, so CI
//! never passes with the Docker tests left out (they fail, never skip).

use std::process::ExitCode;

fn main() -> ExitCode {
    if cfg!(feature = "docker") {
        println!("tiers: fast tier and Docker tier (`--features docker`) both ran");
        return ExitCode::SUCCESS;
    }
    let how = "run the Docker tier with `cargo test --features docker` \
               (it needs Docker Engine, Compose v2 and the linters: as root, \
               `bash .ci/install-docker.sh && bash .ci/install-tools.sh && \
               bash .ci/install-arm64.sh`), or the whole CI job with `bash .ci/run`";
    if std::env::var("CI").as_deref() == Ok("true") {
        eprintln!("tiers: CI=true but the Docker tier was not built: {how}");
        return ExitCode::FAILURE;
    }
    println!("tiers: only the fast tier ran (no Docker engine or linter needed); {how}");
    ExitCode::SUCCESS
}
