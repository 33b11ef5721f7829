#!/usr/bin/env bash
# The same timing program under the JIT and as a NativeAOT binary (IlcInstructionSet=native), pinned to core 0,
# alternated three times (the machine is shared and noisy; the best of each counts), and the AOT/JIT ratio per
# case. Needs clang and zlib for the NativeAOT link (Debian: clang zlib1g-dev).
set -euo pipefail
cd "$(dirname "$0")/AotCheck"
out=$(mktemp -d /tmp/backprop-aot.XXXXXX)
dotnet build -c Release >/dev/null
dotnet publish -c Release -o "$out/aot" >/dev/null
for round in 1 2 3; do
    taskset -c 0 dotnet bin/Release/net10.0/AotCheck.dll JIT > "$out/jit-$round.txt"
    taskset -c 0 "$out/aot/AotCheck" NativeAOT > "$out/aot-$round.txt"
done
head -1 "$out/jit-1.txt"; head -1 "$out/aot-1.txt"
/usr/bin/python3 - "$out" <<'PY'
import glob, sys
def best(pattern):
    times = {}
    for path in glob.glob(pattern):
        for line in open(path):
            if not line.startswith("#"):
                case, batch, ms = line.split()
                times[(case, int(batch))] = min(times.get((case, int(batch)), float("inf")), float(ms))
    return times
jit, aot = best(sys.argv[1] + "/jit-*.txt"), best(sys.argv[1] + "/aot-*.txt")
print("| case | batch | JIT ms | NativeAOT ms | AOT / JIT |\n|---|---|---|---|---|")
for key in sorted(jit, key=lambda k: (k[0], k[1])):
    print(f"| {key[0]} | {key[1]} | {jit[key]:.4f} | {aot[key]:.4f} | {aot[key] / jit[key]:.2f} |")
PY
