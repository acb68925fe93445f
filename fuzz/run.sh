#!/bin/sh
# Builds the libFuzzer target for HTTPRequestParser straight from the parser's source files and runs
# it for a bounded time over the committed corpus (read-only: new inputs go to a scratch directory).
#   fuzz/run.sh [seconds]      default 30 s, at most 5,000,000 runs
# Exit status: 0 when no crash or oracle failure was found; a reproducer is kept in the scratch dir.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-30}
work=${FUZZ_WORK:-$(mktemp -d /tmp/sandboxer-fuzz.XXXXXX)}
mkdir -p "$work/new"
http="$root/Sources/HTTPServer"

swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    "$here/HTTPRequestParserFuzz.swift" \
    "$http/HTTPRequestParser.swift" "$http/HTTPRequestParser+Head.swift" "$http/RequestTarget.swift" \
    "$http/HTTPRequest.swift" "$http/HTTPHeaders.swift" "$http/HTTPProtocolError.swift" \
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
