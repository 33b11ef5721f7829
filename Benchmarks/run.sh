#!/usr/bin/env bash
# The whole benchmark suite in one command, as ../shared/PERF.md's protocol says: one-core cases pinned to core 0,
# PyTorch run twice (OpenBLAS as this machine configures it, then with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset;
# the faster counts), ONNX Runtime on the same architecture exported by PyTorch, then one table.
#
#   Benchmarks/run.sh            full BenchmarkDotNet runs (about 10 minutes)
#   Benchmarks/run.sh --short    BenchmarkDotNet's short job (about 3 minutes; less precise)
#
# The CNN and recurrent rows are raw (cnn-pytorch-*.jsonl, rnn-pytorch-*.jsonl and the CnnBenchmarks and
# RecurrentBenchmarks reports in $out/bdn); report.py tabulates the MLP.
# Needs /usr/bin/python3 with python3-torch, and libopenblas0-pthread: without it Debian's torch runs on the
# reference BLAS and the PyTorch figures are 10x too slow to be an honest peer.
set -euo pipefail
cd "$(dirname "$0")"
job=()
[ "${1:-}" = "--short" ] && job=(--job short)
# Refuse to time a peer that is not one: without libopenblas0-pthread, Debian's torch loads the reference BLAS.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
if [[ "$blas" != *openblas* ]]; then
    echo "run.sh: libblas.so.3 is '${blas:-missing}', not OpenBLAS: PyTorch would run on the reference BLAS, about ten times" >&2
    echo "too slow to be an honest peer. Install it first: apt-get install libopenblas0-pthread" >&2
    exit 1
fi
out=$(mktemp -d /tmp/backprop-bench.XXXXXX)
echo "results in $out" >&2

/usr/bin/python3 pytorch/bench_mlp.py --export-onnx "$out/mlp.onnx"
/usr/bin/python3 pytorch/bench_cnn.py --export-onnx "$out/cnn.onnx"
taskset -c 0 /usr/bin/python3 pytorch/bench_cnn.py > "$out/cnn-pytorch-configured.jsonl"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 pytorch/bench_cnn.py > "$out/cnn-pytorch-unset.jsonl"
taskset -c 0 /usr/bin/python3 pytorch/bench_rnn.py > "$out/rnn-pytorch-configured.jsonl"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 pytorch/bench_rnn.py > "$out/rnn-pytorch-unset.jsonl"
taskset -c 0 /usr/bin/python3 pytorch/bench_mlp.py > "$out/pytorch-configured.jsonl"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0 /usr/bin/python3 pytorch/bench_mlp.py > "$out/pytorch-unset.jsonl"
taskset -c 0,1 /usr/bin/python3 pytorch/bench_mlp.py --threads 2 > "$out/pytorch-configured-2.jsonl"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 0,1 /usr/bin/python3 pytorch/bench_mlp.py --threads 2 > "$out/pytorch-unset-2.jsonl"

dotnet build -c Release >/dev/null
# One-thread cases run pinned to core 0, two-thread cases on cores 0 and 1.
BACKPROP_ONNX_MODEL="$out/mlp.onnx" BACKPROP_ONNX_CNN="$out/cnn.onnx" taskset -c 0,1 dotnet run -c Release --no-build -- \
    --filter '*MlpBenchmarks*' '*CnnBenchmarks*' '*RecurrentBenchmarks*' --exporters json --artifacts "$out/bdn" "${job[@]}" >&2
dotnet run -c Release --no-build -- --gemm > "$out/gemm.txt"
# This machine's ceilings (the FMA probe that the GEMM target is 90% of), on both cores.
taskset -c 0,1 dotnet run -c Release --no-build -- --cores > "$out/cores.txt"

/usr/bin/python3 report.py "$out"
