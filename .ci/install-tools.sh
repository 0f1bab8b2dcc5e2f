#!/usr/bin/env bash
# Installs (when missing) the checkers the tooling tests (tests/integration/
# tooling.rs) run: check-jsonschema (the model's JSON Schema), Graphviz
# `dot` (the graph output), xmllint (the JUnit report against
# tests/junit/junit.xsd) and junitparser (a JUnit reader CI tools use).
# Debian, run as root. Idempotent; prints nothing unless something fails.
set -euo pipefail

STEP_LOG=$(mktemp /tmp/install-tools.XXXXXX)
trap 'rm -f "$STEP_LOG"' EXIT

die() {
    echo "install-tools: ERROR: $*" >&2
    exit 1
}

quiet() {
    if ! "$@" >"$STEP_LOG" 2>&1; then
        echo "install-tools: command failed: $*" >&2
        tail -n 40 "$STEP_LOG" >&2
        return 1
    fi
}

have() { command -v "$1" >/dev/null 2>&1; }

export DEBIAN_FRONTEND=noninteractive
missing=()
have dot || missing+=(graphviz)
have xmllint || missing+=(libxml2-utils)
if [ ${#missing[@]} -gt 0 ]; then
    quiet apt-get update -qq || die "apt-get update failed"
    quiet apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
fi

if ! check-jsonschema --version >/dev/null 2>&1; then
    # Debian's system Python refuses plain pip installs (PEP 668).
    quiet python3 -m pip install -q --disable-pip-version-check check-jsonschema \
        || quiet python3 -m pip install -q --disable-pip-version-check \
            --break-system-packages check-jsonschema \
        || die "pip install check-jsonschema failed"
    if ! check-jsonschema --version >/dev/null 2>&1; then
        # A console script outside PATH (pyenv, user installs): link it.
        bin=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/check-jsonschema
        [ -x "$bin" ] || die "check-jsonschema is installed but its script was not found"
        ln -sf "$bin" /usr/local/bin/check-jsonschema
        hash -r
    fi
fi
if ! python3 -c 'import junitparser' >/dev/null 2>&1; then
    quiet python3 -m pip install -q --disable-pip-version-check junitparser \
        || quiet python3 -m pip install -q --disable-pip-version-check \
            --break-system-packages junitparser \
        || die "pip install junitparser failed"
fi
check-jsonschema --version >/dev/null 2>&1 || die "'check-jsonschema --version' does not work"
dot -V >/dev/null 2>&1 || die "'dot -V' does not work"
xmllint --version >/dev/null 2>&1 || die "'xmllint --version' does not work"
