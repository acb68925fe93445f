#!/usr/bin/env bash
# A short narrated tour on the embedded default config: LocalVM, profile "default".
# Its data lives in a fresh directory unless SANDBOXER_HOME is set.
set -euo pipefail
bin=${1:-.build/debug/sandboxer}
export SANDBOXER_HOME=${SANDBOXER_HOME:-$(mktemp -d /tmp/sandboxer-demo.XXXXXX)}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ sandboxer'; printf ' %q' "$@"; printf '\n'; "$bin" "$@"; }

say "Data directory: $SANDBOXER_HOME (embedded default config, no file needed)"
run profiles
run backends

say "Create a sandbox from the default profile on LocalVM"
id=$("$bin" create --profile default --label demo=yes)
echo "$id"
run show "$id"

say "Run a command inside it: its hostname is its id, and it sees only its own processes"
run exec "$id" -- sh -c 'echo "hostname: $(hostname)"; echo "processes:"; ps'

say "Extend its TTL by 2h"
run extend-ttl "$id" --duration 2h

say "Snapshot it, break it, and recreate it from the snapshot (same id, same deadline)"
run exec "$id" -- sh -c 'echo precious > /root/work.txt'
run snapshot "$id" --name before-mistake
run exec "$id" -- rm /root/work.txt
run recreate "$id" --from-snapshot before-mistake
run exec "$id" -- cat /root/work.txt
run explain "$id"

say "Create a 2-second sandbox and let it expire"
short=$("$bin" create --profile default --ttl 2s)
echo "$short"
sleep 3   # a demo waits for real time; the tests drive the clock instead
run expire
run expire --apply

say "Destroy everything that is left"
for s in $("$bin" list --json | python3 -c 'import json,sys; print(" ".join(x["id"] for x in json.load(sys.stdin)))'); do
    run destroy "$s"
done
run list --all
run snapshot-rm before-mistake
say "Lifecycle events"
run events
say "Done. Nothing is left running; the store keeps the history in $SANDBOXER_HOME/sandboxer.db"
