#!/usr/bin/env bash
# Makes (or reuses) a Python venv with pinned requirements and prints its python's path:
#   scripts/venv.sh VENV_DIR REQUIREMENTS_FILE
# The venv is rebuilt when the requirements change (a stamp holds their hash). Debian's python3 comes
# first, so this works on a fresh Debian 12; python3-venv is installed when missing and we are root.
# Exit 1 with one line on stderr when it cannot be made (no venv module, PyPI unreachable).
set -euo pipefail
venv=$1 req=$2
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "venv: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
        PYTHON=${PYTHON:-/usr/bin/python3}
    else
        echo "venv: python3 with venv/ensurepip is missing (Debian: apt-get install python3-venv)" >&2
        exit 1
    fi
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$PYTHON" -m venv "$venv" >&2
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2; then
        rm -rf "$venv"
        echo "venv: pip could not install $req (is PyPI reachable?)" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
echo "$(cd "$venv" && pwd)/bin/python"
