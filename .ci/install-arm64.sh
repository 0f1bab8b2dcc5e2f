#!/usr/bin/env bash
# Makes `lucid-gen up --stand-ins` run the stand-ins as linux/arm64, the
# platform the Lucid model targets: qemu user emulation registered with
# binfmt_misc, and a Rust toolchain that can build a static arm64 program
# offline (Debian's rustc with its arm64 standard library; rustup cannot
# download targets here). Debian, run as root. Idempotent.
#
# If any step fails the stand-ins fall back to the host's platform and
# lucid-gen says so loudly; this script then only warns.
set -uo pipefail

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/install-arm64.XXXXXX)
trap 'rm -f "$log"' EXIT

warn() { echo "install-arm64: WARNING: $*; stand-ins will run on the host's platform" >&2; }

try() {
    if ! "$@" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        return 1
    fi
}

need=()
for pkg in qemu-user-static binfmt-support rustc gcc-aarch64-linux-gnu libc6-dev-arm64-cross libstd-rust-dev:arm64; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || try dpkg --add-architecture arm64
    try apt-get update -qq || { warn "apt-get update failed"; exit 0; }
    # rustc and libstd-rust-dev:arm64 must be the same Debian version.
    try apt-get install -y -qq --no-install-recommends "${need[@]}" || { warn "could not install ${need[*]}"; exit 0; }
fi

if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
try update-binfmts --enable qemu-aarch64 || true
if ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    warn "qemu-aarch64 is not registered with binfmt_misc"
    exit 0
fi
echo "install-arm64: arm64 emulation and /usr/bin/rustc $(/usr/bin/rustc --version | cut -d' ' -f2) with the aarch64 standard library are ready"
