#!/usr/bin/env bash
# The venv the Modal stand-in runs in (.build/venv-modal), made the way
# Tests/Fixtures/ModalStandIn/run-tests.sh makes it (same path, same stamp), so both share it.
# Exit 0 with the venv ready; otherwise one line on stderr saying why (no python3-venv, no PyPI).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$ROOT"
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
VENV=.build/venv-modal
REQ=Tests/Fixtures/ModalStandIn/requirements.txt
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "python3 with venv/ensurepip is missing (Debian: apt-get install python3-venv)" >&2
    exit 1
fi
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$VENV"
    mkdir -p .build
    "$PYTHON" -m venv "$VENV" >&2
    if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2; then
        rm -rf "$VENV"
        echo "pip could not install the stand-in's pinned requirements (is PyPI reachable?)" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
