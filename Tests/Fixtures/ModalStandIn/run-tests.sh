#!/usr/bin/env bash
# The Modal stand-in's tests: Modal's official client (modal==1.6.4) against the stand-in, in V2 and
# V1 sandbox mode, plus fault injection. A venv at .build/venv-modal with the pinned requirements
# (rebuilt when they change), then pytest on this folder. The exit code is pytest's.
# Needs python3 (3.11) with venv (Debian: python3-venv, installed here when missing and we are root)
# and PyPI access the first time. Extra arguments go to pytest, e.g. run-tests.sh -k fault -x
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"

# Debian's python first: the script must work on a fresh Debian 12.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
VENV=.build/venv-modal
REQ="$HERE/requirements.txt"

if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "modal-standin-tests: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    else
        echo "modal-standin-tests: $PYTHON has no venv/ensurepip; install python3-venv" >&2
        exit 1
    fi
fi

# Rebuild the venv when the requirements change (a stamp holds their hash).
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$VENV"
    mkdir -p .build
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
    echo "$want" > "$stamp"
fi

cd "$HERE"
exec "$ROOT/$VENV/bin/python" -m pytest -q -p no:cacheprovider "$HERE" "$@"
