#!/bin/sh
# Builds the libFuzzer target for HTTPRequestParser against the HTTPServer target's sources and runs
# it for a bounded time over the committed corpus (read-only: new inputs go to a scratch directory).
#   fuzz/run.sh [seconds]      default 30 s, at most 5,000,000 runs
# Exit status: 0 when no crash or oracle failure was found; a reproducer is kept in the scratch dir.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-30}
work=${FUZZ_WORK:-$(mktemp -d /tmp/sandboxer-fuzz.XXXXXX)}
mkdir -p "$work/new"
# The harness is built against the whole HTTPServer target (every file of Sources/HTTPServer, no list to
# keep in sync), with its dependencies built the way SwiftPM would: Basics as a module, the C shims
# compiled by clang behind module maps.
src="$root/Sources"
mkdir -p "$work/modules/shims"
clang -c -O1 -fsanitize=address -I "$src/CHTTPShims/include" "$src/CHTTPShims/chttp_shims.c" -o "$work/modules/chttp_shims.o"
printf 'module CHTTPShims {\n    header "%s"\n    export *\n}\n' "$src/CHTTPShims/include/chttp_shims.h" \
    > "$work/modules/shims/module.modulemap"
# Basics' own C helpers (CBasics), likewise.
mkdir -p "$work/modules/cbasics"
clang -c -O1 -fsanitize=address -I "$src/CBasics/include" "$src/CBasics/cbasics.c" -o "$work/modules/cbasics.o"
printf 'module CBasics {\n    header "%s"\n    export *\n}\n' "$src/CBasics/include/cbasics.h" \
    > "$work/modules/cbasics/module.modulemap"
swiftc -parse-as-library -O -g -sanitize=address -package-name sandboxer -module-name Basics -emit-module -emit-module-path "$work/modules/Basics.swiftmodule" \
    -Xcc -fmodule-map-file="$work/modules/cbasics/module.modulemap" \
    -emit-library -static -o "$work/modules/libBasics.a" "$src"/Basics/*.swift
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name sandboxer -module-name HTTPServerFuzz \
    -I "$work/modules" -Xcc -fmodule-map-file="$work/modules/shims/module.modulemap" \
    -Xcc -fmodule-map-file="$work/modules/cbasics/module.modulemap" \
    "$here/HTTPRequestParserFuzz.swift" "$src"/HTTPServer/*.swift \
    "$work/modules/libBasics.a" "$work/modules/cbasics.o" "$work/modules/chttp_shims.o" \
    -o "$work/http-request-fuzzer"

# Swift's own crash backtracer would add ~30 s per finding; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
echo "fuzzing HTTPRequestParser for ${seconds}s (scratch: $work)"
"$work/http-request-fuzzer" \
    -max_total_time="$seconds" -runs=5000000 -max_len=4096 -timeout=10 \
    -dict="$here/http.dict" -artifact_prefix="$work/" -print_final_stats=1 \
    "$work/new" "$here/corpus/http-request"

# Then the protobuf wire codec (its own script, same shape), for the same time.
"$here/run-protobuf.sh" "$seconds"
