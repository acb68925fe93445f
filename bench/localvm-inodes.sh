#!/usr/bin/env bash
# bench/localvm-inodes.sh — what one LocalVM create and destroy cost the data dir's file system in
# inodes, and which mounts they leave in the host's mount namespace: counts, not times, so they
# hold on a loaded machine. A tool for docs/performance.md ("Create and destroy without
# per-sandbox inodes (session 8)"), not a `make bench` row.
#
#   bench/localvm-inodes.sh BUILD_DIR [N]   (BUILD_DIR holds sandboxer, libSandboxerLocalVM.so and
#                                            sandboxer-localvm-init; default N=3; root, python3)
#
# The LocalVM data dir (<SANDBOXER_HOME>/backends/localvm) is a tmpfs of its own here, so its free
# inode count (statfs f_ffree) moves only with what the plugin makes: an inode is an inode on any
# file system, and on the ext4 of /tmp each new one is the expensive part (docs/performance.md,
# "What bounds create ... the data dir's file system"). Per cycle it prints the inodes a create
# took (sandbox ready), the inodes still taken after its destroy once the trash is empty (0: every
# one freed), and the lines /proc/self/mountinfo gained while the sandbox lived and after destroy.
set -euo pipefail
DIR=$(cd "$1" && pwd); N=${2:-3}
[ "$(id -u)" = 0 ] || { echo "bench/localvm-inodes.sh needs root" >&2; exit 77; }
TMP=$(mktemp -d /tmp/localvm-inodes.XXXXXX)
chmod 755 "$TMP"
export SANDBOXER_HOME="$TMP/home"
DATA="$SANDBOXER_HOME/backends/localvm"
mkdir -p -m 755 "$DATA"
mount -t tmpfs -o mode=0755,size=256m tmpfs "$DATA"
cleanup() { umount -l "$DATA" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
free_inodes() { stat -f -c %d "$DATA"; }
mounts() { wc -l < /proc/self/mountinfo; }
settle() { # the detached remover of the last destroy is done
    local i
    for i in $(seq 2000); do [ -z "$(ls -A "$DATA/trash" 2>/dev/null)" ] && return; sleep 0.005; done
    echo "localvm-inodes.sh: the trash did not empty" >&2; exit 1
}
# Warm-up: builds the image, makes the data dir's long-lived directories.
id=$("$DIR/sandboxer" create --json | json_id); "$DIR/sandboxer" destroy "$id" >/dev/null; settle
echo "cycle  create:inodes  after-destroy:inodes  live:mounts  after-destroy:mounts"
for i in $(seq "$N"); do
    f0=$(free_inodes); m0=$(mounts)
    id=$("$DIR/sandboxer" create --json | json_id)
    f1=$(free_inodes); m1=$(mounts)
    "$DIR/sandboxer" destroy "$id" >/dev/null; settle
    f2=$(free_inodes); m2=$(mounts)
    echo "$i  $((f0 - f1))  $((f0 - f2))  $((m1 - m0))  $((m2 - m0))"
done
echo "the sandbox dir of a live one:"
id=$("$DIR/sandboxer" create --json | json_id)
(cd "$DATA" && find sandboxes uids mnt 2>/dev/null | sort | sed 's/^/  /')
grep -F "$DATA" /proc/self/mountinfo | awk '{ print "  host mount: " $5 }' || true
"$DIR/sandboxer" destroy "$id" >/dev/null; settle
