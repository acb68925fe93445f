#!/usr/bin/env bash
# Real-client tests of the HTTP API (Tests/Python): a venv at .build/pyvenv with the pinned
# requirements, a debug build of sandboxer, then pytest. The exit code is pytest's.
# Needs python3 with venv (Debian: python3-venv, installed here when missing and we are root) and
# PyPI access; curl for the curl walkthrough; root and /bin/busybox for the LocalVM tests (else skipped).
# Extra arguments go to pytest, e.g. scripts/python-tests.sh -k limits -x
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's python first: the script must work on a fresh Debian 12.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
VENV=.build/pyvenv
REQ=Tests/Python/requirements.txt

if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "python-tests: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    else
        echo "python-tests: $PYTHON has no venv/ensurepip; install python3-venv" >&2
        exit 1
    fi
fi

# Rebuild the venv when the requirements change (a stamp holds their hash).
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
    echo "$want" > "$stamp"
fi

swift build

exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider Tests/Python "$@"
