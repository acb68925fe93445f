#!/usr/bin/env bash
# Installs the Debian packages sandboxer needs to build, run and test, when they are missing.
# Idempotent and quiet when everything is there already.
set -euo pipefail

# libsqlite3-dev: the store. busybox-static: LocalVM's default rootfs. sqlite3: tests inspect the store.
# bubblewrap, hyperfine, wrk, nginx-light: the benches and their baselines. iproute2: network checks.
# cc: tests build a C plugin. python3-venv, curl: the real-client tests against a live server.
# libcurl4-openssl-dev: the HTTP client that delivers webhooks. nftables, util-linux (nsenter): LocalVM bridge
# networking (its filter table) and the network tests.
# packer (Debian 12: 1.6.6): the Packer builder plugin and its tests (offline null builder + shell-local).
packages=(libsqlite3-dev libcurl4-openssl-dev pkg-config busybox-static sqlite3 bubblewrap hyperfine iproute2 nftables util-linux gcc libc6-dev python3-venv curl wrk nginx-light packer)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "sandboxer: missing Debian packages: ${missing[*]}" >&2
    echo "sandboxer: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "sandboxer: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
