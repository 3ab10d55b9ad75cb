#!/usr/bin/env bash
# Install the Debian packages the tests run against, if any is missing. `apt-get update` runs
# only then, once, so a machine that has them all pays one dpkg-query per package. Quiet on success.
set -euo pipefail

# Later issues add theirs here; chromium runs the browser tests (tests/browser).
PACKAGES=(rabbitmq-server postgresql dovecot-imapd chromium)

die() { echo "apt-packages: $*" >&2; exit 1; }

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root to install: ${missing[*]}"
    sudo=(sudo)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -q &&
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    die "could not install: ${missing[*]}"
fi
