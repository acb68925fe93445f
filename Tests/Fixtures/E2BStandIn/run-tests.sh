#!/usr/bin/env bash
# Tests of the E2B stand-in (Tests/Fixtures/E2BStandIn): a venv at .build/venv-e2b with the pinned
# requirements (the official e2b SDK and pytest; scripts/venv.sh), then pytest on this folder. The exit
# code is pytest's. Extra arguments go to pytest, e.g. run-tests.sh -k faults -x
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
python=$("$root/scripts/venv.sh" .build/venv-e2b "$here/requirements.txt")
# No bytecode caches in the source tree; the stand-in runs under the same interpreter.
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -m pytest -q -p no:cacheprovider "$here" "$@"
