#!/usr/bin/env bash
# Removes the bridges a killed Docker engine left on this host, with their
# veths; prints one line per bridge removed. Run as root once dockerd is up
# (.ci/install-docker.sh does). With --list, removes nothing and prints
# each such bridge and its IPv4 address (`NAME ADDRESS`, `-` for none): a
# failed Docker test's report lists them so (tests/integration/common.rs),
# by this one definition.
#
# An engine killed while containers ran (a machine's session cut off, a run
# stopped mid-test) leaves their network namespaces behind, and with them
# its bridges, each still routing its subnet; the next engine owns none of
# them. One on a subnet a test uses (Lucid's 172.20-22.0.0/16) makes every
# connection between that test's containers time out while each is healthy
# on its own. A Docker-style bridge (`br-` and 12 hex digits) that belongs
# to no network of the engine running now is such a leftover: no engine
# can reach it any more.
set -euo pipefail

list=false
[[ "${1:-}" == --list ]] && list=true
command -v ip >/dev/null 2>&1 || exit 0
docker info >/dev/null 2>&1 || {
    echo "remove-stray-bridges: no Docker engine answers; nothing removed" >&2
    exit 1
}
ip -o link show type bridge | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | while read -r dev; do
    id=${dev#br-}
    [[ "$dev" == br-* && "$id" =~ ^[0-9a-f]{12}$ ]] || continue
    # Asked per bridge, just before removing it: a network created since
    # this script began is the engine's, and is found.
    if docker network inspect "$id" >/dev/null 2>&1; then
        continue
    fi
    address=$(ip -o -4 addr show dev "$dev" | awk '{ print $4 }' | head -n 1)
    if $list; then
        echo "$dev ${address:--}"
        continue
    fi
    ip -o link show master "$dev" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | while read -r port; do
        ip link del "$port" 2>/dev/null || true
    done
    ip link del "$dev"
    echo "remove-stray-bridges: removed $dev (${address:-no address}), a bridge of no network of this engine"
done
