#!/usr/bin/env bash
# Make sure Debian's bubblewrap is installed (the build workflow's test sandbox) and
# print its path on stdout.
set -euo pipefail

BWRAP=/usr/bin/bwrap
log() { echo "ensure-bubblewrap: $*" >&2; }

if [ ! -x "$BWRAP" ]; then
    [ "$(id -u)" = 0 ] || { log "ERROR: $BWRAP missing; install Debian's 'bubblewrap' package"; exit 1; }
    log "installing Debian's bubblewrap package (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; } >&2 ||
        { log "ERROR: apt-get install bubblewrap failed"; exit 1; }
    [ -x "$BWRAP" ] || { log "ERROR: bubblewrap installed, but $BWRAP is missing"; exit 1; }
fi
echo "$BWRAP"
