#!/usr/bin/env bash
# `make run`: migrate, seed, then run every Switchboard process installed so far under honcho,
# against this machine's RabbitMQ and PostgreSQL (make runs bootstrap.sh and
# ensure-services.sh first). Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$PWD/.venv/bin:$PATH"
# The environment file: deploy/local.env, or another (the make run test points it at its own
# vhost and database).
ENV_FILE=${SWITCHBOARD_LOCAL_ENV:-deploy/local.env}
set -a
# shellcheck source=../deploy/local.env
. "$ENV_FILE"
set +a

die() { echo "run-local: $*" >&2; exit 1; }

# Demo data: an admin to sign in with, and a few customers' messages published for the inbox
# worker (it deduplicates them, so every `make run` may seed again).
seed_demo_data() {
    switchboard-admin create-agent --help >/dev/null 2>&1 || return 0  # inbox not installed
    SWITCHBOARD_DEMO_PASSWORD=switchboard-demo switchboard-admin create-agent \
        admin@switchboard.local --name "Demo Admin" --role admin \
        --password-env SWITCHBOARD_DEMO_PASSWORD --if-missing ||
        die "could not create the demo agent"
    switchboard-admin seed-demo || die "could not publish the demo messages"
    echo "run-local: sign in at http://127.0.0.1:8000/ as admin@switchboard.local" \
        "(password switchboard-demo)"
}

# installed COMMAND: is the program of this Procfile command installed yet? A gunicorn app
# counts once its module exists; a console script once its function imports; a subcommand
# once `program subcommand --help` succeeds.
installed() {
    local words
    read -r -a words <<<"$1"
    while [[ ${words[0]} == *=* ]]; do words=("${words[@]:1}"); done  # VAR=value prefixes
    if [[ ${words[0]} == gunicorn ]]; then
        python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)' \
            "${words[-1]%%:*}" >/dev/null 2>&1
        return
    fi
    command -v "${words[0]}" >/dev/null || return 1
    # A console script counts once the code it runs imports (a package may land in steps).
    python - "${words[0]}" >/dev/null 2>&1 <<'PYTHON' || return 1
import sys
from importlib.metadata import entry_points

found = entry_points(group="console_scripts", name=sys.argv[1])
for entry in found:
    entry.load()
PYTHON
    if [[ ${#words[@]} -gt 1 && ${words[1]} != -* ]]; then
        "${words[0]}" "${words[1]}" --help >/dev/null 2>&1
    fi
}

# The demo mailbox: a user of the local test Dovecot (make services started it) that
# email-ingest-imap polls. Mail appended to it (any IMAP client, or curl --upload-file) shows up
# in the inbox.
demo_mailbox() {
    local port users=var/dovecot/users
    port=$(scripts/dovecot.sh port)
    grep -q '^support:' "$users" 2>/dev/null || echo 'support:{PLAIN}support' >>"$users"
    cat >var/mailboxes.json <<JSON
[{"name": "demo-support", "address": "support@switchboard.localhost", "host": "127.0.0.1",
  "port": $port, "security": "none", "user": "support", "password_env": "DEMO_IMAP_PASSWORD"}]
JSON
    export SWITCHBOARD_EMAIL_INGEST_MAILBOXES_FILE=var/mailboxes.json DEMO_IMAP_PASSWORD=support
    demo_imap="imap://support:support@127.0.0.1:$port"
}

mkdir -p "$SWITCHBOARD_BLOB_DIR"
demo_mailbox
# Metric files of a previous run would be added to this run's figures.
rm -rf var/prometheus
mkdir -p var/prometheus/{inbox-api,email-ingest,social-ingest}

# `switchboard-admin migrate` arrives with the inbox issue; until then there is nothing to migrate.
if switchboard-admin migrate --help >/dev/null 2>&1; then
    switchboard-admin migrate || die "switchboard-admin migrate failed"
fi
seed_demo_data

procfile=var/Procfile.local
started=() missing=()
: >"$procfile"
while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z0-9_-]+):[[:space:]]*(.+)$ ]] || continue
    if installed "${BASH_REMATCH[2]}"; then
        echo "$line" >>"$procfile"
        started+=("${BASH_REMATCH[1]}")
    else
        missing+=("${BASH_REMATCH[1]}")
    fi
done <Procfile.local

declare -A urls=(
    [inbox-api]="web inbox and agent API  http://127.0.0.1:8000"
    [email-ingest]="email ingress           http://127.0.0.1:8001"
    [social-ingest]="webhooks                http://127.0.0.1:8002"
    [inbox-worker]="inbox worker health     http://127.0.0.1:$SWITCHBOARD_INBOX_HEALTH_PORT/healthz"
    [email-ingest-imap]="IMAP poller health      http://127.0.0.1:$SWITCHBOARD_EMAIL_INGEST_HEALTH_PORT/healthz"
    [notifier]="notifier health         http://127.0.0.1:$SWITCHBOARD_NOTIFIER_HEALTH_PORT/healthz"
    [mail]="mail catcher (SMTP)     127.0.0.1:$SWITCHBOARD_NOTIFIER_SMTP_PORT, mail printed below"
)
echo "Switchboard on this machine (Ctrl-C stops everything):"
for name in "${started[@]}"; do
    echo "  ${urls[$name]:-$name}"
done
[[ ${#missing[@]} -eq 0 ]] || echo "  not installed yet: ${missing[*]}"
echo "  demo mailbox            $demo_imap (polled by email-ingest-imap)"
echo "  RabbitMQ vhost switchboard on 127.0.0.1:5672, PostgreSQL database switchboard"
# -e: honcho would otherwise read a .env meant for docker compose.
exec honcho start -f "$procfile" -d . -e "$ENV_FILE"
