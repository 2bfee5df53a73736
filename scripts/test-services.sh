#!/usr/bin/env bash
# The services `make test` gives the suite: PostgreSQL and a throwaway MediaWiki. Starts what it can
# and prints `export` lines for the caller to eval; progress goes to stderr.
#
#   eval "$(scripts/test-services.sh)"
#
# - PostgreSQL at REVIEWBOT_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test):
#   a local cluster that is installed but not running is started (pg_ctlcluster, as root).
# - MediaWiki: scripts/mediawiki-test-server.sh, when its packages are installed or we are root
#   (it installs them then); a MEDIAWIKI_API_URL already set is used as it is.
#
# A service that cannot be had is left out, never an error here: its tests skip, and the test run
# ends with a line naming them (tests/conftest.py), or fails if REVIEWBOT_REQUIRE_* say so (CI).
set -uo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test-services] %s\n' "$*" >&2; }
emit() { printf "export %s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }  # POSIX-sh quoting: make runs sh

# -- PostgreSQL ----------------------------------------------------------------------------------
url=${REVIEWBOT_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
emit REVIEWBOT_TEST_POSTGRES_URL "$url"
case $url in
    *@127.0.0.1:5432/* | *@localhost:5432/* | *@127.0.0.1/* | *@localhost/*)
        if ! command -v pg_isready >/dev/null; then
            log "PostgreSQL: not installed (no pg_isready); its tests will skip"
        elif pg_isready -q -h 127.0.0.1 -p 5432; then
            log "PostgreSQL: running at 127.0.0.1:5432"
        elif command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ "$(id -u)" -eq 0 ]; then
            version=$(ls /etc/postgresql | sort -V | tail -n 1)
            log "PostgreSQL: starting cluster $version/main"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
            for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
            pg_isready -q -h 127.0.0.1 -p 5432 || log "PostgreSQL: did not start; its tests will skip"
        else
            log "PostgreSQL: not running at 127.0.0.1:5432 (start it as root); its tests will skip"
        fi
        ;;
    *) log "PostgreSQL: using $(printf '%s' "$url" | sed -E 's#//([^:@/]*):[^@/]*@#//\1:***@#')" ;;
esac

# -- MediaWiki -----------------------------------------------------------------------------------
wiki=scripts/mediawiki-test-server.sh
if [ -n "${MEDIAWIKI_API_URL:-}" ]; then
    log "MediaWiki: using $MEDIAWIKI_API_URL"
elif [ "$(id -u)" -eq 0 ] || "$wiki" installed; then
    if exports=$("$wiki" start); then
        printf '%s\n' "$exports"
    else
        log "MediaWiki: $wiki failed (see above); its tests will skip"
    fi
else
    log "MediaWiki: not installed, and installing needs root; its tests will skip"
fi
exit 0
