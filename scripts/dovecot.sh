#!/usr/bin/env bash
# A Dovecot IMAP server for the email-ingest tests and benchmark, self-contained under var/dovecot/:
# its own config, base and state dirs, log, users (passwd-file) and maildirs, listening on
# 127.0.0.1 with plaintext logins, so it never clashes with a system Dovecot. The port is
# $SWITCHBOARD_DOVECOT_PORT, else one in 10143-11142 derived from the checkout's path, so two
# checkouts on one machine (a developer's and CI's fresh clone) each talk to their own server;
# `scripts/dovecot.sh port` prints it. Installs dovecot-imapd if missing, starts it unless it already answers, and
# waits until it does. Idempotent and quiet on success.
#
# Users: one `name:{PLAIN}password` line each in var/dovecot/users; Dovecot re-reads the file
# when it changes, so a test adds its own fresh user by appending a line.
set -euo pipefail
shopt -s extglob
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT=${SWITCHBOARD_DOVECOT_PORT:-$((10143 + $(printf %s "$PWD" | cksum | cut -d' ' -f1) % 1000))}
VAR=$PWD/var/dovecot
if [[ ${1:-} == port ]]; then
    echo "$PORT"
    exit 0
fi
CONF=$VAR/dovecot.conf

die() { echo "dovecot: $*" >&2; exit 1; }

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi

install_dovecot() {
    command -v dovecot >/dev/null && [[ -x /usr/lib/dovecot/imap ]] && return 0
    [[ ${#sudo[@]} -eq 0 ]] || command -v sudo >/dev/null || die "need root to install dovecot-imapd"
    local log
    log=$(mktemp)
    # policy-rc.d (or the absence of an init system) keeps the packaged system service from
    # starting; ours runs from its own config either way.
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends dovecot-imapd; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "could not install dovecot-imapd"
    fi
    rm -f "$log"
}

# answers: the server on $PORT sends an IMAP greeting within two seconds.
answers() {
    local greeting
    { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null || return 1
    IFS= read -r -t 2 greeting <&3 2>/dev/null || greeting=
    exec 3<&- 3>&-
    [[ $greeting == "* OK"* ]]
}

write_config() {
    # Mail must not be accessed as root (Dovecot refuses UID 0): as root, mail belongs to the
    # Debian `mail` user and the packaged service users run the rest; as anyone else, Dovecot
    # runs rootless as that user.
    local internal login mail_user
    if [[ $(id -u) -eq 0 ]]; then
        internal=dovecot login=dovenull mail_user=mail
    else
        internal=$(id -un) login=$(id -un) mail_user=$(id -un)
    fi
    mkdir -p "$VAR/mail"
    [[ $(id -u) -ne 0 ]] || chown "$mail_user:$mail_user" "$VAR/mail"
    touch "$VAR/users"
    chmod 644 "$VAR/users"
    local wanted
    wanted=$(
        cat <<EOF
# Written by scripts/dovecot.sh: the test IMAP server, nothing shared with /etc/dovecot.
instance_name = switchboard-test
base_dir = $VAR/run
state_dir = $VAR/state
log_path = $VAR/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Dovecot re-reads the passwd-file at most once a second: a test that adds a user retries its
# first login until it works, and a refused login must not cost the usual two seconds.
auth_failure_delay = 0
default_internal_user = $internal
default_login_user = $login
first_valid_uid = 1
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  # The delimiter most servers show (Gmail, Exchange): folder names like "Archive/2024".
  separator = /
}
# A test server: the tests and benchmark measure our code, not Dovecot's fsyncs.
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $VAR/users
}
userdb {
  driver = static
  args = uid=$mail_user gid=$mail_user home=$VAR/mail/%u
}
protocol imap {
  # Several replicas (and the tests' own client) log in as the same user at once.
  mail_max_userip_connections = 200
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
    )
    if [[ ! -f $CONF || $(<"$CONF") != "$wanted" ]]; then
        printf '%s\n' "$wanted" >"$CONF"
        return 1 # changed
    fi
}

# A Dovecot master left behind by an earlier checkout at this path (its directory deleted
# and cloned anew, as CI does) still holds the port, serving users this checkout cannot add.
stop_stray_master() {
    pgrep -F "$VAR/run/master.pid" >/dev/null 2>&1 && return 0 # ours
    local pids pid
    pids=$(ss -ltnpH "sport = :$PORT" | { grep -o 'pid=[0-9]*' || true; } | cut -d= -f2 | sort -u)
    [[ -n $pids ]] || return 0
    for pid in $pids; do
        # The master, or login processes orphaned by a master that was killed.
        [[ $(ps -o comm= -p "$pid") == @(dovecot|imap-login) ]] ||
            die "port $PORT is taken by $(ps -o comm= -p "$pid"); set SWITCHBOARD_DOVECOT_PORT"
        kill "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 100; i++)); do
        [[ -z $(ss -ltnH "sport = :$PORT") ]] && return 0
        sleep 0.1
    done
    die "a stray Dovecot still holds port $PORT"
}

install_dovecot
stop_stray_master
changed=0
write_config || changed=1
if answers; then
    # Already running: pick up a changed config without dropping anyone's state.
    if [[ $changed -eq 1 ]]; then
        dovecot -c "$CONF" reload || die "reload failed (see $VAR/dovecot.log)"
    fi
    exit 0
fi
# Our master is alive but not answering here: it listens where an older config said. Reload.
if pgrep -F "$VAR/run/master.pid" >/dev/null 2>&1; then
    dovecot -c "$CONF" reload || die "reload failed (see $VAR/dovecot.log)"
# Not $(dovecot ...): the daemon keeps the captured stdout open, so that would never return.
elif ! dovecot -c "$CONF" >"$VAR/start.log" 2>&1; then
    # A master from an earlier run may still hold the pid file while not answering yet.
    pgrep -F "$VAR/run/master.pid" >/dev/null 2>&1 ||
        die "could not start: $(<"$VAR/start.log") (config $CONF, log $VAR/dovecot.log)"
fi
for ((i = 0; i < 100; i++)); do
    answers && exit 0
    sleep 0.1
done
die "not answering on 127.0.0.1:$PORT after 10s (see $VAR/dovecot.log)"
