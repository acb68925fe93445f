#!/bin/sh
# Builds the libFuzzer target for ProtobufWire straight from the codec's source files and runs it
# for a bounded time over the committed corpus (read-only: new inputs go to a scratch directory).
#   fuzz/run-protobuf.sh [seconds]      default 30 s, at most 5,000,000 runs
# -malloc_limit_mb fails any single allocation above 64 MiB: inputs are at most 4 KiB, so only a
# length taken off the wire unchecked could ask for that much.
# Exit status: 0 when no crash or oracle failure was found; a reproducer is kept in the scratch dir.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-30}
work=${FUZZ_WORK:-$(mktemp -d /tmp/sandboxer-fuzz-protobuf.XXXXXX)}
mkdir -p "$work/new-protobuf"

swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    "$here/ProtobufWireFuzz.swift" "$root"/Sources/ProtobufWire/*.swift \
    -o "$work/protobuf-wire-fuzzer"

# Swift's own crash backtracer would add ~30 s per finding; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
echo "fuzzing ProtobufWire for ${seconds}s (scratch: $work)"
"$work/protobuf-wire-fuzzer" \
    -max_total_time="$seconds" -runs=5000000 -max_len=4096 -timeout=10 \
    -malloc_limit_mb=64 -rss_limit_mb=1024 \
    -artifact_prefix="$work/" -print_final_stats=1 \
    "$work/new-protobuf" "$here/corpus/protobuf"
