#!/usr/bin/env bash
# Real-client tests of the HTTP API (Tests/Python): a venv at .build/pyvenv with the pinned
# requirements, a debug build of sandboxer, then pytest. The exit code is pytest's.
# Needs python3 with venv (Debian: python3-venv, installed here when missing and we are root) and
# PyPI access; curl for the curl walkthrough; root and /bin/busybox for the LocalVM tests (else skipped).
# Extra arguments go to pytest, e.g. scripts/python-tests.sh -k limits -x
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.build/pyvenv
python=$(scripts/venv.sh "$VENV" Tests/Python/requirements.txt)

swift build

exec "$python" -m pytest -q -p no:cacheprovider Tests/Python "$@"
