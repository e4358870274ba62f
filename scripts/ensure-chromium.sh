#!/usr/bin/env bash
# Make sure Debian's Chromium is installed and print its path on stdout.
# Browsers are never downloaded through Playwright: its CDN is not reachable.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
log() { echo "ensure-chromium: $*" >&2; }

if [ ! -x "$CHROMIUM" ]; then
    [ "$(id -u)" = 0 ] || { log "ERROR: $CHROMIUM missing; install Debian's 'chromium' package"; exit 1; }
    log "installing Debian's chromium package (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 ||
        { log "ERROR: apt-get install chromium failed"; exit 1; }
    [ -x "$CHROMIUM" ] || { log "ERROR: chromium installed, but $CHROMIUM is missing"; exit 1; }
fi
echo "$CHROMIUM"
