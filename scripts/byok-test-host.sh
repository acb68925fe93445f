#!/usr/bin/env bash
# One BYOK test host for scripts (plugin-check.sh, bench/byok.sh): sshd in a network namespace of its
# own (a veth pair on a free 10.200.x.y/30), its own host key, a uid-0 account whose shell is /bin/sh.
# The Swift tests use the same recipe (Tests/Fixtures/BYOKHosts/SSHHosts.swift).
#
#   scripts/byok-test-host.sh up DIR     makes DIR/host.env (ADDRESS USER HOST_KEY IDENTITY NODE_DIR ...)
#   scripts/byok-test-host.sh down DIR   removes everything `up` made (sshd by pid, namespace, link, account)
# Needs root and openssh-server. sshd's "Server listening" line on its stderr is the ready handshake.
set -euo pipefail
cmd=${1:?usage: byok-test-host.sh up|down DIR}
dir=${2:?usage: byok-test-host.sh up|down DIR}

if [ "$cmd" = down ]; then
    [ -f "$dir/host.env" ] || exit 0
    # shellcheck disable=SC1091
    . "$dir/host.env"
    [ -n "${SSHD_PID:-}" ] && kill -9 "$SSHD_PID" 2>/dev/null || true
    ip link del "$OUTER" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    userdel -f "$USER_NAME" 2>/dev/null || true  # -f: uid 0 always has processes
    rm -rf "$dir"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "byok-test-host.sh needs root" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "byok-test-host.sh needs openssh-server" >&2; exit 1; }
mkdir -p "$dir" /run/sshd
chmod 700 "$dir"
tag=$(printf '%04x' $((RANDOM)))
ns=sbxbk-$tag-s; outer=bk${tag}sa; inner=bk${tag}sb; user=sbxbk$tag
while :; do
    third=$((RANDOM % 256)); fourth=$(( (RANDOM % 64) * 4 ))
    ip -o -4 addr | grep -q "10.200.$third.$((fourth + 1))/" || break
done
outer_addr=10.200.$third.$((fourth + 1)); addr=10.200.$third.$((fourth + 2))
cat > "$dir/host.env" <<ENV
NS=$ns
OUTER=$outer
INNER=$inner
USER_NAME=$user
ADDRESS=$addr
ENV
ip netns add "$ns"
ip link add "$outer" type veth peer name "$inner"
ip link set "$inner" netns "$ns"
ip addr add "$outer_addr/30" dev "$outer"; ip link set "$outer" up
ip -n "$ns" addr add "$addr/30" dev "$inner"; ip -n "$ns" link set "$inner" up; ip -n "$ns" link set lo up
ssh-keygen -q -t ed25519 -N '' -C byok-test -f "$dir/client_ed25519"
ssh-keygen -q -t ed25519 -N '' -C host -f "$dir/hostkey"
cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
useradd -o -u 0 -g 0 -M -d "$dir/home" -s /bin/sh -p '*' "$user"
mkdir -p "$dir/home"
cat > "$dir/sshd.conf" <<CONF
Port 22
ListenAddress $addr
HostKey $dir/hostkey
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
MaxSessions 64
MaxStartups 64:30:128
CONF
mkfifo "$dir/sshd.err"
# nsenter, not `ip netns exec` (that remounts /sys and hides the cgroups the node helper needs).
nsenter --net=/var/run/netns/"$ns" /usr/sbin/sshd -D -e -f "$dir/sshd.conf" 2>"$dir/sshd.err" </dev/null >/dev/null &
echo "SSHD_PID=$!" >> "$dir/host.env"
# Ready when sshd says it listens; the rest of its stderr goes to a log.
exec 3<"$dir/sshd.err"
while IFS= read -r line <&3; do
    echo "$line" >> "$dir/sshd.log"
    case $line in *"Server listening"*) break ;; esac
done
cat <&3 >> "$dir/sshd.log" &
exec 3<&-
read -r ktype kdata _ < "$dir/hostkey.pub"
cat >> "$dir/host.env" <<ENV
HOST_KEY="$ktype $kdata"
IDENTITY=$dir/client_ed25519
NODE_DIR=$dir/node
ENV
