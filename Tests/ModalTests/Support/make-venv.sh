#!/usr/bin/env bash
# The venv the Modal stand-in runs in (.build/venv-modal), the same one its run-tests.sh uses.
# Exit 0 with the venv ready; otherwise one line on stderr saying why (no python3-venv, no PyPI).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
scripts/venv.sh .build/venv-modal Tests/Fixtures/ModalStandIn/requirements.txt >/dev/null
