#!/usr/bin/env bash
# The Modal stand-in's tests: Modal's official client (modal==1.6.4) against the stand-in, in V2 and
# V1 sandbox mode, plus fault injection. A venv at .build/venv-modal with the pinned requirements
# (scripts/venv.sh), then pytest on this folder. The exit code is pytest's.
# Extra arguments go to pytest, e.g. run-tests.sh -k fault -x
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
python=$("$root/scripts/venv.sh" .build/venv-modal "$here/requirements.txt")
cd "$here"
exec "$python" -m pytest -q -p no:cacheprovider "$here" "$@"
