#!/usr/bin/env bash
# Make sure the `ip` and `tc` commands (Debian's iproute2) are installed, for the scale-out
# test's network namespaces. Installs them only as root; otherwise says why and succeeds:
# that test then skips itself with the reason.
set -euo pipefail

log() { echo "ensure-iproute2: $*" >&2; }

if command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    log "ip/tc missing and not root: the scale-out test will be skipped"
    exit 0
fi
log "installing Debian's iproute2 package (apt-get)"
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2; } >&2 ||
    { log "ERROR: apt-get install iproute2 failed"; exit 1; }
command -v ip >/dev/null 2>&1 || { log "ERROR: iproute2 installed, but no ip command"; exit 1; }
