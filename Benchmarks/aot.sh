#!/usr/bin/env bash
# The same timing program under the JIT and as a NativeAOT binary (IlcInstructionSet=native), pinned to core 0,
# and the AOT/JIT time ratio per case. Needs clang (or gcc) and zlib for the NativeAOT link.
set -euo pipefail
cd "$(dirname "$0")/AotCheck"
out=$(mktemp -d /tmp/backprop-aot.XXXXXX)
dotnet build -c Release >/dev/null
dotnet publish -c Release -o "$out/aot" >/dev/null
taskset -c 0 dotnet bin/Release/net10.0/AotCheck.dll > "$out/jit.txt"
taskset -c 0 "$out/aot/AotCheck" > "$out/aot.txt"
head -1 "$out/jit.txt"; head -1 "$out/aot.txt"
echo "| case | batch | JIT ms | NativeAOT ms | AOT / JIT |"
echo "|---|---|---|---|---|"
paste -d' ' <(grep -v '^#' "$out/jit.txt") <(grep -v '^#' "$out/aot.txt") |
    awk '{ printf "| %s | %s | %.4f | %.4f | %.2f |\n", $1, $2, $3, $6, $6 / $3 }'
