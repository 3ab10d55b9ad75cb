#!/usr/bin/env bash
# Make sure the local RabbitMQ, PostgreSQL and Dovecot are installed and running, with the
# `switchboard` vhost and database that `make run` uses (tests make their own throwaway ones).
# Idempotent and quiet when all is well; about a second then, most of it rabbitmqctl starting
# its Erlang VM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VHOST=switchboard
DATABASE=switchboard
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PG_CLUSTER=${PG_CLUSTER:-main}

die() { echo "ensure-services: $*" >&2; exit 1; }

# wait_until SECONDS WHAT COMMAND...: retry COMMAND until it succeeds or SECONDS have passed.
wait_until() {
    local seconds=$1 what=$2
    local deadline=$((SECONDS + seconds))
    shift 2
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$what not ready after ${seconds}s (check: $*)"
        sleep 1
    done
}

ensure_rabbitmq() {
    rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && return 0
    if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        # The Erlang node is up but the app is stopped (e.g. a broker-restart test was cut short).
        rabbitmqctl -q start_app >/dev/null
    else
        rabbitmq-server -detached >/dev/null 2>&1 || die "rabbitmq-server -detached failed"
    fi
    # -detached returns before the node boots, so a node that dies at boot shows up only here.
    wait_until 120 "RabbitMQ (logs: /var/log/rabbitmq)" rabbitmq-diagnostics -q check_running
}

ensure_vhost() {
    local vhosts
    vhosts=$(rabbitmqctl -q list_vhosts name)
    grep -qxF "$VHOST" <<<"$vhosts" && return 0
    rabbitmqctl -q add_vhost "$VHOST" >/dev/null
    rabbitmqctl -q set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
}

ensure_postgres() {
    pg_isready -q && return 0
    local version
    version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
    [[ -n $version ]] || die "no PostgreSQL cluster under /etc/postgresql"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_CLUSTER" start >/dev/null 2>&1 ||
        pg_isready -q || die "pg_ctlcluster $version $PG_CLUSTER start failed"
    wait_until 60 PostgreSQL pg_isready -q
}

# Machines of this kind trust loopback connections, which the tests rely on (no password).
# A PostgreSQL that apt-packages.sh just installed asks for one: trust loopback there too.
ensure_postgres_trust() {
    psql -w -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1 && return 0
    local hba
    hba=$(runuser -u postgres -- psql -h /var/run/postgresql -p "$PGPORT" -Atqc 'SHOW hba_file')
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    runuser -u postgres -- psql -h /var/run/postgresql -p "$PGPORT" -Atqc 'SELECT pg_reload_conf()' \
        >/dev/null
    wait_until 10 "PostgreSQL loopback trust" psql -w -d postgres -Atqc 'SELECT 1'
}

ensure_database() {
    local exists
    exists=$(psql -w -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")
    [[ $exists == 1 ]] || createdb -w "$DATABASE"
}

# Dovecot (scripts/dovecot.sh port), for the IMAP tests and benchmark and `email-ingest imap` under
# `make run`: dovecot.sh installs dovecot-imapd if missing, and starts it unless it answers.
ensure_dovecot() {
    scripts/dovecot.sh
}

scripts/apt-packages.sh
ensure_rabbitmq
ensure_vhost
ensure_postgres
ensure_postgres_trust
ensure_database
ensure_dovecot
