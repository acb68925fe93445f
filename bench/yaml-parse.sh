#!/usr/bin/env bash
# bench/yaml-parse.sh: instructions per parse of a YAML document by YAMLParser (Sources/YAMLSubset)
# against the parser it replaced in session 9 (Tests/HostTests/YAMLReferenceParser*.swift), counted
# by callgrind: repeatable under load, unlike a time.
#
# Compiles both parsers and Basics' quoting helper into one small executable (-O, whole module, the
# Swift runtime linked in, like a release build) and runs it under callgrind three times per parser:
# 0, 1 and 1+N parses of FILE. "first" is the 1-parse run minus the 0-parse run: what a CLI command pays, one parse per
# process, runtime first uses included; "steady" is (1+N minus 1) / N, the parse's own work.
#
#   bench/yaml-parse.sh [FILE] [N]   # FILE defaults to the embedded default config; N to 200
#
# Needs: swiftc (PATH or /opt/swift/usr/bin), valgrind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
file=${1:-}
n=${2:-200}
export PATH=/opt/swift/usr/bin:$PATH
for tool in swiftc valgrind; do
    command -v "$tool" >/dev/null || { echo "yaml-parse.sh: $tool is required" >&2; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-yaml-parse.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [[ -z "$file" ]]; then
    # The embedded default config: the body of DefaultConfig.yaml's literal, its 8-space indent removed.
    awk '/static let yaml = """/ { on = 1; next } on && /^ *"""/ { exit } on { sub(/^        /, ""); print }' \
        "$root/Sources/Config/DefaultConfig.swift" > "$work/input.yaml"
    file=$work/input.yaml
fi
mkdir "$work/src"
for f in "$root"/Sources/YAMLSubset/*.swift "$root"/Tests/HostTests/YAMLReferenceParser*.swift "$root/Sources/Basics/String+Quoting.swift"; do
    sed '/^import \(Basics\|YAMLSubset\)$/d' "$f" > "$work/src/$(basename "$f")"
done
cat > "$work/src/main.swift" <<'SWIFT'
// yaml-bench MODE FILE COUNT: parses FILE COUNT times with the new (MODE new) or old (MODE old) parser.
#if canImport(Glibc)
import Glibc
#endif
let args = CommandLine.arguments
guard args.count == 4, let count = Int(args[3]), let handle = fopen(args[2], "r") else { exit(2) }
var bytes: [UInt8] = []
var buffer = [UInt8](repeating: 0, count: 65536)
while true {
    let got = fread(&buffer, 1, buffer.count, handle)
    if got <= 0 { break }
    bytes += buffer[0..<got]
}
let text = String(decoding: bytes, as: UTF8.self)
var nodes = 0
for _ in 0..<count {
    let root = try? (args[1] == "new" ? YAMLParser.parse(text, file: args[2]) : YAMLReferenceParser.parse(text, file: args[2]))
    nodes += root?.mappingEntries?.count ?? -1
}
print(nodes)
SWIFT
(cd "$work" && swiftc -O -wmo -static-stdlib -swift-version 6 -package-name yamlbench -module-name YAMLBench src/*.swift -o yaml-bench)

# instructions MODE COUNT: the program's total instructions (callgrind's summary).
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$work/yaml-bench" "$1" "$file" "$2" >/dev/null 2>&1
    awk '/^summary:/ { print $2 }' "$work/cg.out"
}
declare -A first steady
for mode in old new; do
    i0=$(instructions "$mode" 0)
    i1=$(instructions "$mode" 1)
    iN=$(instructions "$mode" $((n + 1)))
    first[$mode]=$((i1 - i0))
    steady[$mode]=$(( (iN - i1) / n ))
    echo "$mode: 0 parses $i0, 1 parse $i1, $((n + 1)) parses $iN instructions" >&2
done
what=$(basename "${1:-default config}")
bench_row "YAML first parse, $what (instructions)" "${first[new]}" "old ${first[old]}" \
    "$(bench_ratio "${first[new]}" "${first[old]}")" "<=" 1 "callgrind, one parse per process"
bench_row "YAML steady parse, $what (instructions)" "${steady[new]}" "old ${steady[old]}" \
    "$(bench_ratio "${steady[new]}" "${steady[old]}")" "<=" 1 "callgrind, mean of $n parses after the first"
