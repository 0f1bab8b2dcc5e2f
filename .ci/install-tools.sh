#!/usr/bin/env bash
# Installs (when missing) the checkers the tooling tests (tests/integration/
# tooling.rs) run: check-jsonschema (the model's JSON Schema), Graphviz
# `dot` (the graph output), xmllint (the JUnit report against
# tests/junit/junit.xsd), junitparser (a JUnit reader CI tools use), and
# zsh and fish (the completion scripts, driven in the real shells), openssl
# (the operator's TLS certificate the ConsensusNet tests make).
# Debian, run as root. Idempotent; prints nothing unless something fails.
set -euo pipefail

CI_SCRIPT=install-tools
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
have dot || missing+=(graphviz)
have xmllint || missing+=(libxml2-utils)
have zsh || missing+=(zsh)
have fish || missing+=(fish)
# A self-signed certificate for ConsensusNet's TLS (tests/integration/common.rs).
have openssl || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if ! check-jsonschema --version >/dev/null 2>&1; then
    pip_install check-jsonschema
    if ! check-jsonschema --version >/dev/null 2>&1; then
        # A console script outside PATH (pyenv, user installs): link it.
        bin=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/check-jsonschema
        [ -x "$bin" ] || die "check-jsonschema is installed but its script was not found"
        ln -sf "$bin" /usr/local/bin/check-jsonschema
        hash -r
    fi
fi
if ! python3 -c 'import junitparser' >/dev/null 2>&1; then
    pip_install junitparser
fi
check-jsonschema --version >/dev/null 2>&1 || die "'check-jsonschema --version' does not work"
dot -V >/dev/null 2>&1 || die "'dot -V' does not work"
xmllint --version >/dev/null 2>&1 || die "'xmllint --version' does not work"
