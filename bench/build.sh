#!/usr/bin/env bash
# bench/build.sh — what the images cache costs a create, and what sandboxer adds to a cold build,
# each against a baseline measured in the same run.
#
#   bench/build.sh [N]        (default N=20; CONFIG=debug to use the debug build, to try the script)
#
# Rows (median of N, milliseconds):
#   create-image    `sandboxer create` on a profile named by `image:` (the baseline), on the
#                   file-backed TestPlugin backend, process start to exit
#   create-cached   the same create on a profile with a `build:` whose image is cached: the extra is
#                   the lookup (builder describe, template and vars hashed, one indexed row read)
#   ratio / delta   create-cached against create-image (goal: at most +5 ms)
#   packer-bare     `packer build` of docs/examples/images/busybox-marker into a fresh dir (the baseline)
#   packer-sandbox  `sandboxer build --force` of the same template through libSandboxerPacker.so
#   ratio           packer-sandbox / packer-bare (goal: at most 1.1)
# The packer rows are skipped (and say so) without `packer` or without the Packer plugin.
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
ROOT=$PWD

CONFIG=${CONFIG:-release}
echo "building ($CONFIG)..." >&2
swift build -c "$CONFIG" --product sandboxer >&2
swift build -c "$CONFIG" --product SandboxerTestPlugin >&2
swift build -c "$CONFIG" --product SandboxerPacker >&2 2>/dev/null || true
BIN=$(swift build -c "$CONFIG" --show-bin-path)

TMP=$(mktemp -d /tmp/build-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/fake" "$TMP/builder" "$TMP/images"
echo 'source "null" "x" {}' > "$TMP/images/web.pkr.hcl"
cat > "$TMP/sandboxer.yaml" <<YAML
data_dir: $TMP/data
backends:
  fake:
    plugin: $BIN/libSandboxerTestPlugin.so
    config:
      state_dir: $TMP/fake
      boot_artifact_kinds: [rootfs-tar]
builders:
  tb:
    plugin: $BIN/libSandboxerTestPlugin.so
    config:
      state_dir: $TMP/builder
      capabilities: [sandboxer.build/1]
profiles:
  plain:
    backend: fake
    image: busybox
  built:
    backend: fake
    build:
      builder: tb
      template: images/web.pkr.hcl
      vars: {marker: bench}
YAML
export SANDBOXER_CONFIG=$TMP/sandboxer.yaml
"$BIN/sandboxer" build built >/dev/null 2>&1

# Wall time of one run, in microseconds.
elapsed() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
# Median in ms of a list of microsecond times.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%.2f", m/1000}'; }

# Alternate the two so drift in machine load hits both alike.
P=(); C=()
for _ in $(seq "$N"); do
  P+=($(elapsed "$BIN/sandboxer" create --profile plain --ttl 5m))
  C+=($(elapsed "$BIN/sandboxer" create --profile built --no-build --ttl 5m))
done
plain=$(median "${P[@]}"); cached=$(median "${C[@]}")
printf '%-16s %8s ms\n' create-image "$plain" create-cached "$cached"
awk -v a="$cached" -v b="$plain" 'BEGIN { printf "%-16s %8.2f (delta %+.2f ms; goal <= +5 ms)\n", "ratio", a/b, a-b }'

if ! command -v packer >/dev/null; then
  echo "packer-bare      skipped: no packer on PATH (apt-get install packer)"; exit 0
fi
if [ ! -f "$BIN/libSandboxerPacker.so" ]; then
  echo "packer-sandbox   skipped: the Packer plugin is not built here"; exit 0
fi
TEMPLATE=$ROOT/docs/examples/images/busybox-marker
export CHECKPOINT_DISABLE=1
bare() { local out; out=$(mktemp -d "$TMP/bare.XXXX"); packer build -machine-readable -var "output_dir=$out" -var marker=bench "$TEMPLATE/template.json"; }
cat >> "$TMP/sandboxer.yaml" <<YAML
  packed:
    backend: fake
    build:
      builder: packer
      template: $TEMPLATE
      vars: {marker: bench}
YAML
sed -i "s|^builders:|builders:\n  packer:\n    plugin: $BIN/libSandboxerPacker.so|" "$TMP/sandboxer.yaml"
B=(); S=()
for _ in $(seq "$N"); do
  B+=($(elapsed bare))
  S+=($(elapsed "$BIN/sandboxer" build packed --force))
done
b=$(median "${B[@]}"); s=$(median "${S[@]}")
printf '%-16s %8s ms\n' packer-bare "$b" packer-sandbox "$s"
awk -v a="$s" -v b="$b" 'BEGIN { printf "%-16s %8.2f (goal <= 1.1)\n", "ratio", a/b }'
