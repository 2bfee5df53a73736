#!/usr/bin/env bash
# Throwaway MediaWiki 1.39 (Debian's package) on SQLite, for the tests that check against a real wiki
# that user-typed text never becomes wiki markup, and publishing (tests/core/test_wikitext_hostile.py,
# tests/core/test_publishing.py). `make test` starts it through scripts/test-services.sh.
#
#   scripts/mediawiki-test-server.sh [start]   install if needed, start, print `export` lines
#   scripts/mediawiki-test-server.sh env       print the `export` lines of an installed wiki
#   scripts/mediawiki-test-server.sh status    exit 0 if the wiki answers
#   scripts/mediawiki-test-server.sh installed exit 0 if the packages are installed (start needs no root)
#   scripts/mediawiki-test-server.sh stop      stop the server started by this script
#   scripts/mediawiki-test-server.sh reset     stop and delete the wiki's data directory
#
# Typical use:   eval "$(scripts/mediawiki-test-server.sh)"
#
# The system package is left as it is: the code in /usr/share/mediawiki is used read-only, and the
# wiki's own LocalSettings.php, SQLite database, cache and credentials live in MEDIAWIKI_DIR, which
# the PHP processes find through the MW_CONFIG_FILE environment variable. Progress goes to stderr;
# stdout carries only the `export` lines.
set -euo pipefail

DIR=${MEDIAWIKI_DIR:-/tmp/reviewbot-mediawiki}
PORT=${MEDIAWIKI_PORT:-8089}
HOST=127.0.0.1
MW=/usr/share/mediawiki
SERVER="http://$HOST:$PORT"
API_URL="$SERVER/api.php"
CONF="$DIR/LocalSettings.php"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"
CREDS="$DIR/credentials.env"
PACKAGES=(mediawiki php8.2-cli php8.2-cgi php8.2-sqlite3)
EXTENSIONS=(Cite ParserFunctions Poem ImageMap InputBox CategoryTree TemplateData)
BOT_NAME=Reviewbot
BOT_APP=reviewbot
BOT_GRANTS=basic,editpage,createeditmovepage,highvolume

log() { printf '[mediawiki-test-server] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"
    fi
}

packages_missing() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || return 0
    done
    [ -f "$MW/maintenance/install.php" ] || return 0
    return 1
}

install_packages() {
    packages_missing || return 0
    log "installing ${PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y --no-install-recommends "${PACKAGES[@]}" >&2; then
        log "apt-get install failed; running apt-get update and retrying"
        as_root apt-get update >&2
        as_root apt-get install -y --no-install-recommends "${PACKAGES[@]}" >&2
    fi
}

random_secret() { php -r 'echo bin2hex(random_bytes(16));'; }  # 32 hex digits

# Passwords are made once per data directory and kept in it, so every run prints the same ones.
load_credentials() {
    if [ ! -f "$CREDS" ]; then
        (
            umask 077
            {
                echo "ADMIN_PASSWORD=$(random_secret)"
                echo "BOT_USER_PASSWORD=$(random_secret)"
                echo "BOT_PASSWORD=$(random_secret)"
            } >"$CREDS"
        )
    fi
    # shellcheck disable=SC1090
    . "$CREDS"
}

maint() {  # run a maintenance script against this wiki's settings
    local script=$1
    shift
    MW_CONFIG_FILE="$CONF" php "$MW/maintenance/$script.php" --conf "$CONF" "$@"
}

write_overrides() {
    # Rewritten on every start, so a changed port or setting takes effect; LocalSettings.php
    # (written once by install.php) includes it at its end.
    cat >"$DIR/ReviewbotTestSettings.php" <<PHP
<?php
// Written by scripts/mediawiki-test-server.sh; it is rewritten on every start.
\$wgServer = '$SERVER';
\$wgCanonicalServer = '$SERVER';
\$wgScriptPath = '';
\$wgResourceBasePath = '';
\$wgSitename = 'Reviewbot Test Wiki';
\$wgLanguageCode = 'en';
\$wgEnableAPI = true;
\$wgEnableWriteAPI = true;
\$wgEnableBotPasswords = true;
\$wgEnableUploads = false;
\$wgUploadDirectory = '$DIR/images';
\$wgCacheDirectory = '$DIR/cache';
\$wgMainCacheType = CACHE_NONE;
\$wgJobRunRate = 0;
\$wgShowExceptionDetails = true;
// Anyone logged in may edit; bots (the Reviewbot account) are never rate limited.
\$wgGroupPermissions['user']['edit'] = true;
\$wgGroupPermissions['user']['createpage'] = true;
\$wgGroupPermissions['bot']['noratelimit'] = true;
\$wgGroupPermissions['bot']['bot'] = true;
// The extensions Debian ships that give wikitext more to misread (tags, parser functions).
\$wgExtensionDirectory = '$MW/extensions-core';
wfLoadExtensions( [ $(printf "'%s', " "${EXTENSIONS[@]}")] );
\$wgPFEnableStringFunctions = true;
// As much markup as a wiki can be configured to understand, so the tests see every trap: ISBN/RFC/PMID
// magic links (off by default since 1.28), inline images from bare URLs, raw <html>, and the
// -{ }- language-converter syntax (active once English has a variant). Harmless on a local
// throwaway wiki; never copy these to a real one.
\$wgEnableMagicLinks = [ 'ISBN' => true, 'PMID' => true, 'RFC' => true ];
\$wgAllowExternalImages = true;
\$wgRawHtml = true;
\$wgUsePigLatinVariant = true;
PHP
    if ! grep -q "ReviewbotTestSettings.php" "$CONF"; then
        printf "\nrequire_once __DIR__ . '/ReviewbotTestSettings.php';\n" >>"$CONF"
    fi
}

