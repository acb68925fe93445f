#!/usr/bin/env bash
# The provider stand-ins' own suites: each one driven by the provider's official client (E2B's `e2b`
# SDK, Modal's `modal` client) in its own pinned venv under .build/, proving the stand-in faithful
# before any plugin is tested against it. Exit status: non-zero when either suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
Tests/Fixtures/E2BStandIn/run-tests.sh -q || status=1
Tests/Fixtures/ModalStandIn/run-tests.sh -q || status=1
exit $status
