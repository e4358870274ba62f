#!/usr/bin/env bash
# Print ONE line on stdout: a libpq URL of a PostgreSQL server whose user may
# CREATE DATABASE. Diagnostics go to stderr. Order of preference:
#   1. $AGENTDECK_TEST_POSTGRES_URL, if it answers;
#   2. a server on 127.0.0.1:5432 as user postgres without a password;
#   3. a throwaway cluster under .agentdeck/test-postgres/ on 127.0.0.1:54329
#      (installing Debian's postgresql first if its server binaries are missing).
# AGENTDECK_PG_FORCE_LOCAL=1 skips step 2. `--stop` stops the throwaway cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGROOT="${AGENTDECK_PG_DIR:-$ROOT/.agentdeck/test-postgres}"
LOCAL_PORT=54329
DEFAULT_URL="postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_URL="postgresql://postgres@127.0.0.1:${LOCAL_PORT}/postgres"

log() { echo "ensure-postgres: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Does the server at URL accept a connection (and let its user create databases)?
answers() {
    local url="$1" out
    if command -v psql >/dev/null 2>&1; then
        out="$(PGCONNECT_TIMEOUT=3 psql "$url" -XAtq -c \
            "select rolsuper or rolcreatedb from pg_roles where rolname = current_user" \
            2>/dev/null)" || return 1
        [ "$out" = t ] || { log "$url answers, but its user may not CREATE DATABASE"; return 1; }
        return 0
    fi
    if [ -x "$ROOT/.venv/bin/python" ] && "$ROOT/.venv/bin/python" -c 'import psycopg' 2>/dev/null; then
        "$ROOT/.venv/bin/python" - "$url" <<'PY' 2>/dev/null
import sys, psycopg
with psycopg.connect(sys.argv[1], connect_timeout=3) as c:
    ok = c.execute("select rolsuper or rolcreatedb from pg_roles where rolname = current_user").fetchone()
sys.exit(0 if ok and ok[0] else 1)
PY
        return
    fi
    # No client at all: a TCP connect is the best we can do.
    python3 - "$url" <<'PY' 2>/dev/null
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=3).close()
PY
}

find_bindir() {
    local initdb
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$initdb" ] && dirname "$initdb"
}

# PostgreSQL refuses to run as root: run its tools as the postgres OS user then.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ "${1:-}" = "--stop" ]; then
    BINDIR="$(find_bindir)" || exit 0
    if [ -f "$PGROOT/data/PG_VERSION" ]; then
        as_pg "$BINDIR/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1 &&
            as_pg "$BINDIR/pg_ctl" -D "$PGROOT/data" -m fast -w stop >&2
    fi
    exit 0
fi

# 1. An explicitly configured server.
if [ -n "${AGENTDECK_TEST_POSTGRES_URL:-}" ]; then
    if answers "$AGENTDECK_TEST_POSTGRES_URL"; then
        echo "$AGENTDECK_TEST_POSTGRES_URL"
        exit 0
    fi
    log "AGENTDECK_TEST_POSTGRES_URL is set but does not answer; looking elsewhere"
fi

# 2. The machine's own server on the standard port.
if [ "${AGENTDECK_PG_FORCE_LOCAL:-0}" != 1 ] && answers "$DEFAULT_URL"; then
    echo "$DEFAULT_URL"
    exit 0
fi

# 3. A throwaway cluster of our own.
mkdir -p "$(dirname "$PGROOT")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$(dirname "$PGROOT")/.test-postgres.lock"
    flock 9
fi

if ! BINDIR="$(find_bindir)"; then
    [ "$(id -u)" = 0 ] || die "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) and not root to install them: install Debian's 'postgresql' package or set AGENTDECK_TEST_POSTGRES_URL"
    log "installing Debian's postgresql package (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 ||
        die "apt-get install postgresql failed"
    # Debian's package may have created and started a cluster on 5432.
    if [ "${AGENTDECK_PG_FORCE_LOCAL:-0}" != 1 ] && answers "$DEFAULT_URL"; then
        echo "$DEFAULT_URL"
        exit 0
    fi
    BINDIR="$(find_bindir)" || die "postgresql installed, but no initdb under /usr/lib/postgresql/*/bin"
fi

DATA="$PGROOT/data"
if [ "$(id -u)" = 0 ]; then
    getent passwd postgres >/dev/null ||
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres ||
        die "could not create the postgres OS user"
    mkdir -p "$PGROOT"
    chown postgres: "$PGROOT"
    chmod 700 "$PGROOT"
    runuser -u postgres -- test -w "$PGROOT" ||
        die "user postgres cannot write $PGROOT (a parent directory is not searchable?); set AGENTDECK_PG_DIR to a directory it can reach, e.g. /tmp/agentdeck-test-postgres"
else
    mkdir -p "$PGROOT"
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb a throwaway cluster in $DATA"
    rm -rf "$DATA"
    as_pg "$BINDIR/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >&2 ||
        as_pg "$BINDIR/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >&2 ||
        die "initdb failed"
    # Test-only settings: TCP on loopback only, no Unix socket, no durability.
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<CONF

# agentdeck throwaway test cluster
listen_addresses = '127.0.0.1'
port = $LOCAL_PORT
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi

if as_pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "reusing the running throwaway cluster on port $LOCAL_PORT"
else
    log "starting the throwaway cluster on 127.0.0.1:$LOCAL_PORT (log: $PGROOT/postgres.log)"
    # 9>&-: the server must not inherit (and so hold forever) the lock file.
    as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$PGROOT/postgres.log" -w -t 60 start >&2 9>&- || {
        tail -n 30 "$PGROOT/postgres.log" >&2 2>/dev/null || true
        die "pg_ctl start failed"
    }
fi

answers "$LOCAL_URL" || die "the throwaway cluster runs but does not answer at $LOCAL_URL"
echo "$LOCAL_URL"