install_wiki() {
    if [ -f "$CONF" ] && [ -f "$DIR/.installed" ]; then
        write_overrides
        return 0
    fi
    log "creating the wiki in $DIR"
    rm -rf "$DIR/data" "$DIR/cache" "$DIR/images" "$CONF" "$DIR/ReviewbotTestSettings.php"
    mkdir -p "$DIR/data" "$DIR/cache" "$DIR/images"
    load_credentials
    # install.php writes LocalSettings.php to --confpath and never reads the system one.
    # The extensions loaded by write_overrides need no tables of their own, so no update.php.
    if ! {
        php "$MW/maintenance/install.php" \
            --confpath "$DIR" --dbtype sqlite --dbpath "$DIR/data" --dbname reviewbot_wiki \
            --server "$SERVER" --scriptpath "" --lang en --pass "$ADMIN_PASSWORD" \
            "Reviewbot Test Wiki" Admin &&
            write_overrides &&
            maint createAndPromote --bot "$BOT_NAME" "$BOT_USER_PASSWORD" &&
            maint createBotPassword --appid "$BOT_APP" --grants "$BOT_GRANTS" "$BOT_NAME" "$BOT_PASSWORD"
    } >"$DIR/install.log" 2>&1; then
        cat "$DIR/install.log" >&2
        die "installation failed (log: $DIR/install.log)"
    fi
    touch "$DIR/.installed"
}

answers() {  # the API answers a siteinfo query (PHP rather than curl: it is there once installed)
    command -v php >/dev/null || return 1
    # shellcheck disable=SC2016  # PHP code, not shell
    php -r '$c = stream_context_create(["http" => ["timeout" => 5]]);
        $r = @file_get_contents($argv[1], false, $c);
        exit($r !== false && strpos($r, "\"sitename\"") !== false ? 0 : 1);' \
        "$API_URL?action=query&meta=siteinfo&format=json"
}

server_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

start_server() {
    if server_pid >/dev/null && answers; then
        log "already running at $SERVER (pid $(server_pid))"
        return 0
    fi
    stop_server
    if answers; then
        die "something else answers at $SERVER; set MEDIAWIKI_PORT to another port"
    fi
    log "starting php -S $HOST:$PORT"
    # setsid: the server outlives the shell that started it; the dev router ships with MediaWiki.
    MW_CONFIG_FILE="$CONF" setsid php -S "$HOST:$PORT" -t "$MW" "$MW/maintenance/dev/includes/router.php" \
        >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    local i
    for i in $(seq 1 150); do
        if answers; then
            log "ready at $SERVER after $((i / 5)) s"
            return 0
        fi
        server_pid >/dev/null || { cat "$LOG" >&2; die "php -S exited"; }
        sleep 0.2
    done
    cat "$LOG" >&2
    die "no answer from $API_URL after 30 s"
}

stop_server() {
    local pid
    if pid=$(server_pid); then
        log "stopping pid $pid"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$PIDFILE"
}

print_env() {
    [ -f "$CREDS" ] || die "no wiki in $DIR; run: $0 start"
    load_credentials
    cat <<ENV
export MEDIAWIKI_API_URL=$API_URL
export MEDIAWIKI_BOT_USER=$BOT_NAME@$BOT_APP
export MEDIAWIKI_BOT_PASSWORD=$BOT_PASSWORD
export MEDIAWIKI_ADMIN_USER=Admin
export MEDIAWIKI_ADMIN_PASSWORD=$ADMIN_PASSWORD
ENV
}

case "${1:-start}" in
    start)
        install_packages
        mkdir -p "$DIR"
        install_wiki
        start_server
        print_env
        ;;
    env) print_env ;;
    status) answers ;;
    installed) ! packages_missing ;;
    stop) stop_server ;;
    reset)
        stop_server
        rm -rf "$DIR"
        ;;
    *) die "usage: $0 [start|env|status|stop|reset]" ;;
esac
