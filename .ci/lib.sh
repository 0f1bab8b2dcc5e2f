# Shared helpers of the .ci/install-*.sh scripts; source it after setting
# CI_SCRIPT to the script's name (used in messages):
#   CI_SCRIPT=install-tools; . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Defines die, quiet, have, apt_install, pip_install, pip_installed.

STEP_LOG=$(mktemp "/tmp/$CI_SCRIPT.XXXXXX")
trap 'rm -f "$STEP_LOG"' EXIT
export DEBIAN_FRONTEND=noninteractive

die() {
    echo "$CI_SCRIPT: ERROR: $*" >&2
    exit 1
}

# Runs a command with its output captured; shows the output only on failure.
quiet() {
    if ! "$@" >"$STEP_LOG" 2>&1; then
        echo "$CI_SCRIPT: command failed: $*" >&2
        tail -n 40 "$STEP_LOG" >&2
        return 1
    fi
}

have() { command -v "$1" >/dev/null 2>&1; }

APT_UPDATED=
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        quiet apt-get update -qq || die "apt-get update failed"
        APT_UPDATED=1
    fi
    quiet apt-get install -y -qq --no-install-recommends "$@" || die "apt-get install $* failed"
}

pip_install() {
    # Debian's system Python refuses plain pip installs (PEP 668).
    if ! python3 -m pip install -q --disable-pip-version-check "$@" >"$STEP_LOG" 2>&1; then
        if grep -q externally-managed "$STEP_LOG"; then
            quiet python3 -m pip install -q --disable-pip-version-check \
                --break-system-packages "$@" || die "pip install $* failed"
        else
            tail -n 40 "$STEP_LOG" >&2
            die "pip install $* failed"
        fi
    fi
}

pip_installed() { python3 -m pip show -q "$1" >/dev/null 2>&1; }
