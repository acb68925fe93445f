#!/usr/bin/env bash
# Tests of the E2B stand-in (Tests/Fixtures/E2BStandIn): a venv at .build/venv-e2b with the pinned
# requirements (the official e2b SDK and pytest), then pytest on this folder. The exit code is pytest's.
# Needs python3 (3.11) with venv (Debian: python3-venv, installed here when missing and we are root)
# and PyPI access for the first run. Extra arguments go to pytest, e.g. run-tests.sh -k faults -x
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../.."

# Debian's python first: the script must work on a fresh Debian 12.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
VENV=.build/venv-e2b
REQ="$here/requirements.txt"

if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "e2b-standin-tests: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
    else
        echo "e2b-standin-tests: $PYTHON has no venv/ensurepip; install python3-venv" >&2
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

# No bytecode caches in the source tree; the stand-in runs under the same interpreter.
export PYTHONDONTWRITEBYTECODE=1
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@"
