#!/usr/bin/env bash
# bench/launch-floor.sh — what bounds `localvm create→ready`: the C launcher alone (CLocalVM's
# clvm_launch, no Swift, no plugin) against bare bwrap, interleaved in the same run.
#
#   bench/launch-floor.sh [ROUNDS] [PER_ROUND]     (default 3 x 10; needs root, bubblewrap,
#                                                   busybox-static, a C compiler)
#
# Rows (medians, ms): bwrap --unshare-all running /bin/true to exit (as bench/localvm.sh);
# launch = clvm_launch with /bin/true as the init, to ready (the init exec'd and fd 3 closed):
# user/pid/mount/uts/ipc/net/cgroup namespaces, overlay, proc, sys, dev (tmpfs + 6 binds), shm,
# devpts, tmp, the ctl bind, 5 cgroup migrations, pivot_root, exec; prep+launch adds the sandbox
# directory tree and the 5 cgroup directories; idmap adds the idmapped layers (the plugin's default:
# uid pool on) with their user namespace made per launch; idmap-cached reuses one namespace, as the
# plugin does per id slice; "as the plugin" adds the cgroup join the plugin makes (clone3 into the
# v2 cgroup, v1 `tasks` written by the init; the other rows write the pid to five cgroup.procs).
# No veth (network none).
# An informational script (not in `make bench`): the plugin's create cannot be cheaper than launch.
set -euo pipefail
ROUNDS=${1:-3} PER=${2:-10}
cd "$(dirname "$0")/.."
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/launch-floor.sh needs root" >&2; exit 77; }
command -v bwrap >/dev/null || { echo "needs bubblewrap (apt-get install bubblewrap)" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

TMP=$(mktemp -d /tmp/launch-floor.XXXXXX)
chmod 755 "$TMP"
# The floor program's cgroups (sbxfloor-<its pid>) if it failed half-way: removed when its pid is gone.
cleanup() {
    rm -rf "$TMP"
    for d in /sys/fs/cgroup/*/sbxfloor-*; do
        [ -d "$d" ] && [ ! -d "/proc/${d##*sbxfloor-}" ] && rmdir "$d"/* "$d" 2>/dev/null || true
    done
}
trap cleanup EXIT
C=Plugins/LocalVM/CLocalVM
cc -O2 -o "$TMP/floor" -I "$C/include" -I "$C" bench/launch-floor.c \
    "$C/launch.c" "$C/util.c" "$C/harden.c" "$C/netlink.c" "$C/idmap.c" -ldl

# A busybox rootfs (host-root owned, read-only to the sandbox, as the plugin's image is).
ROOTFS="$TMP/rootfs"
mkdir -p "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev" "$ROOTFS/tmp" "$ROOTFS/run"
cp /bin/busybox "$ROOTFS/bin/busybox"
for tool in sh true; do ln -s busybox "$ROOTFS/bin/$tool"; done
chown -R -h 100000:100000 "$ROOTFS" # the shifted range the launch maps to root, as the plugin's images are
mkdir -m 755 "$TMP/work"

: > "$TMP/floor.txt"; : > "$TMP/idmap.txt"; : > "$TMP/cached.txt"; : > "$TMP/plugin.txt"; : > "$TMP/bwrap.txt"
bwrap --unshare-all --ro-bind "$ROOTFS" / --proc /proc --dev /dev --tmpfs /tmp -- /bin/true # warm-up
for _ in $(seq "$ROUNDS"); do
    "$TMP/floor" "$ROOTFS" "$TMP/work" "$PER" >> "$TMP/floor.txt"
    "$TMP/floor" "$ROOTFS" "$TMP/work" "$PER" idmap >> "$TMP/idmap.txt"
    "$TMP/floor" "$ROOTFS" "$TMP/work" "$PER" idmap-cached >> "$TMP/cached.txt"
    "$TMP/floor" "$ROOTFS" "$TMP/work" "$PER" idmap-cached fast >> "$TMP/plugin.txt"
    for _ in $(seq "$PER"); do
        t0=$EPOCHREALTIME
        bwrap --unshare-all --hostname bench --ro-bind "$ROOTFS" / --proc /proc --dev /dev --tmpfs /tmp \
            --new-session --die-with-parent -- /bin/true
        t1=$EPOCHREALTIME
        bench_ms_since "$t0" "$t1" >> "$TMP/bwrap.txt"
    done
done
BWRAP=$(bench_median < "$TMP/bwrap.txt")
LAUNCH=$(awk '{ print $1 }' "$TMP/floor.txt" | bench_median)
PREP=$(awk '{ print $2 }' "$TMP/floor.txt" | bench_median)
IDMAP=$(awk '{ print $2 }' "$TMP/idmap.txt" | bench_median)
CACHED=$(awk '{ print $2 }' "$TMP/cached.txt" | bench_median)
ASPLUGIN=$(awk '{ print $2 }' "$TMP/plugin.txt" | bench_median)
echo "launch floor, $ROUNDS rounds x $PER, N=$((ROUNDS * PER)) each, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
printf '  bwrap (/bin/true to exit)          %8s\n' "$BWRAP"
printf '  clvm_launch (/bin/true, to ready)  %8s   %sx bwrap\n' "$LAUNCH" "$(bench_ratio "$LAUNCH" "$BWRAP")"
printf '  dirs + cgroups + clvm_launch       %8s   %sx bwrap\n' "$PREP" "$(bench_ratio "$PREP" "$BWRAP")"
printf '  the same with idmapped layers      %8s   %sx bwrap\n' "$IDMAP" "$(bench_ratio "$IDMAP" "$BWRAP")"
printf '  idmapped, namespace kept per slice %8s   %sx bwrap\n' "$CACHED" "$(bench_ratio "$CACHED" "$BWRAP")"
printf '  + fast cgroup join (as the plugin) %8s   %sx bwrap\n' "$ASPLUGIN" "$(bench_ratio "$ASPLUGIN" "$BWRAP")"
